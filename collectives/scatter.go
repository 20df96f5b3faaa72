package collectives

import (
	"context"

	"github.com/spmd-go/spmd/comm"
)

// Scatter sends block r of root's src, src[r*len(dst):(r+1)*len(dst)], to
// dst on rank r. src is used only on root (it may be nil elsewhere);
// root's dst may be its own block of src (in place). Every rank passes a
// dst of the same length.
//
// Algorithms: Binomial (default), Linear, Hierarchical (across regions:
// one WAN message per region), Lanes (across regions: a message per region
// to each of L lanes, none of which waits for a leader to unpack its
// region). Across regions the cost model picks one of the last two.
func Scatter[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, root int, opts ...Options) error {
	checkRoot(c, root, "Scatter")
	if c.Rank() == root {
		checkLen("Scatter", "src", len(src), c.Size()*len(dst))
	}
	e := sigElem[T]()
	k := newCall(ctx, c, "Scatter", int(e.esize), nil, opts)
	alg, err := k.choose(kScatter, func() Algorithm {
		if a, ok := k.modelled(kScatter, len(dst)*int(e.esize), root); ok {
			return a
		}
		return Binomial
	})
	if err != nil {
		return err
	}
	d, s := raw(dst), raw(src)
	return k.run(e.sig(k, kScatter, root, len(dst)), func() error {
		switch alg {
		case Linear:
			return scatterLinear(k, d, s, blocks(k.size*len(dst), k.size, k.esize), root)
		case Hierarchical:
			return scatterHier(k, d, s, root)
		case Lanes:
			return scatterLanes(k, d, s, root)
		}
		return scatterBinomial(k, d, s, root)
	})
}

// Scatterv sends counts[r] elements of root's src, from src[displs[r]:], to
// dst on rank r. src, counts and displs are used only on root; displs nil
// means the blocks follow one another. Rank r's len(dst) must equal root's
// counts[r].
//
// Algorithms: Linear.
func Scatterv[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, counts, displs []int, root int, opts ...Options) error {
	checkRoot(c, root, "Scatterv")
	e := sigElem[T]()
	var l layout
	if c.Rank() == root {
		l = layoutOf("Scatterv", "src", counts, displs, c.Size(), int(e.esize), len(src))
		checkLen("Scatterv", "dst", len(dst), counts[root])
	}
	k := newCall(ctx, c, "Scatterv", int(e.esize), nil, opts)
	if _, err := k.choose(kScatterv, func() Algorithm { return Linear }); err != nil {
		return err
	}
	d, s := raw(dst), raw(src)
	return k.run(e.sig(k, kScatterv, root, -1), func() error {
		if k.rank != root {
			return k.recv(d, root, 0)
		}
		return scattervLinear(k, d, s, l, root)
	})
}
