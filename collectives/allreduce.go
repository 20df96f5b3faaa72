package collectives

import (
	"context"
	"github.com/spmd-go/spmd/internal/mem"

	"github.com/spmd-go/spmd/comm"
)

// Allreduce combines src of every rank with op and leaves the result in
// dst on every rank (in rank order for a non-commutative op). dst and src
// have the same length; dst may be src itself (in place). Every rank gets
// the same bits.
//
// Algorithms: RecursiveDoubling (default up to 2 KiB, or for
// non-commutative ops, or fewer elements than ranks), Rabenseifner
// (default above), Ring.
func Allreduce[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, op Op, opts ...Options) error {
	red, err := bind[T](op, "Allreduce")
	if err != nil {
		return err
	}
	checkLen("Allreduce", "dst", len(dst), len(src))
	return allreduce(ctx, c, raw(dst), raw(src), len(src), red, sigElem[T](), opts)
}

// AllreduceLoc is Allreduce for MinLoc and MaxLoc.
func AllreduceLoc[T Real](ctx context.Context, c *comm.Comm, dst, src []Loc[T], op Op, opts ...Options) error {
	red, err := bindLoc[T](op, "AllreduceLoc")
	if err != nil {
		return err
	}
	checkLen("AllreduceLoc", "dst", len(dst), len(src))
	return allreduce(ctx, c, raw(dst), raw(src), len(src), red, sigElem[Loc[T]](), opts)
}

func allreduce(ctx context.Context, c *comm.Comm, dst, src []byte, count int, red *reducer, e elemInfo, opts []Options) error {
	k := newCall(ctx, c, "Allreduce", int(e.esize), red, opts)
	alg, err := k.choose(kAllreduce, func() Algorithm {
		if a, ok := k.modelled(kAllreduce, len(src), -1); ok {
			return a
		}
		return selectReduction(k.size, count, len(src), red.commutative, allreduceShort, RecursiveDoubling)
	})
	if err != nil {
		return err
	}
	if !same(dst, src) {
		mem.Copy(dst, src)
	}
	return k.run(e.sig(k, kAllreduce, -1, count), func() error {
		switch alg {
		case Ring:
			return allreduceRing(k, dst)
		case Rabenseifner:
			return allreduceRabenseifner(k, dst)
		case Hierarchical:
			return allreduceHier(k, dst)
		case Direct:
			return allreduceDirect(k, dst)
		case Lanes:
			return allreduceLanes(k, dst, 1)
		case Lanes2:
			return allreduceLanes(k, dst, 2)
		case Chain:
			return allreduceLanes(k, dst, 0)
		}
		return allreduceRecDoubling(k, dst)
	})
}
