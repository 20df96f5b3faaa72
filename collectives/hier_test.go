package collectives_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// runRegions runs f on n in-process ranks labelled with regions.
func runRegions(t *testing.T, regions []string, f func(ctx context.Context, c *comm.Comm) error) {
	t.Helper()
	cfg := comm.DefaultConfig()
	cfg.Regions = regions
	if os.Getenv("SPMD_STREAMS") != "" {
		// Streams join ranks of different hosts only: a host per rank,
		// so that SPMD_STREAMS (CI's second pass) puts every region-aware
		// algorithm's traffic between regions on several streams.
		cfg.Hosts = make([]string, len(regions))
		for r := range regions {
			cfg.Hosts[r] = fmt.Sprintf("h%d", r)
		}
	}
	commtest.RunConfig(t, len(regions), cfg, f)
}

// Every rank of an Allreduce gets the same bits, with every algorithm,
// for a float64 sum whose rounding depends on the order of the terms
// (magnitudes from 1e-3 to 1e15), over layouts of two to four regions.
func TestAllreduceSameBits(t *testing.T) {
	layouts := map[string][]string{
		"contiguous 3+1+2": {"a", "a", "a", "b", "c", "c"},
		"interleaved 7":    {"a", "b", "a", "c", "b", "a", "c"},
		"four regions":     {"a", "b", "c", "d", "a", "b", "c", "d"},
		"two regions":      {"a", "b", "b", "a", "a"},
	}
	for name, regions := range layouts {
		t.Run(name, func(t *testing.T) {
			p := len(regions)
			runRegions(t, regions, func(ctx context.Context, c *comm.Comm) error {
				r := c.Rank()
				const n = 3000
				val := func(q, i int) float64 { return float64(in(11, q, n)[i]) * math.Pow(10, float64((i+q)%19-3)) }
				src := make([]float64, n)
				for i := range src {
					src[i] = val(r, i)
				}
				// The data must tell orders apart: summed from the first
				// rank and from the last, some elements differ.
				sensitive := false
				for i := range n {
					up, down := 0.0, 0.0
					for q := range p {
						up += val(q, i)
						down += val(p-1-q, i)
					}
					sensitive = sensitive || up != down
				}
				if !sensitive {
					return fmt.Errorf("the test's data sums alike in any order")
				}
				for _, a := range collectives.Algorithms("Allreduce") {
					for _, seg := range []int{0, 1000} {
						o := collectives.Options{Algorithm: a, SegmentSize: seg}
						got := make([]float64, n)
						if err := collectives.Allreduce(ctx, c, got, src, collectives.Sum, o); err != nil {
							return err
						}
						all := make([]float64, p*n)
						if err := collectives.Allgather(ctx, c, all, got); err != nil {
							return err
						}
						for q := range p {
							for i, v := range all[q*n : (q+1)*n] {
								if math.Float64bits(v) != math.Float64bits(all[i]) {
									return fmt.Errorf("rank %d: Allreduce %v (segment %d): element %d is %v on rank %d, %v on rank 0", r, a, seg, i, v, q, all[i])
								}
							}
						}
					}
				}
				return nil
			})
		})
	}
}

// Region-aware algorithms give the flat reference's results over uneven
// and interleaved region layouts, every root, and sizes from empty to
// 128 Ki elements; Auto picks them only where it should.
func TestHierarchical(t *testing.T) {
	layouts := map[string][]string{
		"contiguous 3+1+2":  {"a", "a", "a", "b", "c", "c"},
		"interleaved 7":     {"a", "b", "a", "c", "b", "a", "c"},
		"one region":        {"a", "a", "a"},
		"each rank alone":   {"a", "b", "c", "d"},
		"two, second first": {"b", "a", "a", "b", "b"},
	}
	hier := collectives.Options{Algorithm: collectives.Hierarchical}
	lanes := collectives.Options{Algorithm: collectives.Lanes}
	for name, regions := range layouts {
		t.Run(name, func(t *testing.T) {
			p := len(regions)
			runRegions(t, regions, func(ctx context.Context, c *comm.Comm) error {
				r := c.Rank()
				for _, n := range []int{0, 1, 37, 128 << 10} {
					src := in(7, r, n)
					// Allreduce: Sum, against the direct sum; and the
					// non-commutative compose where regions are
					// contiguous blocks.
					want := make([]int64, n)
					for q := 0; q < p; q++ {
						for i, v := range in(7, q, n) {
							want[i] += v
						}
					}
					direct := collectives.Options{Algorithm: collectives.Direct, SegmentSize: 16 << 10}
					// Lanes pipelines in segments: also with ones that do
					// not divide its parts.
					lanesOdd := collectives.Options{Algorithm: collectives.Lanes, SegmentSize: 7001}
					// Lanes2's sub-pieces: segments of 3 elements cut in
					// up to 4 regions leave some empty.
					lanes2 := collectives.Options{Algorithm: collectives.Lanes2}
					lanes2Odd := collectives.Options{Algorithm: collectives.Lanes2, SegmentSize: 24}
					// Chain, with its own segments and with ones that do
					// not divide the vector.
					chain := collectives.Options{Algorithm: collectives.Chain}
					chainOdd := collectives.Options{Algorithm: collectives.Chain, SegmentSize: 7000}
					for _, o := range []collectives.Options{hier, lanes, lanesOdd, lanes2, lanes2Odd, chain, chainOdd, direct, {}} {
						got := make([]int64, n)
						if err := collectives.Allreduce(ctx, c, got, src, collectives.Sum, o); err != nil {
							return err
						}
						if !slices.Equal(got, want) {
							return fmt.Errorf("rank %d: Allreduce %v of %d elements differs", r, o.Algorithm, n)
						}
					}
					// Direct keeps rank order over any layout.
					pg := make([]uint8, n)
					if err := collectives.Allreduce(ctx, c, pg, permIn(3, r, n), composeOp, direct); err != nil {
						return err
					}
					if !slices.Equal(pg, permFold(3, n, 0, p)) {
						return fmt.Errorf("rank %d: non-commutative Direct Allreduce of %d out of rank order", r, n)
					}
					for _, o := range []collectives.Options{hier, lanes, lanesOdd, lanes2, lanes2Odd, chain, chainOdd} {
						pg := make([]uint8, n)
						err := collectives.Allreduce(ctx, c, pg, permIn(3, r, n), composeOp, o)
						contiguous := name == "contiguous 3+1+2" || name == "one region" || name == "each rank alone"
						switch {
						case contiguous && err != nil:
							return err
						case contiguous && !slices.Equal(pg, permFold(3, n, 0, p)):
							return fmt.Errorf("rank %d: non-commutative Allreduce %v of %d out of rank order", r, o.Algorithm, n)
						case !contiguous && (err == nil || !strings.Contains(err.Error(), "contiguous")):
							return fmt.Errorf("rank %d: non-commutative %v over interleaved regions: %v", r, o.Algorithm, err)
						}
					}
					for root := 0; root < p; root++ {
						// Bcast from every root.
						for _, o := range []collectives.Options{hier, lanes, lanesOdd, direct, chain, chainOdd, {}} {
							b := make([]int64, n)
							if r == root {
								copy(b, src)
							}
							if err := collectives.Bcast(ctx, c, b, root, o); err != nil {
								return err
							}
							if !slices.Equal(b, in(7, root, n)) {
								return fmt.Errorf("rank %d: Bcast %v from %d of %d differs", r, o.Algorithm, root, n)
							}
						}
						// Gather to and scatter from every root (Lanes also
						// in place at the root).
						for x, o := range []collectives.Options{hier, lanes, {}, lanes} {
							inPlace := x == 3
							var all []int64
							mine := src
							if r == root {
								all = make([]int64, p*n)
								if inPlace {
									mine = all[root*n : (root+1)*n]
									copy(mine, src)
								}
							}
							if err := collectives.Gather(ctx, c, all, mine, root, o); err != nil {
								return err
							}
							for q := 0; r == root && q < p; q++ {
								if !slices.Equal(all[q*n:(q+1)*n], in(7, q, n)) {
									return fmt.Errorf("rank %d: Gather %v to %d: block %d of %d differs", r, o.Algorithm, root, q, n)
								}
							}
							var from []int64
							if r == root {
								from = make([]int64, p*n)
								for q := 0; q < p; q++ {
									copy(from[q*n:], in(11, q, n))
								}
							}
							mine = make([]int64, n)
							if r == root && inPlace {
								mine = from[root*n : (root+1)*n]
							}
							if err := collectives.Scatter(ctx, c, mine, from, root, o); err != nil {
								return err
							}
							if !slices.Equal(mine, in(11, r, n)) {
								return fmt.Errorf("rank %d: Scatter %v from %d of %d differs", r, o.Algorithm, root, n)
							}
						}
						// Reduce to every root, also in place at the root, and
						// Direct with a non-commutative op.
						for _, o := range []collectives.Options{hier, lanes, lanesOdd, direct, chain, chainOdd, {}} {
							var dst []int64
							if r == root {
								dst = make([]int64, n)
							}
							if err := collectives.Reduce(ctx, c, dst, src, collectives.Sum, root, o); err != nil {
								return err
							}
							if r == root && !slices.Equal(dst, want) {
								return fmt.Errorf("rank %d: Reduce %v to %d of %d differs", r, o.Algorithm, root, n)
							}
						}
						for _, o := range []collectives.Options{direct, lanesOdd, chain} {
							buf := slices.Clone(src)
							if err := collectives.Reduce(ctx, c, buf, buf, collectives.Sum, root, o); err != nil {
								return err
							}
							if r == root && !slices.Equal(buf, want) {
								return fmt.Errorf("rank %d: in-place %v Reduce to %d of %d differs", r, o.Algorithm, root, n)
							}
						}
						var pd []uint8
						if r == root {
							pd = make([]uint8, n)
						}
						if err := collectives.Reduce(ctx, c, pd, permIn(3, r, n), composeOp, root, direct); err != nil {
							return err
						}
						if r == root && !slices.Equal(pd, permFold(3, n, 0, p)) {
							return fmt.Errorf("rank %d: non-commutative Direct Reduce to %d of %d out of rank order", r, root, n)
						}
					}
					// Alltoall: rank q's block for r is in(5, q*p+r, n).
					for _, o := range []collectives.Options{hier, {}} {
						from := make([]int64, p*n)
						for q := 0; q < p; q++ {
							copy(from[q*n:], in(5, r*p+q, n))
						}
						got := make([]int64, p*n)
						if err := collectives.Alltoall(ctx, c, got, from, o); err != nil {
							return err
						}
						for q := 0; q < p; q++ {
							if !slices.Equal(got[q*n:(q+1)*n], in(5, q*p+r, n)) {
								return fmt.Errorf("rank %d: Alltoall %v block from %d of %d differs", r, o.Algorithm, q, n)
							}
						}
					}
					// Allgather, also in place.
					for _, o := range []collectives.Options{hier, lanes, {}} {
						all := make([]int64, p*n)
						mine := src
						if n == 37 {
							copy(all[r*n:], src)
							mine = all[r*n : (r+1)*n]
						}
						if err := collectives.Allgather(ctx, c, all, mine, o); err != nil {
							return err
						}
						for q := 0; q < p; q++ {
							if !slices.Equal(all[q*n:(q+1)*n], in(7, q, n)) {
								return fmt.Errorf("rank %d: Allgather %v block %d of %d differs", r, o.Algorithm, q, n)
							}
						}
					}
				}
				// Non-commutative Reduce has no Hierarchical, Lanes or Chain algorithm.
				for _, o := range []collectives.Options{hier, lanes, {Algorithm: collectives.Chain}} {
					if err := collectives.Reduce(ctx, c, make([]uint8, 4), permIn(1, r, 4), composeOp, 0, o); err == nil || !strings.Contains(err.Error(), "commutative") {
						return fmt.Errorf("non-commutative %v Reduce: %v", o.Algorithm, err)
					}
				}
				return collectives.Barrier(ctx, c)
			})
		})
	}
}

// Across regions the argument check runs through the region leaders; a
// disagreement still reaches every rank, the same error everywhere.
func TestMismatchAcrossRegions(t *testing.T) {
	regions := []string{"a", "b", "a", "c", "b", "a", "c"}
	for _, chk := range []collectives.Check{collectives.CheckSync, collectives.CheckAsync} {
		var mu sync.Mutex
		msgs := map[string]int{}
		runRegions(t, regions, func(ctx context.Context, c *comm.Comm) error {
			root := 0
			if c.Rank() == 4 {
				root = 1
			}
			buf := make([]int64, 8)
			err := collectives.Bcast(ctx, c, buf, root, collectives.Options{Check: chk})
			if err == nil {
				err = collectives.Barrier(ctx, c) // CheckAsync: learnt by here at the latest
			}
			var me *collectives.MismatchError
			if !errors.As(err, &me) {
				return fmt.Errorf("rank %d: %v, want a MismatchError", c.Rank(), err)
			}
			mu.Lock()
			msgs[strings.Replace(me.Error(), me.Op, "OP", 1)]++
			mu.Unlock()
			return nil
		})
		t.Logf("check %v: %v", chk, msgs)
		if len(msgs) != 1 {
			t.Errorf("check %v: ranks got different errors: %v", chk, msgs)
		}
		for m := range msgs {
			if !strings.Contains(m, "root") || !strings.Contains(m, "rank 4") {
				t.Errorf("check %v: %s", chk, m)
			}
		}
	}
}

// MeasureBandwidth gives every rank the same positive figure (loopback:
// far above a WAN), across regions and within one; alone, nothing.
func TestMeasureBandwidth(t *testing.T) {
	for _, regions := range [][]string{{"a", "b", "a", "c"}, {"a", "a", "a"}, {"a"}} {
		var mu sync.Mutex
		got := map[float64]int{}
		runRegions(t, regions, func(ctx context.Context, c *comm.Comm) error {
			mbit, err := collectives.MeasureBandwidth(ctx, c, 1<<20)
			if err != nil {
				return err
			}
			mu.Lock()
			got[mbit]++
			mu.Unlock()
			// Auto goes on working with the measured figure.
			v := []int64{int64(c.Rank())}
			return collectives.Allreduce(ctx, c, v, v, collectives.Sum)
		})
		if len(got) != 1 {
			t.Fatalf("%v: ranks measured different figures: %v", regions, got)
		}
		for mbit := range got {
			t.Logf("%v: %.0f Mbit/s", regions, mbit)
			if len(regions) == 1 && mbit != 0 || len(regions) > 1 && mbit < 100 {
				t.Errorf("%v: %.1f Mbit/s", regions, mbit)
			}
		}
	}
}

// At 4 MiB the region-aware algorithms (several segments for Direct,
// several frames per message) still match the direct reference.
func TestRegionAware4MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("4 MiB per rank: not in -short")
	}
	regions := []string{"a", "a", "a", "b", "c", "c"}
	const n = 512 << 10 // int64: 4 MiB
	p := len(regions)
	want := make([]int64, n)
	for q := range p {
		for i, v := range in(9, q, n) {
			want[i] += v
		}
	}
	runRegions(t, regions, func(ctx context.Context, c *comm.Comm) error {
		r := c.Rank()
		got := make([]int64, n)
		if err := collectives.Allreduce(ctx, c, got, in(9, r, n), collectives.Sum, collectives.Options{Algorithm: collectives.Lanes2}); err != nil {
			return err
		}
		if !slices.Equal(got, want) {
			return fmt.Errorf("rank %d: Allreduce Lanes2 of 4 MiB differs", r)
		}
		for _, a := range []collectives.Algorithm{collectives.Hierarchical, collectives.Lanes, collectives.Direct} {
			o := collectives.Options{Algorithm: a}
			got := make([]int64, n)
			if err := collectives.Allreduce(ctx, c, got, in(9, r, n), collectives.Sum, o); err != nil {
				return err
			}
			if !slices.Equal(got, want) {
				return fmt.Errorf("rank %d: Allreduce %v of 4 MiB differs", r, a)
			}
			b := make([]int64, n)
			if r == 4 {
				copy(b, in(9, 4, n))
			}
			if err := collectives.Bcast(ctx, c, b, 4, o); err != nil {
				return err
			}
			if !slices.Equal(b, in(9, 4, n)) {
				return fmt.Errorf("rank %d: Bcast %v of 4 MiB differs", r, a)
			}
			var dst []int64
			if r == 1 {
				dst = make([]int64, n)
			}
			if err := collectives.Reduce(ctx, c, dst, in(9, r, n), collectives.Sum, 1, o); err != nil {
				return err
			}
			if r == 1 && !slices.Equal(dst, want) {
				return fmt.Errorf("rank %d: Reduce %v of 4 MiB differs", r, a)
			}
		}
		return nil
	})
}

// A communicator across regions warms its WAN connections (comm.WarmUp)
// at its first call that moves 2 KiB or more per rank, not before; one
// within a region never does.
func TestWarmUpOnFirstLargeCall(t *testing.T) {
	for name, regions := range map[string][]string{"two regions": {"a", "b", "a", "b"}, "one region": {"a", "a", "a", "a"}} {
		t.Run(name, func(t *testing.T) {
			runRegions(t, regions, func(ctx context.Context, c *comm.Comm) error {
				small := make([]float64, 1<<7) // 1 KiB
				if err := collectives.Allreduce(ctx, c, small, small, collectives.Sum); err != nil {
					return err
				}
				if err := collectives.Bcast(ctx, c, small, 1); err != nil {
					return err
				}
				if c.WarmedUp() {
					return errors.New("warmed up after 1 KiB calls")
				}
				large := make([]float64, 1<<8) // 2 KiB
				for i := range large {
					large[i] = float64(c.Rank())
				}
				if err := collectives.Allreduce(ctx, c, large, large, collectives.Sum); err != nil {
					return err
				}
				if want := float64(c.Size()*(c.Size()-1)) / 2; large[7] != want {
					return fmt.Errorf("allreduce after the warm-up: %v, want %v", large[7], want)
				}
				if got, want := c.WarmedUp(), name == "two regions"; got != want {
					return fmt.Errorf("WarmedUp after a 2 KiB allreduce: %v, want %v", got, want)
				}
				return nil
			})
		})
	}
}

// Lanes, Lanes2 and Chain allreduces and the Lanes allgather, bcast and reduce
// over regions whose ranks share hosts (the host steps of lanes_hosts.go) give the reference's
// results, and the allreduces keep rank order for a non-commutative op
// where hosts' ranks are consecutive (or skip the host steps where they
// are not).
func TestLanesSharedHosts(t *testing.T) {
	layouts := []struct {
		name           string
		regions, hosts []string
		streams        int
	}{
		{"3 regions x 2 hosts x 2 slots",
			[]string{"a", "a", "a", "a", "b", "b", "b", "b", "c", "c", "c", "c"},
			[]string{"a1", "a1", "a2", "a2", "b1", "b1", "b2", "b2", "c1", "c1", "c2", "c2"}, 0},
		{"3 regions x 2 hosts x 2 slots, 3 streams between regions",
			[]string{"a", "a", "a", "a", "b", "b", "b", "b", "c", "c", "c", "c"},
			[]string{"a1", "a1", "a2", "a2", "b1", "b1", "b2", "b2", "c1", "c1", "c2", "c2"}, 3},
		{"uneven slots and hosts",
			[]string{"a", "a", "a", "b", "b", "c", "c", "c", "c"},
			[]string{"a1", "a1", "a1", "b1", "b2", "c1", "c1", "c2", "c3"}, 0},
		{"hosts interleaved within a region",
			[]string{"a", "a", "a", "a", "b", "b"},
			[]string{"a1", "a2", "a1", "a2", "b1", "b1"}, 0},
	}
	for _, l := range layouts {
		t.Run(l.name, func(t *testing.T) {
			cfg := comm.DefaultConfig()
			cfg.Regions, cfg.Hosts = l.regions, l.hosts
			if l.streams > 0 {
				cfg.Streams = l.streams
			}
			p := len(l.regions)
			commtest.RunConfig(t, p, cfg, func(ctx context.Context, c *comm.Comm) error {
				r := c.Rank()
				for q := range p {
					want := 1
					if l.streams > 1 && l.regions[q] != l.regions[r] {
						want = l.streams
					}
					if got := c.Streams(q); l.streams > 0 && got != want {
						return fmt.Errorf("rank %d: Streams(%d) = %d, want %d", r, q, got, want)
					}
				}
				for _, n := range []int{0, 5, 1000, 100 << 10} {
					want := make([]int64, n)
					for q := range p {
						for i, v := range in(13, q, n) {
							want[i] += v
						}
					}
					for _, o := range []collectives.Options{
						{Algorithm: collectives.Lanes}, {Algorithm: collectives.Lanes2},
						{Algorithm: collectives.Lanes, SegmentSize: 1000}, {Algorithm: collectives.Lanes2, SegmentSize: 1000},
						{Algorithm: collectives.Chain}, {Algorithm: collectives.Chain, SegmentSize: 1000},
					} {
						got := make([]int64, n)
						if err := collectives.Allreduce(ctx, c, got, in(13, r, n), collectives.Sum, o); err != nil {
							return err
						}
						if !slices.Equal(got, want) {
							return fmt.Errorf("rank %d: Allreduce %v (segment %d) of %d elements differs", r, o.Algorithm, o.SegmentSize, n)
						}
						pg := make([]uint8, n)
						if err := collectives.Allreduce(ctx, c, pg, permIn(5, r, n), composeOp, o); err != nil {
							return err
						}
						if !slices.Equal(pg, permFold(5, n, 0, p)) {
							return fmt.Errorf("rank %d: non-commutative Allreduce %v of %d out of rank order", r, o.Algorithm, n)
						}
					}
					all := make([]int64, p*n)
					if err := collectives.Allgather(ctx, c, all, in(19, r, n), collectives.Options{Algorithm: collectives.Lanes}); err != nil {
						return err
					}
					for q := range p {
						if !slices.Equal(all[q*n:(q+1)*n], in(19, q, n)) {
							return fmt.Errorf("rank %d: Allgather Lanes: block %d of %d elements differs", r, q, n)
						}
					}
					for root := range p {
						for _, o := range []collectives.Options{{Algorithm: collectives.Lanes}, {Algorithm: collectives.Lanes, SegmentSize: 1000}} {
							b := make([]int64, n)
							if r == root {
								copy(b, in(17, root, n))
							}
							if err := collectives.Bcast(ctx, c, b, root, o); err != nil {
								return err
							}
							if !slices.Equal(b, in(17, root, n)) {
								return fmt.Errorf("rank %d: Bcast Lanes (segment %d) from %d of %d elements differs", r, o.SegmentSize, root, n)
							}
							var d []int64
							if r == root {
								d = make([]int64, n)
							}
							if err := collectives.Reduce(ctx, c, d, in(13, r, n), collectives.Sum, root, o); err != nil {
								return err
							}
							if r == root && !slices.Equal(d, want) {
								return fmt.Errorf("rank %d: Reduce Lanes (segment %d) to %d of %d elements differs", r, o.SegmentSize, root, n)
							}
						}
					}
				}
				return nil
			})
		})
	}
}

// Model prices what Auto would run across regions, and each algorithm
// the cost model knows; it says nothing for one region, an unknown
// operation or an algorithm the model does not price, follows the
// bandwidth the communicator knows, and sends nothing (a call on one
// rank alone does not put the ranks' collectives out of step).
func TestModel(t *testing.T) {
	runRegions(t, []string{"a", "a", "b", "b", "c"}, func(ctx context.Context, c *comm.Comm) error {
		r := c.Rank()
		for _, op := range []string{"Bcast", "reduce", "ALLREDUCE", "Allgather", "Gather", "Scatter"} {
			for _, n := range []int{8, 64 << 10, 4 << 20} {
				alg, d, ok := collectives.Model(c, op, collectives.Auto, n, 1)
				if !ok || d <= 0 || alg == collectives.Auto {
					return fmt.Errorf("rank %d: Model(%s, Auto, %d) = %v, %v, %v: want an algorithm and a time", r, op, n, alg, d, ok)
				}
				// Auto's choice is one of the priced algorithms, at its
				// price, and within Best's tie margin of the cheapest
				// it may take.
				var least time.Duration
				found := false
				for _, a := range collectives.Algorithms(strings.ToUpper(op[:1]) + strings.ToLower(op[1:])) {
					got, e, ok := collectives.Model(c, op, a, n, 1)
					if !ok || a == collectives.Direct && strings.EqualFold(op, "Allreduce") {
						// Auto takes Direct for Allreduce only when the
						// bandwidth is known (it paces it), not yet here.
						continue
					}
					if got != a || e <= 0 {
						return fmt.Errorf("rank %d: Model(%s, %v, %d) = %v, %v", r, op, a, n, got, e)
					}
					if least == 0 || e < least {
						least = e
					}
					if a == alg && e == d {
						found = true
					}
				}
				if !found || float64(d) > 1.02*float64(least)+float64(100*time.Microsecond) {
					return fmt.Errorf("rank %d: %s of %d bytes: Auto's %v at %v; priced alone: found %v, cheapest %v", r, op, n, alg, d, found, least)
				}
			}
		}
		if _, _, ok := collectives.Model(c, "Bcast", collectives.Ring, 1<<20, 0); ok {
			return fmt.Errorf("rank %d: the model prices Ring for Bcast", r)
		}
		if _, _, ok := collectives.Model(c, "Allgatherv", collectives.Auto, 1<<20, 0); ok {
			return fmt.Errorf("rank %d: the model prices Allgatherv", r)
		}
		if _, _, ok := collectives.Model(c, "Frobnicate", collectives.Auto, 1<<20, 0); ok {
			return fmt.Errorf("rank %d: the model prices an unknown operation", r)
		}
		// A faster link makes the 4 MiB Lanes allreduce cheaper.
		_, slow, _ := collectives.Model(c, "Allreduce", collectives.Lanes, 4<<20, 0)
		collectives.SetBandwidth(c, 1000)
		_, fast, _ := collectives.Model(c, "Allreduce", collectives.Lanes, 4<<20, 0)
		if !(fast < slow) {
			return fmt.Errorf("rank %d: Lanes allreduce of 4 MiB priced %v at 1000 Mbit/s against %v at the default", r, fast, slow)
		}
		// Local: rank 0 alone asks, then everyone runs collectives.
		if r == 0 {
			for range 3 {
				collectives.Model(c, "Allreduce", collectives.Auto, 1<<20, 0)
			}
		}
		buf := []int64{int64(r)}
		if err := collectives.Allreduce(ctx, c, buf, buf, collectives.Sum); err != nil {
			return err
		}
		if buf[0] != 10 {
			return fmt.Errorf("rank %d: Allreduce after Model gave %d, want 10", r, buf[0])
		}
		// One region: Auto follows its flat rules, which are not priced.
		one, err := c.Split(ctx, r/2, r)
		if err != nil {
			return err
		}
		defer one.Close()
		if one.Size() > 1 {
			if _, _, ok := collectives.Model(one, "Allreduce", collectives.Auto, 1<<20, 0); ok {
				return fmt.Errorf("rank %d: the model prices a communicator within one region", r)
			}
		}
		return nil
	})
}

// With each host's bandwidth known, Chain paces its hops between regions
// at it, and the lanes of Lanes, Lanes2 and the Lanes allgather pace
// theirs at their share, restarting their congestion control for the
// call (fresh): results stay the reference's, from every root, and the
// connections carry the next call as before.
func TestKnownBandwidth(t *testing.T) {
	regions := []string{"a", "a", "b", "c", "c"}
	p := len(regions)
	runRegions(t, regions, func(ctx context.Context, c *comm.Comm) error {
		r := c.Rank()
		collectives.SetBandwidth(c, 800)
		chain := collectives.Options{Algorithm: collectives.Chain}
		for _, n := range []int{0, 37, 64 << 10} {
			for root := range p {
				b := make([]int64, n)
				if r == root {
					copy(b, in(23, root, n))
				}
				if err := collectives.Bcast(ctx, c, b, root, chain); err != nil {
					return err
				}
				if !slices.Equal(b, in(23, root, n)) {
					return fmt.Errorf("rank %d: Bcast Chain from %d of %d differs", r, root, n)
				}
				got := make([]int64, n)
				if err := collectives.Reduce(ctx, c, got, in(29, r, n), collectives.Sum, root, chain); err != nil {
					return err
				}
				if r == root {
					want := make([]int64, n)
					for q := range p {
						for i, v := range in(29, q, n) {
							want[i] += v
						}
					}
					if !slices.Equal(got, want) {
						return fmt.Errorf("rank %d: Reduce Chain to %d of %d differs", r, root, n)
					}
				}
			}
			want := make([]int64, n)
			for q := range p {
				for i, v := range in(31, q, n) {
					want[i] += v
				}
			}
			for _, a := range []collectives.Algorithm{collectives.Lanes, collectives.Lanes2} {
				got := make([]int64, n)
				if err := collectives.Allreduce(ctx, c, got, in(31, r, n), collectives.Sum, collectives.Options{Algorithm: a}); err != nil {
					return err
				}
				if !slices.Equal(got, want) {
					return fmt.Errorf("rank %d: Allreduce %v of %d differs", r, a, n)
				}
			}
			all := make([]int64, p*n)
			if err := collectives.Allgather(ctx, c, all, in(37, r, n), collectives.Options{Algorithm: collectives.Lanes}); err != nil {
				return err
			}
			for q := range p {
				if !slices.Equal(all[q*n:(q+1)*n], in(37, q, n)) {
					return fmt.Errorf("rank %d: Allgather Lanes of %d: block %d differs", r, n, q)
				}
			}
		}
		return nil
	})
}
