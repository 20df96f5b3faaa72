// Command sumprimes sums the primes below each of several inputs, with
// rank 0 handing jobs to whichever rank is free, and prints the sums and a
// table of who did how much — the cluster example of Parallel Python, as
// an SPMD program.
//
//	go run ./examples/sumprimes             # one rank
//	spmdrun -np 4 ./examples/sumprimes      # four ranks on this machine
//
// Arguments, if any, replace the default inputs.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/examples/internal/primes"
)

// Tags of the job protocol between workers and rank 0.
const (
	tagReady = 1 // worker -> 0: [job, sum, nanoseconds] of the last job, job -1 for none
	tagJob   = 2 // 0 -> worker: [job], -1 for "no more work"
)

// SumPrimes returns the sum of the primes below n.
func SumPrimes(n int64) int64 { return primes.Sum(2, n) }

// DefaultInputs are Parallel Python's: 100, then 500000..500700 by 100,
// listed twice.
func DefaultInputs() []int64 {
	in := []int64{100}
	for rep := 0; rep < 2; rep++ {
		for v := int64(500000); v <= 500700; v += 100 {
			in = append(in, v)
		}
	}
	return in
}

type result struct {
	sum   int64
	rank  int
	took  time.Duration
	valid bool
}

func main() {
	if err := run(os.Stdout, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "sumprimes:", err)
		os.Exit(1)
	}
}

func run(out io.Writer, args []string) error {
	ctx := context.Background()
	start := time.Now()
	world, err := comm.Init(ctx)
	if err != nil {
		return err
	}
	defer world.Close()

	inputs := DefaultInputs()
	if len(args) > 0 {
		inputs = inputs[:0]
		for _, a := range args {
			v, err := strconv.ParseInt(a, 10, 64)
			if err != nil || v < 0 {
				return fmt.Errorf("input %q is not a non-negative integer", a)
			}
			inputs = append(inputs, v)
		}
	}
	if world.Rank() != 0 {
		return worker(ctx, world, inputs)
	}
	results, err := serve(ctx, world, inputs)
	if err != nil {
		return err
	}
	for i, in := range inputs {
		fmt.Fprintf(out, "Sum of primes below %d is %d\n", in, results[i].sum)
	}
	report(out, world, results, time.Since(start))
	return world.Close()
}

// worker asks rank 0 for jobs until told to stop.
func worker(ctx context.Context, c *comm.Comm, inputs []int64) error {
	last := []int64{-1, 0, 0}
	job := make([]int64, 1)
	for {
		if err := comm.SendSlice(ctx, c, last, 0, tagReady); err != nil {
			return err
		}
		if _, err := comm.RecvSlice(ctx, c, job, 0, tagJob); err != nil {
			return err
		}
		j := job[0]
		if j < 0 {
			return nil
		}
		if j >= int64(len(inputs)) {
			return fmt.Errorf("rank 0 sent job %d of %d", j, len(inputs))
		}
		t := time.Now()
		s := SumPrimes(inputs[j])
		last = []int64{j, s, int64(time.Since(t))}
	}
}

// serve hands out jobs on rank 0, computing some itself, and returns every
// job's result.
func serve(ctx context.Context, c *comm.Comm, inputs []int64) ([]result, error) {
	results := make([]result, len(inputs))
	var mu sync.Mutex
	next := 0
	take := func() int {
		mu.Lock()
		defer mu.Unlock()
		if next == len(inputs) {
			return -1
		}
		next++
		return next - 1
	}
	// Rank 0's own worker.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for j := take(); j >= 0; j = take() {
			t := time.Now()
			s := SumPrimes(inputs[j])
			mu.Lock()
			results[j] = result{sum: s, rank: 0, took: time.Since(t), valid: true}
			mu.Unlock()
		}
	}()
	// The job server: every other rank asks until it is told to stop.
	active := c.Size() - 1
	msg := make([]int64, 3)
	for active > 0 {
		st, err := comm.RecvSlice(ctx, c, msg, comm.AnySource, tagReady)
		if err != nil {
			return nil, err
		}
		if j := msg[0]; j >= 0 {
			if j >= int64(len(inputs)) {
				return nil, fmt.Errorf("rank %d reported job %d of %d", st.Source, j, len(inputs))
			}
			mu.Lock()
			results[j] = result{sum: msg[1], rank: st.Source, took: time.Duration(msg[2]), valid: true}
			mu.Unlock()
		}
		j := take()
		if j < 0 {
			active--
		}
		if err := comm.SendSlice(ctx, c, []int64{int64(j)}, st.Source, tagJob); err != nil {
			return nil, err
		}
	}
	wg.Wait()
	for i, r := range results {
		if !r.valid {
			return nil, fmt.Errorf("job %d (input %d) has no result", i, inputs[i])
		}
	}
	return results, nil
}

// report prints the job statistics in Parallel Python's shape, one row
// per rank.
func report(out io.Writer, c *comm.Comm, results []result, elapsed time.Duration) {
	count := make([]int, c.Size())
	sum := make([]time.Duration, c.Size())
	for _, r := range results {
		count[r.rank]++
		sum[r.rank] += r.took
	}
	fmt.Fprintln(out, "Job execution statistics:")
	tw := tabwriter.NewWriter(out, 0, 0, 1, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, " rank\t host\t job count\t % of all jobs\t job time sum\t time per job\t")
	for r := 0; r < c.Size(); r++ {
		host := c.Host(r)
		if host == "" {
			host = "local"
		}
		per := 0.0
		if count[r] > 0 {
			per = sum[r].Seconds() / float64(count[r])
		}
		fmt.Fprintf(tw, " %d\t %s\t %d\t %.2f\t %.4f\t %.6f\t\n", r, host, count[r],
			100*float64(count[r])/float64(len(results)), sum[r].Seconds(), per)
	}
	tw.Flush()
	fmt.Fprintf(out, "Time elapsed since the job started: %.4f s\n", elapsed.Seconds())
}
