package collectives

import "github.com/spmd-go/spmd/comm"

// Ranks that share a host share its link. When a region has several ranks
// on one host, the Lanes allreduce's steps inside the region go through
// the host once: for each part whose lane owner is on another host, one
// rank of the host (its aggregator for that part) combines the host's
// contributions and sends one message to the owner, and the owner sends
// the finished part once to that rank, which hands it to the others on
// its host. With c ranks on each of h hosts in a region, a host's link
// then carries (h-1)/h of the vector in each of the two steps instead of
// c(ch-1)/(ch) (with two slots on two hosts: n/2 against 3n/2).
//
// Phases of the tags (step3) beyond the lanes' own 0-3.
const (
	phaseToAggregator   = 4 // a rank's contribution to its host's aggregator
	phaseFromAggregator = 5 // a finished part, aggregator to its host's ranks
)

// hostPlan is how the members of one region send their contributions to
// the L lane owners and get the finished parts back.
type hostPlan struct {
	members []int
	// host[i] is the index of members[i]'s host among the region's hosts;
	// hosts[h] that host's member indices, ascending.
	host  []int
	hosts [][]int
	// aggregate is false when every contribution goes straight to its
	// owner: no host has two members, or a non-commutative op over hosts
	// whose members are not consecutive (combining per host would break
	// member order).
	aggregate bool
}

// newHostPlan groups a region's members by host (hostOf names a rank's
// host; "" is a host of its own).
func newHostPlan(members []int, hostOf func(int) string, commutative bool) hostPlan {
	p := hostPlan{members: members, host: make([]int, len(members))}
	idx := map[string]int{}
	for i, m := range members {
		name := hostOf(m)
		h, ok := idx[name]
		if !ok || name == "" {
			h = len(p.hosts)
			idx[name] = h
			p.hosts = append(p.hosts, nil)
		}
		p.host[i] = h
		p.hosts[h] = append(p.hosts[h], i)
	}
	consecutive := true
	for _, hs := range p.hosts {
		if len(hs) > 1 {
			p.aggregate = true
		}
		if hs[len(hs)-1]-hs[0] != len(hs)-1 {
			consecutive = false
		}
	}
	p.aggregate = p.aggregate && (commutative || consecutive)
	return p
}

// aggregator is the member index that combines host h's contributions to
// part j (owned by member j on another host): the host's members take the
// parts in turn.
func (p hostPlan) aggregator(h, j int) int {
	hs := p.hosts[h]
	return hs[j%len(hs)]
}

// direct reports whether member i deals with part j's owner itself: it is
// on the owner's host, or its host's aggregator for j, or nothing is
// aggregated.
func (p hostPlan) direct(i, j int) bool {
	return !p.aggregate || p.host[i] == p.host[j] || p.aggregator(p.host[i], j) == i
}

// senders is who sends part j's owner a contribution, in the order the
// owner combines them (member order when hosts' members are consecutive):
// each member of the owner's host, and one aggregator per other host.
func (p hostPlan) senders(j int) []int {
	var s []int
	for i := range p.members {
		if p.direct(i, j) {
			s = append(s, p.members[i])
		}
	}
	return s
}

// mates is who of member i's host sends i its contribution to part j
// (nil unless i aggregates j), in member order, i included.
func (p hostPlan) mates(i, j int) []int {
	if !p.aggregate || p.host[i] == p.host[j] || p.aggregator(p.host[i], j) != i {
		return nil
	}
	return p.hosts[p.host[i]]
}

// owes is where member i sends its contribution to part j, and in which
// phase: the owner (phase 0) or its host's aggregator.
func (p hostPlan) owes(i, j int) (to, phase int) {
	if p.direct(i, j) {
		return p.members[j], 0
	}
	return p.members[p.aggregator(p.host[i], j)], phaseToAggregator
}

// hostCombine is an aggregator's share of the Lanes allreduce's or
// reduce's step 1 for part j: segment by segment it combines its host's
// contributions (mates, member indices in member order, itself among
// them; its own is part j of acc) and sends the sum to the part's owner.
func hostCombine(k *call, plan hostPlan, me, j int, mates []int, acc []byte, g segments) ([]*comm.Request, error) {
	n := g.count(j)
	got := make([][][]byte, n) // [segment][mate]
	reqs := make([][]*comm.Request, n)
	for s := range n {
		mine := g.piece(acc, j, s)
		got[s] = make([][]byte, len(mates))
		reqs[s] = make([]*comm.Request, len(mates))
		for x, i := range mates {
			if i == me {
				got[s][x] = mine
				continue
			}
			got[s][x] = k.alloc(len(mine))
			reqs[s][x] = k.irecv(got[s][x], plan.members[i], step3(phaseToAggregator, s))
		}
	}
	var sends []*comm.Request
	for s := range n {
		for x, rq := range reqs[s] {
			if rq != nil {
				if err := k.wait(rq, len(got[s][x])); err != nil {
					return sends, err
				}
			}
		}
		sum := k.clone(got[s][0])
		for _, c := range got[s][1:] {
			k.reduceLeft(sum, c)
		}
		sends = append(sends, k.isend(sum, plan.members[j], step3(0, s)))
	}
	return sends, nil
}
