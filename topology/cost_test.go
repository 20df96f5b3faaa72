package topology

import (
	"slices"
	"testing"
	"time"
)

// labNet is the 3-region lab: one-way 40/70/90 ms between regions, 25 µs
// inside, 100 Mbit/s per host.
func labNet() Net {
	ms := time.Millisecond
	in := 25 * time.Microsecond
	return Net{
		Lat: [][]time.Duration{{in, 40 * ms, 90 * ms}, {40 * ms, in, 70 * ms}, {90 * ms, 70 * ms, in}},
		BW:  100e6 / 8,
	}
}

// wanFirst is net with hosts that send WAN packets first.
func wanFirst(net Net) Net {
	net.WANFirst = true
	return net
}

// labNet2 is two regions 90 ms apart.
func labNet2() Net {
	in := 25 * time.Microsecond
	return Net{Lat: [][]time.Duration{{in, 90 * time.Millisecond}, {90 * time.Millisecond, in}}, BW: 100e6 / 8}
}

func TestCosts(t *testing.T) {
	lab := FromLabels([]string{"us", "us", "sg", "sg", "eu", "eu"})
	uneven := FromLabels([]string{"us", "us", "us", "sg", "eu", "eu"})
	one := FromLabels([]string{"us", "us", "us", "us"})
	K, M := 1<<10, 1<<20
	cases := []struct {
		name string
		top  Topology
		op   string
		n    int
		root int
		net  Net
		want string
	}{
		{"bcast 8 B: one WAN message per region", lab, "Bcast", 8, 0, labNet(), AlgHierarchical},
		{"bcast 256 KiB: lanes (Chain's path of 110 ms ties)", lab, "Bcast", 256 * K, 0, labNet(), AlgLanes},
		{"bcast 512 KiB: chain", lab, "Bcast", 512 * K, 0, labNet(), AlgChain},
		{"bcast 4 MiB: chain", lab, "Bcast", 4 * M, 0, labNet(), AlgChain},
		{"bcast 1 MiB from sg: chain (sg, us, eu: 130 ms)", lab, "Bcast", M, 2, labNet(), AlgChain},
		{"reduce 8 B to sg", lab, "Reduce", 8, 3, labNet(), AlgHierarchical},
		{"reduce 512 KiB: lanes (step 1 hides in the crossing)", lab, "Reduce", 512 * K, 5, labNet(), AlgLanes},
		{"reduce 1 MiB", lab, "Reduce", M, 5, labNet(), AlgChain},
		{"reduce 2 MiB", lab, "Reduce", 2 * M, 5, labNet(), AlgChain},
		{"allreduce 1 MiB: one crossing (three regions: no Chain)", lab, "Allreduce", M, -1, labNet(), AlgLanes},
		{"allreduce 2 MiB: two rounds between regions", lab, "Allreduce", 2 * M, -1, labNet(), AlgLanes2},
		{"allreduce 1 MiB, hosts send WAN first: Chain", lab, "Allreduce", M, -1, wanFirst(labNet()), AlgChain},
		{"allreduce 2 MiB, hosts send WAN first: the middle's link, Lanes2", lab, "Allreduce", 2 * M, -1, wanFirst(labNet()), AlgLanes2},
		{"allreduce 4 MiB, hosts send WAN first: Lanes2", lab, "Allreduce", 4 * M, -1, wanFirst(labNet()), AlgLanes2},
		{"allreduce 4 MiB: two rounds between regions (ties with Direct, comes first)", lab, "Allreduce", 4 * M, -1, labNet(), AlgLanes2},
		{"allreduce 4 MiB, two regions: no second round", FromLabels([]string{"a", "a", "b", "b"}), "Allreduce", 4 * M, -1, labNet2(), AlgLanes},
		{"reduce 4 MiB", lab, "Reduce", 4 * M, 5, labNet(), AlgChain},
		{"allreduce 8 B", lab, "Allreduce", 8, -1, labNet(), AlgHierarchical},
		{"allreduce 512 KiB", lab, "Allreduce", 512 * K, -1, labNet(), AlgLanes},
		{"allreduce 4 MiB, uneven 3+1+2: one lane through the lone host loses", uneven, "Allreduce", 4 * M, -1, labNet(), AlgDirect},
		{"allreduce 128 KiB, uneven 3+1+2: one lane is the hierarchy", uneven, "Allreduce", 128 * K, -1, labNet(), AlgHierarchical},
		{"allgather 8 B", lab, "Allgather", 8, -1, labNet(), AlgHierarchical},
		{"allgather 128 KiB", lab, "Allgather", 128 * K, -1, labNet(), AlgLanes},
		{"one region: flat forms only (Auto does not ask the model there)", one, "Allreduce", 8, -1, Net{Lat: [][]time.Duration{{25 * time.Microsecond}}, BW: 1e9}, AlgDirect},
		{"one region, bcast", one, "Bcast", 4 * M, 0, Net{Lat: [][]time.Duration{{25 * time.Microsecond}}, BW: 1e9}, AlgDirect},
		{"two ranks, bcast", FromLabels([]string{"a", "b"}), "Bcast", 4 * M, 0, labNet2(), AlgHierarchical},
		{"gather 8 B: one message per region", lab, "Gather", 8, 0, labNet(), AlgHierarchical},
		{"gather 1 MiB: lanes skip the leaders' packing", lab, "Gather", M, 0, labNet(), AlgLanes},
		{"scatter 256 KiB from eu", lab, "Scatter", 256 * K, 4, labNet(), AlgLanes},
		{"gather 1 MiB, uneven 3+1+2: one lane is the hierarchy", uneven, "Gather", M, 0, labNet(), AlgHierarchical},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			es := tc.top.Costs(tc.op, tc.n, tc.root, tc.net)
			if b, ok := Best(es); !ok || b.Alg != tc.want {
				t.Fatalf("picked %v from %v, want %s", b, es, tc.want)
			}
		})
	}
}

// The estimates are the documented formulas: spot values on the lab.
func TestCostsFormulas(t *testing.T) {
	lab := FromLabels([]string{"us", "us", "sg", "sg", "eu", "eu"})
	getNet := func(op string, n, root int, alg string, net Net) time.Duration {
		for _, e := range lab.Costs(op, n, root, net) {
			if e.Alg == alg {
				return e.Time
			}
		}
		t.Fatalf("%s has no %s", op, alg)
		return 0
	}
	get := func(op string, n, root int, alg string) time.Duration { return getNet(op, n, root, alg, labNet()) }
	ms := time.Millisecond
	x := func(b float64) time.Duration { return time.Duration(b / 12.5e6 * 1e9) }
	in := 25 * time.Microsecond
	M := float64(1 << 20)
	for _, c := range []struct {
		what      string
		got, want time.Duration
	}{
		// Lanes bcast from us: scatter to the other lane, WAN to 2 regions, spread.
		{"bcast lanes 4M", get("Bcast", 4<<20, 0, AlgLanes), in + x(2*M) + 90*ms + x(4*M) + in + x(2*M)},
		// Root in sg: the farthest region is 70 ms away.
		{"bcast hier 8B from sg", get("Bcast", 8, 2, AlgHierarchical), 70*ms + x(16) + in + x(8)},
		{"allreduce lanes 4M", get("Allreduce", 4<<20, -1, AlgLanes), 2*(in+x(2*M)) + 90*ms + x(4*M)},
		// Two rounds: the farthest pair twice, round 1's 2/3 of a lane's
		// 2 MiB part (round 2 goes out while it crosses).
		{"allreduce lanes2 4M", get("Allreduce", 4<<20, -1, AlgLanes2), 2*(in+x(2*M)) + 180*ms + x(4*M/3)},
		// Reduce to eu: step 1 (1 MiB of a 2 MiB vector) hides in the
		// 90 ms crossing; eu's lanes take in 2 parts and hand one on.
		{"reduce lanes 2M to eu", get("Reduce", 2<<20, 4, AlgLanes), 90*ms + x(2*M) + in + x(M)},
		{"reduce lanes 4M to eu", get("Reduce", 4<<20, 4, AlgLanes), in + x(2*M) + x(4*M) + in + x(2*M)},
		{"allreduce ring 4M", get("Allreduce", 4<<20, -1, AlgRing), 10 * (90*ms + x(4*M/6))},
		{"allgather lanes 1M", get("Allgather", 1<<20, -1, AlgLanes), 90*ms + in + x(5*M)},
		// Chain from us: us, sg, eu (40 + 70 ms), a LAN hop in each
		// region, the vector once, 5 hops of a segment to fill.
		{"bcast chain 4M", get("Bcast", 4<<20, 0, AlgChain), 110*ms + 3*in + x(4*M) + 5*x(float64(Segment(4<<20, 6, 12.5e6)))},
		// To eu: the chain from eu is eu, sg, us (70 + 40 ms).
		{"reduce chain 1M to eu", get("Reduce", 1<<20, 4, AlgChain), 110*ms + 3*in + x(M) + 5*x(float64(Segment(1<<20, 6, 12.5e6)))},
		// WAN first, 1 MiB: the chain us, sg, eu (110 ms), a 512 KiB
		// part into the region twice and across once; or sg's link, 2 MiB
		// from eu's first sum 70 ms in, and two 4-hop segments: the
		// longer.
		{"allreduce chain 1M, WAN first", getNet("Allreduce", 1<<20, -1, AlgChain, wanFirst(labNet())),
			2*in + max(2*x(M/2)+110*ms+x(M/2), x(2*M)+70*ms+2*x(float64(Segment(1<<19, 4, 12.5e6))))},
		{"allreduce chain 2M, WAN first", getNet("Allreduce", 2<<20, -1, AlgChain, wanFirst(labNet())),
			2*in + max(2*x(M)+110*ms+x(M), x(4*M)+70*ms+2*x(float64(Segment(1<<20, 4, 12.5e6))))},
	} {
		if d := c.got - c.want; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
}

// Two ranks per host: the Lanes allreduce's steps inside a region cross
// the host's link once per part (a host sends half the vector on 2 hosts
// of 2 ranks), so each rank, at half the host's bandwidth, is priced for
// a quarter of it: the same time as one rank per host.
func TestCostsSharedHosts(t *testing.T) {
	lab := FromLabels([]string{"us", "us", "us", "us", "sg", "sg", "sg", "sg", "eu", "eu", "eu", "eu"})
	net := labNet()
	net.BW /= 2
	net.RanksPerHost = 2
	ms := time.Millisecond
	in := 25 * time.Microsecond
	x := func(b float64) time.Duration { return time.Duration(b / 6.25e6 * 1e9) }
	M := float64(1 << 20)
	want := map[string]time.Duration{
		AlgLanes:  2*(in+x(M)) + 90*ms + x(2*M),
		AlgLanes2: 2*(in+x(M)) + 180*ms + x(2*M/3),
	}
	for _, e := range lab.Costs("Allreduce", 4<<20, -1, net) {
		if w, ok := want[e.Alg]; ok {
			if d := e.Time - w; d < -time.Microsecond || d > time.Microsecond {
				t.Errorf("%s: %v, want %v", e.Alg, e.Time, w)
			}
			delete(want, e.Alg)
		}
	}
	if len(want) != 0 {
		t.Errorf("not priced: %v", want)
	}
	// Without the host steps' saving (one rank per host assumed) Lanes
	// would be priced for 3 parts of 1 MiB inside the region.
	net.RanksPerHost = 1
	for _, e := range lab.Costs("Allreduce", 4<<20, -1, net) {
		if e.Alg == AlgLanes && e.Time < 2*x(3*M) {
			t.Errorf("one rank per host: Lanes %v, want at least %v", e.Time, 2*x(3*M))
		}
	}
}

// With two ranks per host the Lanes bcast's hand-out and spreading are
// priced for what crosses host links (a quarter of the vector per rank
// each on 2 hosts of 2), which makes it cheaper than Direct at 4 MiB on
// 3 regions x 2 hosts x 2 slots; Chain, whose host links carry the vector
// once each way, is cheaper still. (Measured on 4 regions x 2 x 2: Lanes
// 966-968 ms against Direct's 1541-1578, whose 30 streams per host lose packets;
// bench/results/2026-11-22-lab4x2x2-host-steps/lanes-direct.)
func TestCostsSharedHostsBcast(t *testing.T) {
	lab := FromLabels([]string{"us", "us", "us", "us", "sg", "sg", "sg", "sg", "eu", "eu", "eu", "eu"})
	net := labNet()
	net.BW /= 2
	net.RanksPerHost = 2
	in := 25 * time.Microsecond
	x := func(b float64) time.Duration { return time.Duration(b / 6.25e6 * 1e9) }
	M := float64(1 << 20)
	es := lab.Costs("Bcast", 4<<20, 0, net)
	for _, e := range es {
		if e.Alg == AlgLanes {
			if want := in + x(M) + 90*time.Millisecond + x(2*M) + in + x(M); e.Time-want > time.Microsecond || want-e.Time > time.Microsecond {
				t.Errorf("Lanes bcast: %v, want %v", e.Time, want)
			}
		}
	}
	price := map[string]time.Duration{}
	for _, e := range es {
		price[e.Alg] = e.Time
	}
	if price[AlgLanes] >= price[AlgDirect] {
		t.Errorf("Lanes %v, Direct %v: want Lanes cheaper", price[AlgLanes], price[AlgDirect])
	}
	// Chain: 110 ms of crossings, 9 hops inside regions, 4 MiB through
	// each host's link at its full 100 Mbit/s, 11 hops of a segment (at
	// a rank's share: what the model charges every hop).
	seg := float64(Segment(4<<20, 12, 6.25e6))
	if want := 110*time.Millisecond + 9*in + x(2*M) + 11*x(seg/2); price[AlgChain]-want > time.Microsecond || want-price[AlgChain] > time.Microsecond {
		t.Errorf("Chain bcast: %v, want %v", price[AlgChain], want)
	}
	if b, _ := Best(es); b.Alg != AlgChain {
		t.Errorf("picked %v from %v, want Chain", b, es)
	}
}

func TestSegment(t *testing.T) {
	const mbit100, gbit = 12.5e6, 125e6
	for _, c := range []struct {
		n, stages int
		bw        float64
		want      int
	}{
		// s = sqrt((stages-1) n / (bw 50us)); n/s rounded up to 4 KiB.
		{256 << 10, 3, mbit100, 12 << 10},  // s = 28.96: 9052 bytes
		{2 << 20, 3, mbit100, 28 << 10},    // s = 81.9: 25600
		{4 << 20, 3, mbit100, 36 << 10},    // s = 115.9: 36204
		{2 << 20, 3, gbit, 80 << 10},       // s = 25.9: 80954
		{4 << 20, 4, mbit100, 32 << 10},    // s = 141.9: 29560
		{4 << 20, 2, gbit, 160 << 10},      // s = 25.9: 161908
		{16 << 10, 3, mbit100, MinSegment}, // s = 7.2: 2263, raised
		{64 << 20, 2, 10 * gbit, MaxSegment},
		{0, 3, mbit100, MaxSegment},
		{1 << 20, 1, mbit100, MaxSegment}, // one step: nothing to overlap
		{1 << 20, 3, 0, MaxSegment},
	} {
		if got := Segment(c.n, c.stages, c.bw); got != c.want {
			t.Errorf("Segment(%d, %d, %g) = %d, want %d", c.n, c.stages, c.bw, got, c.want)
		}
	}
	// Larger parts, slower links and fewer steps take larger segments.
	for n := 64 << 10; n <= 32<<20; n *= 2 {
		if a, b := Segment(n, 3, mbit100), Segment(2*n, 3, mbit100); a > b {
			t.Errorf("Segment(%d) = %d > Segment(%d) = %d", n, a, 2*n, b)
		}
		if a, b := Segment(n, 3, mbit100), Segment(n, 3, gbit); a > b {
			t.Errorf("Segment(%d) at 100 Mbit/s = %d > at 1 Gbit/s %d", n, a, b)
		}
		if a, b := Segment(n, 4, gbit), Segment(n, 2, gbit); a > b {
			t.Errorf("Segment(%d) over 4 steps = %d > over 2 %d", n, a, b)
		}
	}
}

// Gather's estimates are the schedule of what the root's link takes in:
// on the lab with 1 MiB blocks to us-west, Hierarchical waits for the
// leaders (84 ms each) and the farthest pack, Lanes only for the bytes.
func TestCostsGather(t *testing.T) {
	lab := FromLabels([]string{"us", "us", "sg", "sg", "eu", "eu"})
	x := func(blocks float64) time.Duration { return time.Duration(blocks * (1 << 20) / (100e6 / 8) * 1e9) }
	l := 25 * time.Microsecond
	want := map[string]time.Duration{
		// sg's pack is released at l + x(1) + 40 ms, with 4 blocks
		// behind it (sg's 2, eu's 2).
		AlgHierarchical: max(l+x(5), l+x(1)+40*time.Millisecond+x(4)),
		// the link is busy from the start: all 5 blocks.
		AlgLanes: l + x(5),
	}
	es := lab.Costs("Gather", 1<<20, 0, labNet())
	if len(es) != 2 {
		t.Fatalf("estimates %v, want Hierarchical and Lanes", es)
	}
	for _, e := range es {
		if d := e.Time - want[e.Alg]; d < -time.Microsecond || d > time.Microsecond {
			t.Errorf("%s: %v, want %v", e.Alg, e.Time, want[e.Alg])
		}
	}
}

func TestStreams(t *testing.T) {
	const mbit100, gbit = 12.5e6, 125e6
	def := Window(6<<20, 4<<20) // Linux's default maxima: 2 MiB
	for _, c := range []struct {
		bw     float64
		rtt    time.Duration
		window int
		want   int
	}{
		// ceil(bw rtt / window), within [1, MaxStreams].
		{mbit100, 81 * time.Millisecond, def, 1},        // 1.01 MB in flight
		{mbit100, 167 * time.Millisecond, def, 1},       // 2.09 MB: just fits
		{mbit100, 181 * time.Millisecond, def, 2},       // 2.26 MB
		{mbit100, 181 * time.Millisecond, 512 << 10, 5}, // buffers capped at 1 MiB
		{gbit, 181 * time.Millisecond, def, MaxStreams}, // would be 11
		{gbit, 10 * time.Millisecond, def, 1},
		{gbit, time.Millisecond / 2, 0, 1}, // window unknown
		{0, 181 * time.Millisecond, def, 1},
		{mbit100, 0, def, 1},
	} {
		if got := Streams(c.bw, c.rtt, c.window); got != c.want {
			t.Errorf("Streams(%g, %v, %d) = %d, want %d", c.bw, c.rtt, c.window, got, c.want)
		}
	}
	for _, c := range []struct{ rmem, wmem, want int }{
		{6 << 20, 4 << 20, 2 << 20},
		{1 << 20, 4 << 20, 512 << 10},
		{0, 4 << 20, 2 << 20},
		{0, 0, 0},
	} {
		if got := Window(c.rmem, c.wmem); got != c.want {
			t.Errorf("Window(%d, %d) = %d, want %d", c.rmem, c.wmem, got, c.want)
		}
	}
	// More bandwidth, longer round trips and smaller windows never take
	// fewer streams.
	for rtt := time.Millisecond; rtt < time.Second; rtt *= 2 {
		if a, b := Streams(mbit100, rtt, def), Streams(mbit100, 2*rtt, def); a > b {
			t.Errorf("Streams at %v = %d > at %v = %d", rtt, a, 2*rtt, b)
		}
		if a, b := Streams(mbit100, rtt, def), Streams(gbit, rtt, def); a > b {
			t.Errorf("Streams at %v: 100 Mbit/s %d > 1 Gbit/s %d", rtt, a, b)
		}
	}
}

// ChainRegions starts at the root's region and takes the order of least
// latency; equal orders keep the lowest region indices first; beyond
// chainExact regions it goes to the nearest region each time.
func TestChainRegions(t *testing.T) {
	lab := FromLabels([]string{"us", "us", "sg", "sg", "eu", "eu"})
	ms := time.Millisecond
	in := 25 * time.Microsecond
	// Four regions, all 50 ms apart: every order ties.
	flat := [][]time.Duration{{in, 50 * ms, 50 * ms, 50 * ms}, {50 * ms, in, 50 * ms, 50 * ms}, {50 * ms, 50 * ms, in, 50 * ms}, {50 * ms, 50 * ms, 50 * ms, in}}
	four := FromLabels([]string{"a", "b", "c", "d"})
	// Ten regions on a line, 10 ms between neighbours, numbered so that
	// the nearest-first walk from region 0 is 0, 9, 1, 8, ... .
	pos := []int{0, 2, 4, 6, 8, 9, 7, 5, 3, 1}
	line := make([][]time.Duration, len(pos))
	labels := make([]string, len(pos))
	for a := range pos {
		labels[a] = string(rune('a' + a))
		line[a] = make([]time.Duration, len(pos))
		for b := range pos {
			d := pos[a] - pos[b]
			line[a][b] = time.Duration(max(d, -d)) * 10 * ms
		}
	}
	ten := FromLabels(labels)
	for _, c := range []struct {
		name string
		top  Topology
		root int
		lat  [][]time.Duration
		want []int
		path time.Duration
	}{
		{"lab from us: us, sg, eu (40 + 70, not 90 + 70)", lab, 0, labNet().Lat, []int{0, 1, 2}, 110 * ms},
		{"lab from sg: sg, us, eu (40 + 90, not 70 + 90)", lab, 3, labNet().Lat, []int{1, 0, 2}, 130 * ms},
		{"lab from eu: eu, sg, us (70 + 40, not 90 + 40)", lab, 4, labNet().Lat, []int{2, 1, 0}, 110 * ms},
		{"ties keep region order", four, 2, flat, []int{2, 0, 1, 3}, 150 * ms},
		{"ten regions: nearest first", ten, 0, line, []int{0, 9, 1, 8, 2, 7, 3, 6, 4, 5}, 90 * ms},
		{"one region", FromLabels([]string{"a", "a"}), 1, [][]time.Duration{{in}}, []int{0}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.top.ChainRegions(c.root, c.lat)
			if !slices.Equal(got, c.want) {
				t.Fatalf("order %v, want %v", got, c.want)
			}
			if d := ChainLatency(got, c.lat); d != c.path {
				t.Errorf("path %v, want %v", d, c.path)
			}
		})
	}
}

// AllreduceChain takes the order whose totals reach every region soonest:
// on the lab the region between the two others (sg: 40 ms from us, 70
// from eu) in the middle and the nearer end (us) first, 110 ms where
// the direct exchange's farthest pair is 90; ordered keeps region order.
func TestAllreduceChain(t *testing.T) {
	lab := FromLabels([]string{"us", "us", "sg", "sg", "eu", "eu"})
	ms := time.Millisecond
	in := 25 * time.Microsecond
	flat := [][]time.Duration{{in, 50 * ms, 50 * ms, 50 * ms}, {50 * ms, in, 50 * ms, 50 * ms}, {50 * ms, 50 * ms, in, 50 * ms}, {50 * ms, 50 * ms, 50 * ms, in}}
	four := FromLabels([]string{"a", "b", "c", "d"})
	two := FromLabels([]string{"a", "b"})
	twoLat := [][]time.Duration{{in, 30 * ms}, {30 * ms, in}}
	for _, c := range []struct {
		name    string
		top     Topology
		lat     [][]time.Duration
		ordered bool
		want    []int
		latency time.Duration
	}{
		{"lab: us, sg, eu", lab, labNet().Lat, false, []int{0, 1, 2}, 110 * ms},
		// eu, sg, us: the total goes from sg back to eu, 70 + 70.
		{"lab, region order kept", FromLabels([]string{"eu", "eu", "sg", "sg", "us", "us"}), [][]time.Duration{{in, 70 * ms, 90 * ms}, {70 * ms, in, 40 * ms}, {90 * ms, 40 * ms, in}}, true, []int{0, 1, 2}, 140 * ms},
		{"lab relabelled: the same chain", FromLabels([]string{"eu", "eu", "sg", "sg", "us", "us"}), [][]time.Duration{{in, 70 * ms, 90 * ms}, {70 * ms, in, 40 * ms}, {90 * ms, 40 * ms, in}}, false, []int{2, 1, 0}, 110 * ms},
		// Four regions 50 ms apart: c[0] waits for the total from c[2],
		// which has it at 100 ms and sends it back 100 ms: 200.
		{"ties keep region order", four, flat, false, []int{0, 1, 2, 3}, 200 * ms},
		{"two regions: one exchange", two, twoLat, false, []int{0, 1}, 30 * ms},
		{"one region", FromLabels([]string{"a", "a"}), [][]time.Duration{{in}}, false, []int{0}, 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := c.top.AllreduceChain(c.lat, c.ordered)
			if !slices.Equal(got, c.want) {
				t.Fatalf("order %v, want %v", got, c.want)
			}
			if d := AllreduceChainLatency(got, c.lat); d != c.latency {
				t.Errorf("latency %v, want %v", d, c.latency)
			}
		})
	}
	// Every other order of the lab is slower.
	for _, o := range [][]int{{0, 2, 1}, {1, 0, 2}, {1, 2, 0}, {2, 0, 1}, {2, 1, 0}} {
		if d := AllreduceChainLatency(o, labNet().Lat); d <= 110*ms {
			t.Errorf("order %v: latency %v, want more than 110ms", o, d)
		}
	}
}

// The Chain allreduce is priced from four regions on: on the 4-region
// lab with 2 ranks per host (us-west, us-east, eu-fra, ap-sg; chain
// us-west, us-east, eu-fra, ap-sg: 160 ms) it is Lanes' phases with the
// chain's latency and an end's part across, and Auto takes it at 1 and
// 2 MiB (measured with Auto at 1 MiB: 354-370 ms against Lanes'
// 530-774; bench/results/2026-12-07-lab4x2x2-chain-auto). On three
// regions it is not priced.
func TestCostsChainAllreduce(t *testing.T) {
	var labels []string
	for _, r := range []string{"uw", "ue", "fr", "sg"} {
		labels = append(labels, r, r, r, r)
	}
	four := FromLabels(labels)
	ms := time.Millisecond
	in := 25 * time.Microsecond
	d := map[[2]int]time.Duration{{0, 1}: 35 * ms, {0, 2}: 75 * ms, {0, 3}: 85 * ms, {1, 2}: 45 * ms, {1, 3}: 110 * ms, {2, 3}: 80 * ms}
	lat := make([][]time.Duration, 4)
	for a := range lat {
		lat[a] = make([]time.Duration, 4)
		for b := range lat[a] {
			switch {
			case a == b:
				lat[a][b] = in
			case a < b:
				lat[a][b] = d[[2]int{a, b}]
			default:
				lat[a][b] = d[[2]int{b, a}]
			}
		}
	}
	net := Net{Lat: lat, BW: 6.25e6, RanksPerHost: 2}
	if got := four.AllreduceChain(lat, false); !slices.Equal(got, []int{0, 1, 2, 3}) {
		t.Fatalf("chain %v, want [0 1 2 3]", got)
	}
	x := func(b float64) time.Duration { return time.Duration(b / 6.25e6 * 1e9) }
	n := 2 << 20
	q := float64(n) / 4 // a part (4 lanes), and what a rank sends inside its region (host steps)
	es := four.Costs("Allreduce", n, -1, net)
	for _, e := range es {
		if e.Alg == AlgChain {
			if want := 2*in + 2*x(q) + 160*ms + x(q); e.Time-want > time.Microsecond || want-e.Time > time.Microsecond {
				t.Errorf("Chain: %v, want %v", e.Time, want)
			}
		}
	}
	if b, _ := Best(es); b.Alg != AlgChain {
		t.Errorf("2 MiB: picked %v from %v, want Chain", b, es)
	}
	if b, _ := Best(four.Costs("Allreduce", 1<<20, -1, net)); b.Alg != AlgChain {
		t.Errorf("1 MiB: picked %v, want Chain", b)
	}
	for _, e := range FromLabels([]string{"us", "us", "sg", "sg", "eu", "eu"}).Costs("Allreduce", n, -1, labNet()) {
		if e.Alg == AlgChain {
			t.Errorf("three regions: Chain priced (%v)", e.Time)
		}
	}
}
