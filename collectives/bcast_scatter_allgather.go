package collectives

import "github.com/spmd-go/spmd/comm"

// bcastScatterAllgather (van de Geijn; MPICH's long-message bcast): the
// root scatters the message in p chunks down a binomial tree, then a ring
// allgather assembles it everywhere. About 2n bytes sent and received per
// rank instead of n*log2(p) at the root, in log2(p) + p - 1 steps.
func bcastScatterAllgather(k *call, buf []byte, root int) error {
	p, n := k.size, len(buf)
	rel := (k.rank - root + p) % p
	cs := (n + p - 1) / p
	lo := func(j int) int { return min(j*cs, n) } // chunk j is buf[lo(j):lo(j+1)], by relative rank
	abs := func(r int) int { return (r + root) % p }

	// Binomial scatter: rel receives chunks [rel, rel+lowbit(rel)).
	span, _ := subtree(rel, p)
	if rel != 0 {
		if err := k.recv(buf[lo(rel):lo(min(rel+span, p))], abs(rel-span), 0); err != nil {
			return err
		}
	}
	var sends []*comm.Request
	for m := span >> 1; m > 0; m >>= 1 {
		if c := rel + m; c < p {
			sends = append(sends, k.isend(buf[lo(c):lo(min(c+m, p))], abs(c), 0))
		}
	}
	if err := k.waitSends(sends); err != nil {
		return err
	}

	// Ring allgather of the chunks.
	left, right := abs((rel-1+p)%p), abs((rel+1)%p)
	for i := 0; i < p-1; i++ {
		s := (rel - i + p) % p
		r := (rel - i - 1 + p) % p
		if err := k.sendrecv(buf[lo(s):lo(s+1)], right, buf[lo(r):lo(r+1)], left, 1+i); err != nil {
			return err
		}
	}
	return nil
}
