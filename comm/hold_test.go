package comm_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// Holding large messages (comm/hold.go). Each test makes a receiver late
// on purpose (a sleep only sets the scene; nothing here is timed) and
// sets holdMax far beyond the test's length, so that a rule that failed
// to release a held message would show as an expired hold or a hang, not
// pass by the backstop.

const big = 2 << 20 // sent single-copy when runHold asks for it

func withHoldMax(t *testing.T, d time.Duration) {
	restore := comm.SetHoldMax(d)
	t.Cleanup(restore)
}

// lateReceiver sets the scene: rank 1 tells rank 0 it has nothing posted
// (all its set-up done) and then waits, so that what rank 0 sends next (a
// message of big bytes) arrives with no receive for it: until its reader
// holds that message, or 10 s. (A fixed 50 ms was too short under the
// race detector with encryption or compression, which take longer to
// send 2 MiB: the receive was posted first and nothing was held.)
func lateReceiver(ctx context.Context, c *comm.Comm) error {
	const readyTag = 99
	if c.Rank() == 0 {
		_, err := c.Recv(ctx, nil, 1, readyTag)
		return err
	}
	if err := c.Send(ctx, nil, 0, readyTag); err != nil {
		return err
	}
	for deadline := time.Now().Add(10 * time.Second); !comm.Holding(c, 0) && time.Now().Before(deadline); {
		time.Sleep(time.Millisecond)
	}
	return nil
}

func recvCheck(ctx context.Context, c *comm.Comm, n, seed, src, tag int) error {
	buf := make([]byte, n)
	st, err := c.Recv(ctx, buf, src, tag)
	if err != nil {
		return err
	}
	if st.Len != n || !bytes.Equal(buf, pattern(n, seed)) {
		return fmt.Errorf("rank %d: message (seed %d, tag %d) from %d: %d bytes, content differs", c.Rank(), seed, tag, src, st.Len)
	}
	return nil
}

func holdStats(c *comm.Comm) string {
	d, b, e := comm.HoldStats(c)
	return fmt.Sprintf("direct %d, buffered %d, expired %d", d, b, e)
}

// A large message whose receive comes late is read straight into it.
func TestHeldMessageReadDirect(t *testing.T) {
	withHoldMax(t, time.Minute)
	runPaths(t, 2, func(ctx context.Context, c *comm.Comm) error {
		if err := lateReceiver(ctx, c); err != nil {
			return err
		}
		if c.Rank() == 0 {
			return c.Send(ctx, pattern(big, 1), 1, 1)
		}
		if err := recvCheck(ctx, c, big, 1, 0, 1); err != nil {
			return err
		}
		if d, b, _ := comm.HoldStats(c); d != 1 || b != 0 {
			return fmt.Errorf("want the message held and read directly: %s", holdStats(c))
		}
		return nil
	})
}

// A receive for a message behind a held one (another tag, or another
// context) makes the reader buffer the held one at once.
func TestHeldReceiveBehind(t *testing.T) {
	withHoldMax(t, time.Minute)
	runPaths(t, 2, func(ctx context.Context, c *comm.Comm) error {
		d, err := c.Dup(ctx)
		if err != nil {
			return err
		}
		defer d.Close()
		if err := lateReceiver(ctx, c); err != nil {
			return err
		}
		if c.Rank() == 0 {
			if err := c.Send(ctx, pattern(big, 1), 1, 1); err != nil {
				return err
			}
			if err := c.Send(ctx, pattern(10, 2), 1, 2); err != nil {
				return err
			}
			if err := c.Send(ctx, pattern(big, 3), 1, 3); err != nil {
				return err
			}
			return d.Send(ctx, pattern(10, 4), 1, 1)
		}
		if err := recvCheck(ctx, c, 10, 2, 0, 2); err != nil {
			return err
		}
		if err := recvCheck(ctx, d, 10, 4, 0, 1); err != nil {
			return err
		}
		if err := recvCheck(ctx, c, big, 3, 0, 3); err != nil {
			return err
		}
		if err := recvCheck(ctx, c, big, 1, 0, 1); err != nil {
			return err
		}
		// The first large message was held when the receive for the small
		// one came; the second may never be held (a receive from rank 0
		// is posted when it arrives), so it need not count.
		if d, b, e := comm.HoldStats(c); d != 0 || b < 1 || e != 0 {
			return fmt.Errorf("want the held message buffered by the rule, none expired: %s", holdStats(c))
		}
		return nil
	})
}

// Two ranks that both Send more than the sockets hold before they Recv,
// and a cycle of three, do not deadlock.
func TestHeldSendsBeforeRecvs(t *testing.T) {
	withHoldMax(t, time.Minute)
	for _, n := range []int{2, 3} {
		t.Run(fmt.Sprint(n, " ranks"), func(t *testing.T) {
			const size = 48 << 20
			runPaths(t, n, func(ctx context.Context, c *comm.Comm) error {
				r := c.Rank()
				if err := c.Send(ctx, pattern(size, r), (r+1)%n, 1); err != nil {
					return err
				}
				from := (r + n - 1) % n
				if err := recvCheck(ctx, c, size, from, from, 1); err != nil {
					return err
				}
				if _, _, e := comm.HoldStats(c); e != 0 {
					return fmt.Errorf("rank %d: a hold expired: %s", r, holdStats(c))
				}
				return nil
			})
		})
	}
}

// Probe and Iprobe see a held message.
func TestHeldProbe(t *testing.T) {
	withHoldMax(t, time.Minute)
	runPaths(t, 2, func(ctx context.Context, c *comm.Comm) error {
		if err := lateReceiver(ctx, c); err != nil {
			return err
		}
		if c.Rank() == 0 {
			if err := c.Send(ctx, pattern(big, 1), 1, 7); err != nil {
				return err
			}
			return c.Send(ctx, pattern(big, 2), 1, 8)
		}
		if err := probeThenRecv(ctx, c); err != nil {
			return err
		}
		time.Sleep(50 * time.Millisecond)
		for {
			st, ok, err := c.Iprobe(0, 8)
			if err != nil {
				return err
			}
			if ok {
				if st.Len != big {
					return fmt.Errorf("Iprobe: %+v", st)
				}
				break
			}
			time.Sleep(time.Millisecond)
		}
		if err := recvCheck(ctx, c, big, 2, 0, 8); err != nil {
			return err
		}
		if _, _, e := comm.HoldStats(c); e != 0 {
			return fmt.Errorf("a hold expired: %s", holdStats(c))
		}
		return nil
	})
}

// A Probe that waits before the message arrives sees it: the message is
// not held from a waiting Probe (which only a delivered message wakes).
func TestHeldProbeFirst(t *testing.T) {
	withHoldMax(t, time.Minute)
	runPaths(t, 2, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 0 {
			time.Sleep(30 * time.Millisecond) // the Probe waits first
			return c.Send(ctx, pattern(big, 1), 1, 7)
		}
		return probeThenRecv(ctx, c)
	})
}

// probeThenRecv: Probe(AnySource, AnyTag) finds rank 0's big message
// (seed 1, tag 7), which a receive then gets whole.
func probeThenRecv(ctx context.Context, c *comm.Comm) error {
	st, err := c.Probe(ctx, comm.AnySource, comm.AnyTag)
	if err != nil {
		return err
	}
	if st.Source != 0 || st.Tag != 7 || st.Len != big {
		return fmt.Errorf("Probe: %+v", st)
	}
	return recvCheck(ctx, c, big, 1, 0, 7)
}

// What no rule sees (an AnySource receive that wants a message behind a
// held one) waits at most holdMax.
func TestHeldExpires(t *testing.T) {
	withHoldMax(t, 20*time.Millisecond)
	runPaths(t, 2, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 0 {
			if err := c.Send(ctx, pattern(big, 1), 1, 1); err != nil {
				return err
			}
			return c.Send(ctx, pattern(5, 2), 1, 2)
		}
		time.Sleep(10 * time.Millisecond)
		if err := recvCheck(ctx, c, 5, 2, comm.AnySource, 2); err != nil {
			return err
		}
		if err := recvCheck(ctx, c, big, 1, 0, 1); err != nil {
			return err
		}
		if _, b, e := comm.HoldStats(c); b != 1 || e != 1 {
			return fmt.Errorf("want one hold expired: %s", holdStats(c))
		}
		return nil
	})
}

// A rank that closes with held messages it never received neither hangs
// nor keeps its peer waiting: the sender's Send ends, done or failed with
// ErrPeerClosed (the receiver is gone; without holding the same happens
// when a receiver closes while a large Send is still being written).
func TestHeldAtClose(t *testing.T) {
	withHoldMax(t, time.Minute)
	runPaths(t, 2, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 0 {
			for i := 0; i < 8; i++ {
				if err := c.Send(ctx, pattern(big, i), 1, 1); err != nil {
					if errors.Is(err, comm.ErrPeerClosed) {
						return nil
					}
					return err
				}
			}
			return nil
		}
		time.Sleep(50 * time.Millisecond)
		return nil
	})
}

// envSetsPath: the environment (commtest applies it) chooses the path
// instead of the test, as CI's encrypted pass does.
var envSetsPath = os.Getenv("SPMD_SINGLE_COPY")+os.Getenv("SPMD_ENCRYPT")+os.Getenv("SPMD_COMPRESS")+os.Getenv("SPMD_SHM") != ""

// runPaths runs f three times: with every message through the socket;
// with large messages sent as descriptors the receiver copies itself
// (remote.go; held by the same rules) and the rest through the socket; and
// with every message through shared-memory rings (shm.go), large ones as
// descriptors. Each checks that the path it meant was taken.
func runPaths(t *testing.T, n int, f func(ctx context.Context, c *comm.Comm) error) {
	t.Helper()
	for _, path := range []struct {
		name         string
		single, ring bool
	}{{"socket", false, false}, {"single-copy", true, false}, {"ring", true, true}} {
		t.Run(path.name, func(t *testing.T) {
			cfg := comm.DefaultConfig()
			cfg.SingleCopy, cfg.SharedMemory = path.single, path.ring
			commtest.RunConfig(t, n, cfg, func(ctx context.Context, c *comm.Comm) error {
				for r := range c.Size() {
					if r == c.Rank() || envSetsPath {
						continue
					}
					if c.SingleCopy(r) != path.single || c.SharedMemory(r) != path.ring {
						return fmt.Errorf("rank %d: SingleCopy(%d) = %v, SharedMemory = %v, want %v, %v",
							c.Rank(), r, c.SingleCopy(r), c.SharedMemory(r), path.single, path.ring)
					}
				}
				return f(ctx, c)
			})
		})
	}
}
