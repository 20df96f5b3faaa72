package collectives

// allgatherRecDoubling: in round j each rank swaps everything it has with
// the rank whose rank differs in bit j, doubling what it holds. log2(p)
// rounds; each rank receives (p-1)*n bytes. A non-power-of-two group is
// folded first (fold.go): the even rank of each of the first pairs gives
// its block to the odd one and gets the whole result back at the end.
// buf holds p blocks at off, this rank's already in place.
func allgatherRecDoubling(k *call, buf []byte, off []int) error {
	f := foldOf(k.rank, k.size)
	if k.rank < 2*f.rem {
		b := k.rank &^ 1 // the pair's first block
		if f.newRank < 0 {
			if err := k.send(buf[off[b]:off[b+1]], k.rank+1, 0); err != nil {
				return err
			}
		} else if err := k.recv(buf[off[b]:off[b+1]], k.rank-1, 0); err != nil {
			return err
		}
	}
	if f.newRank >= 0 {
		step := 1
		for mask := 1; mask < f.q; mask, step = mask*2, step+1 {
			partner := f.newRank ^ mask
			mine := f.newRank &^ (mask - 1)
			theirs := partner &^ (mask - 1)
			a, b := off[f.first(mine)], off[f.first(mine+mask)]
			c, d := off[f.first(theirs)], off[f.first(theirs+mask)]
			peer := f.old(partner)
			if err := k.sendrecv(buf[a:b], peer, buf[c:d], peer, step); err != nil {
				return err
			}
		}
	}
	return unfold(k, f, buf, maxStep)
}
