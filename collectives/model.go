package collectives

import (
	"context"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/topology"
)

// Defaults of the cost model where nothing was measured (an in-process
// job labelled with comm.Config.Regions, or hosts whose round trips are
// unknown) and for the bandwidth unless SPMD_BW_MBIT gives it.
const (
	defaultWANLatency    = 50 * time.Millisecond
	defaultRegionLatency = 50 * time.Microsecond
	defaultBWMbit        = 100 // a common VPS plan
)

// net returns what the cost model knows of the communicator's network,
// the same on every rank: one-way latency between and inside regions
// (half the round trips comm timed while the mesh connected: the
// smallest between two regions, the largest inside one) and each host's
// bandwidth (SPMD_BW_MBIT, else defaultBWMbit).
func (k *call) net() topology.Net {
	k.st.netMu.Lock()
	defer k.st.netMu.Unlock()
	if k.st.net.Lat == nil {
		t := k.topo()
		R := t.Regions()
		lat := make([][]time.Duration, R)
		for a := range lat {
			lat[a] = make([]time.Duration, R)
		}
		for a := range R {
			for b := a; b < R; b++ {
				var d time.Duration
				for _, i := range t.Members[a] {
					for _, j := range t.Members[b] {
						rtt := k.c.RTT(i, j)
						switch {
						case i == j || rtt <= 0:
						case a == b:
							d = max(d, rtt/2)
						case d == 0 || rtt/2 < d:
							d = rtt / 2
						}
					}
				}
				if d == 0 {
					d = defaultWANLatency
					if a == b {
						d = defaultRegionLatency
					}
				}
				lat[a][b], lat[b][a] = d, d
			}
		}
		k.st.net.Lat = lat
	}
	if k.st.net.BW == 0 {
		bw := float64(defaultBWMbit)
		if v, err := strconv.ParseFloat(os.Getenv("SPMD_BW_MBIT"), 64); err == nil && v > 0 {
			bw = v
			k.st.bwKnown = true
		}
		k.st.net.BW = bw * 1e6 / 8
	}
	return k.st.net
}

// hostShare returns how many of the communicator's ranks share a host:
// the most on any host, and on this rank's. Ranks without a host name
// (in-process jobs) count as one per host.
func (k *call) hostShare() (most, here int) {
	k.st.shareOnce.Do(func() {
		count := map[string]int{}
		for r := range k.size {
			if h := k.c.Info(r).Host; h != "" {
				count[h]++
			}
		}
		k.st.most, k.st.here = 1, 1
		for _, n := range count {
			k.st.most = max(k.st.most, n)
		}
		if h := k.c.Info(k.rank).Host; h != "" {
			k.st.here = count[h]
		}
	})
	return k.st.most, k.st.here
}

// knownBW returns each host's bandwidth in bytes per second when it was
// given (SPMD_BW_MBIT, SetBandwidth) or measured, and 0 for the default.
func (k *call) knownBW() float64 {
	bw := k.net().BW
	k.st.netMu.Lock()
	defer k.st.netMu.Unlock()
	if !k.st.bwKnown {
		return 0
	}
	return bw
}

// SetBandwidth tells c's cost model each host's bandwidth in Mbit/s, as
// SPMD_BW_MBIT does for every communicator. Every rank of c must give
// the same figure, before the collectives that should use it (ranks that
// disagree may pick different algorithms: a mismatch error).
func SetBandwidth(c *comm.Comm, mbit float64) {
	if mbit <= 0 {
		return
	}
	st := stateOf(c)
	st.netMu.Lock()
	st.net.BW, st.bwKnown = mbit*1e6/8, true
	st.netMu.Unlock()
}

// even is a load of bytes on each of n streams, for paced.
func even(n, bytes int) []int {
	l := make([]int, n)
	for i := range l {
		l[i] = bytes
	}
	return l
}

// pacedMin is the least a stream must carry to be paced: below, pacing
// changes nothing worth two system calls per peer.
const pacedMin = 64 << 10

// paced caps, for the length of one call, the rate of this rank's
// connections to the ranks in to so that streams together stay within
// the host's bandwidth (known only: with the default figure a wrong cap
// could slow a fast host down) when each carries at least pacedMin
// bytes, and returns the function that lifts the caps. Direct uses it: its p-1 streams at once otherwise overrun a
// policed link, and each drop costs a round trip across the WAN.
//
// load[i] is what this rank sends to[i] in the call: each stream gets the
// host's bandwidth in proportion, so that all end together.
func (k *call) paced(to []int, load []int) func() {
	bw := k.knownBW()
	if bw <= 0 || len(to) < 2 || slices.Max(load) < pacedMin {
		return func() {}
	}
	_, here := k.hostShare()
	total := 0
	for _, b := range load {
		total += b
	}
	for i, r := range to {
		_ = k.c.SetMaxPacing(r, bw/float64(here)*float64(max(load[i], 1))/float64(total))
	}
	return func() {
		for _, r := range to {
			_ = k.c.SetMaxPacing(r, 0)
		}
	}
}

// fresh caps this rank's connections to the ranks to at share of its
// host's bandwidth and restarts their congestion control (see
// freshHop), and returns what lifts the caps; without a known bandwidth
// it does nothing.
func (k *call) fresh(to []int, share float64) (lift func()) {
	bw := k.knownBW()
	if bw <= 0 {
		return func() {}
	}
	return k.capPacing(to, bw*share, true)
}

// capPacing caps this rank's connections to the ranks to at rate bytes a
// second, restarting the congestion control of each it capped when
// restart is set, and returns what lifts the caps (once, however often
// called).
func (k *call) capPacing(to []int, rate float64, restart bool) (lift func()) {
	var capped []int
	for _, r := range to {
		if k.c.SetMaxPacing(r, rate) == nil {
			capped = append(capped, r)
			if restart {
				_ = k.c.RestartCongestion(r)
			}
		}
	}
	return func() {
		for _, r := range capped {
			_ = k.c.SetMaxPacing(r, 0)
		}
		capped = nil
	}
}

// freshLane starts lane me's connections across the WAN afresh, each
// paced at its share of the host's link (each of the host's ranks sends
// to R-1 regions), so that none carries into this call what an earlier
// one taught its congestion control: a share of the link it no longer
// has, or a minimum round trip ten seconds old, which sends BBR into
// PROBE_RTT (four packets in flight for 200 ms) in the middle of a call.
// It returns what lifts the caps; without a known bandwidth it does
// nothing (see fresh).
func (k *call) freshLane(regions [][]int, own, me int) (lift func()) {
	var peers []int
	for r, rm := range regions {
		if r != own {
			peers = append(peers, rm[me])
		}
	}
	if len(peers) == 0 {
		return func() {}
	}
	_, here := k.hostShare()
	return k.fresh(peers, 1/float64(here*len(peers)))
}

// laneLocal caps, for a lane member of a Lanes allreduce whose host's
// bandwidth is known, its connections to the members of its region on
// other hosts at the region traffic's share of the host's link while
// the region's contributions go: each host sends (k-1)/k of the vector
// inside the region and, as round 1, (R-1)/R or R-1 (rounds 2 or 1)
// times its part across the WAN, and without the cap the region's
// connections, a round trip of a fraction of a millisecond, fill the
// link's queue and the WAN sends get a tenth of the link (docs/algorithms.md,
// "Lanes2"). It returns what lifts the caps, once however often called.
func (k *call) laneLocal(members []int, L, R, rounds int) (lift func()) {
	bw := k.knownBW()
	kk := len(members)
	// With several ranks on a host the region's traffic crosses the host's
	// link once per part (lanes_hosts.go), which localShare does not
	// count; on the 4x2x2 lab (2 slots per host) the cap made the
	// allreduce slower (bench/results/2026-12-07-lab4x2x2-lane-local), so
	// it is for one rank per host only.
	if most, _ := k.hostShare(); bw <= 0 || kk < 2 || R < 2 || most > 1 {
		return func() {}
	}
	return k.capPacing(k.otherHosts(members), bw*localShare(kk, L, R, rounds), false)
}

// otherHosts returns the ranks of members whose host is not this rank's.
func (k *call) otherHosts(members []int) []int {
	host := k.c.Info(k.rank).Host
	var others []int
	for _, m := range members {
		if k.c.Info(m).Host != host {
			others = append(others, m)
		}
	}
	return others
}

// yieldLocal marks, on hosts that send WAN packets first
// (comm.Config.WANFirst), this rank's connections to the members of its
// region on other hosts lower-effort (comm.Comm.SetYield) for the length
// of a call, so that its sends across the WAN do not wait behind them at
// the host's egress, and returns what unmarks them; otherwise it does
// nothing. The Chain allreduce uses it: there a middle region's host
// carries as much as a Lanes host, and only sending its sums on before
// its copies to the region gains (docs/algorithms.md, "Chain").
func (k *call) yieldLocal(members []int) (unmark func()) {
	if !k.c.WANFirst() {
		return func() {}
	}
	var marked []int
	for _, m := range k.otherHosts(members) {
		if k.c.SetYield(m, true) == nil {
			marked = append(marked, m)
		}
	}
	return func() {
		for _, m := range marked {
			_ = k.c.SetYield(m, false)
		}
		marked = nil
	}
}

// localShare is the part of a lane host's link that its traffic inside
// the region takes while a Lanes allreduce's contributions go (see
// laneLocal): each of the region's k hosts sends (k-1)/k of the vector
// inside it and, as round 1, (R-1)/(R L) (rounds 2, R > 2), 1/L (rounds
// 0, Chain: its part's sum to one region) or (R-1)/L of it across the
// WAN.
func localShare(k, L, R, rounds int) float64 {
	local := float64(k-1) / float64(k)
	wan := float64(R-1) / float64(L)
	switch {
	case rounds == 2 && R > 2:
		wan /= float64(R)
	case rounds == 0:
		wan = 1 / float64(L)
	}
	return local / (local + wan)
}

// MeasureBandwidth measures the bandwidth between c's regions, keeps it
// for the cost model of c (instead of SPMD_BW_MBIT or the default of 100
// Mbit/s) and returns it in Mbit/s. Every rank of c must call it. Each
// region's leader sends bytes (4 MiB when 0) to the next region's leader
// and times it to the acknowledgement, less one round trip; the slowest
// pair counts. On a communicator within one region it measures between
// ranks 0 and 1 (nothing when alone) in the same way.
func MeasureBandwidth(ctx context.Context, c *comm.Comm, bytes int) (float64, error) {
	if bytes <= 0 {
		bytes = 4 << 20
	}
	k := newCall(ctx, c, "MeasureBandwidth", 1, nil, nil)
	t := k.topo()
	ring := t.Leader
	if t.Regions() == 1 {
		ring = []int{0, 1}[:min(2, k.size)]
	}
	rate := math.Inf(1) // bytes per second at this rank; Inf: not a sender
	err := k.run(signature{kind: kMeasureBandwidth, root: -1, count: int64(bytes)}, func() error {
		i := slices.Index(ring, k.rank)
		if i < 0 || len(ring) < 2 {
			return nil
		}
		next, prev := ring[(i+1)%len(ring)], ring[(i+len(ring)-1)%len(ring)]
		in := k.alloc(bytes)
		var ack [1]byte
		recv := k.irecv(in, prev, 1)
		start := time.Now()
		if err := k.send(make([]byte, bytes), next, 1); err != nil {
			return err
		}
		if err := k.wait(recv, bytes); err != nil {
			return err
		}
		if err := k.send(ack[:], prev, 2); err != nil {
			return err
		}
		if err := k.recv(ack[:], next, 2); err != nil {
			return err
		}
		d := time.Since(start) - c.RTT(k.rank, next)
		rate = float64(bytes) / max(d, time.Millisecond).Seconds()
		return nil
	})
	if err != nil {
		return 0, err
	}
	all := []float64{rate}
	if err := Allreduce(ctx, c, all, all, Min); err != nil {
		return 0, err
	}
	if math.IsInf(all[0], 1) {
		return 0, nil
	}
	k.net()
	k.st.netMu.Lock()
	k.st.net.BW, k.st.bwKnown = all[0], true
	k.st.netMu.Unlock()
	return all[0] * 8 / 1e6, nil
}

// modelled is Auto across regions: the algorithm the cost model prices
// best (topology.Costs and Best) among those that can run this call, for
// n bytes (per rank for Allgather) and root (-1: none). ok is false when
// the communicator lies in one region or the model prices nothing that
// can run, and the caller's flat rules apply.
func (k *call) modelled(kind uint8, n, root int) (Algorithm, bool) {
	best, ok := k.bestEstimate(kind, n, root)
	if !ok {
		return 0, false
	}
	a, _ := ParseAlgorithm(best.Alg)
	return a, true
}

// bestEstimate is modelled's choice with its modelled time.
func (k *call) bestEstimate(kind uint8, n, root int) (topology.Estimate, bool) {
	if !k.multiRegion() {
		return topology.Estimate{}, false
	}
	var es []topology.Estimate
	paceable := k.knownBW() > 0
	for _, e := range k.estimates(kind, n, root) {
		a, _ := ParseAlgorithm(e.Alg)
		if a == Direct && kind == kAllreduce && !paceable {
			// Unpaced, its 2(p-1) streams lose packets on policed links
			// (docs/algorithms.md, Direct): only with a known bandwidth.
			continue
		}
		es = append(es, e)
	}
	return topology.Best(es)
}

// estimates is what the cost model prices each algorithm that can run
// this call at, in topology.Costs's order.
func (k *call) estimates(kind uint8, n, root int) []topology.Estimate {
	var es []topology.Estimate
	net := k.net()
	// Ranks on one host share its link: price each at its share.
	most, _ := k.hostShare()
	net.BW /= float64(most)
	net.RanksPerHost = most
	net.Ordered = k.op != nil && !k.op.commutative
	net.WANFirst = k.c.WANFirst()
	for _, e := range k.topo().Costs(kindName(kind), n, root, net) {
		a, err := ParseAlgorithm(e.Alg)
		if err != nil || k.permits(kind, a) != nil {
			continue
		}
		es = append(es, e)
	}
	return es
}

// Model returns the cost model's time for an operation on c (by name,
// as "Allreduce"; any case) of bytes bytes (per rank for Allgather,
// Gather and Scatter, as those calls' cost model counts them) with root
// (ignored by operations without one), run with algorithm alg, and that
// algorithm: for Auto, the one Auto would choose. It is what Auto weighs
// across regions (docs/algorithms.md, "The cost model"), with the
// latencies comm measured, the bandwidth c's collectives know
// (SPMD_BW_MBIT, SetBandwidth, MeasureBandwidth, else 100 Mbit/s) and a
// commutative op; for Auto it leaves out Direct for Allreduce unless the
// bandwidth is known, as Auto does. Beside a measured time and the
// lower bound it tells whether the algorithm or the network falls
// short: spmdbench prints it as the model column. ok is false when c
// lies in one region (Auto then follows its flat rules, which the model
// does not price), or the model does not price alg for the operation.
//
// Model is local: it sends nothing, and any rank may call it at any time.
func Model(c *comm.Comm, operation string, alg Algorithm, bytes, root int) (Algorithm, time.Duration, bool) {
	var kind uint8
	found := false
	for kk, name := range kindNames {
		if strings.EqualFold(name, operation) {
			kind, found = kk, true
		}
	}
	if !found || bytes < 0 {
		return 0, 0, false
	}
	st := stateOf(c)
	k := &call{rank: c.Rank(), size: c.Size(), st: st, c: st.view, name: kindName(kind)}
	if root < 0 || root >= k.size {
		root = 0
	}
	if !k.multiRegion() {
		return 0, 0, false
	}
	if alg == Auto {
		best, ok := k.bestEstimate(kind, bytes, root)
		if !ok {
			return 0, 0, false
		}
		a, _ := ParseAlgorithm(best.Alg)
		return a, best.Time, true
	}
	for _, e := range k.estimates(kind, bytes, root) {
		if a, err := ParseAlgorithm(e.Alg); err == nil && a == alg {
			return a, e.Time, true
		}
	}
	return 0, 0, false
}
