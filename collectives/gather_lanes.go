package collectives

import (
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/internal/mem"
	"github.com/spmd-go/spmd/topology"
)

// Gather and Scatter on lanes, for long blocks across regions. L lanes, L
// the size of the smallest region; the root's region is taken from the
// root on (the root is lane 0, as in the Lanes bcast), every other
// region's j-th member is its lane j, and member i of a region belongs to
// lane i mod L.
//
// gatherLanes:
//  1. Members of the root's region send their blocks to the root.
//  2. In every other region, each member sends its block to its lane,
//     which packs its members' blocks in member order and sends them
//     across the WAN to lane j of the root's region: L streams per region
//     instead of Hierarchical's one.
//  3. Lane j (j > 0) of the root's region passes each region's pack on to
//     the root as it arrives (nearest region first); lane 0 is the root.
//
// The root receives (p-1) n bytes, as with Hierarchical (its host's link
// is the bound either way); what lanes change is how many WAN flows carry
// them, which pays where one flow cannot fill a host's link (a window
// below bandwidth × round trip) and costs a store-and-forward step on a
// LAN otherwise.
func gatherLanes(k *call, dst, src []byte, root int) error {
	t, n := k.topo(), len(src)
	rho, own, L, rootLanes, order := laneLayout(k, t, root)
	if own == rho {
		if k.rank != root {
			j := indexOf(rootLanes, k.rank)
			if j >= L {
				return k.send(src, root, 1)
			}
			// Lane j: its own block, then each region's pack as it
			// comes.
			mine := k.isend(src, root, 1)
			sends, err := relayPacks(k, order, L, j, n,
				func(s int) (int, int) { return t.Members[s][j], 2 },
				func(s int) (int, int) { return root, 3 + s })
			if err != nil {
				return err
			}
			return k.waitSends(append(sends, mine))
		}
		// The root: its region's blocks in place, every other region's
		// from its L lanes (lane 0 straight, the others through the
		// root's region), unpacked as they land.
		var recvs recvBatch
		for _, r := range t.Members[rho] {
			if r != root {
				recvs.irecv(k, dst[r*n:(r+1)*n], r, 1)
			}
		}
		type pack struct {
			s, j int
			b    []byte
		}
		var packs []pack
		for _, s := range order {
			for j := range L {
				b := k.alloc(laneCount(len(t.Members[s]), L, j) * n)
				if j == 0 {
					recvs.irecv(k, b, t.Members[s][0], 2)
				} else {
					recvs.irecv(k, b, rootLanes[j], 3+s)
				}
				packs = append(packs, pack{s, j, b})
			}
		}
		mem.Copy(dst[root*n:(root+1)*n], src)
		if err := recvs.wait(k); err != nil {
			return err
		}
		for _, pk := range packs {
			unpackLane(dst, pk.b, t.Members[pk.s], L, pk.j, n)
		}
		return nil
	}
	// Another region: members to their lane, lanes across the WAN.
	members := t.Members[own]
	i := indexOf(members, k.rank)
	j := i % L
	if i >= L {
		return k.send(src, members[j], 1)
	}
	packed := k.alloc(laneCount(len(members), L, j) * n)
	var recvs recvBatch
	for x, y := 0, j; y < len(members); x, y = x+1, y+L {
		if y == i {
			mem.Copy(packed[x*n:(x+1)*n], src)
			continue
		}
		recvs.irecv(k, packed[x*n:(x+1)*n], members[y], 1)
	}
	if err := recvs.wait(k); err != nil {
		return err
	}
	return k.send(packed, rootLanes[j], 2)
}

// scatterLanes is gatherLanes backwards: the root sends its region's
// blocks straight to their ranks, and for every other region the blocks
// of lane j's members, packed, to lane j of the region (lane 0 directly,
// the others through lane j of the root's region, which passes them on);
// each lane hands its members their blocks.
func scatterLanes(k *call, dst, src []byte, root int) error {
	t, n := k.topo(), len(dst)
	rho, own, L, rootLanes, order := laneLayout(k, t, root)
	if own == rho {
		if k.rank == root {
			var sends []*comm.Request
			// Farthest lanes' packs are not first: the region's lanes
			// get theirs (and pass them on) while lane 0's cross.
			for _, s := range order {
				for j := 1; j < L; j++ {
					sends = append(sends, k.isend(packLane(k, src, t.Members[s], L, j, n), rootLanes[j], 3+s))
				}
			}
			for _, s := range order {
				sends = append(sends, k.isend(packLane(k, src, t.Members[s], L, 0, n), t.Members[s][0], 2))
			}
			for _, r := range t.Members[rho] {
				if r != root {
					sends = append(sends, k.isend(src[r*n:(r+1)*n], r, 1))
				}
			}
			if b := src[root*n : (root+1)*n]; !same(b, dst) {
				mem.Copy(dst, b)
			}
			return k.waitSends(sends)
		}
		j := indexOf(rootLanes, k.rank)
		if j >= L {
			return k.recv(dst, root, 1)
		}
		mine := k.irecv(dst, root, 1)
		sends, err := relayPacks(k, order, L, j, n,
			func(s int) (int, int) { return root, 3 + s },
			func(s int) (int, int) { return t.Members[s][j], 2 })
		if err != nil {
			return err
		}
		if err := k.wait(mine, n); err != nil {
			return err
		}
		return k.waitSends(sends)
	}
	members := t.Members[own]
	i := indexOf(members, k.rank)
	j := i % L
	if i >= L {
		return k.recv(dst, members[j], 1)
	}
	from := root
	if j > 0 {
		from = rootLanes[j]
	}
	packed := k.alloc(laneCount(len(members), L, j) * n)
	if err := k.recv(packed, from, 2); err != nil {
		return err
	}
	var sends []*comm.Request
	for x, y := 0, j; y < len(members); x, y = x+1, y+L {
		b := packed[x*n : (x+1)*n]
		if y == i {
			mem.Copy(dst, b)
			continue
		}
		sends = append(sends, k.isend(b, members[y], 1))
	}
	return k.waitSends(sends)
}

// laneLayout is what both directions need: the root's region, this
// rank's, the lanes, the root's region from the root on (its lanes), and
// the other regions nearest the root's first.
func laneLayout(k *call, t topology.Topology, root int) (rho, own, L int, rootLanes, order []int) {
	rho = t.RegionOf[root]
	return rho, t.RegionOf[k.rank], t.Lanes(), t.Rotated(rho, root), nearestRegions(k, t, rho)
}

// relayPacks is lane j (j > 0) of the root's region passing each other
// region's pack of lane j's blocks (n bytes each) on as it arrives, in
// order: region s's pack comes from rank and step from(s) and goes to
// to(s). Every receive is posted first; the sends are returned.
func relayPacks(k *call, order []int, L, j, n int, from, to func(s int) (rank, step int)) ([]*comm.Request, error) {
	t := k.topo()
	packs := make([][]byte, len(order))
	rqs := make([]*comm.Request, len(order))
	for x, s := range order {
		packs[x] = k.alloc(laneCount(len(t.Members[s]), L, j) * n)
		r, st := from(s)
		rqs[x] = k.irecv(packs[x], r, st)
	}
	var sends []*comm.Request
	for x, s := range order {
		if err := k.wait(rqs[x], len(packs[x])); err != nil {
			return sends, err
		}
		r, st := to(s)
		sends = append(sends, k.isend(packs[x], r, st))
	}
	return sends, nil
}

// laneCount is how many of a region's k members belong to lane j of L:
// members j, j+L, j+2L, ...
func laneCount(k, L, j int) int {
	if j >= k {
		return 0
	}
	return (k - j + L - 1) / L
}

// packLane copies the blocks (n bytes, at rank r's place in all) of lane
// j's members into a new buffer, in member order.
func packLane(k *call, all []byte, members []int, L, j, n int) []byte {
	b := k.alloc(laneCount(len(members), L, j) * n)
	for x, y := 0, j; y < len(members); x, y = x+1, y+L {
		r := members[y]
		mem.Copy(b[x*n:(x+1)*n], all[r*n:(r+1)*n])
	}
	return b
}

// unpackLane is packLane backwards, into all.
func unpackLane(all, b []byte, members []int, L, j, n int) {
	for x, y := 0, j; y < len(members); x, y = x+1, y+L {
		r := members[y]
		mem.Copy(all[r*n:(r+1)*n], b[x*n:(x+1)*n])
	}
}
