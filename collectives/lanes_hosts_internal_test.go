package collectives

import (
	"slices"
	"testing"
)

// The host plan: each part's owner hears from every member of its own
// host and from one rank of each other host; that rank hears from its
// host-mates; a non-commutative op over hosts whose ranks are not
// consecutive sends everything straight to the owners.
func TestHostPlan(t *testing.T) {
	hostsOf := func(names ...string) func(int) string {
		return func(r int) string { return names[r-10] } // members are ranks 10, 11, ...
	}
	members := []int{10, 11, 12, 13, 14}
	// Hosts x: 10 11; y: 12 13 14.
	p := newHostPlan(members, hostsOf("x", "x", "y", "y", "y"), false)
	if !p.aggregate {
		t.Fatal("two hosts of several ranks, consecutive: want aggregation")
	}
	for j, want := range [][]int{
		{10, 11, 12},     // part 0 (owner 10 on x): x's two, y's member 0 (12)
		{10, 11, 13},     // part 1: y's member 1 (13)
		{10, 12, 13, 14}, // part 2 (owner 12 on y): x's member 0 (10), y's three
		{11, 12, 13, 14}, // part 3: x's member 1 (11)
	} {
		if got := p.senders(j); !slices.Equal(got, want) {
			t.Errorf("senders of part %d: %v, want %v", j, got, want)
		}
		// One message per other host crosses a host link.
		cross := 0
		for _, s := range p.senders(j) {
			if p.host[indexOf(members, s)] != p.host[j] {
				cross++
			}
		}
		if cross != 1 {
			t.Errorf("part %d: %d senders from other hosts, want 1", j, cross)
		}
	}
	if got := p.mates(2, 0); !slices.Equal(got, []int{2, 3, 4}) {
		t.Errorf("mates of member 2 (y's aggregator for part 0): %v, want y's members", got)
	}
	if got := p.mates(4, 0); got != nil {
		t.Errorf("member 4 does not aggregate part 0, got mates %v", got)
	}
	if to, ph := p.owes(4, 0); to != 12 || ph != phaseToAggregator {
		t.Errorf("member 4's part 0 goes to %d in phase %d, want 12 (y's aggregator) in %d", to, ph, phaseToAggregator)
	}
	if to, ph := p.owes(1, 0); to != 10 || ph != 0 {
		t.Errorf("member 1's part 0 goes to %d in phase %d, want owner 10 in 0", to, ph)
	}

	// Hosts interleaved (x: 10 12; y: 11 13): commutative aggregates,
	// non-commutative does not.
	il := hostsOf("x", "y", "x", "y", "z")
	if !newHostPlan(members, il, true).aggregate {
		t.Error("interleaved hosts, commutative: want aggregation")
	}
	if q := newHostPlan(members, il, false); q.aggregate || !slices.Equal(q.senders(0), members) {
		t.Errorf("interleaved hosts, non-commutative: aggregate %v, senders %v; want every member straight to the owner", q.aggregate, q.senders(0))
	}
	// One rank per host, or no host names: nothing to aggregate.
	if newHostPlan(members, hostsOf("", "", "", "", ""), true).aggregate {
		t.Error("unnamed hosts: want no aggregation")
	}
}
