package topology

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// The gap rule of ClusterByRTT.
const (
	// RTTFloor is the round-trip time below which two hosts always share
	// a region: differences under it are LAN noise, not geography.
	RTTFloor = time.Millisecond
	// MinGap is the smallest ratio between two consecutive round-trip
	// times (sorted, each at least RTTFloor) that separates regions.
	MinGap = 4.0
)

// Clustering is the result of ClusterByRTT.
type Clustering struct {
	Group []int // host -> region index, numbered in order of first host
	// Below and Above are the round-trip times on either side of the gap
	// that was cut, and Threshold their geometric mean: hosts closer than
	// Threshold share a region. All zero when there was no clear gap and
	// every host is in one region.
	Below, Above, Threshold time.Duration
}

// Regions is the number of regions found.
func (c Clustering) Regions() int {
	n := 0
	for _, g := range c.Group {
		n = max(n, g+1)
	}
	return n
}

// ClusterByRTT groups hosts into regions from their round-trip times:
// rtt[a][b] between hosts a and b (the matrix need not be symmetric: the
// smaller of rtt[a][b] and rtt[b][a] counts; zero or negative means not
// measured and is ignored).
//
// The rule: take every measured pair's time, raised to RTTFloor, together
// with RTTFloor itself; sort them and find the largest ratio between two
// neighbours. If it is at least MinGap, the cut lies between them: hosts
// whose round trip is below the geometric mean of the two are joined, and
// regions are the connected groups (single linkage). Otherwise there is
// no clear gap and all hosts form one region. So two data centres 0.3 ms
// apart are one region, three cities 40–90 ms apart with sub-millisecond
// links inside each are three, and a host only reachable through another
// region's host still lands with its nearest neighbours.
func ClusterByRTT(rtt [][]time.Duration) Clustering {
	n := len(rtt)
	c := Clustering{Group: make([]int, n)}
	pair := func(a, b int) time.Duration {
		x, y := rtt[a][b], time.Duration(0)
		if a < len(rtt[b]) && b < len(rtt[b]) {
			y = rtt[b][a]
		}
		switch {
		case x <= 0:
			return y
		case y <= 0:
			return x
		}
		return min(x, y)
	}
	vals := []time.Duration{RTTFloor}
	for a := range n {
		for b := a + 1; b < n && b < len(rtt[a]); b++ {
			if d := pair(a, b); d > 0 {
				vals = append(vals, max(d, RTTFloor))
			}
		}
	}
	slices.Sort(vals)
	best, at := 1.0, -1
	for i := 0; i+1 < len(vals); i++ {
		if r := float64(vals[i+1]) / float64(vals[i]); r > best {
			best, at = r, i
		}
	}
	if best < MinGap {
		return c // one region
	}
	c.Below, c.Above = vals[at], vals[at+1]
	c.Threshold = time.Duration(math.Sqrt(float64(c.Below) * float64(c.Above)))
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	for a := range n {
		for b := a + 1; b < n && b < len(rtt[a]); b++ {
			if d := pair(a, b); d > 0 && d < c.Threshold {
				ra, rb := find(a), find(b)
				parent[max(ra, rb)] = min(ra, rb) // the root is the group's first host
			}
		}
	}
	num := map[int]int{}
	for h := range n {
		r := find(h)
		g, ok := num[r]
		if !ok {
			g = len(num)
			num[r] = g
		}
		c.Group[h] = g
	}
	return c
}

// Describe renders the clustering for a log line: each region with its
// hosts, and the gap that was cut.
func (c Clustering) Describe(names []string, hosts []string) string {
	var b strings.Builder
	for g := range c.Regions() {
		if g > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s =", names[g])
		for h, hg := range c.Group {
			if hg == g {
				b.WriteString(" " + hosts[h])
			}
		}
	}
	if c.Threshold == 0 {
		fmt.Fprintf(&b, " (no gap of %gx between round-trip times above %v: one region)", MinGap, RTTFloor)
	} else {
		below := c.Below.Round(10 * time.Microsecond).String()
		if c.Below == RTTFloor {
			below = "at most " + below
		}
		fmt.Fprintf(&b, " (round trips below %v joined: the gap between %s and %v)", c.Threshold.Round(10*time.Microsecond), below, c.Above.Round(10*time.Microsecond))
	}
	return b.String()
}
