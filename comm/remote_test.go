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

// Single-copy transfers (comm/remote.go). The ranks of these tests share
// a process, so process_vm_readv reads this process's own memory; the
// launcher's TestSingleCopyLocal runs the same path across processes.

// singleCopyOrSkip skips a test when the environment (CI's encrypted
// pass) turns the path off.
func singleCopyOrSkip(t *testing.T) {
	if envSetsPath {
		t.Skip("SPMD_SINGLE_COPY, SPMD_ENCRYPT or SPMD_COMPRESS is set: the environment chooses the path")
	}
}

// Large messages in both directions, received when posted and when late,
// arrive whole while only descriptors and acknowledgements cross the
// socket; smaller ones still cross it.
func TestSingleCopyOnTheWire(t *testing.T) {
	singleCopyOrSkip(t)
	cfg := comm.DefaultConfig()
	cfg.SharedMemory = false // descriptors and small messages cross the socket
	comms, tp := tappedPair(t, cfg, 0)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sizes := []int{2 << 20, 2<<20 + 5, 9 << 20}
	var large int
	for _, n := range sizes {
		large += n
	}
	const small = 1 << 20 // below the threshold
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for r, c := range comms {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			if !c.SingleCopy(1 - r) {
				errs[r] = fmt.Errorf("rank %d: SingleCopy(%d) false", r, 1-r)
				return
			}
			errs[r] = func() error {
				if err := exchangeSizes(ctx, c, sizes, 1); err != nil {
					return err
				}
				// Below the threshold: through the socket.
				if r == 1 {
					return c.Send(ctx, pattern(small, 7), 0, 50)
				}
				return recvCheck(ctx, c, small, 7, 1, 50)
			}()
		}()
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	to, from := tp.seen()
	if len(to) < small || len(to)+len(from) > small+64<<10 {
		t.Fatalf("the tap saw %d and %d bytes: want the %d-byte message and at most 64 KiB of control besides, not the %d bytes of large messages",
			len(to), len(from), small, 2*large)
	}
}

// exchangeSizes sends a message of each size from rank 1 to rank 0 and
// one back, checking their bytes; rank 0 posts its receive of message
// late (when not negative) 20 ms late, so that it arrives first.
func exchangeSizes(ctx context.Context, c *comm.Comm, sizes []int, late int) error {
	for i, n := range sizes {
		if c.Rank() == 1 {
			if err := c.Send(ctx, pattern(n, i), 0, i); err != nil {
				return err
			}
			if err := recvCheck(ctx, c, n, i+100, 0, i); err != nil {
				return err
			}
			continue
		}
		if i == late {
			time.Sleep(20 * time.Millisecond) // late: the message waits (held)
		}
		if err := recvCheck(ctx, c, n, i, 1, i); err != nil {
			return err
		}
		if err := c.Send(ctx, pattern(n, i+100), 1, i); err != nil {
			return err
		}
	}
	return nil
}

// A receive smaller than the message fails with ErrTruncated, and an
// AnySource receive takes a large message like any other.
func TestSingleCopyTruncatedAndAnySource(t *testing.T) {
	singleCopyOrSkip(t)
	const n = 2 << 20
	commtest.Run(t, 3, func(ctx context.Context, c *comm.Comm) error {
		switch c.Rank() {
		case 1, 2:
			return c.Send(ctx, pattern(n, c.Rank()), 0, c.Rank())
		}
		if _, err := c.Recv(ctx, make([]byte, n-1), 1, 1); !errors.Is(err, comm.ErrTruncated) {
			return fmt.Errorf("receive of %d bytes into %d: err %v, want ErrTruncated", n, n-1, err)
		}
		buf := make([]byte, n)
		st, err := c.Recv(ctx, buf, comm.AnySource, 2)
		if err != nil {
			return err
		}
		if st.Source != 2 || st.Len != n || !bytes.Equal(buf, pattern(n, 2)) {
			return fmt.Errorf("AnySource receive: status %+v, content equal %v", st, bytes.Equal(buf, pattern(n, 2)))
		}
		return nil
	})
}

// A message sent with Isend just before Close arrives whole: Close waits
// for the receiver to have copied it.
func TestSingleCopyIsendThenClose(t *testing.T) {
	singleCopyOrSkip(t)
	const n = 4 << 20
	commtest.Run(t, 2, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 1 {
			c.Isend(pattern(n, 3), 0, 1)
			return c.Close()
		}
		time.Sleep(30 * time.Millisecond)
		return recvCheck(ctx, c, n, 3, 1, 1)
	})
}

// A send waiting for its acknowledgement fails, rather than hangs, when
// the receiver's process dies, and when the sender gives up on it (which
// breaks the connection, as a half-written message does, and withdraws
// the message: the receiver does not deliver what it copies then).
func TestSingleCopyAwaitingFails(t *testing.T) {
	singleCopyOrSkip(t)
	withHoldMax(t, time.Hour) // the receiver holds the descriptor
	const n = 4 << 20
	for _, how := range []string{"receiver dies", "sender cancels"} {
		t.Run(how, func(t *testing.T) {
			comms := commtest.Start(t, 2)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if !comms[1].SingleCopy(0) {
				t.Fatal("SingleCopy(0) false")
			}
			sctx := ctx
			if how == "sender cancels" {
				var scancel context.CancelFunc
				sctx, scancel = context.WithTimeout(ctx, 100*time.Millisecond)
				defer scancel()
			} else {
				time.AfterFunc(100*time.Millisecond, func() { comm.Crash(comms[0]) })
			}
			err := comms[1].Send(sctx, pattern(n, 1), 0, 1)
			var pe *comm.PeerError
			switch {
			case how == "sender cancels" && !errors.Is(err, context.DeadlineExceeded):
				t.Fatalf("cancelled send: err %v, want the deadline", err)
			case how == "receiver dies" && !errors.As(err, &pe):
				t.Fatalf("send to a dead receiver: err %v, want a PeerError", err)
			}
			// Either way the connection is gone for both.
			if err := comms[1].Send(ctx, []byte{1}, 0, 2); !errors.As(err, &pe) || pe.Rank != 0 {
				t.Fatalf("a later send: err %v, want a PeerError naming rank 0", err)
			}
			if how == "sender cancels" {
				// The receiver still holds the descriptor; the sender may
				// reuse the buffer, so the receive must not deliver it.
				st, err := comms[0].Recv(ctx, make([]byte, n), 1, 1)
				if !errors.As(err, &pe) || pe.Rank != 1 {
					t.Fatalf("receive of the withdrawn message: status %+v, err %v, want a PeerError naming rank 1", st, err)
				}
			}
		})
	}
}
