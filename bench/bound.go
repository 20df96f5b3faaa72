package bench

import (
	"fmt"
	"slices"
	"time"

	"github.com/spmd-go/spmd/topology"
)

// Network is what the lower bound of DESIGN.md ("Measuring a collective")
// needs: the one-way latency between every two hosts and what each host
// can receive per second (a VPS plan's cap, the same each way).
type Network struct {
	Hosts     []string          // names, for reports
	Regions   []string          // each host's region ("" if unlabelled)
	Latency   [][]time.Duration // one-way, [from][to]; 0 on the diagonal
	Bandwidth []float64         // bytes per second, per host
	// Tunnel is what each pair of regions can carry per second each way
	// when regions share one link (spmdlab --wan-mbit); 0: no such limit.
	Tunnel float64
}

// transfer is how long host h takes to receive n bytes.
func (n Network) transfer(h int, bytes float64) time.Duration {
	if n.Bandwidth[h] <= 0 {
		return 0
	}
	return time.Duration(bytes / n.Bandwidth[h] * float64(time.Second))
}

// Bound returns the lower bound on the time of op with m bytes (per rank
// for gather-like operations, the vector for reductions and bcast, as
// Call sizes them) for ranks placed on hosts by hostOf, with root 0. Ranks
// on one host share its bandwidth and reach each other at no cost.
//
//	barrier              the largest one-way latency between two ranks' hosts
//	bcast, reduce        max over hosts h of a(root,h) + m/B
//	allreduce            max(largest latency + m/B, 2(P-1)/P m/B), P hosts
//	reducescatter        largest latency + m/B (a host needs its block, reduced)
//	allgather, alltoall  per host: the release-time schedule of the blocks it must receive
//	gather               that schedule at the root's host
//	scatter              root sends farthest first: max over k of k m/B + a_k
func Bound(op string, net Network, hostOf []int, m int) (time.Duration, error) {
	b, err := hostBound(op, net, hostOf, m)
	if err != nil || net.Tunnel <= 0 {
		return b, err
	}
	return max(b, net.tunnelBound(op, hostOf, m)), nil
}

// tunnelBound is the limit of shared links between regions (Tunnel T):
// bytes that exist only outside a region must enter it over its R-1
// incoming links, no sooner than the nearest of them delivers its first
// byte. With n_s ranks in region s, p in all, and ρ the root's region:
//
//	bcast            every other region receives m:             m/T
//	reduce           ρ receives m from each other region:        m/T
//	allreduce        every region receives m:                    m/((R-1)T)
//	allgather        region s receives (p-n_s) m:                (p-n_s) m/((R-1)T)
//	alltoall         region s receives n_s (p-n_s) m:            n_s (p-n_s) m/((R-1)T)
//	gather, scatter  ρ receives (sends) (p-n_ρ) m:               (p-n_ρ) m/((R-1)T)
//
// each plus the smallest latency into the region (from the root's region
// for bcast and scatter; into ρ for reduce and gather).
func (n Network) tunnelBound(op string, hostOf []int, m int) time.Duration {
	region := func(h int) string {
		if h < len(n.Regions) {
			return n.Regions[h]
		}
		return ""
	}
	count := map[string]int{}
	for _, h := range hostOf {
		count[region(h)]++
	}
	R := len(count)
	if R < 2 {
		return 0
	}
	p, fm, T := len(hostOf), float64(m), n.Tunnel
	rho := region(hostOf[0])
	secs := func(bytes float64) time.Duration { return time.Duration(bytes / T * float64(time.Second)) }
	// nearest is the smallest latency from a host of region a to one of b.
	nearest := func(a, b string) time.Duration {
		d := time.Duration(-1)
		for _, i := range hostOf {
			for _, j := range hostOf {
				if region(i) == a && region(j) == b && (d < 0 || n.Latency[i][j] < d) {
					d = n.Latency[i][j]
				}
			}
		}
		return max(d, 0)
	}
	into := func(s string) time.Duration { // nearest latency into s from elsewhere
		d := time.Duration(-1)
		for a := range count {
			if a != s {
				if x := nearest(a, s); d < 0 || x < d {
					d = x
				}
			}
		}
		return max(d, 0)
	}
	var b time.Duration
	for s, ns := range count {
		var t time.Duration
		switch op {
		case "bcast":
			if s != rho {
				t = nearest(rho, s) + secs(fm)
			}
		case "reduce":
			if s != rho {
				t = nearest(s, rho) + secs(fm)
			}
		case "allreduce":
			t = into(s) + secs(fm/float64(R-1))
		case "allgather":
			t = into(s) + secs(float64(p-ns)*fm/float64(R-1))
		case "alltoall":
			t = into(s) + secs(float64(ns*(p-ns))*fm/float64(R-1))
		case "gather":
			if s == rho {
				t = into(s) + secs(float64(p-ns)*fm/float64(R-1))
			}
		case "scatter":
			if s != rho {
				t = nearest(rho, s) + secs(float64(p-count[rho])*fm/float64(R-1))
			}
		}
		b = max(b, t)
	}
	return b
}

func hostBound(op string, net Network, hostOf []int, m int) (time.Duration, error) {
	if len(hostOf) == 0 {
		return 0, fmt.Errorf("bench: no ranks")
	}
	for _, h := range hostOf {
		if h < 0 || h >= len(net.Latency) || h >= len(net.Bandwidth) {
			return 0, fmt.Errorf("bench: rank on host %d, but the network has %d hosts", h, len(net.Latency))
		}
	}
	var used []int // hosts with ranks
	perHost := map[int]int{}
	for _, h := range hostOf {
		if perHost[h] == 0 {
			used = append(used, h)
		}
		perHost[h]++
	}
	root := hostOf[0]
	fm := float64(m)
	var maxLat time.Duration
	for _, i := range used {
		for _, h := range used {
			maxLat = max(maxLat, net.Latency[i][h])
		}
	}
	// latencyPlusOne is max over other hosts h of a(from,h) + m/B_h.
	fromRoot := func() time.Duration {
		var b time.Duration
		for _, h := range used {
			if h != root {
				b = max(b, net.Latency[root][h]+net.transfer(h, fm))
			}
		}
		return b
	}
	switch op {
	case "barrier":
		return maxLat, nil
	case "bcast":
		return fromRoot(), nil
	case "reduce":
		var b time.Duration
		for _, h := range used {
			if h != root {
				b = max(b, net.Latency[h][root]+net.transfer(root, fm))
			}
		}
		return b, nil
	case "allreduce", "reducescatter":
		if len(used) == 1 {
			return 0, nil
		}
		var b time.Duration
		for _, h := range used {
			b = max(b, maxLat+net.transfer(h, fm))
			if op == "allreduce" {
				P := float64(len(used))
				b = max(b, net.transfer(h, 2*(P-1)/P*fm))
			}
		}
		return b, nil
	case "allgather", "alltoall", "gather":
		var b time.Duration
		for _, h := range used {
			if op == "gather" && h != root {
				continue
			}
			var jobs []topology.Release
			for _, src := range hostOf {
				if src == h {
					continue
				}
				bytes := fm // one block per remote rank
				if op == "alltoall" {
					bytes = fm * float64(perHost[h])
				}
				jobs = append(jobs, topology.Release{At: net.Latency[src][h], Bytes: bytes})
			}
			// it receives at most its bandwidth, and no byte before
			// its release
			b = max(b, topology.Schedule(jobs, func(bytes float64) time.Duration { return net.transfer(h, bytes) }))
		}
		return b, nil
	case "scatter":
		var lat []time.Duration
		for _, h := range hostOf[1:] {
			if h != root {
				lat = append(lat, net.Latency[root][h])
			}
		}
		slices.SortFunc(lat, func(a, b time.Duration) int { return int(b - a) }) // farthest first
		var b time.Duration
		for k, a := range lat {
			b = max(b, time.Duration(k+1)*net.transfer(root, fm)+a)
		}
		return b, nil
	}
	return 0, fmt.Errorf("bench: no lower bound for %q", op)
}
