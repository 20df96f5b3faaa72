// Package split deals n items out to p ranks in blocks, as the examples
// distribute points, rows and samples.
package split

// Block returns the first item and the number of items of rank r of p:
// consecutive blocks, the first n mod p of them one item larger.
func Block(n, r, p int) (first, count int) {
	q, rem := n/p, n%p
	first = r*q + min(r, rem)
	if r < rem {
		return first, q + 1
	}
	return first, q
}

// Layout returns, for Scatterv and Gatherv, each rank's count and offset
// in elements when an item is unit elements and the blocks start at item
// offset.
func Layout(n, p, unit, offset int) (counts, displs []int) {
	counts, displs = make([]int, p), make([]int, p)
	for r := range p {
		first, k := Block(n, r, p)
		counts[r], displs[r] = k*unit, (offset+first)*unit
	}
	return counts, displs
}
