package collectives

import "github.com/spmd-go/spmd/internal/mem"

// scanRecDoubling (MPICH): in round j each rank swaps its running total of
// a block of 2^j ranks with the rank that differs in bit j; a rank adds a
// lower partner's total to both its result and its running total, and a
// higher partner's to its running total only. ceil(log2 p) rounds of n
// bytes; rank order is kept. With exclusive, dst gets the reduction of the
// ranks below (rank 0's dst is left as it was).
func scanRecDoubling(k *call, dst, src []byte, exclusive bool) error {
	p, r := k.size, k.rank
	partial := k.alloc(len(src))
	mem.Copy(partial, src)
	tmp := k.alloc(len(src))
	have := !exclusive // dst holds something
	if !exclusive && !same(dst, src) {
		mem.Copy(dst, src)
	}
	step := 0
	for mask := 1; mask < p; mask, step = mask*2, step+1 {
		peer := r ^ mask
		if peer >= p {
			continue
		}
		if err := k.sendrecv(partial, peer, tmp, peer, step); err != nil {
			return err
		}
		if peer < r {
			k.reduceRight(partial, tmp)
			if have {
				k.reduceRight(dst, tmp)
			} else {
				mem.Copy(dst, tmp)
				have = true
			}
		} else {
			k.reduceLeft(partial, tmp)
		}
	}
	return nil
}
