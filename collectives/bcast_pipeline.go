package collectives

import "github.com/spmd-go/spmd/comm"

// bcastPipeline: the ranks form a chain from the root; the message moves
// down it in segments, so every link carries data at once. p-2 + n/seg
// steps of one segment; each rank sends and receives n bytes once.
func bcastPipeline(k *call, buf []byte, root int) error {
	p, n, seg := k.size, len(buf), k.opts.segment()
	rel := (k.rank - root + p) % p
	prev, next := (k.rank-1+p)%p, (k.rank+1)%p
	nseg := max(1, (n+seg-1)/seg)
	part := func(s int) []byte { return buf[min(s*seg, n):min((s+1)*seg, n)] }
	var recvs []*comm.Request
	if rel != 0 {
		recvs = make([]*comm.Request, nseg)
		for s := range recvs {
			recvs[s] = k.irecv(part(s), prev, 0)
		}
	}
	var sends []*comm.Request
	for s := 0; s < nseg; s++ {
		if rel != 0 {
			if err := k.wait(recvs[s], len(part(s))); err != nil {
				return err
			}
		}
		if rel != p-1 {
			sends = append(sends, k.isend(part(s), next, 0))
		}
	}
	return k.waitSends(sends)
}
