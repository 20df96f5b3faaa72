package collectives

import "github.com/spmd-go/spmd/internal/mem"

// gatherBinomial: relative rank rel collects the blocks of its subtree,
// ranks rel .. rel+lowbit(rel)-1, in relative order and sends them to its
// parent in one message. ceil(log2 p) steps; the root receives (p-1)*n
// bytes. dst (p blocks of n bytes, by rank) is written only on root.
func gatherBinomial(k *call, dst, src []byte, root int) error {
	p, n := k.size, len(src)
	rel := (k.rank - root + p) % p
	span, cnt := subtree(rel, p)
	var buf []byte // the subtree's blocks in relative order
	switch {
	case rel == 0 && root == 0:
		buf = dst
		if !same(dst[:n], src) {
			mem.Copy(dst[:n], src)
		}
	case cnt == 1 && rel != 0:
		buf = src
	default:
		buf = k.alloc(cnt * n)
		mem.Copy(buf, src)
	}
	for m := 1; m < span; m <<= 1 {
		c := rel + m
		if c >= p {
			break
		}
		if err := k.recv(buf[m*n:min(2*m, p-rel)*n], (c+root)%p, 0); err != nil {
			return err
		}
	}
	if rel != 0 {
		return k.send(buf, (rel-span+root)%p, 0)
	}
	if root != 0 { // rotate: relative block j is rank (j+root)%p
		for j := 0; j < p; j++ {
			r := (j + root) % p
			if j == 0 && same(dst[r*n:(r+1)*n], src) {
				continue
			}
			mem.Copy(dst[r*n:(r+1)*n], buf[j*n:(j+1)*n])
		}
	}
	return nil
}
