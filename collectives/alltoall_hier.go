package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// alltoallHier, across regions, aggregated per destination region: the
// member at index i of its region sends
//
//   - to every other member of its region, that member's block directly;
//   - to the member at index i mod k_s of every other region s, one
//     message with the blocks for all of s's members, in member order.
//
// A member forwards each block of such a message to the member it is
// meant for as soon as the message arrives. Each rank sends R-1 messages
// across the WAN instead of p-k (Linear) or takes p-1 steps (Pairwise,
// each a WAN latency); every byte crosses the WAN once. Messages are
// received, and forwarded, region by region from the nearest, in an order
// both ends derive from the same data (as allgatherLanes).
func alltoallHier(k *call, dst, src []byte, n int) error {
	t := k.topo()
	own := t.RegionOf[k.rank]
	members := t.Members[own]
	me := indexOf(members, k.rank)
	in := func(q int) []byte { return dst[q*n : (q+1)*n] }
	out := func(r int) []byte { return src[r*n : (r+1)*n] }
	order := nearestRegions(k, t, own)
	sources := func(i int) []int { return laneSources(t, order, len(members), i) }

	// Receives: region messages aimed at this rank; forwarded blocks from
	// each other member; and each other member's own block.
	mine := sources(me)
	packs := make([][]byte, len(mine))
	wan := make([]*comm.Request, len(mine))
	for x, q := range mine {
		packs[x] = k.alloc(len(members) * n)
		wan[x] = k.irecv(packs[x], q, 2)
	}
	var local []*comm.Request
	for i, m := range members {
		if m == k.rank {
			continue
		}
		local = append(local, k.irecv(in(m), m, 1))
		for _, q := range sources(i) {
			local = append(local, k.irecv(in(q), m, 3))
		}
	}

	var sends []*comm.Request
	for _, m := range members {
		if m == k.rank {
			mem.Copy(in(m), out(m))
			continue
		}
		sends = append(sends, k.isend(out(m), m, 1))
	}
	for s, ms := range t.Members {
		if s == own {
			continue
		}
		b := k.alloc(len(ms) * n)
		for x, r := range ms {
			mem.Copy(b[x*n:], out(r))
		}
		sends = append(sends, k.isend(b, ms[me%len(ms)], 2))
	}
	for x, rq := range wan {
		if err := k.wait(rq, len(packs[x])); err != nil {
			return err
		}
		for i, m := range members {
			b := packs[x][i*n : (i+1)*n]
			if m == k.rank {
				mem.Copy(in(mine[x]), b)
				continue
			}
			sends = append(sends, k.isend(b, m, 3))
		}
	}
	for _, rq := range local {
		if err := k.wait(rq, n); err != nil {
			return err
		}
	}
	return k.waitSends(sends)
}
