package collectives

// allreduceRecDoubling: after folding to a power of two q, in round j each
// rank exchanges its whole vector with the rank whose new rank differs in
// bit j and reduces, the lower ranks' data on the left. log2(q) rounds of
// n bytes (+2 for the fold). Keeps rank order, so it serves
// non-commutative ops.
func allreduceRecDoubling(k *call, acc []byte) error {
	f := foldOf(k.rank, k.size)
	tmp := k.alloc(len(acc))
	if err := foldReduce(k, f, acc, tmp); err != nil {
		return err
	}
	if f.newRank >= 0 {
		for mask, step := 1, 1; mask < f.q; mask, step = mask*2, step+1 {
			partner := f.newRank ^ mask
			peer := f.old(partner)
			if err := k.sendrecv(acc, peer, tmp, peer, step); err != nil {
				return err
			}
			if partner < f.newRank {
				k.reduceRight(acc, tmp)
			} else {
				k.reduceLeft(acc, tmp)
			}
		}
	}
	return unfold(k, f, acc, maxStep)
}
