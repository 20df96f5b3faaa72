package collectives

import (
	"context"

	"github.com/spmd-go/spmd/comm"
)

// Alltoall sends block j of src (len(src)/Size() elements) to rank j,
// which puts it at block r of its dst, r being the sender. dst and src
// have the same length, a multiple of Size(), equal on every rank; dst may
// be src itself (in place).
//
// Algorithms: Bruck (default for blocks up to 256 bytes on 8 or more
// ranks), Linear (default up to 32 KiB blocks), Pairwise (default above);
// across regions Hierarchical (aggregated per destination region; default
// up to alltoallHierMax per block).
func Alltoall[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, opts ...Options) error {
	checkLen("Alltoall", "dst", len(dst), len(src))
	if len(src)%c.Size() != 0 {
		panic("collectives: Alltoall: len(src) is not a multiple of the communicator size")
	}
	e := sigElem[T]()
	k := newCall(ctx, c, "Alltoall", int(e.esize), nil, opts)
	d, s := raw(dst), raw(src)
	n := len(s) / k.size
	alg, err := k.choose(kAlltoall, func() Algorithm {
		if k.multiRegion() && n <= alltoallHierMax {
			return Hierarchical
		}
		return selectAlltoall(k.size, n)
	})
	if err != nil {
		return err
	}
	if same(d, s) && alg != Bruck {
		s = k.clone(s)
	}
	return k.run(e.sig(k, kAlltoall, -1, len(src)/k.size), func() error {
		switch alg {
		case Bruck:
			return alltoallBruck(k, d, s, n)
		case Linear:
			l := packedLayout(k.size, n)
			return alltoallLinear(k, d, s, l, l)
		case Hierarchical:
			return alltoallHier(k, d, s, n)
		}
		l := packedLayout(k.size, n)
		return alltoallPairwise(k, d, s, l, l)
	})
}

// alltoallHierMax is the largest block for which Auto aggregates an
// alltoall across regions; above, each block's own bandwidth outweighs the
// messages saved, and the flat rules apply (Linear up to 32 KiB blocks: one
// WAN latency in all; Pairwise above).
const alltoallHierMax = 32 << 10

// Alltoallv sends scounts[j] elements of src from src[sdispls[j]:] to rank
// j, which receives them into rcounts[r] elements at dst[rdispls[r]:], r
// being the sender (displs nil: blocks one after another). scounts[j] on
// rank r must equal rcounts[r] on rank j; a receiver that gets another
// length fails naming the sender. If dst and src overlap, src is copied
// first.
//
// Algorithms: Linear (default), Pairwise.
func Alltoallv[T comm.Number](ctx context.Context, c *comm.Comm, dst []T, rcounts, rdispls []int, src []T, scounts, sdispls []int, opts ...Options) error {
	e := sigElem[T]()
	rl := layoutOf("Alltoallv", "dst", rcounts, rdispls, c.Size(), int(e.esize), len(dst))
	sl := layoutOf("Alltoallv", "src", scounts, sdispls, c.Size(), int(e.esize), len(src))
	k := newCall(ctx, c, "Alltoallv", int(e.esize), nil, opts)
	alg, err := k.choose(kAlltoallv, func() Algorithm { return Linear })
	if err != nil {
		return err
	}
	d, s := raw(dst), raw(src)
	if sliceOverlap(d, s) {
		s = k.clone(s)
	}
	return k.run(e.sig(k, kAlltoallv, -1, -1), func() error {
		if alg == Pairwise {
			return alltoallPairwise(k, d, s, sl, rl)
		}
		return alltoallLinear(k, d, s, sl, rl)
	})
}
