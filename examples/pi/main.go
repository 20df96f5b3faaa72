// Command pi estimates π by Monte Carlo: every rank throws its share of
// random points at the unit square, counts those inside the quarter
// circle, and an Allreduce adds the counts. Each rank's points come from
// its own seeded generator, so the count is exact and reproducible:
// -check makes rank 0 draw every rank's points again alone and compare.
//
//	go run ./examples/pi
//	spmdrun -np 4 ./examples/pi -samples 100000000 -check
package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/examples/internal/clock"
	"github.com/spmd-go/spmd/examples/internal/split"
)

// share returns how many of n samples rank r of p throws.
func share(n int64, r, p int) int64 {
	_, k := split.Block(int(n), r, p)
	return int64(k)
}

// inside counts the points of rank r's generator, out of k, inside the
// quarter circle.
func inside(seed uint64, r int, k int64) int64 {
	rng := rand.New(rand.NewPCG(seed, uint64(r)))
	var in int64
	for range k {
		x, y := rng.Float64(), rng.Float64()
		if x*x+y*y <= 1 {
			in++
		}
	}
	return in
}

func main() {
	samples := flag.Int64("samples", 20_000_000, "points in all")
	seed := flag.Uint64("seed", 1, "seed of every rank's generator (with its rank)")
	check := flag.Bool("check", false, "rank 0 recounts every rank's points alone and compares")
	flag.Parse()
	ctx := context.Background()
	world, err := comm.Init(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "pi:", err)
		os.Exit(1)
	}
	var clk clock.Clock
	var mine int64
	clk.Work(func() { mine = inside(*seed, world.Rank(), share(*samples, world.Rank(), world.Size())) })
	total := []int64{0}
	if err := clk.Communicate(func() error { return collectives.Allreduce(ctx, world, total, []int64{mine}, collectives.Sum) }); err != nil {
		fmt.Fprintln(os.Stderr, "pi:", err)
		os.Exit(1)
	}
	if world.Rank() == 0 {
		est := 4 * float64(total[0]) / float64(*samples)
		fmt.Printf("pi ≈ %.6f from %d of %d points inside, on %d ranks (error %.2g)\n", est, total[0], *samples, world.Size(), math.Abs(est-math.Pi))
	}
	if err := clk.Report(ctx, world, os.Stdout, "pi"); err != nil {
		fmt.Fprintln(os.Stderr, "pi:", err)
		os.Exit(1)
	}
	if *check && world.Rank() == 0 {
		var serial int64
		for r := range world.Size() {
			serial += inside(*seed, r, share(*samples, r, world.Size()))
		}
		if serial != total[0] {
			fmt.Printf("check: MISMATCH: %d alone, %d by the ranks\n", serial, total[0])
			os.Exit(1)
		}
		fmt.Printf("check: ok (%d inside, counted again alone)\n", serial)
	}
	world.Close()
}
