package collectives

import "github.com/spmd-go/spmd/internal/mem"

// reduceScatterRing: the first half of the ring allreduce. acc (a
// writable copy of the input) holds p blocks at off; after p-1 steps block
// r is reduced over all ranks on rank r. Each rank sends and receives
// (p-1)/p of the input. Commutative ops only.
func reduceScatterRing(k *call, dst, acc []byte, off []int) error {
	if err := ringReduceScatter(k, acc, off, 0); err != nil {
		return err
	}
	mem.Copy(dst, acc[off[k.rank]:off[k.rank+1]])
	return nil
}
