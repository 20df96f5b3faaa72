package collectives

import "github.com/spmd-go/spmd/comm"

// bcastLanes, for long messages across regions: L lanes, L the size of
// the smallest region; the message is cut into L segments. In the root's
// region the members are taken from the root on (so the root is lane 0);
// in every other region the j-th member is lane j.
//
//  1. The root sends segment j to lane j of its own region.
//  2. Lane j of the root's region sends segment j to lane j of every
//     other region: L streams cross the WAN at once, each with n/L bytes.
//  3. Inside each region, lane j sends segment j to every other member.
func bcastLanes(k *call, buf []byte, root int) error {
	t := k.topo()
	rootRegion := t.RegionOf[root]
	own := t.RegionOf[k.rank]
	L := t.Lanes()
	rootLanes := t.Rotated(rootRegion, root) // the root is lane 0
	members := t.Rotated(own, root)
	me := indexOf(members, k.rank)
	seg := blocks(len(buf), L, 1)
	part := func(j int) []byte { return buf[seg[j]:seg[j+1]] }

	// 1. The root spreads the segments over its region's lanes.
	if own == rootRegion {
		if k.rank == root {
			var sends []*comm.Request
			for j := 1; j < L; j++ {
				sends = append(sends, k.isend(part(j), members[j], 1))
			}
			if err := k.waitSends(sends); err != nil {
				return err
			}
		} else if me < L {
			if err := k.recv(part(me), root, 1); err != nil {
				return err
			}
		}
	}
	// 2. Lane-wise across regions.
	if me < L {
		if own == rootRegion {
			var sends []*comm.Request
			for r := range t.Members {
				if r != rootRegion {
					sends = append(sends, k.isend(part(me), t.Members[r][me], 2))
				}
			}
			if err := k.waitSends(sends); err != nil {
				return err
			}
		} else if err := k.recv(part(me), rootLanes[me], 2); err != nil {
			return err
		}
	}
	// 3. Allgather of the segments inside the region.
	var sends []*comm.Request
	if me < L {
		for _, m := range members {
			if m != k.rank {
				sends = append(sends, k.isend(part(me), m, 3))
			}
		}
	}
	recvs := make([]*comm.Request, L)
	for j := 0; j < L; j++ {
		if j != me {
			recvs[j] = k.irecv(part(j), members[j], 3)
		}
	}
	for j, rq := range recvs {
		if rq != nil {
			if err := k.wait(rq, seg[j+1]-seg[j]); err != nil {
				return err
			}
		}
	}
	return k.waitSends(sends)
}
