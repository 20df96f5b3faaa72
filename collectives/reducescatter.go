package collectives

import (
	"context"

	"github.com/spmd-go/spmd/comm"
)

// ReduceScatterBlock combines src of every rank with op and leaves block r
// of the result, len(dst) elements from r*len(dst), in dst on rank r.
// len(src) == Size()*len(dst) on every rank.
//
// Algorithms: Ring (default for commutative ops), Binomial (Reduce to
// rank 0 then Scatterv; default for non-commutative ops).
func ReduceScatterBlock[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, op Op, opts ...Options) error {
	checkLen("ReduceScatterBlock", "src", len(src), c.Size()*len(dst))
	counts := make([]int, c.Size())
	for i := range counts {
		counts[i] = len(dst)
	}
	return reduceScatter(ctx, c, dst, src, counts, op, kReduceScatterBlock, opts)
}

// ReduceScatter combines src of every rank with op and leaves counts[r]
// elements of the result, from the sum of counts[:r], in dst on rank r.
// Every rank passes the same counts; len(src) == sum(counts) and len(dst)
// == counts[Rank()].
//
// Algorithms: as ReduceScatterBlock.
func ReduceScatter[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, counts []int, op Op, opts ...Options) error {
	return reduceScatter(ctx, c, dst, src, counts, op, kReduceScatter, opts)
}

func reduceScatter[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, counts []int, op Op, kind uint8, opts []Options) error {
	name := kindName(kind)
	red, err := bind[T](op, name)
	if err != nil {
		return err
	}
	e := sigElem[T]()
	l := layoutOf(name, "src", counts, nil, c.Size(), int(e.esize), len(src))
	checkLen(name, "src", len(src), sum(counts))
	checkLen(name, "dst", len(dst), counts[c.Rank()])
	off, _ := l.packed()
	k := newCall(ctx, c, name, int(e.esize), red, opts)
	alg, err := k.choose(kind, func() Algorithm {
		if red.commutative {
			return Ring
		}
		return Binomial
	})
	if err != nil {
		return err
	}
	d, s := raw(dst), raw(src)
	sig := e.sig(k, kind, -1, len(src))
	if kind == kReduceScatter {
		sig.vdigest = digestInts(counts)
	}
	return k.run(sig, func() error {
		if alg == Ring {
			return reduceScatterRing(k, d, k.clone(s), off)
		}
		return reduceScatterBinomial(k, d, s, off)
	})
}
