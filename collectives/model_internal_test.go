package collectives

import (
	"math"
	"testing"
)

// localShare: the region's traffic over the region's and round 1's, as
// docs/algorithms.md gives them ("The region's connections paced until
// round 1 is out").
func TestLocalShare(t *testing.T) {
	for _, c := range []struct {
		k, L, R, rounds int
		want            float64
	}{
		{2, 2, 3, 2, 0.6},        // the 3x2 lab, Lanes2: 1/2 against 1/3
		{2, 2, 3, 1, 1.0 / 3},    // the 3x2 lab, Lanes: 1/2 against 1
		{2, 2, 2, 2, 0.5},        // two regions: one round whatever asked
		{3, 2, 4, 2, 16.0 / 25},  // 2/3 against 3/8
		{4, 1, 3, 1, 3.0 / 11},   // 3/4 against 2
		{2, 2, 4, 1, 0.25},       // 1/2 against 3/2
		{3, 3, 3, 2, 0.75},       // 2/3 against 2/9
		{16, 4, 3, 2, 45.0 / 53}, // 15/16 against 1/6
		{2, 2, 3, 0, 0.5},        // the 3x2 lab, Chain: 1/2 against 1/2
		{3, 2, 5, 0, 4.0 / 7},    // 2/3 against 1/2, whatever R
	} {
		if got := localShare(c.k, c.L, c.R, c.rounds); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("localShare(k=%d, L=%d, R=%d, rounds=%d) = %v, want %v", c.k, c.L, c.R, c.rounds, got, c.want)
		}
	}
}
