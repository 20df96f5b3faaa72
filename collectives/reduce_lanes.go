package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// reduceLanes (commutative ops), for long vectors across regions: the
// mirror of bcastLanes. L lanes, L the size of the smallest region; in
// the root's region the members are taken from the root on.
//
//  1. Inside each region, every member sends part j to lane j, which
//     combines the region's contributions.
//  2. Lane j of every other region sends its part j to lane j of the
//     root's region, which combines the R of them: L streams cross the
//     WAN at once, each with n/L bytes.
//  3. The root's region's lanes send their parts to the root.
//
// The steps are pipelined as in bcastLanes: parts go in segments
// (Options.SegmentSize), and a lane passes each combined segment on as
// soon as every contribution to it is in.
//
// Where a region has several ranks on one host, step 1 crosses the host's
// link once per part: one rank of the host combines its host's
// contributions to a part owned on another host (lanes_hosts.go).
func reduceLanes(k *call, dst, src []byte, root int) error {
	t := k.topo()
	rootRegion := t.RegionOf[root]
	own := t.RegionOf[k.rank]
	L := t.Lanes()
	rootLanes := t.Rotated(rootRegion, root) // the root is lane 0
	members := t.Rotated(own, root)
	me := indexOf(members, k.rank)
	off := blocks(len(src)/k.esize, L, k.esize)
	g := newSegments(off, k.segBytes(off[1]-off[0], 3, k.esize), k.esize)
	plan := newHostPlan(members, func(r int) string { return k.c.Info(r).Host }, true)

	// 1. This rank's contributions to the other lanes: to the owner, or
	// to the rank of this host that combines them for it; then the parts
	// this rank combines for its host.
	sends, err := sendContributions(k, plan, me, L, src, g)
	if err != nil {
		return err
	}
	if me < L {
		if err := laneCombine(k, t.Members, own, rootRegion, rootLanes, plan.senders(me), me, root, dst, src, g); err != nil {
			return err
		}
	}
	// dst may be src (in place): our contributions must have left before
	// the results land there.
	if err := k.waitSends(sends); err != nil || k.rank != root {
		return err
	}
	var results recvBatch
	for j := 1; j < L; j++ {
		for s := range g.count(j) {
			results.irecv(k, g.piece(dst, j, s), members[j], step3(2, s))
		}
	}
	return results.wait(k)
}

// laneCombine is lane me's share of reduceLanes: per segment, its
// region's contributions (from senders: hostPlan) combined, then (outside the root's region) sent
// to the root region's lane, or (inside it) combined with the other
// regions' and handed to the root, or written to dst at the root.
func laneCombine(k *call, regions [][]int, own, rootRegion int, rootLanes, senders []int, me, root int, dst, src []byte, g segments) error {
	n := g.count(me)
	type seg struct {
		in    [][]byte
		recvs []*comm.Request
	}
	segs := make([]seg, n)
	for s := range n {
		size := len(g.piece(src, me, s))
		for _, m := range senders {
			if m != k.rank {
				b := k.alloc(size)
				segs[s].in = append(segs[s].in, b)
				segs[s].recvs = append(segs[s].recvs, k.irecv(b, m, step3(0, s)))
			}
		}
		if own == rootRegion {
			for r, rm := range regions {
				if r != rootRegion {
					b := k.alloc(size)
					segs[s].in = append(segs[s].in, b)
					segs[s].recvs = append(segs[s].recvs, k.irecv(b, rm[me], step3(1, s)))
				}
			}
		}
	}
	var sends []*comm.Request
	for s := range n {
		var acc []byte
		if k.rank == root {
			acc = g.piece(dst, me, s)
			mem.Copy(acc, g.piece(src, me, s))
		} else {
			acc = k.clone(g.piece(src, me, s))
		}
		for i, rq := range segs[s].recvs {
			if err := k.wait(rq, len(acc)); err != nil {
				return err
			}
			k.reduceLeft(acc, segs[s].in[i])
		}
		switch {
		case own != rootRegion:
			sends = append(sends, k.isend(acc, rootLanes[me], step3(1, s)))
		case k.rank != root:
			sends = append(sends, k.isend(acc, root, step3(2, s)))
		}
	}
	return k.waitSends(sends)
}
