package collectives

import (
	"context"

	"github.com/spmd-go/spmd/comm"
)

// Gather collects src of every rank into dst on root, rank r's block at
// dst[r*len(src):(r+1)*len(src)]. dst is used only on root (it may be nil
// elsewhere); root's src may be its own block of dst (in place). Every
// rank passes a src of the same length.
//
// Algorithms: Binomial (default), Linear, Hierarchical (across regions:
// one WAN message per region), Lanes (across regions: a message per region
// from each of L lanes, which need not wait for a leader to pack its
// region). Across regions the cost model picks one of the last two.
func Gather[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, root int, opts ...Options) error {
	checkRoot(c, root, "Gather")
	if c.Rank() == root {
		checkLen("Gather", "dst", len(dst), c.Size()*len(src))
	}
	e := sigElem[T]()
	k := newCall(ctx, c, "Gather", int(e.esize), nil, opts)
	alg, err := k.choose(kGather, func() Algorithm {
		if a, ok := k.modelled(kGather, len(src)*int(e.esize), root); ok {
			return a
		}
		return Binomial
	})
	if err != nil {
		return err
	}
	d, s := raw(dst), raw(src)
	return k.run(e.sig(k, kGather, root, len(src)), func() error {
		switch alg {
		case Linear:
			return gatherLinear(k, d, s, blocks(k.size*len(src), k.size, k.esize), root)
		case Hierarchical:
			return gatherHier(k, d, s, root)
		case Lanes:
			return gatherLanes(k, d, s, root)
		}
		return gatherBinomial(k, d, s, root)
	})
}

// Gatherv collects src of every rank into dst on root: rank r's block,
// counts[r] elements, at dst[displs[r]:]. counts and displs are used only
// on root; displs nil means the blocks follow one another. Rank r's
// len(src) must equal root's counts[r]; a rank whose length differs makes
// root's call fail naming it (the other ranks cannot know).
//
// Algorithms: Linear.
func Gatherv[T comm.Number](ctx context.Context, c *comm.Comm, dst []T, counts, displs []int, src []T, root int, opts ...Options) error {
	checkRoot(c, root, "Gatherv")
	e := sigElem[T]()
	var l layout
	if c.Rank() == root {
		l = layoutOf("Gatherv", "dst", counts, displs, c.Size(), int(e.esize), len(dst))
		checkLen("Gatherv", "src", len(src), counts[root])
	}
	k := newCall(ctx, c, "Gatherv", int(e.esize), nil, opts)
	if _, err := k.choose(kGatherv, func() Algorithm { return Linear }); err != nil {
		return err
	}
	d, s := raw(dst), raw(src)
	return k.run(e.sig(k, kGatherv, root, -1), func() error {
		if k.rank != root {
			return k.send(s, root, 0)
		}
		return gathervLinear(k, d, s, l, root)
	})
}
