package collectives

import "github.com/spmd-go/spmd/comm"

// allreduceLanes, for long vectors across regions: L lanes, L the size
// of the smallest region; the vector is cut into L segments and the j-th
// member of every region is lane j, owner of segment j.
//
//  1. Inside each region, every member sends segment j to lane j's
//     member, which combines the region's contributions in member order
//     (a direct reduce-scatter).
//  2. Between regions, lane j's members exchange their segments and each
//     combines all R in region order (a flat allreduce of n/L bytes per
//     lane, all lanes at once: the WAN carries L streams).
//  3. Inside each region, lane j's member sends the finished segment j to
//     every other member (a direct allgather).
//
// Keeps rank order when regions are contiguous blocks of ranks.
func allreduceLanes(k *call, acc []byte) error {
	t := k.topo()
	own := t.RegionOf[k.rank]
	members := t.Members[own]
	L := t.Lanes()
	seg := blocks(len(acc)/k.esize, L, k.esize)
	part := func(b []byte, j int) []byte { return b[seg[j]:seg[j+1]] }
	me := indexOf(members, k.rank)

	// 1. Reduce-scatter inside the region.
	var sends []*comm.Request
	for j := 0; j < L; j++ {
		if members[j] != k.rank {
			sends = append(sends, k.isend(part(acc, j), members[j], 1))
		}
	}
	var mine []byte // this rank's segment, reduced (lane members only)
	if me < L {
		// Contributions in member order; ours sits at position me.
		contrib := make([][]byte, len(members))
		recvs := make([]*comm.Request, len(members))
		for i, m := range members {
			if m == k.rank {
				contrib[i] = part(acc, me)
				continue
			}
			contrib[i] = k.alloc(seg[me+1] - seg[me])
			recvs[i] = k.irecv(contrib[i], m, 1)
		}
		for i, rq := range recvs {
			if rq != nil {
				if err := k.wait(rq, len(contrib[i])); err != nil {
					return err
				}
			}
		}
		mine = k.clone(contrib[0])
		for _, c := range contrib[1:] {
			k.reduceLeft(mine, c)
		}
	}
	if err := k.waitSends(sends); err != nil {
		return err
	}

	// 2. Lane-wise exchange between regions.
	if me < L {
		peers := make([]int, t.Regions()) // lane me of every region
		for r, m := range t.Members {
			peers[r] = m[me]
		}
		parts, err := exchange(k, peers, own, mine, func(int) int { return len(mine) }, 2)
		if err != nil {
			return err
		}
		out := part(acc, me)
		copy(out, parts[0])
		for r := 1; r < len(parts); r++ {
			k.reduceLeft(out, parts[r])
		}
	}

	// 3. Allgather inside the region.
	var gsends []*comm.Request
	if me < L {
		for _, m := range members {
			if m != k.rank {
				gsends = append(gsends, k.isend(part(acc, me), m, 3))
			}
		}
	}
	recvs := make([]*comm.Request, L)
	for j := 0; j < L; j++ {
		if members[j] != k.rank {
			recvs[j] = k.irecv(part(acc, j), members[j], 3)
		}
	}
	for j, rq := range recvs {
		if rq != nil {
			if err := k.wait(rq, seg[j+1]-seg[j]); err != nil {
				return err
			}
		}
	}
	return k.waitSends(gsends)
}
