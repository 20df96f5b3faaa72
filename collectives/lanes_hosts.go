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

// finishedFrom is where member i receives finished part j, and in which
// phase: from the owner (2) or from its host's aggregator.
func (p hostPlan) finishedFrom(i, j int) (from, phase int) {
	from, ph := p.owes(i, j)
	if ph == phaseToAggregator {
		return from, phaseFromAggregator
	}
	return from, 2
}

// contributions are the pieces of one part that a rank combines, segment
// by segment: its own (the part in its buffer) and one from each other
// rank of a list, combined in the list's order.
type contributions struct {
	in   [][][]byte // [segment][sender]
	reqs [][]*comm.Request
}

// postContributions posts the receives of part j's contributions from
// the ranks of from (this rank among them: its piece of buf) in phase.
func postContributions(k *call, from []int, buf []byte, j, phase int, g segments) contributions {
	n := g.count(j)
	c := contributions{in: make([][][]byte, n), reqs: make([][]*comm.Request, n)}
	for s := range n {
		mine := g.piece(buf, j, s)
		c.in[s] = make([][]byte, len(from))
		c.reqs[s] = make([]*comm.Request, len(from))
		for x, r := range from {
			if r == k.rank {
				c.in[s][x] = mine
				continue
			}
			c.in[s][x] = k.alloc(len(mine))
			c.reqs[s][x] = k.irecv(c.in[s][x], r, step3(phase, s))
		}
	}
	return c
}

// sum waits for segment s's contributions and returns them combined in
// order, in the call's memory.
func (c contributions) sum(k *call, s int) ([]byte, error) {
	for x, rq := range c.reqs[s] {
		if rq != nil {
			if err := k.wait(rq, len(c.in[s][x])); err != nil {
				return nil, err
			}
		}
	}
	sum := k.clone(c.in[s][0])
	for _, b := range c.in[s][1:] {
		k.reduceLeft(sum, b)
	}
	return sum, nil
}

// sendContributions is a Lanes allreduce's or reduce's step 1 for member
// me: its piece of every other part j of buf to the owner or to its
// host's aggregator for j, then the parts it combines for its host
// (hostCombine; everyone's direct sends are posted before anyone waits).
func sendContributions(k *call, p hostPlan, me, L int, buf []byte, g segments) ([]*comm.Request, error) {
	var sends []*comm.Request
	for j := 0; j < L; j++ {
		if j == me || p.mates(me, j) != nil {
			continue
		}
		to, ph := p.owes(me, j)
		for s := range g.count(j) {
			sends = append(sends, k.isend(g.piece(buf, j, s), to, step3(ph, s)))
		}
	}
	for j := 0; j < L; j++ {
		if mates := p.mates(me, j); mates != nil {
			ss, err := hostCombine(k, p, me, j, mates, buf, g)
			sends = append(sends, ss...)
			if err != nil {
				return sends, err
			}
		}
	}
	return sends, nil
}

// hostCombine is an aggregator's share of step 1 for part j: segment by
// segment it combines its host's contributions (mates, member indices in
// member order, itself among them; its own is part j of buf) and sends
// the sum to the part's owner.
func hostCombine(k *call, p hostPlan, me, j int, mates []int, buf []byte, g segments) ([]*comm.Request, error) {
	from := make([]int, len(mates))
	for x, i := range mates {
		from[x] = p.members[i]
	}
	c := postContributions(k, from, buf, j, phaseToAggregator, g)
	var sends []*comm.Request
	for s := range g.count(j) {
		sum, err := c.sum(k, s)
		if err != nil {
			return sends, err
		}
		sends = append(sends, k.isend(sum, p.members[j], step3(0, s)))
	}
	return sends, nil
}

// postFinished posts member me's receives of the finished parts j != me
// of buf (from finishedFrom): those it passes on to its host, by part and
// segment in fwd, the others in rest.
func postFinished(k *call, p hostPlan, me, L int, buf []byte, g segments) (rest recvBatch, fwd [][]*comm.Request) {
	fwd = make([][]*comm.Request, L)
	for j := 0; j < L; j++ {
		if j == me {
			continue
		}
		from, ph := p.finishedFrom(me, j)
		for s := range g.count(j) {
			if p.mates(me, j) != nil {
				fwd[j] = append(fwd[j], k.irecv(g.piece(buf, j, s), from, step3(ph, s)))
				continue
			}
			rest.irecv(k, g.piece(buf, j, s), from, step3(ph, s))
		}
	}
	return rest, fwd
}

// passOn sends segment s of part j of buf to member me's host-mates when
// me aggregates j for them (all but skip, a rank that needs nothing).
func passOn(k *call, p hostPlan, me, j, s int, buf []byte, g segments, skip int) []*comm.Request {
	var sends []*comm.Request
	for _, i := range p.mates(me, j) {
		if m := p.members[i]; i != me && m != skip {
			sends = append(sends, k.isend(g.piece(buf, j, s), m, step3(phaseFromAggregator, s)))
		}
	}
	return sends
}

// passAll waits for the parts of fwd (postFinished) and passes each
// segment on as it arrives.
func passAll(k *call, p hostPlan, me int, buf []byte, g segments, fwd [][]*comm.Request, skip int) ([]*comm.Request, error) {
	var sends []*comm.Request
	for j, reqs := range fwd {
		for s, rq := range reqs {
			if err := k.wait(rq, len(g.piece(buf, j, s))); err != nil {
				return sends, err
			}
			sends = append(sends, passOn(k, p, me, j, s, buf, g, skip)...)
		}
	}
	return sends, nil
}
