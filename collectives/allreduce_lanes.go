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
// The steps are pipelined: parts go in segments (Options.SegmentSize, or
// the cost model's size, segBytes); a lane sends a segment across the WAN as soon as its
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
	off := blocks(len(acc)/k.esize, L, k.esize)
	g := newSegments(off, k.segBytes(off[1]-off[0], 2+rounds, k.esize), k.esize)
	me := indexOf(members, k.rank)
	plan := newHostPlan(members, func(r int) string { return k.c.Info(r).Host }, k.op.commutative)

	// 1. This rank's contributions to the other lanes' parts: to the
	// owner, or to the rank of this host that combines them for it. A
	// lane member's connections in the region go at their share of the
	// link until its round 1 is out (laneLocal).
	lift := func() {}
	if me < L {
		lift = k.laneLocal(members, L, len(t.Members), rounds)
	}
	defer lift()
	sends, err := sendContributions(k, plan, me, L, acc, g)
	if err != nil {
		return err
	}
	if me < L {
		if err := laneReduce(k, t.Members, own, me, acc, g, rounds, plan.senders(me), lift); err != nil {
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
	finals, fwd := postFinished(k, plan, me, L, acc, g)
	sends, err = passAll(k, plan, me, acc, g, fwd, -1)
	if err != nil {
		return err
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
// each segment's R sub-pieces (see allreduceLanes). It calls sent once
// every segment's round 1 is out.
func laneReduce(k *call, regions [][]int, own, me int, acc []byte, g segments, rounds int, senders []int, sent func()) error {
	if rounds == 2 && len(regions) > 2 {
		return laneReduce2(k, regions, own, me, acc, g, senders, sent)
	}
	n := g.count(me)
	// Every contribution and every region's share, posted up front.
	contrib := postContributions(k, senders, acc, me, 0, g)
	share, srecv := postShares(k, regions, own, me, n, func(s int) int { return len(g.piece(acc, me, s)) })
	var sends []*comm.Request
	defer k.freshLane(regions, own, me)()
	// 1 and 2: the region's sum of each segment, out across the WAN.
	for s := range n {
		sum, err := contrib.sum(k, s)
		if err != nil {
			return err
		}
		share[s][own] = sum
		for r, rm := range regions {
			if r != own {
				sends = append(sends, k.isend(sum, rm[me], step3(1, s)))
			}
		}
	}
	sent()
	// 2 and 3: every region's share of each segment, combined in region
	// order, then to the region's members.
	for s := range n {
		out := g.piece(acc, me, s)
		if err := combineShares(k, share[s], srecv[s], out); err != nil {
			return err
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
//
// The three stages of a segment (its region's sum out, round 1; the owned
// sub-piece combined and out, round 2; the whole segment to the region,
// step 3) run as soon as what each needs is in, whichever segment that
// is: round 2 of the first segments and their step 3 go out while later
// segments' contributions still arrive, so each host's link stays busy
// through the two crossings. (Run as three loops one after the other, a
// 4 MiB allreduce left its step 3 until every share of round 1 was in.)
func laneReduce2(k *call, regions [][]int, own, me int, acc []byte, g segments, senders []int, sent func()) error {
	R := len(regions)
	n := g.count(me)
	sub := make([][]int, n) // [segment] sub-piece offsets in the segment
	contrib := postContributions(k, senders, acc, me, 0, g)
	done := make([]recvBatch, n) // [segment]: the other owners' finished sub-pieces
	for s := range n {
		sub[s] = blocks(len(g.piece(acc, me, s))/k.esize, R, k.esize)
	}
	share, srecv := postShares(k, regions, own, me, n, func(s int) int { return sub[s][own+1] - sub[s][own] })
	var sends []*comm.Request
	defer k.freshLane(regions, own, me)()
	// Round 1: the region's sum of segment s, sub-piece r to region r.
	round1 := func(s int) error {
		sum, err := contrib.sum(k, s)
		if err != nil {
			return err
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
		return nil
	}
	// Round 2: the owned sub-piece of segment s combined in region order
	// and sent to every other region.
	round2 := func(s int) error {
		mine := g.piece(acc, me, s)[sub[s][own]:sub[s][own+1]]
		if err := combineShares(k, share[s], srecv[s], mine); err != nil {
			return err
		}
		for r, rm := range regions {
			if r != own {
				sends = append(sends, k.isend(mine, rm[me], step3(3, s)))
			}
		}
		return nil
	}
	// Step 3: segment s, whole, to the region's other members.
	step := func(s int) error {
		if err := done[s].wait(k); err != nil {
			return err
		}
		for _, m := range senders {
			if m != k.rank {
				sends = append(sends, k.isend(g.piece(acc, me, s), m, step3(2, s)))
			}
		}
		return nil
	}
	// i1, i2, i3: the next segment of each stage (i3 <= i2 <= i1). Each
	// turn runs the latest stage that can go without waiting; when none
	// can, it waits for the first missing message of any of the three.
	i1, i2, i3 := 0, 0, 0
	for i3 < n {
		var next [3]*comm.Request
		if i3 < i2 {
			if next[0] = firstPending(done[i3].reqs); next[0] == nil {
				if err := step(i3); err != nil {
					return err
				}
				i3++
				continue
			}
		}
		if i2 < i1 {
			if next[1] = firstPending(srecv[i2]); next[1] == nil {
				if err := round2(i2); err != nil {
					return err
				}
				i2++
				continue
			}
		}
		if i1 < n {
			if next[2] = firstPending(contrib.reqs[i1]); next[2] == nil {
				if err := round1(i1); err != nil {
					return err
				}
				if i1++; i1 == n {
					sent()
				}
				continue
			}
		}
		if _, err := comm.WaitAny(k.ctx, next[:]...); err != nil {
			return err
		}
	}
	return k.waitSends(sends)
}

// firstPending returns the first of reqs (nil ones skipped) that has not
// completed, or nil when all have.
func firstPending(reqs []*comm.Request) *comm.Request {
	for _, r := range reqs {
		if r != nil {
			if ok, _, _ := r.Test(); !ok {
				return r
			}
		}
	}
	return nil
}

// postShares posts, for each of n segments, the receive of size(s) bytes
// from lane me of every region but own (step 1 of the tags); share[s][own]
// is left for the caller's own sum.
func postShares(k *call, regions [][]int, own, me, n int, size func(s int) int) (share [][][]byte, srecv [][]*comm.Request) {
	share = make([][][]byte, n) // [segment][region]
	srecv = make([][]*comm.Request, n)
	for s := range n {
		share[s] = make([][]byte, len(regions))
		srecv[s] = make([]*comm.Request, len(regions))
		for r, rm := range regions {
			if r != own {
				share[s][r] = k.alloc(size(s))
				srecv[s][r] = k.irecv(share[s][r], rm[me], step3(1, s))
			}
		}
	}
	return share, srecv
}

// combineShares waits for one segment's shares and combines all of them,
// in region order, into out.
func combineShares(k *call, share [][]byte, srecv []*comm.Request, out []byte) error {
	for r, rq := range srecv {
		if rq != nil {
			if err := k.wait(rq, len(share[r])); err != nil {
				return err
			}
		}
	}
	mem.Copy(out, share[0])
	for _, p := range share[1:] {
		k.reduceLeft(out, p)
	}
	return nil
}
