// Command kmeans clusters a generated data set with Lloyd's algorithm:
// every rank makes its share of the points (Gaussian blobs around k
// centres, from a seeded generator), and each iteration assigns its points
// to the nearest centroid, then one Allreduce adds every rank's sums and
// counts per cluster, from which all ranks move the centroids alike.
// Rank 0 then runs the same iterations alone on all the points and
// compares.
//
//	go run ./examples/kmeans
//	spmdrun -np 4 ./examples/kmeans -points 1000000 -k 8
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
)

const dim = 2

var (
	points = flag.Int("points", 200_000, "points in all")
	k      = flag.Int("k", 5, "clusters")
	iters  = flag.Int("iters", 50, "most iterations")
	seed   = flag.Uint64("seed", 3, "seed of the data set")
)

// centres returns the k true centres of the blobs.
func centres() []float64 {
	rng := rand.New(rand.NewPCG(*seed, 1000))
	c := make([]float64, *k*dim)
	for i := range c {
		c[i] = rng.Float64() * 100
	}
	return c
}

// pointsOf returns the points of rank r of p: point i belongs to rank
// i mod p, and is drawn from its own generator, so the data set is the
// same for any p.
func pointsOf(r, p int) []float64 {
	truth := centres()
	var out []float64
	for i := r; i < *points; i += p {
		rng := rand.New(rand.NewPCG(*seed, uint64(i)))
		c := rng.IntN(*k)
		for d := range dim {
			out = append(out, truth[c*dim+d]+rng.NormFloat64()*3)
		}
	}
	return out
}

// assign adds each point to its nearest centroid's sum and count (sums
// holds k*dim sums, then k counts).
func assign(pts, cent []float64, sums []float64) {
	clear(sums)
	for i := 0; i < len(pts); i += dim {
		best, bestD := 0, math.Inf(1)
		for c := range *k {
			d := 0.0
			for j := range dim {
				x := pts[i+j] - cent[c*dim+j]
				d += x * x
			}
			if d < bestD {
				best, bestD = c, d
			}
		}
		for j := range dim {
			sums[best*dim+j] += pts[i+j]
		}
		sums[*k*dim+best]++
	}
}

// move sets the centroids from the sums and returns the largest move.
func move(cent, sums []float64) float64 {
	most := 0.0
	for c := range *k {
		n := sums[*k*dim+c]
		if n == 0 {
			continue // an empty cluster keeps its centroid
		}
		d := 0.0
		for j := range dim {
			v := sums[c*dim+j] / n
			d += (v - cent[c*dim+j]) * (v - cent[c*dim+j])
			cent[c*dim+j] = v
		}
		most = math.Max(most, math.Sqrt(d))
	}
	return most
}

// start returns the first centroids: the first k points of the data set.
func start() []float64 {
	return pointsOf(0, *points / *k)[:*k*dim]
}

func main() {
	flag.Parse()
	if *k < 1 || *points < *k || *iters < 1 {
		fmt.Fprintln(os.Stderr, "kmeans: want -k >= 1, -points >= k and -iters >= 1")
		os.Exit(2)
	}
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kmeans:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx := context.Background()
	world, err := comm.Init(ctx)
	if err != nil {
		return err
	}
	defer world.Close()
	var clk clock.Clock
	var mine []float64
	clk.Work(func() { mine = pointsOf(world.Rank(), world.Size()) })
	cent := start()
	local, sums := make([]float64, *k*(dim+1)), make([]float64, *k*(dim+1))
	it, how := 0, "reached the limit of"
	for it < *iters {
		it++
		clk.Work(func() { assign(mine, cent, local) })
		if err := clk.Communicate(func() error { return collectives.Allreduce(ctx, world, sums, local, collectives.Sum) }); err != nil {
			return err
		}
		if move(cent, sums) < 1e-9 {
			how = "converged after"
			break
		}
	}
	if err := clk.Report(ctx, world, os.Stdout, "kmeans"); err != nil {
		return err
	}
	if world.Rank() != 0 {
		return nil
	}
	fmt.Printf("kmeans: %d points, k = %d, %d ranks, %s %d iterations\n", *points, *k, world.Size(), how, it)
	for c := range *k {
		fmt.Printf("  centroid %d: (%.4f, %.4f), %d points\n", c, cent[c*dim], cent[c*dim+1], int(sums[*k*dim+c]))
	}
	// The same iterations alone (sums in another order: compare closely).
	all := pointsOf(0, 1)
	alone := start()
	s := make([]float64, *k*(dim+1))
	for range it {
		assign(all, alone, s)
		move(alone, s)
	}
	worst := 0.0
	for i := range cent {
		worst = math.Max(worst, math.Abs(cent[i]-alone[i]))
	}
	if worst > 1e-6 {
		return fmt.Errorf("centroids differ from a run alone by %g", worst)
	}
	fmt.Printf("check: ok (centroids within %.2g of a run alone)\n", worst)
	return nil
}
