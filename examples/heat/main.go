// Command heat solves the 2-D heat equation on a rectangle by explicit
// finite differences: the top edge is held at 1, the other edges at 0.
// The rows are split into blocks, one per rank; before every step each
// rank sends its first and last rows to the ranks above and below and
// receives their neighbouring rows into its halo (Isend/Irecv), then
// updates its block. Rank 0 gathers the grid, prints where the heat has
// spread, and checks it against the same steps computed alone (they must
// agree to the bit: every cell sees the same numbers in the same order).
//
//	go run ./examples/heat
//	spmdrun -np 4 ./examples/heat -rows 1000 -cols 1000 -steps 2000
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/examples/internal/clock"
	"github.com/spmd-go/spmd/examples/internal/split"
)

const alpha = 0.2 // diffusion number; explicit steps are stable below 0.25

const (
	tagUp   = 1 // a row sent to the rank above
	tagDown = 2 // a row sent to the rank below
)

// step computes one step of rows 1..k of u (rows 0 and k+1 are the halo)
// into v, keeping the first and last columns at 0.
func step(u, v []float64, k, m int) {
	for i := 1; i <= k; i++ {
		for j := 1; j < m-1; j++ {
			c := u[i*m+j]
			v[i*m+j] = c + alpha*(u[(i-1)*m+j]+u[(i+1)*m+j]+u[i*m+j-1]+u[i*m+j+1]-4*c)
		}
	}
}

// alone runs the whole grid on one rank.
func alone(n, m, steps int) []float64 {
	u, v := make([]float64, n*m), make([]float64, n*m)
	for j := 1; j < m-1; j++ {
		u[j], v[j] = 1, 1
	}
	for range steps {
		step(u, v, n-2, m)
		u, v = v, u
	}
	return u
}

func main() {
	n := flag.Int("rows", 400, "grid rows, edges included")
	m := flag.Int("cols", 400, "grid columns, edges included")
	steps := flag.Int("steps", 500, "time steps")
	flag.Parse()
	if err := run(*n, *m, *steps); err != nil {
		fmt.Fprintln(os.Stderr, "heat:", err)
		os.Exit(1)
	}
}

func run(n, m, steps int) error {
	ctx := context.Background()
	world, err := comm.Init(ctx)
	if err != nil {
		return err
	}
	defer world.Close()
	p, me := world.Size(), world.Rank()
	if n-2 < p || m < 3 {
		return fmt.Errorf("a %d×%d grid has fewer interior rows than the %d ranks", n, m, p)
	}
	// The interior rows (rows 0 and n-1 are the fixed edges) in blocks.
	_, k := split.Block(n-2, me, p)
	// Rows 0 and k+1 of the block are the halo (or the fixed edges).
	u, v := make([]float64, (k+2)*m), make([]float64, (k+2)*m)
	if me == 0 {
		for j := 1; j < m-1; j++ {
			u[j], v[j] = 1, 1
		}
	}
	up, down := me-1, me+1
	var clk clock.Clock
	for range steps {
		if err := clk.Communicate(func() error {
			var reqs []*comm.Request
			if up >= 0 {
				reqs = append(reqs, comm.IsendSlice(world, u[m:2*m], up, tagUp), comm.IrecvSlice(world, u[:m], up, tagDown))
			}
			if down < p {
				reqs = append(reqs, comm.IsendSlice(world, u[k*m:(k+1)*m], down, tagDown), comm.IrecvSlice(world, u[(k+1)*m:], down, tagUp))
			}
			return comm.WaitAll(ctx, reqs...)
		}); err != nil {
			return err
		}
		clk.Work(func() { step(u, v, k, m) })
		u, v = v, u // rank 0's row 0, the hot edge, is 1 in both
	}
	counts, displs := split.Layout(n-2, p, m, 1)
	var grid []float64
	if me == 0 {
		grid = make([]float64, n*m)
	}
	if err := clk.Communicate(func() error { return collectives.Gatherv(ctx, world, grid, counts, displs, u[m:(k+1)*m], 0) }); err != nil {
		return err
	}
	if err := clk.Report(ctx, world, os.Stdout, "heat"); err != nil {
		return err
	}
	if me != 0 {
		return nil
	}
	for j := 1; j < m-1; j++ {
		grid[j] = 1
	}
	mid := m / 2
	fmt.Printf("heat: %d×%d grid, %d steps on %d ranks; temperature down the middle column:", n, m, steps, p)
	for _, i := range []int{1, n / 16, n / 8, n / 4, n / 2} {
		fmt.Printf(" row %d %.4f", i, grid[i*m+mid])
	}
	fmt.Println()
	ref := alone(n, m, steps)
	for i := range ref {
		if ref[i] != grid[i] {
			return fmt.Errorf("cell (%d, %d) is %v, but %v when computed alone", i/m, i%m, grid[i], ref[i])
		}
	}
	fmt.Println("check: ok (every cell equals the same steps computed alone)")
	return nil
}
