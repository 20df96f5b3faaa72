package topology

import "time"

// chainExact is the most regions ChainRegions orders by trying every
// order of the regions after the first (7! = 5040 orders); beyond it, it
// goes to the nearest region not yet visited.
const chainExact = 8

// ChainRegions returns the order in which a chain from root visits the
// regions (the Chain algorithms of package collectives: a pipeline that
// crosses each region pair on the path once): root's region first, then
// the others in the order whose latencies between consecutive regions
// (lat[a][b], one way) add up least. Orders are tried in lexicographic
// order of region indices, and a later one replaces the best so far only
// when it is at least a microsecond shorter, so every rank, holding the
// same lat, finds the same chain.
// Beyond chainExact regions it takes the nearest unvisited region at
// each step (ties: the lowest index).
func (t Topology) ChainRegions(root int, lat [][]time.Duration) []int {
	R := t.Regions()
	first := 0
	if root >= 0 && root < len(t.RegionOf) {
		first = t.RegionOf[root]
	}
	rest := make([]int, 0, R-1)
	for r := range R {
		if r != first {
			rest = append(rest, r)
		}
	}
	if R > chainExact {
		order := []int{first}
		for len(rest) > 0 {
			at, best := order[len(order)-1], 0
			for i, r := range rest {
				if lat[at][r] < lat[at][rest[best]] {
					best = i
				}
			}
			order = append(order, rest[best])
			rest = append(rest[:best], rest[best+1:]...)
		}
		return order
	}
	best := append([]int{first}, rest...)
	bestLat := ChainLatency(best, lat)
	cur := make([]int, R)
	cur[0] = first
	used := make([]bool, R)
	used[first] = true
	// Depth first over the orders of rest, in lexicographic order, so
	// that the first of equal orders is kept.
	var walk func(i int, sum time.Duration)
	walk = func(i int, sum time.Duration) {
		if sum >= bestLat+time.Microsecond {
			return // no cheaper order down this branch
		}
		if i == R {
			if sum+time.Microsecond <= bestLat {
				bestLat = sum
				copy(best, cur)
			}
			return
		}
		for _, r := range rest {
			if !used[r] {
				used[r] = true
				cur[i] = r
				walk(i+1, sum+lat[cur[i-1]][r])
				used[r] = false
			}
		}
	}
	walk(1, 0)
	return best
}

// ChainLatency is the one-way latency along regions in order: the sum of
// lat between consecutive ones.
func ChainLatency(order []int, lat [][]time.Duration) time.Duration {
	var d time.Duration
	for i := 1; i < len(order); i++ {
		d += lat[order[i-1]][order[i]]
	}
	return d
}
