package collectives

// allreduceRabenseifner (MPICH's long-message allreduce): after folding to
// a power of two q, a recursive-halving reduce-scatter leaves block i of q
// on new rank i, then a recursive-doubling allgather spreads the blocks.
// 2 log2(q) rounds; each rank sends and receives about 2n bytes.
// Commutative ops only.
func allreduceRabenseifner(k *call, acc []byte) error {
	f := foldOf(k.rank, k.size)
	tmp := k.alloc(len(acc))
	if err := foldReduce(k, f, acc, tmp); err != nil {
		return err
	}
	if f.newRank >= 0 {
		off := blocks(len(acc)/k.esize, f.q, k.esize)
		if err := halvingReduceScatter(k, f, acc, tmp, off); err != nil {
			return err
		}
		if err := doublingAllgather(k, f, acc, off, 64); err != nil {
			return err
		}
	}
	return unfold(k, f, acc, maxStep)
}

// halvingReduceScatter: new rank i ends with block i of acc reduced over
// all ranks. Steps 1..log2(q).
func halvingReduceScatter(k *call, f folding, acc, tmp []byte, off []int) error {
	lo, hi := 0, f.q
	step := 1
	for mask := f.q / 2; mask > 0; mask, step = mask/2, step+1 {
		peer := f.old(f.newRank ^ mask)
		mid := lo + (hi-lo)/2
		keepLo, keepHi, sendLo, sendHi := lo, mid, mid, hi
		if f.newRank&mask != 0 {
			keepLo, keepHi, sendLo, sendHi = mid, hi, lo, mid
		}
		in := tmp[:off[keepHi]-off[keepLo]]
		if err := k.sendrecv(acc[off[sendLo]:off[sendHi]], peer, in, peer, step); err != nil {
			return err
		}
		k.reduceLeft(acc[off[keepLo]:off[keepHi]], in)
		lo, hi = keepLo, keepHi
	}
	return nil
}

// doublingAllgather: new rank i holds block i of buf (blocks at off over
// new ranks); after log2(q) rounds numbered from step every new rank holds
// all of buf.
func doublingAllgather(k *call, f folding, buf []byte, off []int, step int) error {
	for mask := 1; mask < f.q; mask, step = mask*2, step+1 {
		partner := f.newRank ^ mask
		mine := f.newRank &^ (mask - 1)
		theirs := partner &^ (mask - 1)
		peer := f.old(partner)
		if err := k.sendrecv(buf[off[mine]:off[mine+mask]], peer, buf[off[theirs]:off[theirs+mask]], peer, step); err != nil {
			return err
		}
	}
	return nil
}
