package collectives

import (
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/internal/mem"
	"github.com/spmd-go/spmd/topology"
)

// Chain, for long messages across regions: every rank in one chain from
// the root, the message moving along it in segments, so that every link
// carries data at once (a pipelined broadcast, and backwards a pipelined
// reduce). Each rank receives the message once and sends it once: a
// host's link carries n each way, the least any broadcast can, where
// Lanes makes the root's host send 2n (n/L to each lane of its region, n/L
// to each other region per lane, and its part to its region) and Direct
// crosses twice. The price is latency: the chain crosses from region to
// region in turn, so its latency is the sum of the crossings on the path
// (topology.ChainRegions picks the order with the least), not the
// farthest one.
//
// The chain (chainOrder): the regions in ChainRegions' order; inside each,
// the ranks of one host one after the other (so that a host's link takes
// the message in and out once, its ranks passing it on between them),
// the hosts in order of their lowest rank but for the region's first,
// which is the root's in the root's region and elsewhere the host of the
// member whose index in its region is the previous region's last
// member's index modulo the region's size: its lane peer, whose
// connection WarmUp has warmed.

// chainOrder returns the ranks of the chain from root, the same on every
// rank.
func (k *call) chainOrder(root int) []int {
	t := k.topo()
	return chainOf(t, t.ChainRegions(root, k.net().Lat), root, func(r int) string { return k.c.Info(r).Host })
}

// chainOf lays out the chain from root over regions (in their order of
// visit) on t, with host naming each rank's host ("" for a host of its
// own), grouping each region's ranks by host as the host steps do
// (newHostPlan).
func chainOf(t topology.Topology, regions []int, root int, host func(int) string) []int {
	order := make([]int, 0, len(t.RegionOf))
	for i, r := range regions {
		members := t.Members[r]
		first := root
		if i > 0 {
			first = members[t.Index(order[len(order)-1])%len(members)]
		}
		p := newHostPlan(members, host, true)
		fi := indexOf(members, first)
		fh := p.host[fi]
		// first, its host-mates, then the other hosts in order of their
		// lowest rank.
		order = append(order, first)
		for _, x := range p.hosts[fh] {
			if x != fi {
				order = append(order, members[x])
			}
		}
		for h, xs := range p.hosts {
			if h != fh {
				for _, x := range xs {
					order = append(order, members[x])
				}
			}
		}
	}
	return order
}

// chainSegments cuts a vector of nbytes into the segments of a chain of
// p ranks (the cost model's size, or Options.SegmentSize).
func (k *call) chainSegments(nbytes, p int) segments {
	return newSegments([]int{0, nbytes}, k.segBytes(nbytes, p, k.esize), k.esize)
}

// bcastChain: the root sends each segment to the next rank of the chain,
// and every rank passes each segment on as soon as it has it.
func bcastChain(k *call, buf []byte, root int) error {
	order := k.chainOrder(root)
	i := indexOf(order, k.rank)
	if i+1 < len(order) {
		defer k.freshHop(order[i+1])()
	}
	g := k.chainSegments(len(buf), len(order))
	n := g.count(0)
	var recvs []*comm.Request
	if i > 0 {
		recvs = make([]*comm.Request, n)
		for s := range n {
			recvs[s] = k.irecv(g.piece(buf, 0, s), order[i-1], step3(0, s))
		}
	}
	var sends []*comm.Request
	for s := range n {
		if i > 0 {
			if err := k.wait(recvs[s], len(g.piece(buf, 0, s))); err != nil {
				return err
			}
		}
		if i+1 < len(order) {
			sends = append(sends, k.isend(g.piece(buf, 0, s), order[i+1], step3(0, s)))
		}
	}
	return k.waitSends(sends)
}

// reduceChain (commutative ops) is bcastChain backwards: the last rank of
// the chain sends its segments to the one before it, and every rank
// combines each segment that comes with its own and passes the sum on,
// towards the root.
func reduceChain(k *call, dst, src []byte, root int) error {
	order := k.chainOrder(root)
	i := indexOf(order, k.rank)
	last := len(order) - 1
	if i > 0 {
		defer k.freshHop(order[i-1])()
	}
	g := k.chainSegments(len(src), len(order))
	n := g.count(0)
	in := make([][]byte, n)
	var recvs []*comm.Request
	if i < last {
		recvs = make([]*comm.Request, n)
		for s := range n {
			in[s] = k.alloc(len(g.piece(src, 0, s)))
			recvs[s] = k.irecv(in[s], order[i+1], step3(0, s))
		}
	}
	var sends []*comm.Request
	for s := range n {
		mine := g.piece(src, 0, s)
		var out []byte
		switch {
		case i == last && i == 0: // alone in the chain
			mem.Copy(g.piece(dst, 0, s), mine)
			continue
		case i == last: // the last rank passes its own on
			out = mine
		default:
			if err := k.wait(recvs[s], len(mine)); err != nil {
				return err
			}
			out = in[s]
			if i == 0 {
				// The root's sum goes to dst, which may be src.
				out = g.piece(dst, 0, s)
				mem.Copy(out, mine)
				k.reduceLeft(out, in[s])
			} else {
				k.reduceLeft(out, mine)
			}
		}
		if i > 0 {
			sends = append(sends, k.isend(out, order[i-1], step3(0, s)))
		}
	}
	return k.waitSends(sends)
}

// freshHop readies this rank's connection to r, the next rank of a chain,
// when the hop crosses regions and each host's bandwidth is known: it
// caps the connection's pacing at that bandwidth and restarts its
// congestion control (comm.RestartCongestion), and returns what lifts the
// cap. A hop is the only flow of its host's link in its direction, but
// the connection may have carried a collective in which it shared the
// link with others (a Lanes allreduce sends to two regions at once): BBR
// would pace it at that share for many calls, where started afresh it
// learns the whole link in a few round trips. The cap keeps the fresh
// start, which paces at nearly three times what the window allows, from
// overrunning a policed link. Without a known bandwidth nothing is done.
func (k *call) freshHop(r int) (lift func()) {
	t := k.topo()
	if t.RegionOf[r] == t.RegionOf[k.rank] {
		return func() {}
	}
	return k.fresh([]int{r}, 1)
}
