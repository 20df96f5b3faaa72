package topology

import "time"

// Tree is the tree over regions along which a Lanes bcast carries each
// lane's part out of the root's region: Parent[q] is the region q gets
// its parts from (-1 for the root's region). Arrival is the latency
// summed along the longest path, Fanout the most regions one region sends
// to.
type Tree struct {
	Parent  []int
	Arrival time.Duration
	Fanout  int
}

// maxTreeRegions bounds the regions for which every tree is tried
// ((R-1)^(R-1) of them); with more, the star.
const maxTreeRegions = 6

// Children lists the regions r sends to.
func (tr Tree) Children(r int) []int {
	var out []int
	for q, p := range tr.Parent {
		if p == r {
			out = append(out, q)
		}
	}
	return out
}

// BcastTree chooses the tree for a Lanes bcast from region rho whose
// lanes each carry seg bytes: every tree over the regions is priced at
// its longest path's latency plus the time the busiest lane host takes to
// send its part once per child region, and the cheapest is taken unless
// the star (every region from rho, what a lane of rho would otherwise
// do) is within a tie of it (Best's margin). A relay costs a second
// crossing's latency and saves the root's region bandwidth: on the lab
// (40/70/90 ms), from us-west a chain us-west -> ap-sg -> eu-fra arrives
// 20 ms later than the star and sends each part once instead of twice.
// The result depends only on its arguments, so all ranks agree.
func (t Topology) BcastTree(rho int, seg float64, net Net) Tree {
	R := t.Regions()
	star := Tree{Parent: make([]int, R), Fanout: R - 1}
	for q := range R {
		star.Parent[q] = rho
		if q != rho {
			star.Arrival = max(star.Arrival, net.Lat[rho][q])
		}
	}
	star.Parent[rho] = -1
	if R < 3 || R > maxTreeRegions || net.BW <= 0 {
		return star
	}
	cost := func(tr Tree) time.Duration {
		return tr.Arrival + time.Duration(float64(tr.Fanout)*seg/net.BW*1e9)
	}
	best, bestCost := star, cost(star)
	// Every assignment of a parent to each region but rho, as a number in
	// base R (a region's own index and rho's digit are skipped).
	parent := make([]int, R)
	total := 1
	for range R - 1 {
		total *= R
	}
	for code := range total {
		c := code
		ok := true
		for q := range R {
			if q == rho {
				parent[q] = -1
				continue
			}
			parent[q] = c % R
			c /= R
			if parent[q] == q {
				ok = false
			}
		}
		if !ok {
			continue
		}
		tr, ok := treeOf(parent, rho, net)
		if ok && cost(tr) < bestCost {
			best, bestCost = tr, cost(tr)
		}
	}
	if limit := bestCost + time.Duration(TieFraction*float64(bestCost)) + TieAbs; cost(star) <= limit {
		return star
	}
	return best
}

// treeOf checks that parent is a tree rooted at rho (every region reaches
// it without a cycle) and measures it.
func treeOf(parent []int, rho int, net Net) (Tree, bool) {
	R := len(parent)
	tr := Tree{Parent: append([]int(nil), parent...)}
	fan := make([]int, R)
	for q := range R {
		if q == rho {
			continue
		}
		var arr time.Duration
		at := q
		for steps := 0; at != rho; steps++ {
			if steps == R {
				return Tree{}, false // a cycle
			}
			arr += net.Lat[parent[at]][at]
			at = parent[at]
		}
		tr.Arrival = max(tr.Arrival, arr)
		fan[parent[q]]++
	}
	for _, f := range fan {
		tr.Fanout = max(tr.Fanout, f)
	}
	return tr, true
}
