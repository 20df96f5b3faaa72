package collectives

import "github.com/spmd-go/spmd/comm"

// reduceLanes (commutative ops), for long vectors across regions: the
// mirror of bcastLanes. L lanes, L the size of the smallest region; in
// the root's region the members are taken from the root on.
//
//  1. Inside each region, every member sends segment j to lane j, which
//     combines the region's contributions.
//  2. Lane j of every other region sends its segment j to lane j of the
//     root's region, which combines the R of them: L streams cross the
//     WAN at once, each with n/L bytes.
//  3. The root's region's lanes send their segments to the root.
func reduceLanes(k *call, dst, src []byte, root int) error {
	t := k.topo()
	rootRegion := t.RegionOf[root]
	own := t.RegionOf[k.rank]
	L := t.Lanes()
	rootLanes := t.Rotated(rootRegion, root) // the root is lane 0
	members := t.Rotated(own, root)
	me := indexOf(members, k.rank)
	seg := blocks(len(src)/k.esize, L, k.esize)
	part := func(b []byte, j int) []byte { return b[seg[j]:seg[j+1]] }

	// 1. Reduce-scatter inside the region.
	var sends []*comm.Request
	for j := 0; j < L; j++ {
		if j != me {
			sends = append(sends, k.isend(part(src, j), members[j], 1))
		}
	}
	var mine []byte
	if me < L {
		mine = k.clone(part(src, me))
		tmp := k.alloc(len(mine))
		for _, m := range members {
			if m == k.rank {
				continue
			}
			if err := k.recv(tmp, m, 1); err != nil {
				return err
			}
			k.reduceLeft(mine, tmp)
		}
	}
	if err := k.waitSends(sends); err != nil {
		return err
	}
	// 2. Lane-wise into the root's region.
	if me < L {
		if own != rootRegion {
			if err := k.send(mine, rootLanes[me], 2); err != nil {
				return err
			}
		} else {
			tmp := k.alloc(len(mine))
			for r := range t.Members {
				if r == rootRegion {
					continue
				}
				if err := k.recv(tmp, t.Members[r][me], 2); err != nil {
					return err
				}
				k.reduceLeft(mine, tmp)
			}
		}
	}
	// 3. The root's region's lanes hand their segments to the root.
	if own != rootRegion || me >= L {
		return nil
	}
	if k.rank != root {
		return k.send(mine, root, 3)
	}
	copy(part(dst, 0), mine)
	for j := 1; j < L; j++ {
		if err := k.recv(part(dst, j), members[j], 3); err != nil {
			return err
		}
	}
	return nil
}
