package comm_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// streamsConfig is an in-process job of two regions, a host per rank,
// with n streams between ranks of different regions.
func streamsConfig(n int) comm.Config {
	cfg := comm.DefaultConfig()
	cfg.Regions = []string{"a", "a", "b", "b"}
	cfg.Hosts = []string{"h0", "h1", "h2", "h3"}
	cfg.Streams = n
	return cfg
}

// Ranks of different regions are joined by Config.Streams connections,
// ranks of one region by one; a Stream view's messages travel on its own
// socket (counted by the kernel), arrive whole and, per stream, in order;
// the links are encrypted, each with its own keys.
func TestStreams(t *testing.T) {
	const S = 3
	commtest.RunConfig(t, 4, streamsConfig(S), func(ctx context.Context, c *comm.Comm) error {
		me := c.Rank()
		region := func(r int) int { return r / 2 }
		for r := range c.Size() {
			want := 1
			if region(r) != region(me) {
				want = S
				if !c.Encrypted(r) {
					return fmt.Errorf("rank %d: the link to rank %d is not encrypted", me, r)
				}
			}
			if got := c.Streams(r); got != want {
				return fmt.Errorf("rank %d: Streams(%d) = %d, want %d", me, r, got, want)
			}
		}
		peer := (me + 2) % 4 // the same index in the other region
		// Each stream in turn carries a 256 KiB message; only its own
		// socket's count moves by that much.
		const big = 256 << 10
		out := make([]byte, big)
		in := make([]byte, big)
		for k := range S {
			before := make([]uint64, S)
			for j := range S {
				before[j], _ = comm.StreamBytesAcked(c, peer, j)
			}
			fill(out, k, me)
			if me < 2 {
				if err := c.Stream(k).Send(ctx, out, peer, 100+k); err != nil {
					return err
				}
				if _, err := c.Recv(ctx, in[:0], peer, 200+k); err != nil { // its receipt
					return err
				}
			} else {
				if _, err := c.Recv(ctx, in, peer, 100+k); err != nil {
					return err
				}
				want := make([]byte, big)
				fill(want, k, peer)
				if !bytes.Equal(in, want) {
					return fmt.Errorf("rank %d: the message on stream %d differs", me, k)
				}
				if err := c.Send(ctx, nil, peer, 200+k); err != nil {
					return err
				}
				continue
			}
			// The receipt comes back on stream 0 and may overtake the
			// peer's last acknowledgement on stream k (a delayed ACK):
			// stream k's count is read until it has moved, for up to 5 s.
			for deadline := time.Now().Add(5 * time.Second); ; {
				after, err := comm.StreamBytesAcked(c, peer, k)
				if err != nil {
					return err
				}
				if after-before[k] >= big || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Millisecond)
			}
			for j := range S {
				after, err := comm.StreamBytesAcked(c, peer, j)
				if err != nil {
					return err
				}
				if moved := after - before[j]; (j == k) != (moved >= big) {
					return fmt.Errorf("rank %d: a message on stream %d moved %d bytes on stream %d", me, k, moved, j)
				}
			}
		}
		// Per stream, messages keep their order: 200 small ones on every
		// stream at once (stream S+k is stream k again).
		const n = 200
		if me < 2 {
			var reqs []*comm.Request
			for i := range n {
				for k := range 2 * S {
					b := binary.LittleEndian.AppendUint32(nil, uint32(i))
					reqs = append(reqs, c.Stream(k).Isend(b, peer, k%S))
				}
			}
			return comm.WaitAll(ctx, reqs...)
		}
		next := make([]uint32, S)
		for range n * 2 {
			for k := range S {
				b := make([]byte, 4)
				if _, err := c.Recv(ctx, b, peer, k); err != nil {
					return err
				}
				got := binary.LittleEndian.Uint32(b)
				// Views k and S+k send the same sequence on one stream:
				// each number comes twice, in order.
				if got != next[k]/2 {
					return fmt.Errorf("rank %d: stream %d: got message %d, want %d", me, k, got, next[k]/2)
				}
				next[k]++
			}
		}
		return nil
	})
}

// fill fills b with bytes that do not compress (CI's second pass
// compresses), drawn from a seed of stream k and rank r.
func fill(b []byte, k, r int) {
	var seed [32]byte
	seed[0], seed[1] = byte(k), byte(r)
	rand.NewChaCha8(seed).Read(b)
}

// A rank that sends on one stream and closes at once loses nothing: the
// goodbye on the other streams does not end a receive whose message is
// still on its way.
func TestStreamsCloseFlushes(t *testing.T) {
	const big = 8 << 20
	for i := range 5 {
		commtest.RunConfig(t, 4, streamsConfig(4), func(ctx context.Context, c *comm.Comm) error {
			switch c.Rank() {
			case 0:
				out := make([]byte, big)
				out[big-1] = 9
				// Ready to receive?
				if _, err := c.Recv(ctx, nil, 2, 1); err != nil {
					return err
				}
				if err := c.Stream(i%3+1).Send(ctx, out, 2, 2); err != nil {
					return err
				}
				return c.Close()
			case 2:
				in := make([]byte, big)
				r := c.Irecv(in, 0, 2)
				if err := c.Send(ctx, nil, 0, 1); err != nil {
					return err
				}
				if _, err := r.Wait(ctx); err != nil {
					return fmt.Errorf("the message sent before Close: %w", err)
				}
				if in[big-1] != 9 {
					return errors.New("the message sent before Close differs")
				}
				// Now rank 0 is gone, on every stream.
				_, err := c.Recv(ctx, in, 0, 3)
				var pe *comm.PeerError
				if !errors.As(err, &pe) || pe.Rank != 0 || !errors.Is(err, comm.ErrPeerClosed) {
					return fmt.Errorf("a receive from the closed rank: %v, want a PeerError of rank 0 (closed)", err)
				}
			}
			return nil
		})
	}
}

// One stream reset loses the peer: a receive posted for any stream fails
// with a PeerError naming it, on both sides, instead of hanging.
func TestStreamLost(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	comms, err := comm.Local(ctx, 4, streamsConfig(3))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		for _, c := range comms {
			c.Close()
		}
	}()
	r2 := comms[2].Irecv(make([]byte, 8), 0, 5)
	r0 := comms[0].Irecv(make([]byte, 8), 2, 5)
	if err := comm.ResetStream(comms[0], 2, 2); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		r        *comm.Request
		me, lost int
	}{{r2, 2, 0}, {r0, 0, 2}} {
		_, err := c.r.Wait(ctx)
		var pe *comm.PeerError
		if !errors.As(err, &pe) || pe.Rank != c.lost {
			t.Fatalf("rank %d: receive from rank %d after one of its streams was reset: %v, want a PeerError of rank %d", c.me, c.lost, err, c.lost)
		}
	}
	// Every stream of the pair is gone: a send on another fails too.
	if err := comms[2].Stream(1).Send(ctx, []byte{1}, 0, 6); err == nil {
		t.Fatal("a send on another stream of the lost peer succeeded")
	}
	// Other peers are untouched.
	done := make(chan error, 1)
	go func() { _, err := comms[3].Recv(ctx, make([]byte, 1), 1, 7); done <- err }()
	if err := comms[1].Stream(2).Send(ctx, []byte{1}, 3, 7); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// SPMD_STREAMS sets Config.Streams, and a bad value is an error naming
// the variable.
func TestStreamsEnv(t *testing.T) {
	for _, c := range []struct {
		v    string
		want int
		ok   bool
	}{{"auto", 0, true}, {"4", 4, true}, {"1", 1, true}, {"0", 0, false}, {"99", 0, false}, {"two", 0, false}} {
		t.Setenv("SPMD_STREAMS", c.v)
		cfg := comm.DefaultConfig()
		cfg.Streams = 7
		err := cfg.ApplyEnv()
		if c.ok && (err != nil || cfg.Streams != c.want) {
			t.Errorf("SPMD_STREAMS=%s: Streams %d, %v; want %d", c.v, cfg.Streams, err, c.want)
		}
		if !c.ok && (err == nil || !strings.Contains(err.Error(), "SPMD_STREAMS")) {
			t.Errorf("SPMD_STREAMS=%s: %v, want an error naming SPMD_STREAMS", c.v, err)
		}
	}
}
