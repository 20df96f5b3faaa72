package collectives

import "github.com/spmd-go/spmd/comm"

// bcastBinomial: the root sends to the roots of ever smaller subtrees
// (largest first); every other rank receives once from its parent and
// forwards. ceil(log2 p) steps of n bytes.
func bcastBinomial(k *call, buf []byte, root int) error {
	p := k.size
	rel := (k.rank - root + p) % p
	mask := 1
	for mask < p {
		if rel&mask != 0 {
			if err := k.recv(buf, (rel-mask+root)%p, 0); err != nil {
				return err
			}
			break
		}
		mask <<= 1
	}
	var sends []*comm.Request
	for mask >>= 1; mask > 0; mask >>= 1 {
		if rel+mask < p {
			sends = append(sends, k.isend(buf, (rel+mask+root)%p, 0))
		}
	}
	return k.waitSends(sends)
}
