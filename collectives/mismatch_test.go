package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// TestMismatch: ranks that disagree on root, count, op, element type or
// operation all get a *MismatchError naming two disagreeing ranks and
// the difference, instead of a hang; the communicator stays usable.
func TestMismatch(t *testing.T) {
	const p = 5
	tests := []struct {
		name string
		want string // in the message
		call func(ctx context.Context, c *comm.Comm, o collectives.Options) error
	}{
		{"root", "root", func(ctx context.Context, c *comm.Comm, o collectives.Options) error {
			root := 0
			if c.Rank() == 3 {
				root = 1
			}
			return collectives.Bcast(ctx, c, make([]float64, 10), root, o)
		}},
		{"count", "count", func(ctx context.Context, c *comm.Comm, o collectives.Options) error {
			n := 8
			if c.Rank() == 2 {
				n = 1000 // another algorithm, too
			}
			buf := make([]int32, n)
			return collectives.Allreduce(ctx, c, buf, buf, collectives.Sum, o)
		}},
		{"op", "reduction", func(ctx context.Context, c *comm.Comm, o collectives.Options) error {
			op := collectives.Sum
			if c.Rank() == 4 {
				op = collectives.Max
			}
			return collectives.Reduce(ctx, c, make([]int64, 4), make([]int64, 4), op, 0, o)
		}},
		{"type", "element type", func(ctx context.Context, c *comm.Comm, o collectives.Options) error {
			if c.Rank() == 0 {
				return collectives.Allgather(ctx, c, make([]float64, 3*p), make([]float64, 3), o)
			}
			return collectives.Allgather(ctx, c, make([]int64, 3*p), make([]int64, 3), o)
		}},
		{"operation", "operation", func(ctx context.Context, c *comm.Comm, o collectives.Options) error {
			if c.Rank() == 1 {
				return collectives.Barrier(ctx, c, o)
			}
			return collectives.Bcast(ctx, c, make([]byte, 100), 0, o)
		}},
		{"scatter-root", "root", func(ctx context.Context, c *comm.Comm, o collectives.Options) error {
			root := c.Rank() % 2 // every rank thinks differently
			var src []int16
			if c.Rank() == root {
				src = make([]int16, 2*p)
			}
			return collectives.Scatter(ctx, c, make([]int16, 2), src, root, o)
		}},
		{"algorithm", "algorithm", func(ctx context.Context, c *comm.Comm, o collectives.Options) error {
			o.Algorithm = collectives.Ring
			if c.Rank() == 2 {
				o.Algorithm = collectives.Rabenseifner
			}
			buf := make([]float32, 100)
			return collectives.Allreduce(ctx, c, buf, buf, collectives.Sum, o)
		}},
	}
	for _, tc := range tests {
		for _, mode := range []collectives.Check{collectives.CheckSync, collectives.CheckAsync} {
			name := tc.name + map[collectives.Check]string{collectives.CheckSync: "/sync", collectives.CheckAsync: "/async"}[mode]
			t.Run(name, func(t *testing.T) {
				var mu sync.Mutex
				ranks := map[[2]int]int{}
				commtest.Run(t, p, func(ctx context.Context, c *comm.Comm) error {
					ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
					defer cancel()
					err := tc.call(ctx, c, collectives.Options{Check: mode})
					if err == nil && mode == collectives.CheckAsync {
						// The data moved here; the verdict comes by the
						// next Barrier at the latest.
						err = collectives.Barrier(ctx, c)
					}
					var me *collectives.MismatchError
					if !errors.As(err, &me) {
						return fmt.Errorf("got %v, want a *MismatchError", err)
					}
					if !strings.Contains(err.Error(), tc.want) || me.Call != 0 {
						return fmt.Errorf("error %q does not name call 0 and %q", err, tc.want)
					}
					mu.Lock()
					ranks[me.Ranks]++
					if c.Rank() == 0 {
						t.Logf("rank 0: %v", err)
					}
					mu.Unlock()
					// Later collectives on c fail alike...
					buf := []int64{int64(c.Rank())}
					err = collectives.Allreduce(ctx, c, buf, buf, collectives.Sum)
					if !errors.As(err, &me) || me.Call != 0 {
						return fmt.Errorf("allreduce after the mismatch: %v, want the mismatch of call 0", err)
					}
					// ...and a Dup starts afresh.
					d, err := c.Dup(ctx)
					if err != nil {
						return err
					}
					defer d.Close()
					if err := collectives.Allreduce(ctx, d, buf, buf, collectives.Sum); err != nil {
						return fmt.Errorf("allreduce on a Dup: %w", err)
					}
					if buf[0] != p*(p-1)/2 {
						return fmt.Errorf("allreduce on a Dup gave %d", buf[0])
					}
					return nil
				})
				if len(ranks) != 1 {
					t.Errorf("ranks named differ between ranks: %v", ranks)
				}
				t.Logf("%s", describe(ranks))
			})
		}
	}
}

func describe(m map[[2]int]int) string {
	var s []string
	for k, v := range m {
		s = append(s, fmt.Sprintf("ranks %v named by %d ranks", k, v))
	}
	return strings.Join(s, ", ")
}

// TestLocalArgumentErrors: mistakes visible on one rank are errors or
// panics before any message moves, the same on every rank.
func TestLocalArgumentErrors(t *testing.T) {
	commtest.Run(t, 3, func(ctx context.Context, c *comm.Comm) error {
		buf := make([]complex128, 4)
		if err := collectives.Allreduce(ctx, c, buf, buf, collectives.Max); err == nil || !strings.Contains(err.Error(), "Max is not defined for complex128") {
			return fmt.Errorf("Max on complex: %v", err)
		}
		nc := collectives.NewOp("first", false, func(dst, src []int64) {})
		ib := make([]int64, 4)
		if err := collectives.Allreduce(ctx, c, ib, ib, nc, collectives.Options{Algorithm: collectives.Ring}); err == nil || !strings.Contains(err.Error(), "commutative") {
			return fmt.Errorf("ring with a non-commutative op: %v", err)
		}
		if err := collectives.Bcast(ctx, c, ib, 0, collectives.Options{Algorithm: collectives.Bruck}); err == nil || !strings.Contains(err.Error(), "Bcast has no Bruck") {
			return fmt.Errorf("Bcast with Bruck: %v", err)
		}
		fb := make([]float64, 4)
		if err := collectives.Allreduce(ctx, c, fb, fb, nc); err == nil || !strings.Contains(err.Error(), "is for") {
			return fmt.Errorf("an int64 op on float64: %v", err)
		}
		func() {
			defer func() {
				if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "len(dst)") {
					t.Errorf("short dst: recovered %v", r)
				}
			}()
			_ = collectives.Allreduce(ctx, c, make([]int64, 3), ib, collectives.Sum)
		}()
		// Still in step.
		return collectives.Barrier(ctx, c)
	})
}
