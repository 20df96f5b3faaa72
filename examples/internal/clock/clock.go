// Package clock splits an example's time between communication and
// computation, and reports both for the slowest rank.
package clock

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

// Clock accumulates the time a rank spends in each kind of work.
type Clock struct {
	Comm, Compute time.Duration
}

// Communicate runs f and counts its time as communication.
func (c *Clock) Communicate(f func() error) error {
	t := time.Now()
	err := f()
	c.Comm += time.Since(t)
	return err
}

// Work runs f and counts its time as computation.
func (c *Clock) Work(f func()) {
	t := time.Now()
	f()
	c.Compute += time.Since(t)
}

// Report writes to w, on rank 0, the largest communication and
// computation times over the ranks of world.
func (c *Clock) Report(ctx context.Context, world *comm.Comm, w io.Writer, name string) error {
	v := []float64{c.Comm.Seconds(), c.Compute.Seconds()}
	max := make([]float64, 2)
	if err := collectives.Reduce(ctx, world, max, v, collectives.Max, 0); err != nil {
		return err
	}
	if world.Rank() == 0 {
		fmt.Fprintf(w, "%s: communication %.3f s, computation %.3f s (each the slowest of %d ranks)\n", name, max[0], max[1], world.Size())
	}
	return nil
}
