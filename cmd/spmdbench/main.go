// Command spmdbench times collective operations over a ladder of message
// sizes and prints each figure beside the lower bound the network allows.
// Start it with spmdrun like any program:
//
//	spmdrun --hostfile hosts --preload-binary ./cmd/spmdbench -csv out.csv -plot plots barrier bcast allreduce
//	spmdrun -np 4 ./cmd/spmdbench allreduce
//	spmdbench combine -plot plots spmd.csv openmpi.csv     # no spmdrun: tables and plots side by side
//
// The main figure is the synchronized start of DESIGN.md: the median over
// repetitions of (latest end over ranks) − (agreed start). The OSU-style
// mean per call is a second column. Before the sweep, spmdbench measures
// one-way latency between every two hosts, each host's bandwidth (or takes
// -bw-mbit) and the hosts' clock offsets, and computes the lower bound of
// every figure (bench.Bound). Across regions it also prints what the
// collectives' cost model prices the call at (collectives.Model; for Auto,
// the algorithm Auto picks): a figure near the model but far from the
// bound is the algorithm's own limit, one far above the model is the
// network's or the machine's (docs/algorithms.md, "Reading spmdbench's
// model column"). Sizes are per rank for gather-like operations and the
// whole vector for reductions and bcast.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/spmd-go/spmd/bench"
	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "combine" {
		if err := combine(os.Args[2:], os.Stdout); err != nil {
			fmt.Fprintln(os.Stderr, "spmdbench combine:", err)
			os.Exit(1)
		}
		return
	}
	var o options
	flag.IntVar(&o.min, "min", 8, "smallest message in bytes")
	flag.IntVar(&o.max, "max", 4<<20, "largest message in bytes")
	flag.IntVar(&o.factor, "factor", 4, "size step factor")
	flag.StringVar(&o.algs, "alg", "Auto", "algorithms, comma-separated (Auto, Binomial, Ring, RecursiveDoubling, ...)")
	flag.IntVar(&o.reps, "reps", 5, "timed repetitions per size (the figure is their median)")
	flag.IntVar(&o.warmup, "warmup", 1, "untimed repetitions per size before the timed ones")
	flag.BoolVar(&o.osu, "osu", true, "also time the OSU-style mean per call (a second column)")
	flag.StringVar(&o.csv, "csv", "", "write the rows to this CSV `file`")
	flag.StringVar(&o.json, "json", "", "write the network and the rows to this JSON `file`")
	flag.StringVar(&o.plot, "plot", "", "write PNG and SVG plots to this `directory`")
	flag.Float64Var(&o.bwMbit, "bw-mbit", 0, "each host's bandwidth for the lower bound, instead of measuring it")
	flag.Float64Var(&o.wanMbit, "wan-mbit", 0, "the rate of the one link each pair of regions shares (spmdlab --wan-mbit), a further limit in the lower bound")
	flag.IntVar(&o.bulk, "bulk", 4<<20, "bytes per transfer when measuring bandwidth")
	flag.IntVar(&o.seg, "seg", 0, "segment size in bytes for segmented algorithms (collectives.Options.SegmentSize; 0: the library's choice)")
	flag.StringVar(&bench.Data, "data", "zeros", "what the buffers hold: zeros, random (incompressible) or ints (small integers, compressible); matters with spmdrun --compress")
	flag.StringVar(&o.check, "check", "async", "argument check: async, sync or off (collectives.Options.Check)")
	flag.BoolVar(&o.osuOnly, "osu-only", false, "only the OSU loop with its fixed iteration counts, printed as op,bytes,iterations,avg_us (for one machine; bench/coll-vs-openmpi.sh)")
	flag.Usage = func() {
		fmt.Fprintf(os.Stderr, "usage: spmdrun ... spmdbench [flags] [op...]\n       spmdbench combine [-plot DIR] FILE.csv...\nops: pingpong %s (default: barrier bcast reduce allreduce allgather)\n",
			strings.Join(bench.Operations, " "))
		flag.PrintDefaults()
	}
	flag.Parse()
	o.ops = flag.Args()
	switch bench.Data {
	case "zeros", "random", "ints":
	default:
		fmt.Fprintf(os.Stderr, "spmdbench: -data %q: want zeros, random or ints\n", bench.Data)
		os.Exit(2)
	}
	c, r := os.Getenv("SPMD_COMPRESS"), os.Getenv("SPMD_RANK")
	if c != "" && c != "none" && bench.Data == "zeros" && (r == "" || r == "0") {
		fmt.Fprintln(os.Stderr, "spmdbench: warning: compression is on and the buffers hold zeros, which compress to almost nothing: the figures are not what real data gets (use -data ints or -data random)")
	}
	if err := run(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "spmdbench:", err)
		os.Exit(1)
	}
}

type options struct {
	min, max, factor int
	algs             string
	reps, warmup     int
	osu              bool
	csv, json, plot  string
	bwMbit           float64
	wanMbit          float64
	bulk             int
	seg              int
	check            string
	osuOnly          bool
	ops              []string
}

func (o *options) validate() ([]collectives.Algorithm, collectives.Check, error) {
	if len(o.ops) == 0 {
		o.ops = []string{"barrier", "bcast", "reduce", "allreduce", "allgather"}
	}
	for _, op := range o.ops {
		if op != "pingpong" && !slices.Contains(bench.Operations, op) {
			return nil, 0, fmt.Errorf("unknown operation %q (have pingpong %s)", op, strings.Join(bench.Operations, " "))
		}
	}
	if o.min < 0 || o.max < o.min || o.factor < 2 {
		return nil, 0, fmt.Errorf("bad sizes: -min %d -max %d -factor %d", o.min, o.max, o.factor)
	}
	if o.reps < 1 || o.warmup < 0 || o.bulk < 1 || o.bwMbit < 0 || o.wanMbit < 0 || o.seg < 0 {
		return nil, 0, fmt.Errorf("-reps must be at least 1, -warmup, -bulk, -seg, -bw-mbit and -wan-mbit not negative")
	}
	var algs []collectives.Algorithm
	for _, name := range strings.Split(o.algs, ",") {
		a, err := collectives.ParseAlgorithm(strings.TrimSpace(name))
		if err != nil {
			return nil, 0, err
		}
		algs = append(algs, a)
	}
	for _, op := range o.ops {
		if op != "pingpong" && len(offered(op, algs)) == 0 {
			return nil, 0, fmt.Errorf("%s has none of -alg %s (it has Auto and %v)", op, o.algs, collectives.Algorithms(opName(op)))
		}
	}
	chk, ok := map[string]collectives.Check{"async": collectives.CheckAsync, "sync": collectives.CheckSync, "off": collectives.CheckOff}[o.check]
	if !ok {
		return nil, 0, fmt.Errorf("-check %q: want async, sync or off", o.check)
	}
	return algs, chk, nil
}

// opName is the collectives name of one of bench.Operations.
func opName(op string) string {
	if op == "reducescatter" {
		return "ReduceScatterBlock"
	}
	return strings.ToUpper(op[:1]) + op[1:]
}

// offered keeps the algorithms of algs that op has (Auto always), so that
// one -alg list can serve several operations.
func offered(op string, algs []collectives.Algorithm) []collectives.Algorithm {
	has := collectives.Algorithms(opName(op))
	var out []collectives.Algorithm
	for _, a := range algs {
		if a == collectives.Auto || slices.Contains(has, a) {
			out = append(out, a)
		}
	}
	return out
}

// sizes is the ladder: min, min*factor, ... and max even when it is not
// on the ladder (8 B x4 ends at 2 MiB, then 4 MiB).
func sizes(min, max, factor int) []int {
	var out []int
	for s := min; ; {
		out = append(out, s)
		if s >= max {
			return out
		}
		n := s * factor
		if s == 0 {
			n = 1
		}
		s = n
		if s > max {
			s = max
		}
	}
}

func run(ctx context.Context, o options) error {
	algs, chk, err := o.validate()
	if err != nil {
		return err
	}
	c, err := comm.Init(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if o.osuOnly {
		return osuOnly(ctx, c, o, algs[0], chk)
	}
	root := c.Rank() == 0
	progress := func(format string, args ...any) {
		if root {
			fmt.Fprintf(os.Stderr, "spmdbench: "+format+"\n", args...)
		}
	}
	layout := bench.LayoutOf(c)
	progress("measuring the network: %d ranks on %d hosts", c.Size(), len(layout.Names))
	net, err := bench.Measure(ctx, c, layout, 5, o.bulk, o.bwMbit*1e6/8)
	if err != nil {
		return fmt.Errorf("measuring the network: %w", err)
	}
	net.Tunnel = o.wanMbit * 1e6 / 8
	if os.Getenv("SPMD_BW_MBIT") == "" && len(net.Bandwidth) > 0 {
		// The collectives' cost model (and Direct's pacing) takes the
		// slowest host's measured rate, the same on every rank.
		collectives.SetBandwidth(c, slices.Min(net.Bandwidth)*8/1e6)
	}
	if root {
		var streams []string
		for r := 1; r < c.Size(); r++ {
			streams = append(streams, fmt.Sprintf("%d:%d", r, c.Streams(r)))
		}
		progress("TCP streams from rank 0 to rank:count %s (spmdrun --streams)", strings.Join(streams, " "))
		if c.WANFirst() {
			progress("hosts send WAN packets first: the Chain allreduce marks the region's connections lower-effort (spmdrun --wan-first)")
		}
	}
	rep := bench.Report{Network: &net}
	ladder := sizes(o.min, o.max, o.factor)
	regions := map[string]bool{}
	for _, r := range layout.Regions {
		regions[r] = true
	}
	pairs := len(regions) * (len(regions) - 1) / 2
	if regions[""] {
		pairs = len(layout.Names) * (len(layout.Names) - 1) / 2
	}
	total := 0
	for _, op := range o.ops {
		switch op {
		case "barrier":
			total += len(offered(op, algs))
		case "pingpong":
			if pairs == 0 {
				progress("pingpong: only one host (or region): nothing to measure")
			}
			total += pairs * len(ladder)
		default:
			total += len(offered(op, algs)) * len(ladder)
		}
	}
	done := 0
	for _, op := range o.ops {
		if op == "pingpong" {
			rows, err := pingpong(ctx, c, layout, net.Network, ladder, o.reps)
			if err != nil {
				return err
			}
			for _, r := range rows {
				done++
				if root {
					progress("[%d/%d] pingpong %s %s: %.3f ms", done, total, r.Alg, bench.HumanBytes(r.Bytes), float64(r.Median)/1e6)
				}
			}
			rep.Rows = append(rep.Rows, rows...)
			continue
		}
		for _, a := range offered(op, algs) {
			for _, size := range ladder {
				if op == "barrier" && size != ladder[0] {
					break
				}
				if op == "barrier" {
					size = 0
				}
				row, err := measure(ctx, c, op, a, chk, size, o, layout, net.Network)
				if err != nil {
					return fmt.Errorf("%s %v %d bytes: %w", op, a, size, err)
				}
				done++
				model := ""
				if row.Model > 0 {
					model = fmt.Sprintf(", model %.3f %s", float64(row.Model)/1e6, row.ModelAlg)
				}
				progress("[%d/%d] %s %v %s: %.3f ms (bound %.3f%s)", done, total, op, a, bench.HumanBytes(size), float64(row.Median)/1e6, float64(row.Bound)/1e6, model)
				rep.Rows = append(rep.Rows, row)
			}
		}
	}
	if !root {
		return nil
	}
	shortest := time.Duration(1<<63 - 1)
	for _, r := range rep.Rows {
		shortest = min(shortest, r.Median)
	}
	if w := bench.ClockWarning(net, shortest); w != "" {
		rep.Warnings = append(rep.Warnings, w)
	}
	fmt.Printf("# spmdbench: %d ranks, synchronized start, median of %d (times in ms)\n", c.Size(), o.reps)
	bench.WriteNetwork(os.Stdout, net)
	for _, w := range rep.Warnings {
		fmt.Printf("# WARNING: %s\n", w)
	}
	if err := bench.WriteTable(os.Stdout, rep.Rows); err != nil {
		return err
	}
	return writeFiles(o, rep)
}

func writeFiles(o options, rep bench.Report) error {
	write := func(path string, f func(io.Writer) error) error {
		if path == "" {
			return nil
		}
		fh, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := f(fh); err != nil {
			fh.Close()
			return err
		}
		return fh.Close()
	}
	if err := write(o.csv, func(w io.Writer) error { return bench.WriteCSV(w, rep.Rows) }); err != nil {
		return err
	}
	if err := write(o.json, func(w io.Writer) error { return bench.WriteJSON(w, rep) }); err != nil {
		return err
	}
	if o.plot != "" {
		files, err := bench.Plot(o.plot, rep.Rows)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "spmdbench: wrote %s\n", strings.Join(files, " "))
	}
	return nil
}

// osuOnly is the loop of bench/coll-vs-openmpi.sh: the OSU figure with
// bench.Iterations calls, as bench/openmpi/coll.c times it.
func osuOnly(ctx context.Context, c *comm.Comm, o options, a collectives.Algorithm, chk collectives.Check) error {
	if c.Rank() == 0 {
		fmt.Println("op,bytes,iterations,avg_us")
	}
	for _, op := range o.ops {
		for _, size := range sizes(o.min, o.max, o.factor) {
			if op == "pingpong" {
				return fmt.Errorf("-osu-only: no pingpong")
			}
			call, err := bench.Call(op, c, size, collectives.Options{Algorithm: a, Check: chk, SegmentSize: o.seg})
			if err != nil {
				return err
			}
			iters := bench.Iterations(size)
			d, err := bench.OSU(ctx, c, iters, bench.Warmup(iters), call)
			if err != nil {
				return fmt.Errorf("%s %d bytes: %w", op, size, err)
			}
			if c.Rank() == 0 {
				fmt.Printf("%s,%d,%d,%.3f\n", op, size, iters, float64(d.Nanoseconds())/1e3)
			}
			if op == "barrier" {
				break
			}
		}
	}
	return nil
}

// measure times one operation at one size: the synchronized start, then
// the OSU loop with as many calls as fit in about half a second.
func measure(ctx context.Context, c *comm.Comm, op string, a collectives.Algorithm, chk collectives.Check, size int, o options, l bench.Layout, net bench.Network) (bench.Row, error) {
	call, err := bench.Call(op, c, size, collectives.Options{Algorithm: a, Check: chk, SegmentSize: o.seg})
	if err != nil {
		return bench.Row{}, err
	}
	s, err := bench.SyncStart(ctx, c, o.reps, o.warmup, 0, call)
	if err != nil {
		return bench.Row{}, err
	}
	row := bench.Row{Impl: "spmd", Op: op, Alg: a.String(), Bytes: size, Ranks: c.Size(), Reps: o.reps, Median: s.Median, Min: s.Min, Max: s.Max, Times: s.Reps}
	if o.osu {
		iters := min(bench.Iterations(size), max(3, int(500*time.Millisecond/max(s.Median, time.Microsecond))))
		if row.OSU, err = bench.OSU(ctx, c, iters, 1, call); err != nil {
			return row, err
		}
	}
	if len(net.Bandwidth) > 0 && (net.Bandwidth[0] > 0 || len(net.Bandwidth) == 1) {
		row.Bound, _ = bench.Bound(op, net, l.HostOf, size)
	}
	if alg, d, ok := collectives.Model(c, op, a, size, 0); ok {
		row.Model, row.ModelAlg = d, alg.String()
	}
	return row, nil
}

// pingpong measures half the round trip of each size between the first
// hosts of every two regions (every two hosts when there are no labels).
func pingpong(ctx context.Context, c *comm.Comm, l bench.Layout, net bench.Network, ladder []int, reps int) ([]bench.Row, error) {
	var reps1 []int // host indexes, one per region
	seen := map[string]bool{}
	for h, r := range l.Regions {
		if r == "" || !seen[r] {
			seen[r] = true
			reps1 = append(reps1, h)
		}
	}
	var rows []bench.Row
	for i := 0; i < len(reps1); i++ {
		for k := i + 1; k < len(reps1); k++ {
			a, b := reps1[i], reps1[k]
			ra, rb := l.First[a], l.First[b]
			name := orName(l.Regions[a], l.Names[a]) + "/" + orName(l.Regions[b], l.Names[b])
			for _, size := range ladder {
				buf := make([]byte, size)
				times := make([]int64, reps+1)
				if c.Rank() == ra || c.Rank() == rb {
					peer := rb
					if c.Rank() == rb {
						peer = ra
					}
					for n := 0; n <= reps; n++ { // the first warms up
						t0 := time.Now()
						if c.Rank() == ra {
							if err := c.Send(ctx, buf, peer, 7); err != nil {
								return nil, err
							}
							if _, err := c.Recv(ctx, buf, peer, 7); err != nil {
								return nil, err
							}
							times[n] = int64(time.Since(t0) / 2)
						} else {
							if _, err := c.Recv(ctx, buf, peer, 7); err != nil {
								return nil, err
							}
							if err := c.Send(ctx, buf, peer, 7); err != nil {
								return nil, err
							}
						}
					}
				}
				if err := collectives.Allreduce(ctx, c, times, times, collectives.Max); err != nil {
					return nil, err
				}
				s := bench.Sync{}
				for _, t := range times[1:] {
					s.Reps = append(s.Reps, time.Duration(t))
				}
				s.Summarize()
				row := bench.Row{Impl: "spmd", Op: "pingpong", Alg: name, Bytes: size, Ranks: 2, Reps: reps, Median: s.Median, Min: s.Min, Max: s.Max, Times: s.Reps}
				if len(net.Bandwidth) > b && net.Bandwidth[b] > 0 {
					row.Bound = net.Latency[a][b] + time.Duration(float64(size)/net.Bandwidth[b]*float64(time.Second))
				}
				rows = append(rows, row)
			}
		}
	}
	return rows, nil
}

func orName(region, host string) string {
	if region != "" {
		return region
	}
	return host
}

// combine reads CSV files from spmdbench and the Open MPI harness and
// writes them side by side, with plots.
func combine(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("combine", flag.ContinueOnError)
	plotDir := fs.String("plot", "", "write PNG and SVG plots of both to this `directory`")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return errors.New("give the CSV files to combine")
	}
	var rows []bench.Row
	for _, name := range fs.Args() {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		r, err := bench.ReadCSV(name, f)
		f.Close()
		if err != nil {
			return err
		}
		rows = append(rows, r...)
	}
	if err := bench.Combine(w, rows); err != nil {
		return err
	}
	if *plotDir != "" {
		files, err := bench.Plot(*plotDir, rows)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "spmdbench: wrote %s\n", strings.Join(files, " "))
	}
	return nil
}
