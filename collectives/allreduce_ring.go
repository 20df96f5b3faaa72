package collectives

// allreduceRing (as in Gloo and Horovod): a ring reduce-scatter of p blocks
// then a ring allgather. 2(p-1) steps; each rank sends and receives
// 2(p-1)/p * n bytes. Commutative ops only.
func allreduceRing(k *call, acc []byte) error {
	off := blocks(len(acc)/k.esize, k.size, k.esize)
	if err := ringReduceScatter(k, acc, off, 0); err != nil {
		return err
	}
	return ringAllgather(k, acc, off, k.size)
}

// ringReduceScatter leaves block r of acc (blocks at off) fully reduced on
// rank r, in p-1 steps numbered from step. Commutative ops only.
func ringReduceScatter(k *call, acc []byte, off []int, step int) error {
	p, r := k.size, k.rank
	left, right := (r-1+p)%p, (r+1)%p
	tmp := k.alloc(maxBlock(off))
	for i := 0; i < p-1; i++ {
		s := (r - i - 1 + 2*p) % p
		g := (r - i - 2 + 2*p) % p
		in := tmp[:off[g+1]-off[g]]
		if err := k.sendrecv(acc[off[s]:off[s+1]], right, in, left, step+i); err != nil {
			return err
		}
		k.reduceLeft(acc[off[g]:off[g+1]], in)
	}
	return nil
}

// ringAllgather: rank r holds block r of buf; after p-1 steps (numbered
// from step) every rank holds every block.
func ringAllgather(k *call, buf []byte, off []int, step int) error {
	p, r := k.size, k.rank
	left, right := (r-1+p)%p, (r+1)%p
	for i := 0; i < p-1; i++ {
		s := (r - i + p) % p
		g := (r - i - 1 + p) % p
		if err := k.sendrecv(buf[off[s]:off[s+1]], right, buf[off[g]:off[g+1]], left, step+i); err != nil {
			return err
		}
	}
	return nil
}

func maxBlock(off []int) int {
	m := 0
	for i := 1; i < len(off); i++ {
		m = max(m, off[i]-off[i-1])
	}
	return m
}
