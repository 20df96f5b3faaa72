package collectives

// Folding a non-power-of-two group (MPICH's scheme for recursive doubling
// and Rabenseifner). With p = q + rem, q the largest power of two not above
// p, the first 2*rem ranks pair up: each even rank hands its data to the
// odd rank after it and sits out; the q remaining ranks get new ranks
// 0..q-1 in the old order, so new rank i stands for the contiguous old
// ranks first(i) .. first(i+1)-1 and reductions keep rank order.

type folding struct {
	q, rem  int
	newRank int // -1 for a rank that sits out
}

func foldOf(rank, p int) folding {
	q := pof2(p)
	f := folding{q: q, rem: p - q}
	switch {
	case rank < 2*f.rem && rank%2 == 0:
		f.newRank = -1
	case rank < 2*f.rem:
		f.newRank = rank / 2
	default:
		f.newRank = rank - f.rem
	}
	return f
}

// old returns the old rank that new rank i is.
func (f folding) old(i int) int {
	if i < f.rem {
		return 2*i + 1
	}
	return i + f.rem
}

// first returns the lowest old rank that new rank i stands for (i may be q).
func (f folding) first(i int) int {
	if i < f.rem {
		return 2 * i
	}
	return i + f.rem
}

// foldReduce does the fold for a reduction: acc (writable) on an odd rank
// of the first pairs becomes left ⊕ acc, with tmp as receive space.
func foldReduce(k *call, f folding, acc, tmp []byte) error {
	if k.rank >= 2*f.rem {
		return nil
	}
	if f.newRank < 0 {
		return k.send(acc, k.rank+1, 0)
	}
	if err := k.recv(tmp, k.rank-1, 0); err != nil {
		return err
	}
	k.reduceRight(acc, tmp)
	return nil
}

// unfold gives the ranks that sat out the result.
func unfold(k *call, f folding, buf []byte, step int) error {
	if k.rank >= 2*f.rem {
		return nil
	}
	if f.newRank < 0 {
		return k.recv(buf, k.rank+1, step)
	}
	return k.send(buf, k.rank-1, step)
}
