package topology

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

// matrix builds a symmetric RTT matrix from a one-way latency per pair of
// group labels: hosts with the same label are intra apart.
func matrix(labels []int, intra time.Duration, inter map[[2]int]time.Duration) [][]time.Duration {
	m := make([][]time.Duration, len(labels))
	for a := range m {
		m[a] = make([]time.Duration, len(labels))
		for b := range m[a] {
			switch {
			case a == b:
			case labels[a] == labels[b]:
				m[a][b] = intra
			default:
				x, y := min(labels[a], labels[b]), max(labels[a], labels[b])
				m[a][b] = inter[[2]int{x, y}]
			}
		}
	}
	return m
}

func TestClusterByRTT(t *testing.T) {
	ms := time.Millisecond
	lab := map[[2]int]time.Duration{{0, 1}: 80 * ms, {0, 2}: 180 * ms, {1, 2}: 140 * ms, {0, 3}: 60 * ms, {1, 3}: 200 * ms, {2, 3}: 90 * ms}
	cases := []struct {
		name   string
		labels []int
		intra  time.Duration
		inter  map[[2]int]time.Duration
		want   []int
	}{
		{"lab 3x2", []int{0, 0, 1, 1, 2, 2}, 100 * time.Microsecond, lab, []int{0, 0, 1, 1, 2, 2}},
		{"uneven 3+1+2, interleaved", []int{0, 2, 0, 1, 2, 0}, 300 * time.Microsecond, lab, []int{0, 1, 0, 2, 1, 0}},
		{"one host per region", []int{0, 1, 2, 3}, 0, lab, []int{0, 1, 2, 3}},
		{"two hosts, one ocean apart", []int{0, 1}, 0, lab, []int{0, 1}},
		{"one data centre", []int{0, 0, 0, 0}, 200 * time.Microsecond, nil, []int{0, 0, 0, 0}},
		{"close data centres are one region", []int{0, 0, 1, 1}, 200 * time.Microsecond, map[[2]int]time.Duration{{0, 1}: 2 * ms}, []int{0, 0, 0, 0}},
		{"cities 20-60 ms apart", []int{0, 1, 2}, 0, map[[2]int]time.Duration{{0, 1}: 20 * ms, {0, 2}: 40 * ms, {1, 2}: 60 * ms}, []int{0, 1, 2}},
		{"no clear gap", []int{0, 1, 2}, 0, map[[2]int]time.Duration{{0, 1}: 1500 * time.Microsecond, {0, 2}: 3 * ms, {1, 2}: 5 * ms}, []int{0, 0, 0}},
		{"single host", []int{0}, 0, nil, []int{0}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := ClusterByRTT(matrix(tc.labels, tc.intra, tc.inter))
			if !reflect.DeepEqual(c.Group, tc.want) {
				t.Fatalf("groups %v, want %v (%+v)", c.Group, tc.want, c)
			}
		})
	}
}

// The gap rule's edge: a ratio of MinGap above the floor splits; a little
// less does not; one region means no threshold.
func TestClusterByRTTGapRule(t *testing.T) {
	two := func(d time.Duration) [][]time.Duration {
		return [][]time.Duration{{0, d}, {d, 0}}
	}
	if c := ClusterByRTT(two(4 * RTTFloor)); c.Regions() != 2 || c.Threshold != 2*RTTFloor {
		t.Errorf("4 ms apart: %+v", c)
	}
	if c := ClusterByRTT(two(39 * RTTFloor / 10)); c.Regions() != 1 || c.Threshold != 0 {
		t.Errorf("3.9 ms apart: %+v", c)
	}
	asym := [][]time.Duration{{0, 90 * time.Millisecond}, {0, 0}} // one side unmeasured
	if c := ClusterByRTT(asym); c.Regions() != 2 {
		t.Errorf("one-sided measurement: %+v", c)
	}
	d := ClusterByRTT(matrix([]int{0, 0, 1}, 100*time.Microsecond, map[[2]int]time.Duration{{0, 1}: 80 * time.Millisecond}))
	s := d.Describe([]string{"auto0", "auto1"}, []string{"a", "b", "c"})
	if !strings.Contains(s, "auto0 = a b; auto1 = c") || !strings.Contains(s, "8.94ms") {
		t.Errorf("Describe: %q", s)
	}
}
