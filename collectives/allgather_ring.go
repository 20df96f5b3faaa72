package collectives

// allgatherRing: p-1 steps; in step i each rank passes to its right
// neighbour the block it received in step i-1 (its own first). Each rank
// sends and receives (p-1)*n bytes, one neighbour each way, so it suits
// large blocks (and Allgatherv: blocks may differ in size).
func allgatherRing(k *call, buf []byte, off []int) error {
	return ringAllgather(k, buf, off, 0)
}
