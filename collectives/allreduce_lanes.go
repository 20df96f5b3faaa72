package collectives

import (
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/topology"

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
// Chain (rounds 0) does step 2 along a chain of regions (laneChain).
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
	g := newSegments(off, k.segBytes(off[1]-off[0], 2+laneHops(rounds, len(t.Members)), k.esize), k.esize)
	me := indexOf(members, k.rank)
	plan := newHostPlan(members, func(r int) string { return k.c.Info(r).Host }, k.op.commutative)

	// Chain's order of the regions, and whether this region lies inside
	// it (not at an end).
	var chain []int
	inside := false
	if rounds == 0 {
		chain = t.AllreduceChain(k.net().Lat, !k.op.commutative)
		i := indexOf(chain, own)
		inside = i > 0 && i < len(chain)-1
		defer k.yieldLocal(members)()
	}

	// 1. This rank's contributions to the other lanes' parts: to the
	// owner, or to the rank of this host that combines them for it. A
	// lane member's connections in the region go at their share of the
	// link from when its sends across start until its round 1 is out
	// (laneLocal): from the start but inside a chain (laneChain).
	lift := func() {}
	capLocal := func() { lift = k.laneLocal(members, L, len(t.Members), rounds) }
	if me < L && !inside {
		capLocal()
	}
	defer func() { lift() }()
	sends, err := sendContributions(k, plan, me, L, acc, g)
	if err != nil {
		return err
	}
	if me < L {
		sent := func() { lift() }
		if rounds == 0 {
			err = laneChain(k, chain, inside, t.Members, own, me, acc, g, plan.senders(me), capLocal, sent)
		} else {
			err = laneReduce(k, t.Members, own, me, acc, g, rounds, plan.senders(me), sent)
		}
		if err != nil {
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

// laneHops is how many crossings a segment makes, one after the other,
// in step 2 of a Lanes allreduce with rounds (0: Chain) on R regions: the
// pipeline's stages between the two steps inside the region.
func laneHops(rounds, R int) int {
	if rounds == 0 {
		return topology.AllreduceChainHops(R)
	}
	return rounds
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
// through the two crossings (runStages).
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
	return runStages(k, n, []stage{
		{func(s int) *comm.Request { return firstPending(contrib.reqs[s]) }, func(s int) error {
			err := round1(s)
			if s == n-1 {
				sent()
			}
			return err
		}},
		{func(s int) *comm.Request { return firstPending(srecv[s]) }, round2},
		{func(s int) *comm.Request { return firstPending(done[s].reqs) }, step},
	})
}

// laneChain is laneReduce with the exchange between regions along the
// chain c of topology.AllreduceChain (the Chain allreduce; inside: own
// is neither of its ends): lane me of region c[0] sends its region's
// sum of each segment to lane me of c[1],
// which adds its own and passes the result on, and so on up to c[R-1];
// c[R-1] sends its own sum to c[R-2] as well, so that both form the total
// from the same two operands (the same bits), and the total goes back
// from c[R-2] along the chain to c[0]. A lane host sends its part across
// the WAN once at the chain's ends and twice inside it, whatever R, where
// Lanes sends it R-1 times; the total reaches the farthest region after
// AllreduceChainLatency (110 ms on the 3x2 lab, us-sg-eu, against the
// farthest pair's 90). The middle regions' hosts send as much across as
// a Lanes host does on three regions, and less from four on, where the
// cost model prices it (docs/algorithms.md, "Chain" after Lanes2); on
// three too when the hosts send WAN packets first (comm.Config.WANFirst:
// allreduceLanes marks the region's connections for the call).
//
// The stages of a segment: the region's sum (and at the ends, out);
// the forward sum (inside the chain: combined and out); the total
// (at c[R-2] combined, before it received, inside it passed back); the
// segment to the region.
func laneChain(k *call, c []int, inside bool, regions [][]int, own, me int, acc []byte, g segments, senders []int, capLocal, sent func()) error {
	R := len(regions)
	i := indexOf(c, own)
	// The ends send across from the start, so their region's connections
	// go at their share of the link from the start (allreduceLanes caps
	// them); inside the chain they go at the whole link until the first
	// forward sum comes, and at their share until the totals are passed
	// back (laneLocal).
	peer := func(j int) int { return regions[c[j]][me] }
	n := g.count(me)
	contrib := postContributions(k, senders, acc, me, 0, g)
	sum := make([][]byte, n) // [segment] the region's sum, then (inside the chain) the forward sum
	var fwd, last []*comm.Request
	var fwdIn, lastIn [][]byte
	if i > 0 { // the forward sum from c[i-1]
		fwd, fwdIn = make([]*comm.Request, n), make([][]byte, n)
	}
	if i == R-2 { // c[R-1]'s own sum
		last, lastIn = make([]*comm.Request, n), make([][]byte, n)
	}
	for s := range n {
		size := len(g.piece(acc, me, s))
		if fwd != nil {
			fwdIn[s] = k.alloc(size)
			fwd[s] = k.irecv(fwdIn[s], peer(i-1), step3(1, s))
		}
		if last != nil {
			lastIn[s] = k.alloc(size)
			last[s] = k.irecv(lastIn[s], peer(R-1), step3(1, s))
		}
	}
	back := make([]*comm.Request, n) // the total from c[i+1], i < R-2
	var peers []int
	if i > 0 {
		peers = append(peers, peer(i-1))
	}
	if i < R-1 {
		peers = append(peers, peer(i+1))
	}
	_, here := k.hostShare()
	lift := func() {}
	if len(peers) > 0 {
		lift = k.fresh(peers, 1/float64(here*len(peers)))
	}
	defer lift()
	var sends []*comm.Request
	send := func(b []byte, j, phase, s int) {
		sends = append(sends, k.isend(b, peer(j), step3(phase, s)))
	}
	none := func(int) *comm.Request { return nil }
	err := runStages(k, n, []stage{
		// The region's sum; the ends send it on at once.
		{func(s int) *comm.Request { return firstPending(contrib.reqs[s]) }, func(s int) error {
			var err error
			if sum[s], err = contrib.sum(k, s); err != nil {
				return err
			}
			switch {
			case i == 0 && R > 1:
				send(sum[s], 1, 1, s)
			case i == R-1 && R > 1:
				send(sum[s], R-2, 1, s)
			}
			if i < R-2 {
				// The segment's contribution is in sum: its place in
				// acc can take the total.
				back[s] = k.irecv(g.piece(acc, me, s), peer(i+1), step3(3, s))
			}
			return nil
		}},
		// The forward sum: c[i-1]'s with this region's, in chain order;
		// at c[R-1] that is the total.
		{func(s int) *comm.Request {
			if fwd == nil {
				return nil
			}
			return firstPending(fwd[s : s+1])
		}, func(s int) error {
			if fwd != nil {
				if err := k.wait(fwd[s], len(fwdIn[s])); err != nil {
					return err
				}
				if s == 0 && inside {
					capLocal()
				}
				k.reduceLeft(fwdIn[s], sum[s])
				sum[s] = fwdIn[s]
				if i < R-1 {
					send(sum[s], i+1, 1, s)
				}
			}
			if i == R-1 {
				mem.Copy(g.piece(acc, me, s), sum[s])
			}
			if s == n-1 && !inside {
				sent()
			}
			return nil
		}},
		// The total: formed at c[R-2], received before it; passed back.
		{func(s int) *comm.Request {
			switch {
			case i == R-2:
				return firstPending(last[s : s+1])
			case i < R-2:
				return firstPending(back[s : s+1])
			}
			return nil
		}, func(s int) error {
			out := g.piece(acc, me, s)
			switch {
			case i == R-2:
				if err := k.wait(last[s], len(lastIn[s])); err != nil {
					return err
				}
				mem.Copy(out, sum[s])
				k.reduceLeft(out, lastIn[s])
			case i < R-2:
				if err := k.wait(back[s], len(out)); err != nil {
					return err
				}
			}
			if i > 0 && i <= R-2 {
				send(out, i-1, 3, s)
			}
			if s == n-1 && inside {
				sent()
			}
			return nil
		}},
		// The finished segment to the region's other members.
		{none, func(s int) error {
			for _, m := range senders {
				if m != k.rank {
					sends = append(sends, k.isend(g.piece(acc, me, s), m, step3(2, s)))
				}
			}
			return nil
		}},
	})
	if err != nil {
		return err
	}
	return k.waitSends(sends)
}

// stage is one step of a pipeline over a part's segments (runStages).
type stage struct {
	// pending returns a receive that segment s still needs before run
	// can go without blocking, or nil when it can go now.
	pending func(s int) *comm.Request
	run     func(s int) error
}

// runStages runs every stage on segments 0 to n-1 in order, a stage on
// segment s only after the stage before it has: each turn runs the
// latest stage that can go without waiting, and when none can it waits
// for the first missing message of any of them. So a segment's later
// stages go out while later segments' first messages are still coming,
// and the other way round: each host's link stays busy through the
// crossings. (Run as loops one after the other, a 4 MiB Lanes2
// allreduce left its copies to the region until every share of round 1
// was in.)
func runStages(k *call, n int, stages []stage) error {
	next := make([]int, len(stages)) // each stage's next segment
	last := len(stages) - 1
	var pending []*comm.Request
	for next[last] < n {
		pending = pending[:0]
		ran := false
		for j := last; j >= 0 && !ran; j-- {
			limit := n
			if j > 0 {
				limit = next[j-1]
			}
			if next[j] >= limit {
				continue
			}
			if r := stages[j].pending(next[j]); r != nil {
				pending = append(pending, r)
				continue
			}
			if err := stages[j].run(next[j]); err != nil {
				return err
			}
			next[j]++
			ran = true
		}
		if !ran {
			if _, err := comm.WaitAny(k.ctx, pending...); err != nil {
				return err
			}
		}
	}
	return nil
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
