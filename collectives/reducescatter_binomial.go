package collectives

// reduceScatterBinomial: a binomial reduce of the whole input to rank 0
// in rank order, then a linear scatter of the blocks. Twice the steps of
// the ring and all data through rank 0, but it keeps rank order, so it
// serves non-commutative ops.
func reduceScatterBinomial(k *call, dst, src []byte, off []int) error {
	var all []byte
	if k.rank == 0 {
		all = k.alloc(len(src))
	}
	if err := reduceBinomial(k, all, src, 0); err != nil {
		return err
	}
	return scatterLinear(k, dst, all, off, 0)
}
