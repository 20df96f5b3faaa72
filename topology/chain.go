package topology

import (
	"slices"
	"time"
)

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

// allreduceChainExact is the most regions AllreduceChain orders by
// trying every order (6! = 720, about 20 µs on one core, against a
// crossing's tens of milliseconds, so Costs runs it on each call that
// prices Chain); beyond it, it takes ChainRegions' order from region 0.
const allreduceChainExact = 6

// AllreduceChain returns the order of the regions for the Chain
// allreduce of package collectives, whose exchange between regions runs
// along a chain c: region c[0]'s sum goes to c[1], which adds its own and
// passes the result on, and so on to c[R-1]; c[R-1] also sends its own sum
// to c[R-2], so that both of them form the total (the same operands, the
// same bits), and the total goes back from c[R-2] to c[0]. It is the order
// of least AllreduceChainLatency (ties: the first in lexicographic order
// of region indices, a later order replacing the best only when at least
// a microsecond shorter, so that every rank, holding the same lat, finds
// the same one). With ordered set (a non-commutative op, which must be
// combined in region order) it is the regions in index order.
func (t Topology) AllreduceChain(lat [][]time.Duration, ordered bool) []int {
	R := t.Regions()
	order := make([]int, R)
	for i := range order {
		order[i] = i
	}
	if ordered || R < 3 {
		return order
	}
	if R > allreduceChainExact {
		first := 0
		if len(t.Members) > 0 && len(t.Members[0]) > 0 {
			first = t.Members[0][0]
		}
		return t.ChainRegions(first, lat)
	}
	best := slices.Clone(order)
	bestLat := AllreduceChainLatency(best, lat)
	used := make([]bool, R)
	var walk func(i int)
	walk = func(i int) {
		if i == R {
			if d := AllreduceChainLatency(order, lat); d+time.Microsecond <= bestLat {
				bestLat = d
				copy(best, order)
			}
			return
		}
		for r := range R {
			if !used[r] {
				used[r] = true
				order[i] = r
				walk(i + 1)
				used[r] = false
			}
		}
	}
	walk(0)
	return best
}

// AllreduceChainHops is how many crossings a byte makes one after the
// other in the Chain allreduce on R regions: to c[R-1], or to c[R-2]
// and back to c[0], whichever is more (at least one).
func AllreduceChainHops(R int) int { return max(R-1, 2*(R-2), 1) }

// AllreduceChainLatency is the one-way latency of the Chain allreduce
// along the regions in order (see AllreduceChain): the time the total of
// a byte reaches the last of the regions, were the byte ready everywhere
// at once. The forward sums reach region c[i] after the latencies of the
// chain up to it; c[R-2] has the total when both its forward sum and
// c[R-1]'s own have come, and the total goes back from there.
func AllreduceChainLatency(order []int, lat [][]time.Duration) time.Duration {
	R := len(order)
	if R < 2 {
		return 0
	}
	fwd := ChainLatency(order, lat) // the total at c[R-1]
	back := ChainLatency(order[:R-1], lat)
	// c[R-2] has its forward sum after back, and c[R-1]'s own after one
	// hop; the total then goes back along the chain to c[0].
	at := max(back, lat[order[R-1]][order[R-2]])
	return max(fwd, at+back)
}
