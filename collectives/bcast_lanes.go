package collectives

import "github.com/spmd-go/spmd/comm"

// bcastLanes, for long messages across regions: L lanes, L the size of
// the smallest region; the message is cut into L parts. In the root's
// region the members are taken from the root on (so the root is lane 0);
// in every other region the j-th member is lane j.
//
//  1. The root sends part j to lane j of its own region.
//  2. Lane j of the root's region sends part j to lane j of every other
//     region: L streams cross the WAN at once, each with n/L bytes.
//  3. Inside each region, lane j sends part j to every other member.
//
// The steps are pipelined: each part goes in segments (Options.SegmentSize,
// or the cost model's size, segBytes), and a lane passes a segment on as soon as it has it,
// so the scatter in the root's region and the copies inside every region
// overlap the WAN step instead of adding to it.
//
// Where a region has several ranks on one host, step 3 crosses the host's
// link once per part: lane j sends to the members of its own host and to
// one rank of each other host (its aggregator for j, lanes_hosts.go),
// which passes each segment on to its host-mates. A root that is an
// aggregator serves its host-mates from its own buffer.
func bcastLanes(k *call, buf []byte, root int) error {
	t := k.topo()
	rootRegion := t.RegionOf[root]
	own := t.RegionOf[k.rank]
	L := t.Lanes()
	rootLanes := t.Rotated(rootRegion, root) // the root is lane 0
	members := t.Rotated(own, root)
	me := indexOf(members, k.rank)
	off := blocks(len(buf), L, 1)
	g := newSegments(off, k.segBytes(off[1]-off[0], 3, 1), 1)
	plan := newHostPlan(members, func(r int) string { return k.c.Info(r).Host }, true)
	var sends []*comm.Request
	send := func(b []byte, to, st int) { sends = append(sends, k.isend(b, to, st)) }

	// Every member but the root takes the other parts from their lanes
	// or its host's aggregator (posted first, so that they land in
	// place); an aggregator passes each segment on as it arrives, the
	// root from its own buffer at once.
	var others recvBatch
	var fwd [][]*comm.Request
	if k.rank != root {
		others, fwd = postFinished(k, plan, me, L, buf, g)
	} else {
		for j := range L {
			if j != me {
				for s := range g.count(j) {
					sends = append(sends, passOn(k, plan, me, j, s, buf, g, root)...)
				}
			}
		}
	}
	// The root: its lanes' segments, interleaved so that every lane gets
	// its first segment early (part 0 has the most).
	if k.rank == root {
		for s := range g.count(0) {
			for j := 1; j < L; j++ {
				if s < g.count(j) {
					send(g.piece(buf, j, s), members[j], step3(0, s))
				}
			}
		}
	}
	// A lane passes its part on, segment by segment, as it arrives: to
	// the other regions' lane (root's region only) and to its own region.
	if me < L {
		var from, ph int // where the part comes from; -1: the root itself
		switch {
		case k.rank == root:
			from = -1
		case own == rootRegion:
			from, ph = root, 0
		default:
			from, ph = rootLanes[me], 1
		}
		n := g.count(me)
		recvs := make([]*comm.Request, n)
		if from >= 0 {
			for s := range n {
				recvs[s] = k.irecv(g.piece(buf, me, s), from, step3(ph, s))
			}
		}
		for s := range n {
			b := g.piece(buf, me, s)
			if from >= 0 {
				if err := k.wait(recvs[s], len(b)); err != nil {
					return err
				}
			}
			if own == rootRegion {
				for r := range t.Members {
					if r != rootRegion {
						send(b, t.Members[r][me], step3(1, s))
					}
				}
			}
			for _, m := range plan.senders(me) {
				if m != k.rank && m != root {
					send(b, m, step3(2, s))
				}
			}
		}
	}
	ss, err := passAll(k, plan, me, buf, g, fwd, root)
	sends = append(sends, ss...)
	if err != nil {
		return err
	}
	if err := others.wait(k); err != nil {
		return err
	}
	return k.waitSends(sends)
}
