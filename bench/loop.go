package bench

import (
	"context"
	"time"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

// Iterations is the number of timed calls for messages of size bytes:
// about 64 MiB moved per size, between 20 and 1000 calls. The C harness
// in openmpi/ uses the same rule.
func Iterations(size int) int {
	n := (64 << 20) / max(size, 1)
	return min(max(n, 20), 1000)
}

// Warmup is the number of untimed calls before the timed ones.
func Warmup(iters int) int { return iters/10 + 2 }

// OSU times op the way the OSU micro-benchmarks do: a barrier, warm-up
// calls, a barrier, then iters timed calls; the figure is the mean time per
// call of the slowest rank. On a WAN this hides latency (ranks leave a
// barrier at different times); spmdbench's synchronized start is the main
// figure there.
func OSU(ctx context.Context, c *comm.Comm, iters, warmup int, op func(context.Context) error) (time.Duration, error) {
	if err := collectives.Barrier(ctx, c); err != nil {
		return 0, err
	}
	for i := 0; i < warmup; i++ {
		if err := op(ctx); err != nil {
			return 0, err
		}
	}
	if err := collectives.Barrier(ctx, c); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < iters; i++ {
		if err := op(ctx); err != nil {
			return 0, err
		}
	}
	per := []int64{int64(time.Since(start)) / int64(iters)}
	if err := collectives.Allreduce(ctx, c, per, per, collectives.Max); err != nil {
		return 0, err
	}
	return time.Duration(per[0]), nil
}
