package collectives

import "github.com/spmd-go/spmd/internal/mem"

// reduceRabenseifner (MPICH's long-message reduce for commutative ops):
// fold to a power of two q, recursive-halving reduce-scatter so that new
// rank i holds block i, then a binomial gather of the blocks to new rank 0,
// which sends the result to root if root is another rank. Each rank sends
// about n bytes (the root receives about n), in 2 log2(q) rounds.
func reduceRabenseifner(k *call, dst, src []byte, root int) error {
	f := foldOf(k.rank, k.size)
	acc := k.alloc(len(src))
	mem.Copy(acc, src)
	tmp := k.alloc(len(src))
	if err := foldReduce(k, f, acc, tmp); err != nil {
		return err
	}
	top := f.old(0)
	if f.newRank >= 0 {
		off := blocks(len(acc)/k.esize, f.q, k.esize)
		if err := halvingReduceScatter(k, f, acc, tmp, off); err != nil {
			return err
		}
		// Binomial gather over new ranks: new rank i holds blocks
		// [i, i+mask) before round mask.
		step := 64
		for mask := 1; mask < f.q; mask, step = mask*2, step+1 {
			if f.newRank&mask != 0 {
				to := f.old(f.newRank - mask)
				if err := k.send(acc[off[f.newRank]:off[f.newRank+mask]], to, step); err != nil {
					return err
				}
				break
			}
			from := f.newRank + mask
			if err := k.recv(acc[off[from]:off[from+mask]], f.old(from), step); err != nil {
				return err
			}
		}
	}
	switch {
	case k.rank == top && top == root:
		mem.Copy(dst, acc)
	case k.rank == top:
		return k.send(acc, root, maxStep)
	case k.rank == root:
		return k.recv(dst, top, maxStep)
	}
	return nil
}
