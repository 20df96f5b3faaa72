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
// Remote blocks are received, and forwarded, region by region from the
// nearest (by the mesh's round trips) so that forwarding follows
// arrival; a member's own block goes first. Both ends derive the order
// from the same data, so messages from one member match in order.
func allgatherLanes(k *call, dst []byte, n int) error {
	t := k.topo()
	own := t.RegionOf[k.rank]
	members := t.Members[own]
	me := indexOf(members, k.rank)
	block := func(r int) []byte { return dst[r*n : (r+1)*n] }
	order := nearestRegions(k, t, own)
	inbound := func(i int) []int { return laneSources(t, order, len(members), i) }

	// Post every receive first: the WAN blocks aimed at this rank, then
	// from each other member its own block and what it forwards.
	mine := inbound(me)
	wan := make([]*comm.Request, len(mine))
	for x, r := range mine {
		wan[x] = k.irecv(block(r), r, 1)
	}
	var local []*comm.Request
	for i, m := range members {
		if m == k.rank {
			continue
		}
		local = append(local, k.irecv(block(m), m, 2))
		for _, r := range inbound(i) {
			local = append(local, k.irecv(block(r), m, 2))
		}
	}

	var sends []*comm.Request
	for s, ms := range t.Members {
		if s != own {
			sends = append(sends, k.isend(block(k.rank), ms[me%len(ms)], 1))
		}
	}
	forward := func(b []byte) {
		for _, m := range members {
			if m != k.rank {
				sends = append(sends, k.isend(b, m, 2))
			}
		}
	}
	forward(block(k.rank))
	for x, rq := range wan {
		if err := k.wait(rq, n); err != nil {
			return err
		}
		forward(block(mine[x]))
	}
	for _, rq := range local {
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
