package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// TestDeadline: when a rank never joins a collective, the others' calls
// end with their context's error instead of hanging, and the job still
// closes promptly.
func TestDeadline(t *testing.T) {
	start := time.Now()
	commtest.Run(t, 3, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() == 2 {
			time.Sleep(time.Second) // alive, but never calls
			return nil
		}
		cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		buf := make([]float64, 1000)
		err := collectives.Allreduce(cctx, c, buf, buf, collectives.Sum)
		if !errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("got %v, want the deadline", err)
		}
		// Stay until rank 2 is done, so that no rank's Close reaches a peer
		// whose own deadline has not fired yet (under load it may start
		// its call later): that peer would rightly report the closed
		// connection instead.
		time.Sleep(time.Until(start.Add(time.Second)))
		return nil
	})
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("took %v: Close waited for a check that could not finish", d)
	}
}
