package collectives

import (
	"context"

	"github.com/spmd-go/spmd/comm"
)

// Reduce combines src of every rank with op into dst on root (in rank
// order for a non-commutative op). dst is used only on root, where it has
// len(src) elements; it may be src itself (in place) and may be nil
// elsewhere.
//
// Algorithms: Binomial (default up to 2 KiB or for non-commutative ops),
// Rabenseifner (default above). Across regions Auto takes what the cost
// model prices fastest of Hierarchical, Lanes, Direct, Binomial and Chain
// (docs/algorithms.md); Hierarchical, Lanes and Chain need a commutative
// op.
func Reduce[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, op Op, root int, opts ...Options) error {
	red, err := bind[T](op, "Reduce")
	if err != nil {
		return err
	}
	return reduce(ctx, c, raw(dst), raw(src), len(src), red, root, sigElem[T](), opts)
}

// ReduceLoc is Reduce for MinLoc and MaxLoc.
func ReduceLoc[T Real](ctx context.Context, c *comm.Comm, dst, src []Loc[T], op Op, root int, opts ...Options) error {
	red, err := bindLoc[T](op, "ReduceLoc")
	if err != nil {
		return err
	}
	return reduce(ctx, c, raw(dst), raw(src), len(src), red, root, sigElem[Loc[T]](), opts)
}

func reduce(ctx context.Context, c *comm.Comm, dst, src []byte, count int, red *reducer, root int, e elemInfo, opts []Options) error {
	checkRoot(c, root, "Reduce")
	if c.Rank() == root {
		checkLen("Reduce", "dst", len(dst), len(src))
	}
	k := newCall(ctx, c, "Reduce", int(e.esize), red, opts)
	alg, err := k.choose(kReduce, func() Algorithm {
		if a, ok := k.modelled(kReduce, len(src), root); ok {
			return a
		}
		return selectReduction(k.size, count, len(src), red.commutative, reduceShort, Binomial)
	})
	if err != nil {
		return err
	}
	return k.run(e.sig(k, kReduce, root, count), func() error {
		if alg == Rabenseifner {
			return reduceRabenseifner(k, dst, src, root)
		}
		if alg == Hierarchical {
			return reduceHier(k, dst, src, root)
		}
		if alg == Lanes {
			return reduceLanes(k, dst, src, root)
		}
		if alg == Direct {
			return reduceDirect(k, dst, src, root)
		}
		if alg == Chain {
			return reduceChain(k, dst, src, root)
		}
		return reduceBinomial(k, dst, src, root)
	})
}
