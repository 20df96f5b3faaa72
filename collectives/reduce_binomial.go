package collectives

import "github.com/spmd-go/spmd/internal/mem"

// reduceBinomial: the mirror of the binomial bcast. A rank receives the
// partial results of its subtrees (smallest first), reduces them into its
// own and sends the sum to its parent. ceil(log2 p) steps of n bytes. For
// a commutative op the tree is rooted at root; otherwise it is rooted at
// rank 0, where every reduction has the lower ranks on the left, and rank
// 0 sends the result to root. dst is written only on root.
func reduceBinomial(k *call, dst, src []byte, root int) error {
	p := k.size
	treeRoot := root
	if !k.op.commutative {
		treeRoot = 0
	}
	rel := (k.rank - treeRoot + p) % p
	acc := src // read-only until the first receive
	var tmp []byte
	for mask := 1; mask < p; mask <<= 1 {
		if rel&mask != 0 {
			if err := k.send(acc, (rel-mask+treeRoot)%p, 0); err != nil {
				return err
			}
			acc = nil
			break
		}
		child := rel | mask
		if child >= p {
			continue
		}
		if tmp == nil {
			tmp = k.alloc(len(src))
			if k.rank == root && !overlapsPartly(dst, src) {
				acc = dst
			} else {
				acc = k.alloc(len(src))
			}
			mem.Copy(acc, src)
		}
		if err := k.recv(tmp, (child+treeRoot)%p, 0); err != nil {
			return err
		}
		k.reduceLeft(acc, tmp) // the child's ranks come after ours
	}
	if treeRoot != root {
		switch k.rank {
		case treeRoot:
			return k.send(acc, root, 1)
		case root:
			return k.recv(dst, treeRoot, 1)
		}
		return nil
	}
	if k.rank == root {
		mem.Copy(dst, acc)
	}
	return nil
}

// overlapsPartly reports whether a and b share memory without being the
// same slice.
func overlapsPartly(a, b []byte) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	pa, pb := &a[0], &b[0]
	if pa == pb {
		return false
	}
	return sliceOverlap(a, b)
}
