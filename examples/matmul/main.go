// Command matmul multiplies two n×n matrices with gonum/mat, distributed
// by blocks of rows: rank 0 makes A and B, scatters A's rows (Scatterv),
// broadcasts B, every rank multiplies its rows, and rank 0 gathers C
// (Gatherv) and checks it against the product computed alone.
//
//	go run ./examples/matmul
//	spmdrun -np 4 ./examples/matmul -n 1024
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"gonum.org/v1/gonum/mat"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/examples/internal/clock"
	"github.com/spmd-go/spmd/examples/internal/split"
)

func random(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0))
	v := make([]float64, n*n)
	for i := range v {
		v[i] = rng.Float64()*2 - 1
	}
	return v
}

func main() {
	n := flag.Int("n", 512, "the matrices' order")
	flag.Parse()
	if err := run(*n); err != nil {
		fmt.Fprintln(os.Stderr, "matmul:", err)
		os.Exit(1)
	}
}

func run(n int) error {
	ctx := context.Background()
	world, err := comm.Init(ctx)
	if err != nil {
		return err
	}
	defer world.Close()
	p, me := world.Size(), world.Rank()
	var a, b []float64
	if me == 0 {
		a, b = random(n, 1), random(n, 2)
	} else {
		b = make([]float64, n*n)
	}
	counts, displs := split.Layout(n, p, n, 0) // rows of n elements
	var clk clock.Clock
	local := make([]float64, counts[me])
	if err := clk.Communicate(func() error {
		if err := collectives.Scatterv(ctx, world, local, a, counts, displs, 0); err != nil {
			return err
		}
		return collectives.Bcast(ctx, world, b, 0)
	}); err != nil {
		return err
	}
	cLocal := make([]float64, counts[me])
	if k := counts[me] / n; k > 0 {
		clk.Work(func() {
			var c mat.Dense
			c.Mul(mat.NewDense(k, n, local), mat.NewDense(n, n, b))
			copy(cLocal, c.RawMatrix().Data)
		})
	}
	var cAll []float64
	if me == 0 {
		cAll = make([]float64, n*n)
	}
	if err := clk.Communicate(func() error { return collectives.Gatherv(ctx, world, cAll, counts, displs, cLocal, 0) }); err != nil {
		return err
	}
	if err := clk.Report(ctx, world, os.Stdout, "matmul"); err != nil {
		return err
	}
	if me != 0 {
		return nil
	}
	var serial mat.Dense
	serial.Mul(mat.NewDense(n, n, a), mat.NewDense(n, n, b))
	worst := 0.0
	for i, v := range serial.RawMatrix().Data {
		worst = math.Max(worst, math.Abs(v-cAll[i]))
	}
	fmt.Printf("matmul: C = A·B, %d×%d, rows split over %d ranks; trace(C) = %.6f; max |C - C alone| = %.3g\n", n, n, p, mat.Trace(mat.NewDense(n, n, cAll)), worst)
	if worst > 1e-9 {
		return fmt.Errorf("the distributed product differs from the one computed alone by %g", worst)
	}
	fmt.Println("check: ok")
	return nil
}
