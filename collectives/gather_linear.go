package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// gatherLinear: every rank sends its block straight to the root, which
// receives them all at once into their places (also Gatherv). One step;
// the root receives everything over p-1 connections.
func gatherLinear(k *call, dst, src []byte, off []int, root int) error {
	if k.rank != root {
		return k.send(src, root, 0)
	}
	recvs := make([]*comm.Request, k.size)
	for r := range recvs {
		if r == root {
			if b := dst[off[r]:off[r+1]]; !same(b, src) {
				mem.Copy(b, src)
			}
			continue
		}
		recvs[r] = k.irecv(dst[off[r]:off[r+1]], r, 0)
	}
	return k.waitRecvs(recvs, off)
}

// scatterLinear: the root sends every rank its block directly (also
// Scatterv).
func scatterLinear(k *call, dst, src []byte, off []int, root int) error {
	if k.rank != root {
		return k.recv(dst, root, 0)
	}
	var sends []*comm.Request
	for r := 0; r < k.size; r++ {
		if r == root {
			if b := src[off[r]:off[r+1]]; !same(b, dst) {
				mem.Copy(dst, b)
			}
			continue
		}
		sends = append(sends, k.isend(src[off[r]:off[r+1]], r, 0))
	}
	return k.waitSends(sends)
}
