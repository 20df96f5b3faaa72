package comm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// SetMaxPacing puts the cap on the connection to that rank only, and 0
// lifts it (the kernel's "unlimited", all ones in 32 bits).
func TestSetMaxPacing(t *testing.T) {
	commtest.Run(t, 3, func(ctx context.Context, c *comm.Comm) error {
		if c.Rank() != 0 {
			return nil
		}
		if err := c.SetMaxPacing(1, 3e6); err != nil {
			return err
		}
		if err := c.SetMaxPacing(0, 1); err != nil { // self: nothing to do
			return err
		}
		for r, want := range map[int]int{1: 3000000, 2: -1} {
			if got, err := comm.MaxPacingOf(c, r); err != nil || got != want {
				return fmt.Errorf("rank %d: cap %d (%v), want %d", r, got, err, want)
			}
		}
		if err := c.SetMaxPacing(1, 0); err != nil {
			return err
		}
		if got, _ := comm.MaxPacingOf(c, 1); got != -1 {
			return fmt.Errorf("after lifting: %d", got)
		}
		return nil
	})
}
