package collectives

import "github.com/spmd-go/spmd/comm"

// allgathervLinear: every rank sends its block to every other rank
// directly, all at once. One step; p-1 messages each way per rank.
func allgathervLinear(k *call, buf []byte, off []int) error {
	p, r := k.size, k.rank
	recvs := make([]*comm.Request, p)
	for i := 1; i < p; i++ {
		s := (r - i + p) % p
		recvs[s] = k.irecv(buf[off[s]:off[s+1]], s, 0)
	}
	sends := make([]*comm.Request, 0, p-1)
	for i := 1; i < p; i++ {
		sends = append(sends, k.isend(buf[off[r]:off[r+1]], (r+i)%p, 0))
	}
	if err := k.waitRecvs(recvs, off); err != nil {
		return err
	}
	return k.waitSends(sends)
}
