package collectives_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// in returns rank r's input of n elements for a case.
func in(seed, r, n int) []int64 {
	out := make([]int64, n)
	x := uint64(seed)*0x9E3779B97F4A7C15 + uint64(r)*0xBF58476D1CE4E5B9 + 1
	for i := range out {
		x ^= x << 13
		x ^= x >> 7
		x ^= x << 17
		out[i] = int64(x%1000) - 500
	}
	return out
}

func sumOf(seed, p, n int, from, to int) []int64 {
	s := make([]int64, n)
	for r := from; r < to; r++ {
		for i, v := range in(seed, r, n) {
			s[i] += v
		}
	}
	return s
}

// vcounts gives uneven per-rank counts for the v-variants.
func vcounts(p, n int) []int {
	c := make([]int, p)
	for r := range c {
		c[r] = (n + 3*r) % (n + 2)
	}
	return c
}

// gappy returns displacements that put the blocks in reverse rank order
// with a gap of one element between them, and the buffer length needed.
func gappy(counts []int) ([]int, int) {
	d := make([]int, len(counts))
	at := 0
	for r := len(counts) - 1; r >= 0; r-- {
		d[r] = at
		at += counts[r] + 1
	}
	return d, at
}

type collCase struct {
	op  string
	run func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error
}

func mismatch(what string, got, want any) error {
	return fmt.Errorf("%s: got %v, want %v", what, short(got), short(want))
}

func short(v any) string {
	s := fmt.Sprint(v)
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

var cases = []collCase{
	{"Barrier", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		return collectives.Barrier(ctx, c, o)
	}},
	{"Bcast", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		root := seed % p
		buf := make([]int64, n)
		if r == root {
			buf = in(seed, root, n)
		}
		if err := collectives.Bcast(ctx, c, buf, root, o); err != nil {
			return err
		}
		if want := in(seed, root, n); !slices.Equal(buf, want) {
			return mismatch("buf", buf, want)
		}
		return nil
	}},
	{"Reduce", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		root := (seed + 1) % p
		var dst []int64
		if r == root {
			dst = make([]int64, n)
		}
		if err := collectives.Reduce(ctx, c, dst, in(seed, r, n), collectives.Sum, root, o); err != nil {
			return err
		}
		if want := sumOf(seed, p, n, 0, p); r == root && !slices.Equal(dst, want) {
			return mismatch("dst", dst, want)
		}
		return nil
	}},
	{"Allreduce", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		buf := in(seed, r, n)
		if seed%2 == 0 { // in place
			if err := collectives.Allreduce(ctx, c, buf, buf, collectives.Sum, o); err != nil {
				return err
			}
		} else {
			dst := make([]int64, n)
			if err := collectives.Allreduce(ctx, c, dst, buf, collectives.Sum, o); err != nil {
				return err
			}
			if !slices.Equal(buf, in(seed, r, n)) {
				return fmt.Errorf("src was modified")
			}
			buf = dst
		}
		if want := sumOf(seed, p, n, 0, p); !slices.Equal(buf, want) {
			return mismatch("dst", buf, want)
		}
		return nil
	}},
	{"Gather", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		root := (seed + 2) % p
		var dst []int64
		src := in(seed, r, n)
		if r == root {
			dst = make([]int64, p*n)
			if seed%2 == 0 { // in place
				copy(dst[r*n:], src)
				src = dst[r*n : (r+1)*n]
			}
		}
		if err := collectives.Gather(ctx, c, dst, src, root, o); err != nil {
			return err
		}
		if r == root {
			for q := 0; q < p; q++ {
				if want := in(seed, q, n); !slices.Equal(dst[q*n:(q+1)*n], want) {
					return mismatch(fmt.Sprintf("block %d", q), dst[q*n:(q+1)*n], want)
				}
			}
		}
		return nil
	}},
	{"Gatherv", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		root := (seed + 3) % p
		counts := vcounts(p, n)
		displs, total := gappy(counts)
		var dst []int64
		if r == root {
			dst = make([]int64, total)
		}
		if err := collectives.Gatherv(ctx, c, dst, counts, displs, in(seed, r, counts[r]), root, o); err != nil {
			return err
		}
		if r == root {
			for q := 0; q < p; q++ {
				got := dst[displs[q] : displs[q]+counts[q]]
				if want := in(seed, q, counts[q]); !slices.Equal(got, want) {
					return mismatch(fmt.Sprintf("block %d", q), got, want)
				}
			}
		}
		return nil
	}},
	{"Scatter", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		root := (seed + 1) % p
		var src []int64
		if r == root {
			for q := 0; q < p; q++ {
				src = append(src, in(seed, q, n)...)
			}
		}
		dst := make([]int64, n)
		if err := collectives.Scatter(ctx, c, dst, src, root, o); err != nil {
			return err
		}
		if want := in(seed, r, n); !slices.Equal(dst, want) {
			return mismatch("dst", dst, want)
		}
		return nil
	}},
	{"Scatterv", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		root := seed % p
		counts := vcounts(p, n)
		displs, total := gappy(counts)
		var src []int64
		if r == root {
			src = make([]int64, total)
			for q := 0; q < p; q++ {
				copy(src[displs[q]:], in(seed, q, counts[q]))
			}
		}
		dst := make([]int64, counts[r])
		if err := collectives.Scatterv(ctx, c, dst, src, counts, displs, root, o); err != nil {
			return err
		}
		if want := in(seed, r, counts[r]); !slices.Equal(dst, want) {
			return mismatch("dst", dst, want)
		}
		return nil
	}},
	{"Allgather", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		dst := make([]int64, p*n)
		src := in(seed, r, n)
		if seed%2 == 1 {
			copy(dst[r*n:], src)
			src = dst[r*n : (r+1)*n]
		}
		if err := collectives.Allgather(ctx, c, dst, src, o); err != nil {
			return err
		}
		for q := 0; q < p; q++ {
			if want := in(seed, q, n); !slices.Equal(dst[q*n:(q+1)*n], want) {
				return mismatch(fmt.Sprintf("block %d", q), dst[q*n:(q+1)*n], want)
			}
		}
		return nil
	}},
	{"Allgatherv", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		counts := vcounts(p, n)
		var displs []int
		total := 0
		if seed%2 == 0 {
			displs, total = gappy(counts)
		} else {
			total = 0
			for _, x := range counts {
				total += x
			}
		}
		dst := make([]int64, total)
		if err := collectives.Allgatherv(ctx, c, dst, counts, displs, in(seed, r, counts[r]), o); err != nil {
			return err
		}
		at := 0
		for q := 0; q < p; q++ {
			if displs != nil {
				at = displs[q]
			}
			got := dst[at : at+counts[q]]
			if want := in(seed, q, counts[q]); !slices.Equal(got, want) {
				return mismatch(fmt.Sprintf("block %d", q), got, want)
			}
			at += counts[q]
		}
		return nil
	}},
	{"Alltoall", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		src := in(seed, r, p*n) // block j goes to rank j
		dst := make([]int64, p*n)
		if seed%2 == 1 {
			copy(dst, src)
			src = dst
		}
		if err := collectives.Alltoall(ctx, c, dst, src, o); err != nil {
			return err
		}
		for q := 0; q < p; q++ {
			want := in(seed, q, p*n)[r*n : (r+1)*n]
			if got := dst[q*n : (q+1)*n]; !slices.Equal(got, want) {
				return mismatch(fmt.Sprintf("block from %d", q), got, want)
			}
		}
		return nil
	}},
	{"Alltoallv", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		// rank s sends (n + s + 2j) % (n+3) elements to rank j
		cnt := func(s, j int) int { return (n + s + 2*j) % (n + 3) }
		scounts, rcounts := make([]int, p), make([]int, p)
		for j := 0; j < p; j++ {
			scounts[j], rcounts[j] = cnt(r, j), cnt(j, r)
		}
		rdispls, rtotal := gappy(rcounts)
		stotal := 0
		for _, x := range scounts {
			stotal += x
		}
		src := in(seed, r, stotal)
		dst := make([]int64, rtotal)
		if err := collectives.Alltoallv(ctx, c, dst, rcounts, rdispls, src, scounts, nil, o); err != nil {
			return err
		}
		for q := 0; q < p; q++ {
			at := 0
			for j := 0; j < r; j++ {
				at += cnt(q, j)
			}
			want := in(seed, q, at+cnt(q, r))[at:]
			if got := dst[rdispls[q] : rdispls[q]+rcounts[q]]; !slices.Equal(got, want) {
				return mismatch(fmt.Sprintf("block from %d", q), got, want)
			}
		}
		return nil
	}},
	{"ReduceScatterBlock", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		dst := make([]int64, n)
		if err := collectives.ReduceScatterBlock(ctx, c, dst, in(seed, r, p*n), collectives.Sum, o); err != nil {
			return err
		}
		if want := sumOf(seed, p, p*n, 0, p)[r*n : (r+1)*n]; !slices.Equal(dst, want) {
			return mismatch("dst", dst, want)
		}
		return nil
	}},
	{"ReduceScatter", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		p, r := c.Size(), c.Rank()
		counts := vcounts(p, n)
		total, at := 0, 0
		for q, x := range counts {
			if q < r {
				at += x
			}
			total += x
		}
		dst := make([]int64, counts[r])
		if err := collectives.ReduceScatter(ctx, c, dst, in(seed, r, total), counts, collectives.Sum, o); err != nil {
			return err
		}
		if want := sumOf(seed, p, total, 0, p)[at : at+counts[r]]; !slices.Equal(dst, want) {
			return mismatch("dst", dst, want)
		}
		return nil
	}},
	{"Scan", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		r := c.Rank()
		dst := make([]int64, n)
		if err := collectives.Scan(ctx, c, dst, in(seed, r, n), collectives.Sum, o); err != nil {
			return err
		}
		if want := sumOf(seed, c.Size(), n, 0, r+1); !slices.Equal(dst, want) {
			return mismatch("dst", dst, want)
		}
		return nil
	}},
	{"Exscan", func(ctx context.Context, c *comm.Comm, o collectives.Options, seed, n int) error {
		r := c.Rank()
		buf := in(seed, r, n) // in place
		if err := collectives.Exscan(ctx, c, buf, buf, collectives.Sum, o); err != nil {
			return err
		}
		want := sumOf(seed, c.Size(), n, 0, r)
		if r == 0 {
			want = in(seed, 0, n) // left as it was
		}
		if !slices.Equal(buf, want) {
			return mismatch("dst", buf, want)
		}
		return nil
	}},
}

// TestMatrix runs every collective with every algorithm (and Auto) for
// several communicator sizes and element counts against a reference
// computed from the same inputs.
func TestMatrix(t *testing.T) {
	sizes := []int{0, 1, 37, 1 << 17} // elements of 8 bytes: up to 1 MiB
	if testing.Short() {
		sizes = sizes[:3]
	}
	for _, p := range []int{1, 2, 3, 4, 5, 7, 8} {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			commtest.Run(t, p, func(ctx context.Context, c *comm.Comm) error {
				seed := 0
				for _, cc := range cases {
					algs := append([]collectives.Algorithm{collectives.Auto}, collectives.Algorithms(cc.op)...)
					if len(algs) == 1 {
						return fmt.Errorf("%s: no algorithms listed", cc.op)
					}
					for _, alg := range algs {
						for _, n := range sizes {
							seed++
							o := collectives.Options{Algorithm: alg}
							if alg == collectives.Pipeline {
								o.SegmentSize = 4096 // many segments
							}
							if err := cc.run(ctx, c, o, seed, n); err != nil {
								return fmt.Errorf("%s %v n=%d: %w", cc.op, alg, n, err)
							}
						}
					}
				}
				return nil
			})
		})
	}
}
