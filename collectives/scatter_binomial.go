package collectives

import "github.com/spmd-go/spmd/internal/mem"

// scatterBinomial: the mirror of gatherBinomial. The root sends each
// subtree its blocks in one message (largest first); each rank keeps its
// block and forwards the rest. src (p blocks of n bytes, by rank) is read
// only on root.
func scatterBinomial(k *call, dst, src []byte, root int) error {
	p, n := k.size, len(dst)
	rel := (k.rank - root + p) % p
	span, cnt := subtree(rel, p)
	var buf []byte // the subtree's blocks in relative order
	switch {
	case rel == 0 && root == 0:
		buf = src
	case rel == 0:
		buf = k.alloc(p * n)
		for j := 0; j < p; j++ {
			r := (j + root) % p
			mem.Copy(buf[j*n:(j+1)*n], src[r*n:(r+1)*n])
		}
	case cnt == 1:
		buf = dst
	default:
		buf = k.alloc(cnt * n)
	}
	if rel != 0 {
		if err := k.recv(buf, (rel-span+root)%p, 0); err != nil {
			return err
		}
	}
	for m := span >> 1; m > 0; m >>= 1 {
		c := rel + m
		if c >= p {
			continue
		}
		if err := k.send(buf[m*n:min(2*m, p-rel)*n], (c+root)%p, 0); err != nil {
			return err
		}
	}
	if !same(dst, buf[:n]) {
		mem.Copy(dst, buf[:n])
	}
	return nil
}
