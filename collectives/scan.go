package collectives

import (
	"context"

	"github.com/spmd-go/spmd/comm"
)

// Scan leaves in dst on rank r the reduction of src over ranks 0..r, in
// rank order. dst and src have the same length on every rank; dst may be
// src itself (in place).
//
// Algorithms: RecursiveDoubling (default under 256 KiB), Pipeline
// (segmented chain; default above).
func Scan[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, op Op, opts ...Options) error {
	return scan(ctx, c, dst, src, op, kScan, opts)
}

// Exscan leaves in dst on rank r > 0 the reduction of src over ranks
// 0..r-1, in rank order; rank 0's dst is not written (MPI leaves it
// undefined). dst may be src itself (in place).
//
// Algorithms: as Scan.
func Exscan[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, op Op, opts ...Options) error {
	return scan(ctx, c, dst, src, op, kExscan, opts)
}

func scan[T comm.Number](ctx context.Context, c *comm.Comm, dst, src []T, op Op, kind uint8, opts []Options) error {
	name := kindName(kind)
	red, err := bind[T](op, name)
	if err != nil {
		return err
	}
	checkLen(name, "dst", len(dst), len(src))
	e := sigElem[T]()
	k := newCall(ctx, c, name, int(e.esize), red, opts)
	d, s := raw(dst), raw(src)
	alg, err := k.choose(kind, func() Algorithm { return selectScan(len(s)) })
	if err != nil {
		return err
	}
	exclusive := kind == kExscan
	return k.run(e.sig(k, kind, -1, len(src)), func() error {
		if alg == Pipeline {
			return scanPipeline(k, d, s, exclusive)
		}
		return scanRecDoubling(k, d, s, exclusive)
	})
}
