package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// gathervLinear is gatherLinear at the root for blocks anywhere in dst.
func gathervLinear(k *call, dst, src []byte, l layout, root int) error {
	recvs := make([]*comm.Request, k.size)
	off := make([]int, k.size+1) // lengths as off[r+1]-off[r] for waitRecvs
	for r := range recvs {
		b := dst[l.start[r]:l.end[r]]
		off[r+1] = off[r] + len(b)
		if r == root {
			if !same(b, src) {
				mem.Copy(b, src)
			}
			continue
		}
		recvs[r] = k.irecv(b, r, 0)
	}
	return k.waitRecvs(recvs, off)
}

// scattervLinear is scatterLinear at the root for blocks anywhere in src.
func scattervLinear(k *call, dst, src []byte, l layout, root int) error {
	var sends []*comm.Request
	for r := 0; r < k.size; r++ {
		b := src[l.start[r]:l.end[r]]
		if r == root {
			if !same(b, dst) {
				mem.Copy(dst, b)
			}
			continue
		}
		sends = append(sends, k.isend(b, r, 0))
	}
	return k.waitSends(sends)
}
