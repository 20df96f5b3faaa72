package comm

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"time"

	"github.com/spmd-go/spmd/topology"
)

// tagWarmUp is the internal tag (collective context) of the warm-up
// transfer.
const tagWarmUp = -4

// learnNetwork runs once the mesh is up in a launched job of several
// ranks. It shares every rank's handshake round trips so that all ranks
// hold the same host-by-host matrix (RTT), infers regions from it when
// asked to or when a multi-host job has no region labels, and warms the
// connections between regions (see warmUp).
func (w *world) learnNetwork(ctx context.Context, c *Comm, inferRegions bool) error {
	if len(w.hosts) != w.size {
		return nil
	}
	var names []string
	w.hostOf = make([]int, w.size)
	for r, h := range w.hosts {
		i := slices.Index(names, h)
		if i < 0 {
			i = len(names)
			names = append(names, h)
		}
		w.hostOf[r] = i
	}
	unlabelled := !slices.ContainsFunc(w.regions, func(s string) bool { return s != "" })
	inferRegions = inferRegions || (unlabelled && len(names) > 1)
	if len(names) > 1 || inferRegions {
		if err := w.shareRTTs(ctx, c, len(names)); err != nil {
			return fmt.Errorf("comm: sharing round-trip times: %w", err)
		}
	}
	if inferRegions && w.hostRTT != nil {
		cl := topology.ClusterByRTT(w.hostRTT)
		labels := make([]string, cl.Regions())
		for g := range labels {
			labels[g] = "auto" + strconv.Itoa(g)
		}
		w.regions = make([]string, w.size)
		for r := range w.regions {
			w.regions[r] = labels[cl.Group[w.hostOf[r]]]
		}
		if w.rank == 0 {
			fmt.Fprintf(os.Stderr, "spmd: regions inferred from round-trip times: %s\n", cl.Describe(labels, names))
		}
	}
	return w.warmUp(ctx, c)
}

// shareRTTs gathers each rank's smallest round trip to every host and
// keeps, for each pair of hosts, the smallest any of their ranks saw.
func (w *world) shareRTTs(ctx context.Context, c *Comm, hosts int) error {
	row := make([]int64, hosts) // nanoseconds; 0: not measured
	for _, p := range w.peers {
		if p == nil || p.rtt <= 0 {
			continue
		}
		h := w.hostOf[p.rank]
		if row[h] == 0 || int64(p.rtt) < row[h] {
			row[h] = int64(p.rtt)
		}
	}
	all, err := c.Collective().allgather64(ctx, row)
	if err != nil {
		return err
	}
	m := make([][]time.Duration, hosts)
	for a := range m {
		m[a] = make([]time.Duration, hosts)
	}
	for r := range w.size {
		a := w.hostOf[r]
		for b, v := range all[r*hosts : (r+1)*hosts] {
			if d := time.Duration(v); d > 0 && a != b && (m[a][b] == 0 || d < m[a][b]) {
				m[a][b] = d
			}
		}
	}
	for a := range m { // symmetric: the smaller of the two directions
		for b := range a {
			x, y := m[a][b], m[b][a]
			if x == 0 || (y != 0 && y < x) {
				x = y
			}
			m[a][b], m[b][a] = x, x
		}
	}
	w.hostRTT = m
	return nil
}

// warmUp sends Config.WarmUp bytes to the ranks of other regions in its
// lane (the same index in their region, modulo the smaller region's size)
// and receives as many from each, all at once. Linux's default congestion
// control, BBR, paces a connection at the bandwidth it has seen; a
// connection that has only carried small messages has seen almost none
// (every sample is application-limited), so it would pace even a 64 KiB
// message across an ocean at a few Mbit/s, for as long as the job lasts.
// One bulk transfer at the start gives it a real estimate, which BBR keeps
// through later idle and small traffic. The cost is a few round trips at
// Init (docs/algorithms.md, "Warm WAN connections").
func (w *world) warmUp(ctx context.Context, c *Comm) error {
	n := w.cfg.WarmUp
	if n <= 0 || w.regions == nil {
		return nil
	}
	// Each rank's index in its region, and the regions' sizes.
	index := make([]int, w.size)
	size := map[string]int{}
	for r, reg := range w.regions {
		index[r] = size[reg]
		size[reg]++
	}
	// lanePeers: a and b in different regions with the same index (modulo
	// the smaller region): the pairs that carry the region-aware
	// algorithms' WAN traffic (leaders are index 0). Warming every pair at
	// once would leave each connection with its share of a link crowded
	// by all the others, which is all BBR would then remember.
	lanePeers := func(a, b int) bool {
		ra, rb := w.regions[a], w.regions[b]
		return ra != rb && (index[a]%size[rb] == index[b] || index[b]%size[ra] == index[a])
	}
	cc := c.Collective()
	out := make([]byte, n)
	var reqs []*Request
	for r := range w.regions {
		if lanePeers(w.rank, r) {
			reqs = append(reqs, cc.isend(out, r, tagWarmUp, false), cc.irecv(make([]byte, n), r, tagWarmUp))
		}
	}
	if err := WaitAll(ctx, reqs...); err != nil {
		return fmt.Errorf("comm: warming the connections between regions: %w", err)
	}
	return nil
}

// RTT returns the round-trip time between the hosts of c's ranks i and j
// as measured when the mesh connected (the smallest over the ranks of the
// two hosts; every rank sees the same value), or 0 when they share a host
// or it was not measured (an in-process or single-host job).
func (c *Comm) RTT(i, j int) time.Duration {
	c.checkRank(i, "RTT")
	c.checkRank(j, "RTT")
	w := c.w
	if w.hostRTT == nil {
		return 0
	}
	return w.hostRTT[w.hostOf[c.group[i]]][w.hostOf[c.group[j]]]
}

// warmUpFromEnv reads SPMD_WARMUP (bytes; 0 turns the warm-up off).
func warmUpFromEnv(cfg *Config) error {
	v, ok := os.LookupEnv("SPMD_WARMUP")
	if !ok {
		return nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return fmt.Errorf("comm: SPMD_WARMUP=%q: want a number of bytes (0 turns the warm-up off)", v)
	}
	cfg.WarmUp = n
	return nil
}
