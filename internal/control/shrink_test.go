package control

import (
	"fmt"
	"slices"
	"testing"
)

func TestShrinks(t *testing.T) {
	var s Shrinks
	endedSet := map[int]bool{}
	ended := func(r int) bool { return endedSet[r] }
	ask := func(from int, dead ...int) []Reply {
		return s.Ask(from, Msg{Type: TypeShrink, Key: "c/1", Group: []int{0, 1, 2, 3, 4}, Dead: dead}, ended)
	}
	// Rank 3 died; 0 noticed, 1 did not yet.
	if r := ask(0, 3); r != nil {
		t.Fatalf("answered before everybody asked: %v", r)
	}
	if r := ask(1); r != nil {
		t.Fatalf("answered before everybody asked: %v", r)
	}
	// Rank 4 ends (the starter sees it) before asking.
	endedSet[4] = true
	if r := s.Ended(ended); r != nil {
		t.Fatalf("answered while rank 2 has not asked: %v", r)
	}
	r := ask(2)
	if len(r) != 3 {
		t.Fatalf("%d replies, want one per asker (0, 1, 2): %v", len(r), r)
	}
	for i, rep := range r {
		if rep.Rank != i || rep.Msg.Type != TypeShrunk || !slices.Equal(rep.Msg.Dead, []int{3, 4}) || rep.Msg.Reason != "" {
			t.Errorf("reply %d: %+v, want rank %d told dead [3 4]", i, rep, i)
		}
	}
	// A rank lost by others (a cut network) asks too: it learns that it
	// is excluded (it is in Dead).
	r = append(s.Ask(0, Msg{Key: "c/2", Group: []int{0, 1}, Dead: []int{1}}, ended), s.Ask(1, Msg{Key: "c/2", Group: []int{0, 1}}, ended)...)
	if len(r) != 2 || r[0].Rank != 0 || r[1].Rank != 1 || !slices.Equal(r[0].Msg.Dead, []int{1}) || !slices.Equal(r[1].Msg.Dead, []int{1}) {
		t.Errorf("rank 0 lost rank 1, which asks later: %+v, want both told dead [1]", r)
	}
	// A group that differs is refused with a reason.
	s.Ask(0, Msg{Key: "c/3", Group: []int{0, 1}}, ended)
	r = s.Ask(1, Msg{Key: "c/3", Group: []int{0, 1, 2}}, ended)
	if len(r) != 1 || r[0].Rank != 1 || r[0].Msg.Reason == "" {
		t.Errorf("mismatched group: %+v", r)
	}
	// Answers are kept for late askers, but not without bound.
	for i := range 2 * keepAnswered {
		s.Ask(0, Msg{Key: fmt.Sprintf("loop/%d", i), Group: []int{0}}, ended)
	}
	if len(s.reqs) > keepAnswered+1 || len(s.answered) != keepAnswered {
		t.Errorf("%d requests and %d answers kept after %d shrinks, want at most %d", len(s.reqs), len(s.answered), 2*keepAnswered, keepAnswered)
	}
}
