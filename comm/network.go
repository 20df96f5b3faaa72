package comm

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/spmd-go/spmd/topology"
)

// tagWarmUp is the internal tag (collective context) of the warm-up
// transfer.
const tagWarmUp = -4

// tagRTTRow is the internal tag (world's collective context) of the rows
// of round trips each rank sends every other at Init.
const tagRTTRow = -5

// learnNetwork runs once the mesh is up in a launched job of several
// ranks. It sends this rank's handshake round trips to every other rank,
// so that all hold the same host-by-host matrix (RTT), and infers regions
// from it when asked to or when a multi-host job has no region labels.
// Only inference waits for the other ranks' rows (half a round trip
// across the widest ocean); otherwise Init returns at once and the first
// RTT call waits. It does not warm the connections between regions: the
// first collective that needs them warm does (Comm.WarmUp).
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
	if len(names) == 1 && !inferRegions {
		return nil
	}
	w.netDone = w.shareRTTs(c, len(names))
	if !inferRegions {
		return nil
	}
	if err := w.network(ctx); err != nil {
		return fmt.Errorf("comm: sharing round-trip times: %w", err)
	}
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
	return nil
}

// network waits for the round-trip matrix that learnNetwork started to
// share (at most once; later calls return the first's result).
func (w *world) network(ctx context.Context) error {
	if w.netDone == nil {
		return nil
	}
	w.netOnce.Do(func() { w.netErr = w.netDone(ctx) })
	return w.netErr
}

// shareRTTs sends this rank's smallest round trip to every host to every
// other rank and posts the receives of theirs; the function it returns
// waits for them and keeps, for each pair of hosts, the smallest round
// trip any of their ranks saw (a row that does not come, from a rank that
// failed, leaves its entries unmeasured).
func (w *world) shareRTTs(c *Comm, hosts int) func(context.Context) error {
	row := make([]byte, 8*hosts) // nanoseconds; 0: not measured
	for _, p := range w.peers {
		if p == nil || p.rtt <= 0 {
			continue
		}
		h := w.hostOf[p.rank]
		if v := binary.LittleEndian.Uint64(row[8*h:]); v == 0 || uint64(p.rtt) < v {
			binary.LittleEndian.PutUint64(row[8*h:], uint64(p.rtt))
		}
	}
	cc := c.Collective()
	rows := make([][]byte, w.size)
	var reqs []*Request
	for r := range w.size {
		if r == w.rank {
			rows[r] = row
			continue
		}
		rows[r] = make([]byte, len(row))
		reqs = append(reqs, cc.isend(row, r, tagRTTRow, false), cc.irecv(rows[r], r, tagRTTRow))
	}
	return func(ctx context.Context) error {
		var first error
		for _, rq := range reqs {
			if _, err := rq.Wait(ctx); err != nil && first == nil {
				first = err
			}
		}
		if ctx.Err() != nil {
			return first
		}
		m := make([][]time.Duration, hosts)
		for a := range m {
			m[a] = make([]time.Duration, hosts)
		}
		for r := range w.size {
			a := w.hostOf[r]
			for b := range hosts {
				d := time.Duration(binary.LittleEndian.Uint64(rows[r][8*b:]))
				if d > 0 && a != b && (m[a][b] == 0 || d < m[a][b]) {
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
		return first
	}
}

// warmKey is the attribute that records that a communicator warmed up.
type warmKey struct{}

// WarmUp sends Config.WarmUp bytes (SPMD_WARMUP) to the ranks of c in
// other regions in this rank's lane (the same index in their region,
// modulo the smaller region's size) and receives as many from each, in
// one round per other region (see below). It is a collective operation: every rank of c calls it, and only
// the first call on c (or its collective view) moves any data; on a
// communicator within one region it does nothing.
//
// Why: Linux's default congestion control, BBR, paces a connection at the
// bandwidth it has seen; a connection that has only carried small
// messages has seen almost none (every sample is application-limited), so
// it would pace even a 64 KiB message across an ocean at a few Mbit/s,
// for as long as the job lasts. One bulk transfer gives it a real
// estimate, which BBR keeps through later idle and small traffic. Package
// collectives calls WarmUp before the first call on a communicator that
// moves at least 2 KiB across regions, so a job that never does pays
// nothing (docs/algorithms.md, "Warm WAN connections"); a program whose
// first large transfers are point-to-point may call it itself.
func (c *Comm) WarmUp(ctx context.Context) error {
	if err := c.usable(); err != nil {
		return err
	}
	n := c.w.cfg.WarmUp
	if n <= 0 || c.warmed().Swap(true) {
		return nil
	}
	// Each rank's index in its region, and the regions' sizes.
	size := c.Size()
	regions := make([]string, size)
	index := make([]int, size)
	count := map[string]int{}
	for r := range size {
		regions[r] = c.Info(r).Region
		index[r] = count[regions[r]]
		count[regions[r]]++
	}
	if len(count) < 2 {
		return nil
	}
	// lanePeers: a and b in different regions with the same index (modulo
	// the smaller region): the pairs that carry the region-aware
	// algorithms' WAN traffic (leaders are index 0). Warming every pair at
	// once would leave each connection with its share of a link crowded
	// by all the others, which is all BBR would then remember.
	lanePeers := func(a, b int) bool {
		ra, rb := regions[a], regions[b]
		return ra != rb && (index[a]%count[rb] == index[b] || index[b]%count[ra] == index[a])
	}
	cc := c.Collective()
	// Bytes that do not compress, or Config.Compress would shrink the
	// warm-up to nothing.
	out := make([]byte, n)
	rng := rand.NewChaCha8([32]byte{byte(c.rank)})
	rng.Read(out)
	// In R-1 rounds, round i from each region to the region i after it
	// (in order of first rank): every host then sends to one region and
	// hears from one at a time, so that each connection learns the whole
	// link rather than its share of a link it shares with the others.
	order := map[string]int{}
	for _, g := range regions {
		if _, ok := order[g]; !ok {
			order[g] = len(order)
		}
	}
	R := len(order)
	for i := 1; i < R; i++ {
		var reqs []*Request
		for r := range size {
			if !lanePeers(c.rank, r) {
				continue
			}
			d := (order[regions[r]] - order[regions[c.rank]] + R) % R
			// Each of the pair's streams learns its share of the path.
			s := c.Streams(r)
			part := out[:(int64(len(out))+int64(s)-1)/int64(s)]
			for k := range s {
				if d == i {
					reqs = append(reqs, cc.Stream(k).isend(part, r, tagWarmUp, false))
				}
				if d == R-i {
					reqs = append(reqs, cc.irecv(make([]byte, len(part)), r, tagWarmUp))
				}
			}
		}
		if err := WaitAll(ctx, reqs...); err != nil {
			return fmt.Errorf("comm: rank %d: warming the connections between regions: %w", c.rank, err)
		}
	}
	return nil
}

// WarmedUp reports whether WarmUp has been called on c (or its
// collective view), by the program or by package collectives.
func (c *Comm) WarmedUp() bool { return c.warmed().Load() }

// warmed is c's flag that WarmUp has been called (shared with its
// collective view).
func (c *Comm) warmed() *atomic.Bool {
	return c.Attr(warmKey{}, func() any { return new(atomic.Bool) }).(*atomic.Bool)
}

// RTT returns the round-trip time between the hosts of c's ranks i and j
// as measured when the mesh connected (the smallest over the ranks of the
// two hosts; every rank sees the same value), or 0 when they share a host
// or it was not measured (an in-process or single-host job). The first
// call may wait for the other ranks' measurements, which they sent at
// Init.
func (c *Comm) RTT(i, j int) time.Duration {
	c.checkRank(i, "RTT")
	c.checkRank(j, "RTT")
	w := c.w
	_ = w.network(context.Background())
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
