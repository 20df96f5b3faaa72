// Command spmdbench times collective operations over a ladder of message
// sizes. Start it with spmdrun like any program:
//
//	spmdrun -np 4 spmdbench [-min 8] [-max 4194304] [-alg Auto] [-csv] allreduce bcast ...
//
// Each figure is the OSU-style mean time per call of the slowest rank (see
// bench.OSU). Sizes are per rank for gather-like operations and the whole
// vector for reductions and bcast.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/spmd-go/spmd/bench"
	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

func main() {
	minSize := flag.Int("min", 8, "smallest message in bytes")
	maxSize := flag.Int("max", 4<<20, "largest message in bytes")
	factor := flag.Int("factor", 4, "size step factor")
	alg := flag.String("alg", "Auto", "algorithm (Auto, Binomial, Ring, ...)")
	csv := flag.Bool("csv", false, "print CSV: op,bytes,iterations,avg_us")
	check := flag.String("check", "async", "argument check: async, sync or off (collectives.Options.Check)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: spmdrun -np N spmdbench [flags] op...\nops: %s\n", strings.Join(bench.Operations, " "))
		flag.PrintDefaults()
	}
	flag.Parse()
	if err := run(flag.Args(), *minSize, *maxSize, *factor, *alg, *csv, *check); err != nil {
		fmt.Fprintln(os.Stderr, "spmdbench:", err)
		os.Exit(1)
	}
}

func run(ops []string, minSize, maxSize, factor int, algName string, csv bool, checkMode string) error {
	if len(ops) == 0 {
		ops = []string{"allreduce"}
	}
	if minSize < 0 || maxSize < minSize || factor < 2 {
		return fmt.Errorf("bad sizes: -min %d -max %d -factor %d", minSize, maxSize, factor)
	}
	a, err := collectives.ParseAlgorithm(algName)
	if err != nil {
		return err
	}
	chk, ok := map[string]collectives.Check{"async": collectives.CheckAsync, "sync": collectives.CheckSync, "off": collectives.CheckOff}[checkMode]
	if !ok {
		return fmt.Errorf("-check %q: want async, sync or off", checkMode)
	}
	ctx := context.Background()
	c, err := comm.Init(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if c.Rank() == 0 {
		if csv {
			fmt.Println("op,bytes,iterations,avg_us")
		} else {
			fmt.Printf("# %d ranks, algorithm %v, OSU-style mean per call of the slowest rank\n", c.Size(), a)
			fmt.Printf("%-14s %10s %8s %12s\n", "op", "bytes", "iters", "avg(us)")
		}
	}
	for _, op := range ops {
		for size := minSize; size <= maxSize; size = next(size, factor, maxSize) {
			call, err := bench.Call(op, c, size, collectives.Options{Algorithm: a, Check: chk})
			if err != nil {
				return err
			}
			iters := bench.Iterations(size)
			d, err := bench.OSU(ctx, c, iters, bench.Warmup(iters), call)
			if err != nil {
				return fmt.Errorf("%s %d bytes: %w", op, size, err)
			}
			if c.Rank() == 0 {
				us := float64(d.Nanoseconds()) / 1e3
				if csv {
					fmt.Printf("%s,%d,%d,%.3f\n", op, size, iters, us)
				} else {
					fmt.Printf("%-14s %10d %8d %12.3f\n", op, size, iters, us)
				}
			}
			if op == "barrier" {
				break
			}
		}
	}
	return nil
}

// next is the next size of the ladder; the ladder ends with max even when
// max is not on it (8 B x4 ends at 2 MiB, then 4 MiB).
func next(size, factor, max int) int {
	n := size * factor
	if size == 0 {
		n = 1
	}
	if n > max && size < max {
		return max
	}
	return n
}
