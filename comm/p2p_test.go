package comm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

func pattern(n, seed int) []byte {
	b := make([]byte, n)
	x := uint32(seed*2654435761 + 1)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

func TestSendRecvSizes(t *testing.T) {
	sizes := []int{0, 1, 7, 4096, 64<<10 - 1, 64 << 10, 64<<10 + 1, 1 << 20, 1<<20 + 3, 5<<20 + 11}
	commtest.Run(t, 2, func(ctx context.Context, c *comm.Comm) error {
		for i, n := range sizes {
			if c.Rank() == 0 {
				if err := c.Send(ctx, pattern(n, i), 1, i); err != nil {
					return err
				}
				continue
			}
			buf := make([]byte, n+5)
			st, err := c.Recv(ctx, buf, 0, i)
			if err != nil {
				return err
			}
			if st.Len != n || st.Source != 0 || st.Tag != i {
				return fmt.Errorf("size %d: status %+v", n, st)
			}
			if !bytes.Equal(buf[:n], pattern(n, i)) {
				return fmt.Errorf("size %d: payload differs", n)
			}
		}
		return nil
	})
}

func TestHugeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("256 MiB message skipped in -short mode")
	}
	const n = 256 << 20
	runPaths(t, 2, func(ctx context.Context, c *comm.Comm) error { // through the socket, and single-copy
		if c.Rank() == 0 {
			b := make([]byte, n)
			for i := 0; i < n; i += 4096 {
				b[i] = byte(i >> 12)
			}
			b[n-1] = 0xAB
			return c.Send(ctx, b, 1, 0)
		}
		b := make([]byte, n)
		st, err := c.Recv(ctx, b, 0, 0)
		if err != nil {
			return err
		}
		if st.Len != n || b[n-1] != 0xAB {
			return fmt.Errorf("status %+v, last byte %#x", st, b[n-1])
		}
		for i := 0; i < n; i += 4096 {
			if b[i] != byte(i>>12) {
				return fmt.Errorf("byte %d is %d", i, b[i])
			}
		}
		return nil
	})
}

// Unexpected (not yet posted) messages of every size arrive intact too.
func TestUnexpectedMessages(t *testing.T) {
	commtest.Run(t, 2, func(ctx context.Context, c *comm.Comm) error {
		sizes := []int{0, 3, 100 << 10, 3 << 20}
		if c.Rank() == 0 {
			for i, n := range sizes {
				if err := c.Send(ctx, pattern(n, i), 1, 5); err != nil {
					return err
				}
			}
			return c.Send(ctx, nil, 1, 6)
		}
		// Wait until everything is there, then receive.
		if _, err := c.Probe(ctx, 0, 6); err != nil {
			return err
		}
		for i, n := range sizes {
			buf := make([]byte, n)
			if _, err := c.Recv(ctx, buf, 0, 5); err != nil {
				return err
			}
			if !bytes.Equal(buf, pattern(n, i)) {
				return fmt.Errorf("message %d differs", i)
			}
		}
		_, err := c.Recv(ctx, nil, 0, 6)
		return err
	})
}

func TestTyped(t *testing.T) {
	commtest.Run(t, 3, func(ctx context.Context, c *comm.Comm) error {
		next, prev := (c.Rank()+1)%3, (c.Rank()+2)%3
		out := []float64{float64(c.Rank()), 1.5, -2}
		r := comm.IsendSlice(c, out, next, 1)
		in := make([]float64, 4)
		st, err := comm.RecvSlice(ctx, c, in, prev, 1)
		if err != nil {
			return err
		}
		if _, err := r.Wait(ctx); err != nil {
			return err
		}
		if comm.Count[float64](st) != 3 || in[0] != float64(prev) || in[1] != 1.5 || in[2] != -2 {
			return fmt.Errorf("got %v (%d)", in, comm.Count[float64](st))
		}
		cs := []complex128{complex(1, float64(c.Rank()))}
		if err := comm.SendSlice(ctx, c, cs, c.Rank(), 2); err != nil { // to self
			return err
		}
		got := make([]complex128, 1)
		if _, err := comm.RecvSlice(ctx, c, got, c.Rank(), 2); err != nil {
			return err
		}
		if got[0] != cs[0] {
			return fmt.Errorf("self message %v", got)
		}
		return nil
	})
}

// Many goroutines on each rank send numbered messages concurrently, mixing
// small (inline) and large (writer goroutine) sizes; each stream must
// arrive in order.
func TestOrderingUnderConcurrency(t *testing.T) {
	const senders, per = 8, 60
	commtest.Run(t, 3, func(ctx context.Context, c *comm.Comm) error {
		n := c.Size()
		var wg sync.WaitGroup
		errs := make(chan error, senders*n*2)
		for dst := 0; dst < n; dst++ {
			for g := 0; g < senders; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					var reqs []*comm.Request
					for i := 0; i < per; i++ {
						size := 8
						if i%7 == 3 {
							size = 200 << 10
						}
						b := make([]byte, size)
						b[0], b[1] = byte(i), byte(g)
						if i%2 == 0 {
							reqs = append(reqs, c.Isend(b, dst, g))
						} else if err := c.Send(ctx, b, dst, g); err != nil {
							errs <- err
							return
						}
					}
					if err := comm.WaitAll(ctx, reqs...); err != nil {
						errs <- err
					}
				}()
			}
		}
		for src := 0; src < n; src++ {
			for g := 0; g < senders; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					buf := make([]byte, 200<<10)
					for i := 0; i < per; i++ {
						if _, err := c.Recv(ctx, buf, src, g); err != nil {
							errs <- err
							return
						}
						if buf[0] != byte(i) || buf[1] != byte(g) {
							errs <- fmt.Errorf("from %d tag %d: message %d arrived as number %d", src, g, i, buf[0])
							return
						}
					}
				}()
			}
		}
		wg.Wait()
		close(errs)
		return <-errs
	})
}

func TestWildcards(t *testing.T) {
	commtest.Run(t, 5, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() != 0 {
			return comm.SendSlice(ctx, c, []int32{int32(c.Rank())}, 0, 10+c.Rank())
		}
		seen := map[int]bool{}
		for i := 1; i < c.Size(); i++ {
			v := make([]int32, 1)
			st, err := comm.RecvSlice(ctx, c, v, comm.AnySource, comm.AnyTag)
			if err != nil {
				return err
			}
			if int(v[0]) != st.Source || st.Tag != 10+st.Source || seen[st.Source] {
				return fmt.Errorf("status %+v for value %d", st, v[0])
			}
			seen[st.Source] = true
		}
		return nil
	})
}

func TestProbeAndTruncation(t *testing.T) {
	commtest.Run(t, 2, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 0 {
			if err := c.Send(ctx, []byte("hello world"), 1, 3); err != nil {
				return err
			}
			if err := c.Send(ctx, []byte("too long for it"), 1, 4); err != nil {
				return err
			}
			_, err := c.Recv(ctx, nil, 1, 5) // stay until rank 1 is done
			return err
		}
		st, err := c.Probe(ctx, comm.AnySource, 3)
		if err != nil {
			return err
		}
		if st.Len != 11 || st.Source != 0 || st.Tag != 3 {
			return fmt.Errorf("probe %+v", st)
		}
		buf := make([]byte, st.Len)
		if _, err := c.Recv(ctx, buf, 0, 3); err != nil || string(buf) != "hello world" {
			return fmt.Errorf("%q %v", buf, err)
		}
		small := make([]byte, 3)
		st, err = c.Recv(ctx, small, 0, 4)
		if !errors.Is(err, comm.ErrTruncated) || st.Len != 15 || string(small) != "too" {
			return fmt.Errorf("want truncation, got %+v %q %v", st, small, err)
		}
		if _, ok, err := c.Iprobe(0, comm.AnyTag); ok || err != nil {
			return fmt.Errorf("iprobe on empty queue: %v %v", ok, err)
		}
		return c.Send(ctx, nil, 0, 5)
	})
}

func TestCancelPostedRecv(t *testing.T) {
	commtest.Run(t, 2, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 1 {
			short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
			defer cancel()
			_, err := c.Recv(short, make([]byte, 4), 0, 1)
			if !errors.Is(err, context.DeadlineExceeded) {
				return fmt.Errorf("want deadline exceeded, got %v", err)
			}
			// The withdrawn receive must not take the next message.
			if err := c.Send(ctx, nil, 0, 9); err != nil {
				return err
			}
			buf := make([]byte, 4)
			if _, err := c.Recv(ctx, buf, 0, 1); err != nil || string(buf) != "late" {
				return fmt.Errorf("%q %v", buf, err)
			}
			return nil
		}
		if _, err := c.Recv(ctx, nil, 1, 9); err != nil {
			return err
		}
		return c.Send(ctx, []byte("late"), 1, 1)
	})
}

// Data sent just before Close arrives, even at a receiver that only posts
// its receives later.
func TestSendThenClose(t *testing.T) {
	const k = 50
	ctx := context.Background()
	comms, err := comm.Local(ctx, 2, comm.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c := comms[0]
		for i := 0; i < k; i++ {
			n := 1000
			if i%10 == 0 {
				n = 3 << 20
			}
			c.Isend(pattern(n, i), 1, 1) // not waited for: Close must flush
		}
		done <- c.Close()
	}()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	c := comms[1]
	buf := make([]byte, 3<<20)
	for i := 0; i < k; i++ {
		st, err := c.Recv(ctx, buf, 0, 1)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		if !bytes.Equal(buf[:st.Len], pattern(st.Len, i)) {
			t.Fatalf("message %d differs", i)
		}
	}
	// Rank 0 is gone now: a further receive fails with a PeerError naming it.
	_, err = c.Recv(ctx, buf, 0, 1)
	var pe *comm.PeerError
	if !errors.As(err, &pe) || pe.Rank != 0 || !errors.Is(err, comm.ErrPeerClosed) {
		t.Fatalf("want PeerError for rank 0 (closed), got %v", err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil { // idempotent
		t.Fatal(err)
	}
}

func TestSplit(t *testing.T) {
	for _, n := range []int{1, 2, 5, 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			commtest.Run(t, n, func(ctx context.Context, c *comm.Comm) error {
				color := c.Rank() % 3
				if c.Rank() == n-1 && n > 2 {
					color = comm.Undefined
				}
				sub, err := c.Split(ctx, color, -c.Rank()) // reversed order
				if err != nil {
					return err
				}
				if color == comm.Undefined {
					if sub != nil {
						return fmt.Errorf("undefined color got a communicator")
					}
					return nil
				}
				var members []int
				for r := n - 1; r >= 0; r-- {
					if r%3 == color && !(r == n-1 && n > 2) {
						members = append(members, r)
					}
				}
				if sub.Size() != len(members) || sub.WorldRank(sub.Rank()) != c.Rank() {
					return fmt.Errorf("sub size %d rank %d, want members %v", sub.Size(), sub.Rank(), members)
				}
				for i, m := range members {
					if sub.WorldRank(i) != m {
						return fmt.Errorf("sub rank %d is world %d, want %d", i, sub.WorldRank(i), m)
					}
				}
				// A ring inside the sub-communicator, plus a message on the
				// world with the same tag that must not be confused with it.
				s := sub.Size()
				next, prev := (sub.Rank()+1)%s, (sub.Rank()+s-1)%s
				r1 := comm.IsendSlice(sub, []int64{int64(sub.Rank())}, next, 0)
				r2 := comm.IsendSlice(c, []int64{-1}, c.Rank(), 0)
				v := make([]int64, 1)
				st, err := comm.RecvSlice(ctx, sub, v, comm.AnySource, comm.AnyTag)
				if err != nil {
					return err
				}
				if v[0] != int64(prev) || st.Source != prev {
					return fmt.Errorf("sub ring: got %d from %d, want %d", v[0], st.Source, prev)
				}
				if _, err := comm.RecvSlice(ctx, c, v, c.Rank(), 0); err != nil || v[0] != -1 {
					return fmt.Errorf("world self message: %d %v", v[0], err)
				}
				if err := comm.WaitAll(ctx, r1, r2); err != nil {
					return err
				}
				dup, err := sub.Dup(ctx)
				if err != nil {
					return err
				}
				if dup.Size() != sub.Size() || dup.Rank() != sub.Rank() {
					return fmt.Errorf("dup differs")
				}
				// Collective and point-to-point contexts are separate.
				coll := dup.Collective()
				rq := coll.Isend([]byte{1}, dup.Rank(), 0)
				if _, ok, _ := dup.Iprobe(comm.AnySource, comm.AnyTag); ok {
					time.Sleep(10 * time.Millisecond)
					return fmt.Errorf("a collective message was visible to point-to-point")
				}
				if _, err := coll.Recv(ctx, make([]byte, 1), dup.Rank(), 0); err != nil {
					return err
				}
				if _, err := rq.Wait(ctx); err != nil {
					return err
				}
				return dup.Close()
			})
		})
	}
}

// Concurrent Splits of two different communicators must still give every
// new communicator context ids unique within each process.
func TestConcurrentSplits(t *testing.T) {
	commtest.Run(t, 4, func(ctx context.Context, c *comm.Comm) error {
		d, err := c.Dup(ctx)
		if err != nil {
			return err
		}
		var a, b *comm.Comm
		var ea, eb error
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); a, ea = c.Split(ctx, c.Rank()%2, c.Rank()) }()
		go func() { defer wg.Done(); b, eb = d.Split(ctx, c.Rank()/2, c.Rank()) }()
		wg.Wait()
		if ea != nil || eb != nil {
			return errors.Join(ea, eb)
		}
		// Messages on a and b to the same peer must stay apart.
		for _, x := range []struct {
			cm  *comm.Comm
			val byte
		}{{a, 1}, {b, 2}} {
			peer := (x.cm.Rank() + 1) % x.cm.Size()
			x.cm.Isend([]byte{x.val}, peer, 0)
		}
		for _, x := range []struct {
			cm  *comm.Comm
			val byte
		}{{b, 2}, {a, 1}} {
			got := make([]byte, 1)
			if _, err := x.cm.Recv(ctx, got, comm.AnySource, 0); err != nil {
				return err
			}
			if got[0] != x.val {
				return fmt.Errorf("message crossed communicators: got %d want %d", got[0], x.val)
			}
		}
		return nil
	})
}

// A peer that disappears while a receive waits on it fails the receive
// with a PeerError naming it, instead of hanging.
func TestPeerLostMidRecv(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	comms, err := comm.Local(ctx, 3, comm.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range comms {
			c.Close()
		}
	}()
	res := make(chan error, 2)
	go func() {
		_, err := comms[0].Recv(ctx, make([]byte, 8), 2, 0)
		res <- err
	}()
	go func() {
		_, err := comms[0].Recv(ctx, make([]byte, 8), comm.AnySource, 0)
		res <- err
	}()
	time.Sleep(50 * time.Millisecond)
	comm.Crash(comms[2]) // drop its connections without goodbye
	for i := 0; i < 2; i++ {
		err := <-res
		var pe *comm.PeerError
		if !errors.As(err, &pe) || pe.Rank != 2 || pe.Addr == "" || errors.Is(err, comm.ErrPeerClosed) {
			t.Fatalf("want a PeerError for lost rank 2, got %v", err)
		}
	}
	// Rank 1 is unaffected.
	go comms[1].Send(ctx, []byte("ok"), 0, 1)
	buf := make([]byte, 2)
	if _, err := comms[0].Recv(ctx, buf, 1, 1); err != nil || string(buf) != "ok" {
		t.Fatalf("rank 1: %q %v", buf, err)
	}
	if err := comms[0].Send(ctx, []byte("x"), 2, 0); err == nil {
		t.Fatal("send to a lost peer succeeded")
	}
}

func TestAbortLocal(t *testing.T) {
	err := commtest.RunErr(context.Background(), 3, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 1 {
			c.Abort(7)
			return nil
		}
		_, err := c.Recv(ctx, nil, 1, 0)
		return err
	})
	var ae *comm.AbortError
	if !errors.As(err, &ae) || ae.Code != 7 || ae.Rank != 1 {
		t.Fatalf("want AbortError from rank 1 code 7, got %v", err)
	}
}

func TestRandomTraffic(t *testing.T) {
	commtest.Run(t, 4, func(ctx context.Context, c *comm.Comm) error {
		rng := rand.New(rand.NewPCG(1, 2)) // same on every rank: everyone knows the plan
		type msg struct{ src, dst, tag, size int }
		var plan []msg
		for i := 0; i < 200; i++ {
			plan = append(plan, msg{rng.IntN(4), rng.IntN(4), rng.IntN(3), rng.IntN(70000)})
		}
		var reqs []*comm.Request
		for i, m := range plan {
			if m.src == c.Rank() {
				reqs = append(reqs, c.Isend(pattern(m.size, i), m.dst, m.tag))
			}
		}
		for i, m := range plan {
			if m.dst != c.Rank() {
				continue
			}
			buf := make([]byte, m.size)
			if _, err := c.Recv(ctx, buf, m.src, m.tag); err != nil {
				return err
			}
			if !bytes.Equal(buf, pattern(m.size, i)) {
				return fmt.Errorf("message %d (%+v) out of order or corrupt", i, m)
			}
		}
		return comm.WaitAll(ctx, reqs...)
	})
}

// WaitAny returns the request that completed, skipping nil ones; when
// ctx ends first it returns its error and leaves the requests posted.
func TestWaitAny(t *testing.T) {
	commtest.Run(t, 2, func(ctx context.Context, c *comm.Comm) error {
		if i, err := comm.WaitAny(ctx, nil, nil); i != -1 || err != nil {
			return fmt.Errorf("no requests: %d, %v", i, err)
		}
		if c.Rank() == 1 {
			if err := c.Send(ctx, []byte("two"), 0, 2); err != nil {
				return err
			}
			// Tag 1 only once rank 0 has seen WaitAny time out.
			if _, err := c.Recv(ctx, make([]byte, 1), 0, 3); err != nil {
				return err
			}
			return c.Send(ctx, []byte("one"), 0, 1)
		}
		b1, b2 := make([]byte, 3), make([]byte, 3)
		r1, r2 := c.Irecv(b1, 1, 1), c.Irecv(b2, 1, 2)
		i, err := comm.WaitAny(ctx, nil, r1, r2)
		if err != nil || i != 2 || string(b2) != "two" {
			return fmt.Errorf("WaitAny: %d, %v (%q), want 2 (tag 2's request)", i, err, b2)
		}
		short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
		defer cancel()
		if i, err := comm.WaitAny(short, r1); i != -1 || !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("WaitAny past its deadline: %d, %v", i, err)
		}
		if err := c.Send(ctx, []byte{0}, 1, 3); err != nil {
			return err
		}
		// r1 is still posted: it takes tag 1's message.
		if i, err := comm.WaitAny(ctx, r1); err != nil || i != 0 {
			return fmt.Errorf("WaitAny after the deadline: %d, %v, want 0", i, err)
		}
		if _, err := r1.Wait(ctx); err != nil || string(b1) != "one" {
			return fmt.Errorf("r1: %v, %q", err, b1)
		}
		return nil
	})
}
