package bench

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

// Operations lists what Call can run.
var Operations = []string{"barrier", "bcast", "reduce", "allreduce", "gather", "scatter", "allgather", "alltoall", "reducescatter"}

// Call returns a function that runs operation once on c with messages of
// size bytes, in the OSU convention: the vector for reductions and bcast
// (float64 elements for reductions, at least one), each rank's block for
// gather, scatter, allgather, alltoall and reducescatter. Root is 0.
func Call(op string, c *comm.Comm, size int, o collectives.Options) (func(context.Context) error, error) {
	p := c.Size()
	n := max(size/8, 1) // float64 elements
	return call(op, c, size, p, n, o)
}

// Data is what the benchmark's buffers hold (spmdbench -data): "zeros"
// (the default, as OSU's and bench/openmpi's), "random" (incompressible),
// or "ints" (small integers: compresses well, as counts and one-hot data
// do). It matters only with compression (spmdrun --compress).
var Data = "zeros"

// fill writes Data's pattern for rank into a buffer of bytes or float64.
func fill(buf any, rank int) {
	rng := rand.New(rand.NewPCG(uint64(rank), 7))
	switch b := buf.(type) {
	case []byte:
		for i := range b {
			switch Data {
			case "random":
				b[i] = byte(rng.Uint32())
			case "ints":
				b[i] = byte(rng.IntN(8))
			}
		}
	case []float64:
		for i := range b {
			switch Data {
			case "random":
				b[i] = rng.Float64()
			case "ints":
				b[i] = float64(rng.IntN(8))
			}
		}
	}
}

func call(op string, c *comm.Comm, size, p, n int, o collectives.Options) (func(context.Context) error, error) {
	r := c.Rank()
	switch op {
	case "barrier":
		return func(ctx context.Context) error { return collectives.Barrier(ctx, c, o) }, nil
	case "bcast":
		buf := make([]byte, size)
		fill(buf, r)
		return func(ctx context.Context) error { return collectives.Bcast(ctx, c, buf, 0, o) }, nil
	case "reduce":
		src, dst := make([]float64, n), make([]float64, n)
		fill(src, r)
		return func(ctx context.Context) error { return collectives.Reduce(ctx, c, dst, src, collectives.Sum, 0, o) }, nil
	case "allreduce":
		src, dst := make([]float64, n), make([]float64, n)
		fill(src, r)
		return func(ctx context.Context) error { return collectives.Allreduce(ctx, c, dst, src, collectives.Sum, o) }, nil
	case "gather":
		src, dst := make([]byte, size), make([]byte, p*size)
		fill(src, r)
		return func(ctx context.Context) error { return collectives.Gather(ctx, c, dst, src, 0, o) }, nil
	case "scatter":
		src, dst := make([]byte, p*size), make([]byte, size)
		fill(src, r)
		return func(ctx context.Context) error { return collectives.Scatter(ctx, c, dst, src, 0, o) }, nil
	case "allgather":
		src, dst := make([]byte, size), make([]byte, p*size)
		fill(src, r)
		return func(ctx context.Context) error { return collectives.Allgather(ctx, c, dst, src, o) }, nil
	case "alltoall":
		src, dst := make([]byte, p*size), make([]byte, p*size)
		fill(src, r)
		return func(ctx context.Context) error { return collectives.Alltoall(ctx, c, dst, src, o) }, nil
	case "reducescatter":
		src, dst := make([]float64, p*n), make([]float64, n)
		fill(src, r)
		return func(ctx context.Context) error {
			return collectives.ReduceScatterBlock(ctx, c, dst, src, collectives.Sum, o)
		}, nil
	}
	return nil, fmt.Errorf("bench: unknown operation %q (have %v)", op, Operations)
}
