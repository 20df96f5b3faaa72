package collectives

import (
	"context"

	"github.com/spmd-go/spmd/comm"
)

// Bcast copies root's buf to buf on every rank of c. Every rank passes a
// buf of the same length.
//
// Algorithms: Binomial (default below 12 KiB or under 8 ranks),
// ScatterAllgather (default otherwise), Pipeline (segmented chain in
// rank order). Across regions Auto takes what the cost model prices
// fastest of Hierarchical, Lanes, Direct, Binomial and Chain (a segmented
// chain through the regions in the order of least latency;
// docs/algorithms.md).
func Bcast[T comm.Number](ctx context.Context, c *comm.Comm, buf []T, root int, opts ...Options) error {
	checkRoot(c, root, "Bcast")
	e := sigElem[T]()
	k := newCall(ctx, c, "Bcast", int(e.esize), nil, opts)
	b := raw(buf)
	alg, err := k.choose(kBcast, func() Algorithm {
		if a, ok := k.modelled(kBcast, len(b), root); ok {
			return a
		}
		return selectBcast(k.size, len(b))
	})
	if err != nil {
		return err
	}
	return k.run(e.sig(k, kBcast, root, len(buf)), func() error {
		switch alg {
		case ScatterAllgather:
			return bcastScatterAllgather(k, b, root)
		case Pipeline:
			return bcastPipeline(k, b, root)
		case Hierarchical:
			return bcastHier(k, b, root)
		case Lanes:
			return bcastLanes(k, b, root)
		case Direct:
			return bcastDirect(k, b, root)
		case Chain:
			return bcastChain(k, b, root)
		}
		return bcastBinomial(k, b, root)
	})
}
