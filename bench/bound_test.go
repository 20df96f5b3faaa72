package bench

import (
	"math"
	"testing"
	"time"
)

// labNetwork is the 3-region lab of DESIGN.md: 2 hosts per region,
// one-way 40/90/70 ms between us-west/ap-sg, us-west/eu-fra, ap-sg/eu-fra,
// 100 Mbit/s per host.
func labNetwork() Network {
	region := []int{0, 0, 1, 1, 2, 2}
	pair := [3][3]time.Duration{{0, 40, 90}, {40, 0, 70}, {90, 70, 0}}
	n := Network{Latency: make([][]time.Duration, 6), Bandwidth: make([]float64, 6)}
	for i := range 6 {
		n.Latency[i] = make([]time.Duration, 6)
		for h := range 6 {
			n.Latency[i][h] = pair[region[i]][region[h]] * time.Millisecond
		}
		n.Bandwidth[i] = 100e6 / 8
	}
	return n
}

func TestBoundLab(t *testing.T) {
	net := labNetwork()
	hosts := []int{0, 1, 2, 3, 4, 5}
	const K = 1 << 10
	cases := []struct {
		op   string
		m    int
		want float64 // ms, as DESIGN.md and issue 6 give them (rounded)
	}{
		{"barrier", 0, 90},
		{"bcast", 8, 90}, {"bcast", 512 * K, 132}, {"bcast", 2048 * K, 258}, {"bcast", 4096 * K, 426},
		{"reduce", 8, 90}, {"reduce", 512 * K, 132}, {"reduce", 2048 * K, 258},
		{"allreduce", 8, 90}, {"allreduce", 512 * K, 132}, {"allreduce", 2048 * K, 280}, {"allreduce", 4096 * K, 559},
		{"allgather", 8, 90}, {"allgather", 512 * K, 238}, {"allgather", 2048 * K, 839},
	}
	for _, tc := range cases {
		got, err := Bound(tc.op, net, hosts, tc.m)
		if err != nil {
			t.Fatal(err)
		}
		if ms := float64(got) / 1e6; math.Abs(ms-tc.want) > 0.6 {
			t.Errorf("%s %d B: bound %.1f ms, want %.0f", tc.op, tc.m, ms, tc.want)
		}
	}
}

func TestBoundShapes(t *testing.T) {
	net := labNetwork()
	ms := func(op string, hostOf []int, m int) float64 {
		d, err := Bound(op, net, hostOf, m)
		if err != nil {
			t.Fatal(err)
		}
		return float64(d) / 1e6
	}
	// All ranks on one host: nothing crosses a network.
	for _, op := range []string{"barrier", "bcast", "allreduce", "allgather", "scatter"} {
		if b := ms(op, []int{2, 2, 2}, 1<<20); b != 0 {
			t.Errorf("%s on one host: %v ms", op, b)
		}
	}
	// Scatter of 1 MiB blocks from us-west: farthest (eu-fra, 90 ms)
	// first; 4 remote blocks of 83.9 ms each at the root's 100 Mbit/s,
	// plus a same-region block: 5 x 83.9 + 0 = 419.4 ms.
	if b := ms("scatter", []int{0, 1, 2, 3, 4, 5}, 1<<20); math.Abs(b-419.4) > 0.2 {
		t.Errorf("scatter: %.1f ms", b)
	}
	// Gather at us-west of 1 MiB blocks: 5 blocks to receive, the
	// earliest at once: 5 x 83.9 = 419.4 ms.
	if b := ms("gather", []int{0, 1, 2, 3, 4, 5}, 1<<20); math.Abs(b-419.4) > 0.2 {
		t.Errorf("gather: %.1f ms", b)
	}
	// Alltoall with two ranks per host on two hosts 40 ms apart: each host
	// receives 2 blocks for each of its 2 ranks from the other host.
	if b := ms("alltoall", []int{0, 0, 2, 2}, 1<<20); math.Abs(b-(40+4*83.886)) > 0.2 {
		t.Errorf("alltoall: %.1f ms", b)
	}
	if _, err := Bound("pingpong", net, []int{0, 1}, 8); err == nil {
		t.Error("no error for an operation without a bound")
	}
	if _, err := Bound("bcast", net, []int{0, 9}, 8); err == nil {
		t.Error("no error for a rank on a host the network lacks")
	}
}

// A shared link between each two regions (spmdlab --wan-mbit) adds its
// own limit: at 100 Mbit/s per pair and per host, a 4 MiB bcast must push
// 4 MiB through the us-west/eu-fra link (90 + 335.5 ms: the same as the
// host limit), and an allgather of 2 MiB per rank must bring 8 MiB into
// each region over two links (40 + 335.5 ms, below the host limit of 839);
// at 20 Mbit/s the links decide.
func TestBoundTunnel(t *testing.T) {
	hosts := []int{0, 1, 2, 3, 4, 5}
	net := labNetwork()
	net.Regions = []string{"us", "us", "sg", "sg", "eu", "eu"}
	const M = 1 << 20
	at := func(op string, m int, mbit float64) float64 {
		n := net
		n.Tunnel = mbit * 1e6 / 8
		b, err := Bound(op, n, hosts, m)
		if err != nil {
			t.Fatal(err)
		}
		return float64(b) / 1e6
	}
	cases := []struct {
		op   string
		m    int
		mbit float64
		want float64 // ms
	}{
		{"bcast", 4 * M, 100, 90 + 335.5},
		{"allgather", 2 * M, 100, 839},
		{"bcast", 4 * M, 20, 90 + 1677.7},
		{"reduce", 4 * M, 20, 90 + 1677.7},
		{"allreduce", 4 * M, 20, 70 + 838.9},  // eu gets its 4 MiB over two links, the nearer 70 ms away
		{"allgather", 2 * M, 20, 70 + 1677.7}, // eu: 8 MiB over two links, the nearer 70 ms away
		{"gather", 1 * M, 20, 40 + 838.9},     // us: 4 MiB over two links
		{"scatter", 1 * M, 20, 90 + 838.9},    // to eu, 90 ms away
		{"alltoall", 1 * M, 20, 70 + 1677.7},  // eu: 2 ranks x 4 blocks, the nearer link 70 ms away
		{"barrier", 0, 20, 90},
	}
	for _, tc := range cases {
		if got := at(tc.op, tc.m, tc.mbit); math.Abs(got-tc.want) > 0.6 {
			t.Errorf("%s %d B, links of %g Mbit/s: %.1f ms, want %.1f", tc.op, tc.m, tc.mbit, got, tc.want)
		}
	}
}
