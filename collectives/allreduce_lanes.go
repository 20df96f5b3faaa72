package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// allreduceLanes, for long vectors across regions: L lanes, L the size
// of the smallest region; the vector is cut into L parts and the j-th
// member of every region is lane j, owner of part j.
//
//  1. Inside each region, every member sends part j to lane j's member,
//     which combines the region's contributions in member order (a direct
//     reduce-scatter).
//  2. Between regions, lane j's members exchange their parts and each
//     combines all R in region order (a flat allreduce of n/L bytes per
//     lane, all lanes at once: the WAN carries L streams).
//  3. Inside each region, lane j's member sends the finished part j to
//     every other member (a direct allgather).
//
// The steps are pipelined: parts go in segments (Options.SegmentSize,
// 64 KiB by default); a lane sends a segment across the WAN as soon as its
// region's contributions to it are in and combined, and hands a finished
// segment to its region as soon as every region's share of it is in, so
// the two steps inside the region overlap the one across it.
//
// Lanes2 does step 2 in two rounds when there are more than two regions:
// lane j's members cut each segment in R sub-pieces, region r's member
// combines sub-piece r of every region (a reduce-scatter among the lane)
// and sends the result to the others (an allgather). A host then sends
// 2(R-1)/R of its part across the WAN instead of R-1 times it, at the
// price of a second crossing (the two hops of the farthest path); the
// cost model picks it for long vectors on three or more regions.
//
// Where a region has several ranks on one host, steps 1 and 3 cross the
// host's link once per part (lanes_hosts.go).
//
// Keeps rank order when regions are contiguous blocks of ranks (and, for
// the host steps, hosts' ranks consecutive; otherwise they are skipped).
func allreduceLanes(k *call, acc []byte, rounds int) error {
	t := k.topo()
	own := t.RegionOf[k.rank]
	members := t.Members[own]
	L := t.Lanes()
	g := newSegments(blocks(len(acc)/k.esize, L, k.esize), k.segBytes(), k.esize)
	me := indexOf(members, k.rank)
	plan := newHostPlan(members, func(r int) string { return k.c.Info(r).Host }, k.op.commutative)

	// 1. This rank's contributions to the other lanes' parts: to the
	// owner, or to the rank of this host that combines them for it.
	var sends []*comm.Request
	for j := 0; j < L; j++ {
		if j == me || plan.mates(me, j) != nil {
			continue
		}
		to, ph := plan.owes(me, j)
		for s := range g.count(j) {
			sends = append(sends, k.isend(g.piece(acc, j, s), to, step3(ph, s)))
		}
	}
	// The parts this rank combines for its host (their contributions
	// were sent above, before anyone waits).
	for j := 0; j < L; j++ {
		if mates := plan.mates(me, j); mates != nil {
			ss, err := hostCombine(k, plan, me, j, mates, acc, g)
			sends = append(sends, ss...)
			if err != nil {
				return err
			}
		}
	}
	if me < L {
		if err := laneReduce(k, t.Members, own, me, acc, g, rounds, plan.senders(me)); err != nil {
			return err
		}
	}
	// acc's other parts are about to be overwritten with the results:
	// our contributions must have left first.
	if err := k.waitSends(sends); err != nil {
		return err
	}

	// 3. The finished parts of the other lanes, from their owners or
	// this host's aggregator; the parts this rank aggregated go on to
	// its host's other ranks as they arrive.
	var finals recvBatch
	fwd := make([][]*comm.Request, L)
	sends = sends[:0]
	for j := 0; j < L; j++ {
		if j == me {
			continue
		}
		from, ph := plan.owes(me, j)
		if ph == phaseToAggregator {
			ph = phaseFromAggregator
		} else {
			ph = 2
		}
		for s := range g.count(j) {
			if plan.mates(me, j) != nil {
				fwd[j] = append(fwd[j], k.irecv(g.piece(acc, j, s), from, step3(ph, s)))
				continue
			}
			finals.irecv(k, g.piece(acc, j, s), from, step3(ph, s))
		}
	}
	for j, reqs := range fwd {
		for s, rq := range reqs {
			piece := g.piece(acc, j, s)
			if err := k.wait(rq, len(piece)); err != nil {
				return err
			}
			for _, i := range plan.mates(me, j) {
				if i != me {
					sends = append(sends, k.isend(piece, members[i], step3(phaseFromAggregator, s)))
				}
			}
		}
	}
	if err := finals.wait(k); err != nil {
		return err
	}
	return k.waitSends(sends)
}

// laneReduce is a lane's share of allreduceLanes: it combines its
// region's contributions to part me segment by segment (from senders, in
// member order: each member of its own host and one aggregator per other
// host; see hostPlan), sends each to lane me of the other regions as it
// is ready, combines theirs (region order) into acc and hands each
// finished segment back to the senders. With rounds == 2 (and more than two regions)
// the exchange between regions is a reduce-scatter then an allgather of
// each segment's R sub-pieces (see allreduceLanes).
func laneReduce(k *call, regions [][]int, own, me int, acc []byte, g segments, rounds int, senders []int) error {
	if rounds == 2 && len(regions) > 2 {
		return laneReduce2(k, regions, own, me, acc, g, senders)
	}
	n := g.count(me)
	// Every contribution and every region's share, posted up front.
	contrib := make([][][]byte, n) // [segment][member]
	crecv := make([][]*comm.Request, n)
	share := make([][][]byte, n) // [segment][region]
	srecv := make([][]*comm.Request, n)
	for s := range n {
		mine := g.piece(acc, me, s)
		contrib[s] = make([][]byte, len(senders))
		crecv[s] = make([]*comm.Request, len(senders))
		for i, m := range senders {
			if m == k.rank {
				contrib[s][i] = mine
				continue
			}
			contrib[s][i] = k.alloc(len(mine))
			crecv[s][i] = k.irecv(contrib[s][i], m, step3(0, s))
		}
		share[s] = make([][]byte, len(regions))
		srecv[s] = make([]*comm.Request, len(regions))
		for r, rm := range regions {
			if r != own {
				share[s][r] = k.alloc(len(mine))
				srecv[s][r] = k.irecv(share[s][r], rm[me], step3(1, s))
			}
		}
	}
	var sends []*comm.Request
	// 1 and 2: the region's sum of each segment, out across the WAN.
	for s := range n {
		for i, rq := range crecv[s] {
			if rq != nil {
				if err := k.wait(rq, len(contrib[s][i])); err != nil {
					return err
				}
			}
		}
		sum := k.clone(contrib[s][0])
		for _, c := range contrib[s][1:] {
			k.reduceLeft(sum, c)
		}
		share[s][own] = sum
		for r, rm := range regions {
			if r != own {
				sends = append(sends, k.isend(sum, rm[me], step3(1, s)))
			}
		}
	}
	// 2 and 3: every region's share of each segment, combined in region
	// order, then to the region's members.
	for s := range n {
		for r, rq := range srecv[s] {
			if rq != nil {
				if err := k.wait(rq, len(share[s][r])); err != nil {
					return err
				}
			}
		}
		out := g.piece(acc, me, s)
		mem.Copy(out, share[s][0])
		for _, p := range share[s][1:] {
			k.reduceLeft(out, p)
		}
		for _, m := range senders {
			if m != k.rank {
				sends = append(sends, k.isend(out, m, step3(2, s)))
			}
		}
	}
	return k.waitSends(sends)
}

// laneReduce2 is laneReduce with the exchange between regions in two
// rounds. Segment s of part me is cut in R sub-pieces; this lane member
// owns sub-piece own: it receives that sub-piece of every other region's
// sum (step 1 of the tags), combines the R in region order, sends the
// result to every other region (step 3) and receives the other
// sub-pieces' results from their owners (step 3) straight into acc.
func laneReduce2(k *call, regions [][]int, own, me int, acc []byte, g segments, senders []int) error {
	R := len(regions)
	n := g.count(me)
	sub := make([][]int, n) // [segment] sub-piece offsets in the segment
	contrib := make([][][]byte, n)
	crecv := make([][]*comm.Request, n)
	share := make([][][]byte, n) // [segment][region]: their sums' sub-piece own
	srecv := make([][]*comm.Request, n)
	done := make([]recvBatch, n) // [segment]: the other owners' finished sub-pieces
	for s := range n {
		mine := g.piece(acc, me, s)
		sub[s] = blocks(len(mine)/k.esize, R, k.esize)
		contrib[s] = make([][]byte, len(senders))
		crecv[s] = make([]*comm.Request, len(senders))
		for i, m := range senders {
			if m == k.rank {
				contrib[s][i] = mine
				continue
			}
			contrib[s][i] = k.alloc(len(mine))
			crecv[s][i] = k.irecv(contrib[s][i], m, step3(0, s))
		}
		share[s] = make([][]byte, R)
		srecv[s] = make([]*comm.Request, R)
		lo, hi := sub[s][own], sub[s][own+1]
		for r, rm := range regions {
			if r != own {
				share[s][r] = k.alloc(hi - lo)
				srecv[s][r] = k.irecv(share[s][r], rm[me], step3(1, s))
			}
		}
	}
	var sends []*comm.Request
	// Round 1: the region's sum of each segment, sub-piece r to region r.
	for s := range n {
		for i, rq := range crecv[s] {
			if rq != nil {
				if err := k.wait(rq, len(contrib[s][i])); err != nil {
					return err
				}
			}
		}
		sum := k.clone(contrib[s][0])
		for _, c := range contrib[s][1:] {
			k.reduceLeft(sum, c)
		}
		for r, rm := range regions {
			if r != own {
				sends = append(sends, k.isend(sum[sub[s][r]:sub[s][r+1]], rm[me], step3(1, s)))
			}
		}
		share[s][own] = sum[sub[s][own]:sub[s][own+1]]
		// The segment's contribution is in sum: its place in acc can
		// take the other owners' results.
		out := g.piece(acc, me, s)
		for r, rm := range regions {
			if r != own {
				done[s].irecv(k, out[sub[s][r]:sub[s][r+1]], rm[me], step3(3, s))
			}
		}
	}
	// Round 2: the owned sub-piece of each segment combined in region
	// order and sent to every other region.
	for s := range n {
		for r, rq := range srecv[s] {
			if rq != nil {
				if err := k.wait(rq, len(share[s][r])); err != nil {
					return err
				}
			}
		}
		out := g.piece(acc, me, s)
		mine := out[sub[s][own]:sub[s][own+1]]
		mem.Copy(mine, share[s][0])
		for _, p := range share[s][1:] {
			k.reduceLeft(mine, p)
		}
		for r, rm := range regions {
			if r != own {
				sends = append(sends, k.isend(mine, rm[me], step3(3, s)))
			}
		}
	}
	// Step 3: each segment to the region's other members once whole.
	for s := range n {
		if err := done[s].wait(k); err != nil {
			return err
		}
		out := g.piece(acc, me, s)
		for _, m := range senders {
			if m != k.rank {
				sends = append(sends, k.isend(out, m, step3(2, s)))
			}
		}
	}
	return k.waitSends(sends)
}
