package comm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// Shared-memory rings (comm/shm.go). The ranks of these tests share a
// process; the launcher's TestSingleCopyLocal checks the rings across
// processes.

// Messages of every framing, both ways, arrive whole through the rings
// while the socket carries only the set-up and doorbells (at most one
// byte per message).
func TestSharedMemoryOnTheWire(t *testing.T) {
	singleCopyOrSkip(t)
	comms, tp := tappedPair(t, comm.DefaultConfig(), 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sizes := []int{0, 8, 3000, 64<<10 + 7, 1<<20 + 5, 9 << 20} // 9 MiB: a descriptor through the ring
	const smalls = 2000
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for r, c := range comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if !c.SharedMemory(1 - r) {
				errs[r] = fmt.Errorf("rank %d: SharedMemory(%d) false", r, 1-r)
				return
			}
			errs[r] = func() error {
				if err := exchangeSizes(ctx, c, sizes, 4); err != nil {
					return err
				}
				b := make([]byte, 8)
				for i := 0; i < smalls; i++ {
					if r == 1 {
						if err := c.Send(ctx, []byte(fmt.Sprintf("%08d", i)), 0, 1000); err != nil {
							return err
						}
						continue
					}
					if _, err := c.Recv(ctx, b, 1, 1000); err != nil {
						return err
					}
					if string(b) != fmt.Sprintf("%08d", i) {
						return fmt.Errorf("small message %d arrived as %q", i, b)
					}
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	to, from := tp.seen()
	msgs := 2*len(sizes) + smalls
	if len(to)+len(from) > 4096+msgs {
		t.Fatalf("the tap saw %d and %d bytes: want the set-up and at most a doorbell per message (%d)", len(to), len(from), msgs)
	}
	if bytes.Contains([]byte(to), pattern(3000, 0)[:64]) {
		t.Fatal("a message crossed the socket")
	}
}

// A send that waits for room in a ring (its receiver holds the message
// and does not read) fails when the receiver dies and when it is
// cancelled, instead of hanging; either way the connection is gone.
func TestSharedMemoryWriterWaits(t *testing.T) {
	singleCopyOrSkip(t)
	withHoldMax(t, time.Hour) // the receiver holds the message: the ring fills
	const n = 9 << 20         // more than the largest ring
	for _, how := range []string{"receiver dies", "sender cancels"} {
		t.Run(how, func(t *testing.T) {
			t.Setenv("SPMD_SINGLE_COPY", "off") // through the ring, not as a descriptor
			comms := commtest.Start(t, 2)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if !comms[1].SharedMemory(0) {
				t.Fatal("SharedMemory(0) false")
			}
			sctx, scancel := context.WithCancel(ctx)
			defer scancel()
			// Once the send waits for room (a cancel before it is written
			// would only withdraw it), cancel it or kill its receiver.
			go func() {
				for comm.WritesWaiting(comms[1], 0) == 0 && ctx.Err() == nil {
					time.Sleep(time.Millisecond)
				}
				if how == "sender cancels" {
					scancel()
				} else {
					comm.Crash(comms[0])
				}
			}()
			// Isend: a blocking Send writes the message itself, and only
			// the connection's loss ends that write (as on a socket).
			_, err := comms[1].Isend(pattern(n, 1), 0, 1).Wait(sctx)
			var pe *comm.PeerError
			switch {
			case how == "sender cancels" && !errors.Is(err, context.Canceled):
				t.Fatalf("cancelled send: err %v, want context.Canceled", err)
			case how == "receiver dies" && !errors.As(err, &pe):
				t.Fatalf("send to a dead receiver: err %v, want a PeerError", err)
			}
			if err := comms[1].Send(ctx, []byte{1}, 0, 2); !errors.As(err, &pe) || pe.Rank != 0 {
				t.Fatalf("a later send: err %v, want a PeerError naming rank 0", err)
			}
		})
	}
}

// Many goroutines send small and large messages on many tags through the
// rings at once; each tag's messages arrive in order (the rings fill and
// empty many times, and readers sleep and wake).
// With SpinWait 0 every wait sleeps (the doorbell path); with the default,
// waiting goroutines poll the rings and read messages themselves, parking
// in the middle of one while the reader goroutine waits for the socket.
func TestSharedMemoryBusy(t *testing.T) {
	for _, spin := range []time.Duration{0, comm.DefaultConfig().SpinWait} {
		t.Run(fmt.Sprintf("spin=%v", spin), func(t *testing.T) { sharedMemoryBusy(t, spin) })
	}
}

func sharedMemoryBusy(t *testing.T, spin time.Duration) {
	const senders, per = 6, 80
	cfg := comm.DefaultConfig()
	cfg.SpinWait = spin
	commtest.RunConfig(t, 3, cfg, func(ctx context.Context, c *comm.Comm) error {
		var wg sync.WaitGroup
		errs := make(chan error, 2*senders*c.Size())
		for peer := range c.Size() {
			if peer == c.Rank() {
				continue
			}
			if !c.SharedMemory(peer) && !envSetsPath {
				return fmt.Errorf("rank %d: SharedMemory(%d) false", c.Rank(), peer)
			}
			for g := 0; g < senders; g++ {
				wg.Add(2)
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						n := 16 + i*97
						if i%9 == 4 {
							n = 300 << 10 // more than a ring
						}
						if err := c.Send(ctx, pattern(n, i+1000*g), peer, g); err != nil {
							errs <- err
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					for i := 0; i < per; i++ {
						n := 16 + i*97
						if i%9 == 4 {
							n = 300 << 10
						}
						if err := recvCheck(ctx, c, n, i+1000*g, peer, g); err != nil {
							errs <- err
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

// A lost doorbell (the writer found rsleep set and did not ring) costs a
// watchdog period, not a hang: watchRings reads the ring and counts it.
func TestSharedMemoryLostDoorbell(t *testing.T) {
	singleCopyOrSkip(t)
	cfg := comm.DefaultConfig()
	cfg.SpinWait = 0 // Recv sleeps: only the doorbell or the watchdog wakes it
	comms, err := comm.Local(context.Background(), 2, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		var wg sync.WaitGroup
		for _, c := range comms {
			wg.Add(1)
			go func() { defer wg.Done(); c.Close() }()
		}
		wg.Wait()
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if !comm.LoseDoorbell(comms[0], comms[1], 1) {
		t.Fatal("no ring from rank 1, or its reader never parked")
	}
	start := time.Now()
	if err := comms[1].Send(ctx, []byte("after a lost doorbell"), 0, 5); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 64)
	st, err := comms[0].Recv(ctx, b, 1, 5)
	if err != nil {
		t.Fatalf("receive after a lost doorbell: %v (after %v)", err, time.Since(start))
	}
	if string(b[:st.Len]) != "after a lost doorbell" {
		t.Fatalf("got %q", b[:st.Len])
	}
	// The watchdog counts its rescue after the pump that delivered it.
	for end := time.Now().Add(5 * time.Second); comm.RingRescues(comms[0]) == 0 && time.Now().Before(end); {
		time.Sleep(time.Millisecond)
	}
	if n := comm.RingRescues(comms[0]); n != 1 {
		t.Fatalf("RingRescues = %d, want 1", n)
	}
	// The rescue left the ring as a parked reader wants it: the next
	// message rings.
	if err := comms[1].Send(ctx, []byte("and the next"), 0, 6); err != nil {
		t.Fatal(err)
	}
	if st, err = comms[0].Recv(ctx, b, 1, 6); err != nil || string(b[:st.Len]) != "and the next" {
		t.Fatalf("next receive: %q, %v", b[:st.Len], err)
	}
	if n := comm.RingRescues(comms[0]); n != 1 {
		t.Fatalf("RingRescues = %d after a message that rang, want 1", n)
	}
}
