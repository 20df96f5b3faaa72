package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// alltoallLinear: every rank posts all its receives and sends at once
// (MPICH's medium-size choice). One step; p-1 messages each way per rank
// in flight together.
func alltoallLinear(k *call, dst, src []byte, sl, rl layout) error {
	p, r := k.size, k.rank
	mem.Copy(dst[rl.start[r]:rl.end[r]], src[sl.start[r]:sl.end[r]])
	recvs := make([]*comm.Request, p)
	for i := 1; i < p; i++ {
		s := (r - i + p) % p
		recvs[s] = k.irecv(dst[rl.start[s]:rl.end[s]], s, 0)
	}
	sends := make([]*comm.Request, 0, p-1)
	for i := 1; i < p; i++ {
		d := (r + i) % p
		sends = append(sends, k.isend(src[sl.start[d]:sl.end[d]], d, 0))
	}
	if err := k.waitRecvsLayout(recvs, rl); err != nil {
		return err
	}
	return k.waitSends(sends)
}
