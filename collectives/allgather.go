package collectives

import (
	"context"
	"github.com/spmd-go/spmd/internal/bufpool"
	"github.com/spmd-go/spmd/internal/mem"

	"github.com/spmd-go/spmd/comm"
)

// Allgather collects src of every rank into dst on every rank, rank r's
// block at dst[r*len(src):(r+1)*len(src)]. src may be this rank's own
// block of dst (in place). Every rank passes a src of the same length.
//
// Algorithms: RecursiveDoubling (default for a power-of-two size under
// 512 KiB in all), Bruck (default under 80 KiB in all otherwise), Ring
// (default above).
func Allgather[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, opts ...Options) error {
	checkLen("Allgather", "dst", len(dst), c.Size()*len(src))
	e := sigElem[T]()
	k := newCall(ctx, c, "Allgather", int(e.esize), nil, opts)
	d, s := raw(dst), raw(src)
	n := len(s)
	alg, err := k.choose(kAllgather, func() Algorithm {
		if a, ok := k.modelled(kAllgather, n, -1); ok {
			return a
		}
		return selectAllgather(k.size, len(d))
	})
	if err != nil {
		return err
	}
	if own := d[k.rank*n : (k.rank+1)*n]; !same(own, s) {
		mem.Copy(own, s)
	}
	return k.run(e.sig(k, kAllgather, -1, len(src)), func() error {
		switch alg {
		case Bruck:
			return allgatherBruck(k, d, n)
		case Ring:
			return allgatherRing(k, d, blocks(len(dst), k.size, k.esize))
		case Hierarchical:
			return allgatherHier(k, d, n)
		case Lanes:
			return allgatherLanes(k, d, n)
		}
		return allgatherRecDoubling(k, d, blocks(len(dst), k.size, k.esize))
	})
}

// Allgatherv collects src of every rank into dst on every rank: rank r's
// block, counts[r] elements, at dst[displs[r]:] (displs nil: one after
// another). Every rank passes the same counts, and len(src) ==
// counts[Rank()]; src may be this rank's own block of dst (in place).
//
// Algorithms: Ring (default from 80 KiB in all), Linear (default below).
func Allgatherv[T comm.Number](ctx context.Context, c *comm.Comm, dst []T, counts, displs []int, src []T, opts ...Options) error {
	e := sigElem[T]()
	l := layoutOf("Allgatherv", "dst", counts, displs, c.Size(), int(e.esize), len(dst))
	checkLen("Allgatherv", "src", len(src), counts[c.Rank()])
	k := newCall(ctx, c, "Allgatherv", int(e.esize), nil, opts)
	total := sum(counts) * k.esize
	alg, err := k.choose(kAllgatherv, func() Algorithm {
		if total < allgatherShort {
			return Linear
		}
		return Ring
	})
	if err != nil {
		return err
	}
	d, s := raw(dst), raw(src)
	off, packed := l.packed()
	buf := d
	if !packed {
		buf = bufpool.Alloc(total)
		off = make([]int, k.size+1)
		for r := 0; r < k.size; r++ {
			off[r+1] = off[r] + l.end[r] - l.start[r]
		}
	}
	if own := buf[off[k.rank]:off[k.rank+1]]; !same(own, s) {
		mem.Copy(own, s)
	}
	sig := e.sig(k, kAllgatherv, -1, -1)
	sig.vdigest = digestInts(counts)
	err = k.run(sig, func() error {
		if alg == Ring {
			return allgatherRing(k, buf, off)
		}
		return allgathervLinear(k, buf, off)
	})
	if err == nil && !packed {
		for r := 0; r < k.size; r++ {
			mem.Copy(d[l.start[r]:l.end[r]], buf[off[r]:off[r+1]])
		}
	}
	return err
}
