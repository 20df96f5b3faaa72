// Command soak runs many allreduces and reports whether memory and
// goroutines stay steady: issue 8's load test.
//
//	spmdrun -np 4 ./examples/soak                       # 100 000 small, 1 000 of 16 MiB
//	spmdrun -np 4 ./examples/soak -small 1000 -large 10 -mib 1
//
// After a warm-up of each kind, it notes each rank's resident memory
// (VmRSS) and goroutine count, runs the loops, checks every result, and
// notes them again (memory also half way through the large loop, to tell
// the garbage collector's headroom, which stops growing, from a leak). Rank 0 prints one line per rank and exits 1 if any
// rank grew by more than -max-rss-growth MiB or by any goroutine.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

func main() {
	small := flag.Int("small", 100000, "allreduces of one float64")
	large := flag.Int("large", 1000, "large allreduces")
	mib := flag.Int("mib", 16, "size of a large allreduce in MiB")
	maxGrowth := flag.Int("max-rss-growth", 64, "largest growth of a rank's resident memory, in MiB, that passes")
	flag.Parse()
	if err := run(*small, *large, *mib, *maxGrowth); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

// rssKiB reads this process's resident set size.
func rssKiB() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return -1
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			return n
		}
	}
	return -1
}

func run(small, large, mib, maxGrowth int) error {
	ctx := context.Background()
	c, err := comm.Init(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	p := float64(c.Size())
	one := []float64{0}
	big := make([]float64, mib<<20/8)
	out := make([]float64, len(big))
	for i := range big {
		big[i] = float64(i % 1000)
	}
	smallLoop := func(n int) error {
		for i := 0; i < n; i++ {
			one[0] = float64(c.Rank() + i)
			if err := collectives.Allreduce(ctx, c, one, one, collectives.Sum); err != nil {
				return fmt.Errorf("small allreduce %d: %w", i, err)
			}
			if want := p*float64(i) + p*(p-1)/2; one[0] != want {
				return fmt.Errorf("small allreduce %d: got %v, want %v", i, one[0], want)
			}
		}
		return nil
	}
	largeLoop := func(n int) error {
		for i := 0; i < n; i++ {
			if err := collectives.Allreduce(ctx, c, out, big, collectives.Sum); err != nil {
				return fmt.Errorf("large allreduce %d: %w", i, err)
			}
			for _, j := range []int{0, len(out) / 2, len(out) - 1} {
				if out[j] != p*big[j] {
					return fmt.Errorf("large allreduce %d: element %d is %v, want %v", i, j, out[j], p*big[j])
				}
			}
		}
		return nil
	}
	// Warm up both kinds, so that pools and connection buffers are at
	// their working size before the first measurement.
	if err := smallLoop(100); err != nil {
		return err
	}
	if err := largeLoop(min(large, 3)); err != nil {
		return err
	}
	runtime.GC()
	rss0, g0 := rssKiB(), runtime.NumGoroutine()
	start := time.Now()
	if err := smallLoop(small); err != nil {
		return err
	}
	tSmall := time.Since(start)
	if err := largeLoop(large / 2); err != nil {
		return err
	}
	runtime.GC()
	rssMid := rssKiB() // half way: growth that stops here is the heap's headroom, not a leak
	if err := largeLoop(large - large/2); err != nil {
		return err
	}
	tLarge := time.Since(start) - tSmall
	runtime.GC()
	rss1, g1 := rssKiB(), runtime.NumGoroutine()

	// Rank 0 gathers every rank's figures and judges.
	mine := []int64{rss0, rss1, int64(g0), int64(g1), rssMid}
	all := make([]int64, 5*c.Size())
	if err := collectives.Gather(ctx, c, all, mine, 0); err != nil {
		return err
	}
	if c.Rank() != 0 {
		return nil
	}
	fmt.Printf("soak: %d ranks, %d allreduces of 8 B in %v (%.1f us each), %d of %d MiB in %v (%.1f ms each)\n",
		c.Size(), small, tSmall.Round(time.Millisecond), float64(tSmall.Microseconds())/float64(max(small, 1)),
		large, mib, tLarge.Round(time.Millisecond), float64(tLarge.Milliseconds())/float64(max(large, 1)))
	var bad []string
	for r := 0; r < c.Size(); r++ {
		f := all[5*r : 5*r+5]
		fmt.Printf("rank %d: RSS %d -> %d (half way through the large ones) -> %d MiB, goroutines %d -> %d\n", r, f[0]>>10, f[4]>>10, f[1]>>10, f[2], f[3])
		if f[1]-f[0] > int64(maxGrowth)<<10 {
			bad = append(bad, fmt.Sprintf("rank %d's memory grew by %d MiB", r, (f[1]-f[0])>>10))
		}
		if f[3] > f[2] {
			bad = append(bad, fmt.Sprintf("rank %d's goroutines grew from %d to %d", r, f[2], f[3]))
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("%s", strings.Join(bad, "; "))
	}
	fmt.Println("soak: steady")
	return nil
}
