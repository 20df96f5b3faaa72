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
// Rabenseifner (default above).
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

// elemInfo is an element type's kind and size.
type elemInfo struct {
	kind  uint8
	esize uint16
}

func sigElem[T any]() elemInfo {
	k, s := elemOf[T]()
	return elemInfo{k, s}
}

func (e elemInfo) sig(k *call, kind uint8, root, count int) signature {
	s := signature{kind: kind, elem: e.kind, esize: e.esize, root: int32(root), count: int64(count), alg: uint8(k.opts.Algorithm), seg: int64(k.opts.SegmentSize)}
	if k.op != nil {
		s.op = k.op.id
	}
	return s
}

func reduce(ctx context.Context, c *comm.Comm, dst, src []byte, count int, red *reducer, root int, e elemInfo, opts []Options) error {
	checkRoot(c, root, "Reduce")
	if c.Rank() == root {
		checkLen("Reduce", "dst", len(dst), len(src))
	}
	k := newCall(ctx, c, "Reduce", int(e.esize), red, opts)
	alg, err := k.choose(kReduce, func() Algorithm {
		return selectReduction(k.size, count, len(src), red.commutative, reduceShort, Binomial)
	})
	if err != nil {
		return err
	}
	return k.run(e.sig(k, kReduce, root, count), func() error {
		if alg == Rabenseifner {
			return reduceRabenseifner(k, dst, src, root)
		}
		return reduceBinomial(k, dst, src, root)
	})
}
