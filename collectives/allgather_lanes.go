package collectives

import (
	"slices"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/topology"
)

// allgatherLanes, for large blocks across regions: every block crosses
// each region pair once, from its owner straight to one member of the
// other region, and is spread inside the region from there.
//
//  1. Rank at index i of its region sends its block to every other member
//     of its region, and to the member at index i mod k_s of every other
//     region s (k_s members): all hosts send on the WAN at once.
//  2. As each remote block arrives, its receiver forwards it to the other
//     members of its region.
//
// Steps 1 and 2 move blocks in segments (segBytes with two stages), so a
// remote block is passed on while it arrives rather than after: whole
// blocks left the region's other members a block's time behind its
// receiver.
//
// Remote blocks are received, and forwarded, region by region from the
// nearest (by the mesh's round trips) so that forwarding follows
// arrival; a member's own block goes first. Both ends derive the order
// from the same data, so messages from one member match in order.
//
// Where a region has several ranks on one host, a block crosses a host's
// link once per far host: it goes to the members of the sender's own host
// and to one rank of each other host (for block r, the host's member at r
// mod its size), which relays it to its host-mates over loopback (step 3
// of the tags) once it has passed on its own WAN blocks.
func allgatherLanes(k *call, dst []byte, n int) error {
	t := k.topo()
	own := t.RegionOf[k.rank]
	members := t.Members[own]
	me := indexOf(members, k.rank)
	block := func(r int) []byte { return dst[r*n : (r+1)*n] }
	order := nearestRegions(k, t, own)
	inbound := func(i int) []int { return laneSources(t, order, len(members), i) }
	plan := newHostPlan(members, func(r int) string { return k.c.Info(r).Host }, true)
	// forwards[i] lists the blocks member i passes to its region: its
	// own, then its WAN blocks in order.
	forwards := make([][]int, len(members))
	for i, m := range members {
		forwards[i] = append([]int{m}, inbound(i)...)
	}
	// takes reports whether member i gets block r from member x itself
	// rather than from the rank of its host that relays it (the host's
	// aggregator for r).
	takes := func(i, x, r int) bool {
		return !plan.aggregate || plan.host[i] == plan.host[x] || plan.aggregator(plan.host[i], r) == i
	}
	// relays lists what member i relays to its host-mates, in order.
	relays := func(i int) []int {
		if !plan.aggregate {
			return nil
		}
		var out []int
		for x := range members {
			if plan.host[x] == plan.host[i] {
				continue
			}
			for _, r := range forwards[x] {
				if takes(i, x, r) {
					out = append(out, r)
				}
			}
		}
		return out
	}

	// Post every receive first: the WAN blocks aimed at this rank, then
	// from each other member its own block and what it forwards (those
	// this rank takes from it), then what host-mates relay.
	g := newSegments([]int{0, n}, k.segBytes(n, 2, k.esize), k.esize)
	nseg := g.count(0)
	piece := func(r, s int) []byte { return g.piece(block(r), 0, s) }
	// irecvBlock posts the receives of block r's segments from src.
	irecvBlock := func(r, src, step int) []*comm.Request {
		rqs := make([]*comm.Request, nseg)
		for s := range rqs {
			rqs[s] = k.irecv(piece(r, s), src, step)
		}
		return rqs
	}
	mine := inbound(me)
	wan := make([][]*comm.Request, len(mine))
	for x, r := range mine {
		wan[x] = irecvBlock(r, r, 1)
	}
	type recv struct {
		rq   *comm.Request
		size int
	}
	var local []recv
	var relayed []*comm.Request
	from := map[int][]*comm.Request{} // block -> its local receives
	for i, m := range members {
		if m == k.rank {
			continue
		}
		for _, r := range forwards[i] {
			if takes(me, i, r) {
				from[r] = irecvBlock(r, m, 2)
				for s, rq := range from[r] {
					local = append(local, recv{rq, len(piece(r, s))})
				}
			}
		}
	}
	toRelay := relays(me)
	for _, i := range plan.hosts[plan.host[me]] {
		if i != me {
			for _, r := range relays(i) {
				relayed = append(relayed, k.irecv(block(r), members[i], 3))
			}
		}
	}

	var sends []*comm.Request
	lanes := make([][]int, len(t.Members)) // this rank's WAN peer in each region
	for reg, ms := range t.Members {
		lanes[reg] = []int{ms[me%len(ms)]}
	}
	defer k.freshLane(lanes, own, 0)()
	for s := range nseg {
		for reg, ms := range t.Members {
			if reg != own {
				sends = append(sends, k.isend(piece(k.rank, s), ms[me%len(ms)], 1))
			}
		}
	}
	forward := func(r, s int) {
		for i, m := range members {
			if m != k.rank && takes(i, me, r) {
				sends = append(sends, k.isend(piece(r, s), m, 2))
			}
		}
	}
	for s := range nseg {
		forward(k.rank, s)
	}
	for x, rqs := range wan {
		for s, rq := range rqs {
			if err := k.wait(rq, len(piece(mine[x], s))); err != nil {
				return err
			}
			forward(mine[x], s)
		}
	}
	// The blocks this rank relays arrive among the local ones: each is
	// passed on as soon as it and those before it are in.
	for _, r := range toRelay {
		for s, rq := range from[r] {
			if err := k.wait(rq, len(piece(r, s))); err != nil {
				return err
			}
		}
		for _, i := range plan.hosts[plan.host[me]] {
			if i != me {
				sends = append(sends, k.isend(block(r), members[i], 3))
			}
		}
	}
	for _, l := range local {
		if err := k.wait(l.rq, l.size); err != nil {
			return err
		}
	}
	for _, rq := range relayed {
		if err := k.wait(rq, n); err != nil {
			return err
		}
	}
	return k.waitSends(sends)
}

// laneSources lists the ranks of the regions in order whose WAN messages
// reach member i of a region of k members (the j-th member of a region
// sends to member j mod k), in that order: the order in which member i
// receives and forwards them, which every member can derive.
func laneSources(t topology.Topology, order []int, k, i int) []int {
	var from []int
	for _, s := range order {
		for j, r := range t.Members[s] {
			if j%k == i {
				from = append(from, r)
			}
		}
	}
	return from
}

// nearestRegions lists the regions other than own, nearest first by the
// round trip between the regions' leaders (ties, and jobs without
// measurements, by region index). Every rank computes the same list.
func nearestRegions(k *call, t topology.Topology, own int) []int {
	var rs []int
	for s := range t.Members {
		if s != own {
			rs = append(rs, s)
		}
	}
	rtt := func(s int) int64 { return int64(k.c.RTT(t.Leader[own], t.Leader[s])) }
	slices.SortStableFunc(rs, func(a, b int) int {
		switch x, y := rtt(a), rtt(b); {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
	return rs
}
