package topology

import (
	"math"
	"math/bits"
	"slices"
	"time"
)

// Net is what the cost model knows of the network. Every rank of a
// communicator must hold the same Net so that all pick the same algorithm.
type Net struct {
	// Lat[a][b] is the one-way latency between regions a and b; Lat[a][a]
	// the latency inside region a.
	Lat [][]time.Duration
	// BW is the bytes per second one rank sends, and receives, at most:
	// a host's bandwidth divided among the ranks that share it.
	BW float64
	// RanksPerHost is how many ranks share a host (the most on any; 0 or
	// 1: one each). The Lanes allreduces cross a host's link once per
	// part inside a region when several do (collectives' host steps).
	RanksPerHost int
	// Ordered is set for a non-commutative op, which the Chain allreduce
	// combines in region order (AllreduceChain).
	Ordered bool
	// WANFirst is set when every host sends its packets inside a region
	// (marked lower-effort) only when no WAN packet waits
	// (comm.Config.WANFirst): then the Chain allreduce is priced on three
	// regions too.
	WANFirst bool
}

// Names of the algorithms the model prices, as the collectives package
// spells them.
const (
	AlgHierarchical = "Hierarchical"
	AlgLanes        = "Lanes"
	AlgLanes2       = "Lanes2"
	AlgBinomial     = "Binomial"
	AlgRing         = "Ring"
	AlgRabenseifner = "Rabenseifner"
	AlgDirect       = "Direct"
	AlgChain        = "Chain"
)

// Estimate is the modelled time of one algorithm.
type Estimate struct {
	Alg  string
	Time time.Duration
}

// Costs prices the algorithms of op ("Bcast", "Reduce", "Allreduce",
// "Allgather", "Gather" or "Scatter") for n bytes (per rank for Allgather,
// Gather and Scatter) with the given root
// (ignored when the op has none) on t's regions, in order of preference
// on a tie (fewer, simpler steps first; see Best). The formulas are those of
// docs/algorithms.md ("The cost model"): latency terms from Net.Lat, a
// bandwidth term for the bytes the busiest host sends or receives, phases
// that follow one another added.
func (t Topology) Costs(op string, n, root int, net Net) []Estimate {
	R, p := t.Regions(), len(t.RegionOf)
	if p == 0 || net.BW <= 0 {
		return nil
	}
	L, kmax, kmin := t.Lanes(), 0, p
	for _, m := range t.Members {
		kmax, kmin = max(kmax, len(m)), min(kmin, len(m))
	}
	var A, l time.Duration // largest latency between regions, inside one
	for a := range R {
		l = max(l, net.Lat[a][a])
		for b := range R {
			if a != b {
				A = max(A, net.Lat[a][b])
			}
		}
	}
	if R == 1 {
		A = l
	}
	aRoot := A // the farthest region from the root's
	if root >= 0 && root < p && R > 1 {
		aRoot = 0
		ρ := t.RegionOf[root]
		for s := range R {
			if s != ρ {
				aRoot = max(aRoot, net.Lat[ρ][s])
			}
		}
	}
	x := func(bytes float64) time.Duration { return time.Duration(bytes / net.BW * 1e9) }
	nf := float64(n)
	// lg is ceil(log2 k), as a multiplier.
	lg := func(k int) time.Duration { return time.Duration(bits.Len(uint(k - 1))) }
	// step is the latency of a phase inside a region of k ranks.
	step := func(k int, lat time.Duration) time.Duration {
		if k <= 1 {
			return 0
		}
		return lat
	}
	// cold is what Direct pays for connections the warm-up left cold (it
	// warms lane peers only) while their congestion control ramps up: one
	// latency of the farthest pair fits the lab's measurements (a round
	// trip made Auto take Lanes for a 2 MiB bcast: 614 ms against
	// Direct's 421-428).
	cold := A
	// intra is what a Lanes rank sends inside its region for a step that
	// hands each of the k-1 other members a part of n/L: with c ranks on
	// a host, the host steps (collectives' lanes_hosts.go) send the host's
	// (k-c)/k of the vector across its link once, a c-th of it per rank.
	// scatter is the same for the root's hand-out to its region's L
	// lanes, c-1 of which share its host.
	intra := float64(kmax-1) * nf / float64(L)
	scatter := float64(L-1) * nf / float64(L)
	if c := net.RanksPerHost; c > 1 {
		if kmax > c {
			intra = min(intra, float64(kmax-c)/float64(kmax*c)*nf)
		}
		if L > c {
			scatter = min(scatter, float64(L-c)/float64(L*c)*nf)
		}
	}
	var es []Estimate
	add := func(alg string, d time.Duration) { es = append(es, Estimate{alg, d}) }
	switch op {
	case "Bcast", "Reduce":
		add(AlgHierarchical, aRoot+x(float64(R-1)*nf)+lg(kmax)*(l+x(nf)))
		seg := nf / float64(L)
		if op == "Bcast" {
			add(AlgLanes, step(L, l)+x(scatter)+aRoot+x(float64(R-1)*seg)+step(kmax, l)+x(intra))
		} else {
			// Reduce: the contributions inside each region go while the
			// first segments cross, so step 1 costs only what it takes
			// beyond the farthest crossing; the lanes of the root's
			// region then take in R-1 parts and hand the root theirs.
			add(AlgLanes, max(aRoot, step(kmax, l)+x(intra))+x(float64(R-1)*seg)+step(L, l)+x(scatter))
		}
		if p > 2 {
			// Direct: root to owner to the rest; the root sends n once,
			// the others forward as they receive.
			piece := nf / float64(p-1)
			add(AlgDirect, cold+max(aRoot+A+x(piece), aRoot+x(nf)+x(piece)))
		}
		add(AlgBinomial, lg(p)*(A+x(nf)))
		if R > 1 && root >= 0 && root < p {
			// Chain: the crossings on the path one after another, each
			// host's link carrying n once each way (its ranks pass the
			// message on between them), and a segment's time per hop to
			// fill the pipeline.
			c := float64(max(net.RanksPerHost, 1))
			path := ChainLatency(t.ChainRegions(root, net.Lat), net.Lat) + time.Duration(p-R)*l
			seg := float64(Segment(n, p, net.BW))
			add(AlgChain, path+x(nf/c)+time.Duration(p-1)*x(min(seg, nf)/c))
		}
	case "Allreduce":
		add(AlgHierarchical, 2*lg(kmax)*(l+x(nf))+A+x(float64(R-1)*nf))
		seg := nf / float64(L)
		add(AlgLanes, 2*(step(kmax, l)+x(intra))+A+x(float64(R-1)*seg))
		if R > 2 {
			// Lanes2: a sub-piece goes to its owner region and back out
			// (two crossings, the farthest pair's latency twice at
			// most); a lane host sends 2(R-1)/R of its part, not R-1.
			// Its last round-1 sub-piece leaves once the host's link has
			// carried its contributions inside the region and its round
			// 1; round 2 goes out while round 1's shares cross (the
			// stages run as their messages come), and the copies to the
			// region follow the second crossing.
			rf := float64(R)
			add(AlgLanes2, 2*(step(kmax, l)+x(intra))+2*A+x((rf-1)/rf*seg))
		}
		if R > 3 || R == 3 && net.WANFirst {
			// Chain: Lanes' phases, with the chain's latency for the
			// farthest crossing and an end's part (it sends its part
			// across once) for the bytes across; but no less than the
			// busiest host's link takes: inside the chain a host sends
			// its part across twice, besides its contributions and its
			// copies to the region, plus a segment into the region at
			// each end of the pipeline. Priced from four regions: on
			// three, the middle region's hosts send their part across
			// twice, as many times as a Lanes host, and wait for the
			// ends' sums, so the chain's only gain is the ends' bytes,
			// which its longer path takes back (the 3x2 lab: 1 MiB
			// 241-243 ms against Lanes' 235-242, 2 MiB 371-377 against
			// Lanes2's 364-369; bench/results/2026-12-07-lab3x2-chain-allreduce).
			// With two regions it is Lanes.
			//
			// On three regions when the hosts send WAN packets first
			// (WANFirst), the middle hosts' sums go across before their
			// copies to the region, which then overlap the path's
			// latency: priced too, with their link starting its sums
			// only once the farther end's first sum has come (wait, one
			// latency of that hop on top of the link's 2n). That term is
			// fitted to the 3x2 lab, where Chain took 210-217 ms at 1 MiB
			// (Lanes 227-232), 362-442 at 2 MiB (Lanes2 359-375) and
			// 870-1007 at 4 MiB (Lanes2 634-823); without it the model
			// would take Chain at 2 MiB
			// (bench/results/2026-12-08-lab3x2-wan-priority).
			order := t.AllreduceChain(net.Lat, net.Ordered)
			piece := min(float64(Segment(int(seg), 2+AllreduceChainHops(R), net.BW)), seg)
			var wait time.Duration
			if R == 3 {
				wait = max(net.Lat[order[0]][order[1]], net.Lat[order[2]][order[1]])
			}
			add(AlgChain, 2*step(kmax, l)+max(2*x(intra)+AllreduceChainLatency(order, net.Lat)+x(seg), x(2*intra+2*seg)+wait+2*x(piece)))
		}
		// Direct: one latency per phase; the allgather of a segment
		// starts when it is reduced, so the phases overlap.
		pp := float64(p)
		add(AlgDirect, cold+max(2*A+x((pp-1)/pp*nf), A+x(2*(pp-1)/pp*nf)))
		add(AlgRabenseifner, 2*lg(p)*A+x(2*nf))
		add(AlgRing, time.Duration(2*(p-1))*(A+x(nf/float64(p))))
	case "Allgather":
		add(AlgHierarchical, step(kmax, l)+A+x(float64(p-kmin)*nf)+lg(kmax)*(l+x(float64(p)*nf)))
		// A host sends its block to R-1 regions and k-1 neighbours, and
		// forwards the blocks that reach it (about (p-k)/k) to its k-1
		// neighbours; it receives p-1 blocks. With c ranks per host (host
		// steps) a block crosses to each of the k/c-1 other hosts once and
		// a host's link takes in the p-c blocks of other hosts: per rank,
		// at a c-th of the link, (k-c)/c forwards and (p-c)/c blocks in.
		nb, in := float64(kmax-1), float64(p-1)
		if c := net.RanksPerHost; c > 1 && kmax > c {
			nb, in = float64(kmax-c)/float64(c), float64(p-c)/float64(c)
		}
		fwd := nb * (1 + math.Ceil(float64(p-kmin)/float64(kmin)))
		add(AlgLanes, A+step(kmax, l)+x(max(float64(R-1)+fwd, in)*nf))
		add(AlgRing, time.Duration(p-1)*(A+x(nf)))
	case "Gather", "Scatter":
		if root < 0 || root >= p {
			break
		}
		// What the root's link receives (Gather; Scatter is the same
		// schedule backwards: what it sends, each part by when it must
		// have left): blocks of its own region after a LAN step, and each
		// other region's blocks once they are packed and have crossed.
		ρ := t.RegionOf[root]
		kρ := len(t.Members[ρ])
		own := Release{step(kρ, l), float64(kρ-1) * nf}
		hier := []Release{own}
		lanes := []Release{own}
		for s, m := range t.Members {
			if s == ρ {
				continue
			}
			k := len(m)
			// Hierarchical: the leader takes in its region, then sends
			// all k blocks in one message.
			hier = append(hier, Release{step(k, l) + x(float64(k-1)*nf) + net.Lat[ρ][s], float64(k) * nf})
			// Lanes: lane j takes in its c members' blocks, sends them to
			// lane j of the root's region, which passes them on (a LAN
			// step but for lane 0, the root itself).
			for j := range L {
				c := (k - j + L - 1) / L
				var pack time.Duration
				if c > 1 {
					pack = l + x(float64(c-1)*nf)
				}
				if j > 0 {
					pack += l
				}
				lanes = append(lanes, Release{pack + net.Lat[ρ][s], float64(c) * nf})
			}
		}
		add(AlgHierarchical, Schedule(hier, x))
		add(AlgLanes, Schedule(lanes, x))
	}
	if R == 1 { // no regions to cross: the region-aware forms are the flat trees
		es = slices.DeleteFunc(es, func(e Estimate) bool { return e.Alg == AlgHierarchical || e.Alg == AlgLanes })
	}
	return es
}

// Release is bytes a link must carry that cannot start before At.
type Release struct {
	At    time.Duration
	Bytes float64
}

// Schedule is the earliest a link that carries b bytes in x(b) has carried
// every job: for each release time r, r plus the time of every job
// released at r or later. It sorts jobs.
func Schedule(jobs []Release, x func(bytes float64) time.Duration) time.Duration {
	slices.SortFunc(jobs, func(a, b Release) int { return int(a.At - b.At) })
	var best time.Duration
	var tail float64
	for i := len(jobs) - 1; i >= 0; i-- {
		tail += jobs[i].Bytes
		best = max(best, jobs[i].At+x(tail))
	}
	return best
}

// Tie is how close two estimates must be for the model to call them
// equal: within TieFraction of the faster plus TieAbs. Below that the
// formulas' differences are smaller than what they leave out (per-message
// costs, scheduling).
const (
	TieFraction = 0.02
	TieAbs      = 100 * time.Microsecond
)

// Best returns the first estimate (in Costs' order of preference) that is
// within a tie of the fastest; ok is false when es is empty.
func Best(es []Estimate) (Estimate, bool) {
	if len(es) == 0 {
		return Estimate{}, false
	}
	fastest := slices.MinFunc(es, func(a, b Estimate) int { return int(a.Time - b.Time) }).Time
	limit := fastest + time.Duration(TieFraction*float64(fastest)) + TieAbs
	for _, e := range es {
		if e.Time <= limit {
			return e, true
		}
	}
	return es[0], true // unreachable: the fastest is within its own limit
}

// The pipelined algorithms' segments (Segment).
const (
	// SegmentCost is what one more segment costs a pipeline beyond its
	// bytes: a message's fixed costs at its two ends (system calls, the
	// collective's bookkeeping, a goroutine's wake-up), about 25 us each
	// way for a small message between two ranks of this 2-core VM.
	SegmentCost = 50 * time.Microsecond
	// MinSegment and MaxSegment bound Segment's choice: below 8 KiB the
	// per-message costs dominate on any link, and above 1 MiB a segment
	// is a whole part of every message the pipelines are meant for.
	MinSegment = 8 << 10
	MaxSegment = 1 << 20
)

// Segment returns the segment size for a pipeline that moves a part of n
// bytes through stages store-and-forward steps, each at bw bytes per
// second at most. Cut in s segments, the part takes about n/bw for its
// bytes, (stages-1) n/(s bw) for the first segment to reach the last
// step (the fill), and s SegmentCost for the segments' fixed costs;
// the sum is least at s = sqrt((stages-1) n / (bw SegmentCost)). The size
// n/s is rounded up to 4 KiB and kept within [MinSegment, MaxSegment].
//
// On a 100 Mbit/s host with three steps (the Lanes algorithms) that is
// 12 KiB for a 256 KiB part (where 4 segments of 64 KiB left half the
// part's time again in the fill) and 28 KiB for 2 MiB; at 1 Gbit/s, 28
// and 80 KiB.
func Segment(n, stages int, bw float64) int {
	if n <= 0 || stages < 2 || bw <= 0 {
		return MaxSegment
	}
	s := math.Sqrt(float64(stages-1) * float64(n) / (bw * SegmentCost.Seconds()))
	seg := int(math.Ceil(float64(n)/max(s, 1)/4096)) * 4096
	return min(max(seg, MinSegment), MaxSegment)
}
