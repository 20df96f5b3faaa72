package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// gatherHier, across regions: inside each region every member sends its
// block to the region's head (the root in its own region, the leader
// elsewhere); each other region's leader sends its region's blocks,
// packed in member order, to the root in one message. The WAN is crossed
// once per region, all at once; the root receives (p-1) n bytes in R-1
// messages from afar and k-1 from its own region.
func gatherHier(k *call, dst, src []byte, root int) error {
	t := k.topo()
	n := len(src)
	own := t.RegionOf[k.rank]
	members := t.Members[own]
	head := t.Head(own, root)
	if k.rank != head {
		return k.send(src, head, 1)
	}
	// The head collects its region, straight into dst at the root and
	// into a packed buffer elsewhere.
	place := func(i, r int) []byte { return dst[r*n : (r+1)*n] }
	var packed []byte
	if k.rank != root {
		packed = k.alloc(len(members) * n)
		place = func(i, r int) []byte { return packed[i*n : (i+1)*n] }
	}
	var recvs recvBatch
	for i, r := range members {
		if r == k.rank {
			mem.Copy(place(i, r), src)
			continue
		}
		recvs.irecv(k, place(i, r), r, 1)
	}
	var far [][]byte
	if k.rank == root {
		for s, ms := range t.Members {
			if s == own {
				continue
			}
			b := k.alloc(len(ms) * n)
			far = append(far, b)
			recvs.irecv(k, b, t.Leader[s], 2)
		}
	}
	if err := recvs.wait(k); err != nil {
		return err
	}
	if k.rank != root {
		return k.send(packed, root, 2)
	}
	i := 0
	for s, ms := range t.Members {
		if s == own {
			continue
		}
		for x, r := range ms {
			mem.Copy(dst[r*n:(r+1)*n], far[i][x*n:(x+1)*n])
		}
		i++
	}
	return nil
}

// scatterHier is gatherHier backwards: the root sends each other region's
// blocks, packed in member order, to its leader and its own region's
// blocks straight to their ranks; each leader hands its members theirs.
func scatterHier(k *call, dst, src []byte, root int) error {
	t := k.topo()
	n := len(dst)
	own := t.RegionOf[k.rank]
	members := t.Members[own]
	head := t.Head(own, root)
	if k.rank != head {
		return k.recv(dst, head, 1)
	}
	var sends []*comm.Request
	block := func(i, r int) []byte { return src[r*n : (r+1)*n] }
	if k.rank == root {
		for s, ms := range t.Members {
			if s == own {
				continue
			}
			b := k.alloc(len(ms) * n)
			for x, r := range ms {
				mem.Copy(b[x*n:], src[r*n:(r+1)*n])
			}
			sends = append(sends, k.isend(b, t.Leader[s], 2))
		}
	} else {
		packed := k.alloc(len(members) * n)
		if err := k.recv(packed, root, 2); err != nil {
			return err
		}
		block = func(i, r int) []byte { return packed[i*n : (i+1)*n] }
	}
	for i, r := range members {
		if r == k.rank {
			if b := block(i, r); !same(b, dst) {
				mem.Copy(dst, b)
			}
			continue
		}
		sends = append(sends, k.isend(block(i, r), r, 1))
	}
	return k.waitSends(sends)
}
