package bench

import (
	"fmt"
	"slices"
	"time"
)

// Network is what the lower bound of DESIGN.md ("Measuring a collective")
// needs: the one-way latency between every two hosts and what each host
// can receive per second (a VPS plan's cap, the same each way).
type Network struct {
	Hosts     []string          // names, for reports
	Regions   []string          // each host's region ("" if unlabelled)
	Latency   [][]time.Duration // one-way, [from][to]; 0 on the diagonal
	Bandwidth []float64         // bytes per second, per host
}

// transfer is how long host h takes to receive n bytes.
func (n Network) transfer(h int, bytes float64) time.Duration {
	if n.Bandwidth[h] <= 0 {
		return 0
	}
	return time.Duration(bytes / n.Bandwidth[h] * float64(time.Second))
}

// job is bytes a host must receive, which cannot start arriving before
// release.
type job struct {
	release time.Duration
	bytes   float64
}

// schedule returns the earliest time host h can have received every job:
// it receives at most its bandwidth, and no byte before its release, so
// the finish is at least, for every release time r, r plus the transfer
// time of every job released at r or later.
func (n Network) schedule(h int, jobs []job) time.Duration {
	slices.SortFunc(jobs, func(a, b job) int { return int(a.release - b.release) })
	var best time.Duration
	var tail float64
	for k := len(jobs) - 1; k >= 0; k-- {
		tail += jobs[k].bytes
		if k > 0 && jobs[k-1].release == jobs[k].release {
			continue
		}
		best = max(best, jobs[k].release+n.transfer(h, tail))
	}
	return best
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
			var jobs []job
			for _, src := range hostOf {
				if src == h {
					continue
				}
				bytes := fm // one block per remote rank
				if op == "alltoall" {
					bytes = fm * float64(perHost[h])
				}
				jobs = append(jobs, job{net.Latency[src][h], bytes})
			}
			b = max(b, net.schedule(h, jobs))
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
