package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// panicMessage runs f and returns what it panicked with, or "".
func panicMessage(f func()) (msg string) {
	defer func() {
		if r := recover(); r != nil {
			msg = fmt.Sprint(r)
		}
	}()
	f()
	return ""
}

// Wrong use of the API is a programming error, reported where it is made
// by a panic that names the call, the argument and the allowed range (as
// Go reports an index out of range), before anything is sent, so that the
// other ranks are not left with half a message. Under spmdrun the rank
// then ends and the launcher names it; every other rank's operation with
// it fails with a PeerError naming that rank (TestPeerLostMidRecv and the
// launcher's tests). Each case here must panic with the words given.
func TestMisusePanicsClearly(t *testing.T) {
	commtest.Run(t, 2, func(ctx context.Context, c *comm.Comm) error {
		buf := make([]int32, 4)
		cases := []struct {
			name     string
			f        func()
			want     []string
			rootOnly bool // counts and displacements matter at the root only, as in MPI
		}{
			{"Send to a rank out of range", func() { _ = c.Send(ctx, []byte{1}, 2, 0) }, []string{"Send", "rank 2 out of range [0, 2)"}, false},
			{"Recv from a negative rank", func() { c.Irecv(nil, -3, 0) }, []string{"Recv", "rank -3"}, false},
			{"a negative tag", func() { _ = c.Send(ctx, nil, 1-c.Rank(), -7) }, []string{"tag -7"}, false},
			{"Bcast from a root out of range", func() { _ = collectives.Bcast(ctx, c, buf, 5) }, []string{"Bcast", "root 5 out of range [0, 2)"}, false},
			{"Gatherv with a negative count", func() {
				_ = collectives.Gatherv(ctx, c, buf, []int{2, -1}, []int{0, 2}, buf[:2], 0)
			}, []string{"Gatherv", "negative count -1 for rank 1"}, true},
			{"Gatherv with a block outside dst", func() {
				_ = collectives.Gatherv(ctx, c, buf, []int{2, 2}, []int{0, 3}, buf[:2], 0)
			}, []string{"Gatherv", "block of rank 1", "outside dst of 4 elements"}, true},
			{"Allgather with dst of the wrong length", func() {
				_ = collectives.Allgather(ctx, c, buf[:3], buf[:2])
			}, []string{"Allgather", "dst"}, false},
		}
		for _, tc := range cases {
			if tc.rootOnly && c.Rank() != 0 {
				continue
			}
			msg := panicMessage(tc.f)
			if msg == "" {
				return fmt.Errorf("%s: no panic", tc.name)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					return fmt.Errorf("%s: panic %q does not say %q", tc.name, msg, w)
				}
			}
		}
		// Nothing of the above reached the wire: the ranks still agree.
		return collectives.Barrier(ctx, c)
	})
}

// After Close, every operation fails at once with ErrClosed, on the
// closed communicator and on communicators derived from it.
func TestUseAfterClose(t *testing.T) {
	commtest.Run(t, 2, func(ctx context.Context, c *comm.Comm) error {
		d, err := c.Dup(ctx)
		if err != nil {
			return err
		}
		if err := d.Close(); err != nil {
			return err
		}
		buf := make([]float64, 2)
		ops := map[string]func() error{
			"Send":      func() error { return d.Send(ctx, []byte{1}, 1-d.Rank(), 0) },
			"Recv":      func() error { _, err := d.Recv(ctx, make([]byte, 1), 1-d.Rank(), 0); return err },
			"Probe":     func() error { _, err := d.Probe(ctx, comm.AnySource, comm.AnyTag); return err },
			"Barrier":   func() error { return collectives.Barrier(ctx, d) },
			"Allreduce": func() error { return collectives.Allreduce(ctx, d, buf, buf, collectives.Sum) },
			"Close":     func() error { return d.Close() }, // idempotent: nil or ErrClosed, never a hang
		}
		for name, op := range ops {
			err := op()
			if name == "Close" {
				if err != nil && !errors.Is(err, comm.ErrClosed) {
					return fmt.Errorf("second Close: %v", err)
				}
				continue
			}
			if !errors.Is(err, comm.ErrClosed) {
				return fmt.Errorf("%s after Close: %v, want ErrClosed", name, err)
			}
		}
		// The parent communicator is unaffected.
		return collectives.Barrier(ctx, c)
	})
}
