package bench

import (
	"cmp"
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

// Layout is where a communicator's ranks run: hosts by the launcher's rank
// table (ranks with no host name share one host), each host's region and
// first rank.
type Layout struct {
	HostOf  []int    // rank -> host index
	Names   []string // host names
	Regions []string // host regions ("" if unlabelled)
	First   []int    // host -> its lowest rank
}

// LayoutOf reads c's rank table.
func LayoutOf(c *comm.Comm) Layout {
	var l Layout
	idx := map[string]int{}
	for r := 0; r < c.Size(); r++ {
		in := c.Info(r)
		h, ok := idx[in.Host]
		if !ok {
			h = len(l.Names)
			idx[in.Host] = h
			name := in.Host
			if name == "" {
				name = "localhost"
			}
			l.Names = append(l.Names, name)
			l.Regions = append(l.Regions, in.Region)
			l.First = append(l.First, r)
		}
		l.HostOf = append(l.HostOf, h)
	}
	return l
}

// Tags of the measurements, on a Dup of the caller's communicator.
const (
	tagPing = 1
	tagBulk = 2
	tagGo   = 3
)

// forEachPair runs f for every pair (a, b) of hosts, a < b, one pair at a
// time: all ranks walk the same list, and only the two hosts' first
// ranks act, so measurements do not disturb each other.
func forEachPair(ctx context.Context, c *comm.Comm, l Layout, f func(a, b int, me int) error) error {
	n := len(l.Names)
	for a := 0; a < n; a++ {
		for b := a + 1; b < n; b++ {
			me := -1
			switch c.Rank() {
			case l.First[a]:
				me = a
			case l.First[b]:
				me = b
			}
			if me >= 0 {
				if err := f(a, b, me); err != nil {
					return err
				}
			}
			if err := collectives.Barrier(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// pingPong returns the least of samples round trips of 8 bytes between
// this rank and peer; initiator says which side starts.
func pingPong(ctx context.Context, c *comm.Comm, peer int, initiator bool, samples int) (time.Duration, []int64, error) {
	best := time.Duration(1<<63 - 1)
	var bestStamp []int64 // [t0, remote, t1] of the best sample, initiator only
	buf := []int64{0}
	for i := 0; i < samples; i++ {
		if initiator {
			t0 := time.Now()
			buf[0] = t0.UnixNano()
			if err := comm.SendSlice(ctx, c, buf, peer, tagPing); err != nil {
				return 0, nil, err
			}
			if _, err := comm.RecvSlice(ctx, c, buf, peer, tagPing); err != nil {
				return 0, nil, err
			}
			t1 := time.Now()
			if rtt := t1.Sub(t0); rtt < best {
				best, bestStamp = rtt, []int64{t0.UnixNano(), buf[0], t1.UnixNano()}
			}
		} else {
			if _, err := comm.RecvSlice(ctx, c, buf, peer, tagPing); err != nil {
				return 0, nil, err
			}
			buf[0] = time.Now().UnixNano()
			if err := comm.SendSlice(ctx, c, buf, peer, tagPing); err != nil {
				return 0, nil, err
			}
		}
	}
	return best, bestStamp, nil
}

// Measured is the network as spmdbench measured it, and the hosts' clocks.
type Measured struct {
	Network
	// ClockOffset is each host's clock minus the first host's, estimated
	// from the fastest of several round trips; ClockError bounds the
	// estimate (half that round trip).
	ClockOffset []time.Duration
	ClockError  []time.Duration
}

// Measure measures the one-way latency between every two hosts (half the
// least of samples round trips between their first ranks), each host's
// clock against the first host's, and, unless bandwidth is given (bytes
// per second for every host), what each host receives per second from
// its nearest host (bulkBytes twice, the faster). Every rank of c must
// call it; every rank gets the result.
func Measure(ctx context.Context, c *comm.Comm, l Layout, samples, bulkBytes int, bandwidth float64) (Measured, error) {
	d, err := c.Dup(ctx)
	if err != nil {
		return Measured{}, err
	}
	defer d.Close()
	n := len(l.Names)
	// Flattened n x n latency, then n offsets and n errors: each entry
	// is filled by one rank and summed over all.
	lat := make([]int64, n*n+2*n)
	err = forEachPair(ctx, d, l, func(a, b, me int) error {
		peer := l.First[b]
		if me == b {
			peer = l.First[a]
		}
		rtt, st, err := pingPong(ctx, d, peer, me == a, samples)
		if err != nil {
			return err
		}
		if me == a {
			lat[a*n+b] = int64(rtt / 2)
			lat[b*n+a] = int64(rtt / 2)
			if a == 0 { // the first host's rank stamps the clocks
				lat[n*n+b] = st[1] - (st[0]+st[2])/2
				lat[n*n+n+b] = int64(rtt / 2)
			}
		}
		return nil
	})
	if err != nil {
		return Measured{}, err
	}
	if err := collectives.Allreduce(ctx, d, lat, lat, collectives.Sum); err != nil {
		return Measured{}, err
	}
	m := Measured{Network: Network{Hosts: l.Names, Regions: l.Regions, Latency: make([][]time.Duration, n), Bandwidth: make([]float64, n)}}
	for i := 0; i < n; i++ {
		m.Latency[i] = make([]time.Duration, n)
		for h := 0; h < n; h++ {
			m.Latency[i][h] = time.Duration(lat[i*n+h])
		}
		m.ClockOffset = append(m.ClockOffset, time.Duration(lat[n*n+i]))
		m.ClockError = append(m.ClockError, time.Duration(lat[n*n+n+i]))
	}
	if bandwidth > 0 || n == 1 {
		for i := range m.Bandwidth {
			m.Bandwidth[i] = bandwidth
		}
		return m, nil
	}
	// Bandwidth: each host receives from its nearest host, one host at
	// a time.
	bw := make([]float64, n)
	buf := make([]byte, bulkBytes)
	one := []byte{1}
	for h := 0; h < n; h++ {
		from := -1
		for i := 0; i < n; i++ {
			if i != h && (from < 0 || m.Latency[i][h] < m.Latency[from][h]) {
				from = i
			}
		}
		rtt := 2 * m.Latency[from][h]
		switch d.Rank() {
		case l.First[h]:
			best := time.Duration(1<<63 - 1)
			for k := 0; k < 3; k++ { // the first warms the connection up
				t0 := time.Now()
				if err := d.Send(ctx, one, l.First[from], tagGo); err != nil {
					return m, err
				}
				if _, err := d.Recv(ctx, buf, l.First[from], tagBulk); err != nil {
					return m, err
				}
				if k > 0 {
					best = min(best, time.Since(t0)-rtt)
				}
			}
			bw[h] = float64(bulkBytes) / max(best, time.Microsecond).Seconds()
		case l.First[from]:
			for k := 0; k < 3; k++ {
				if _, err := d.Recv(ctx, one, l.First[h], tagGo); err != nil {
					return m, err
				}
				if err := d.Send(ctx, buf, l.First[h], tagBulk); err != nil {
					return m, err
				}
			}
		}
		if err := collectives.Barrier(ctx, d); err != nil {
			return m, err
		}
	}
	if err := collectives.Allreduce(ctx, d, bw, bw, collectives.Max); err != nil {
		return m, err
	}
	m.Bandwidth = bw
	return m, nil
}

// RegionPairs summarizes host latencies by region pair: the largest
// one-way latency between hosts of the two regions.
func (n Network) RegionPairs() map[[2]string]time.Duration {
	out := map[[2]string]time.Duration{}
	for i := range n.Latency {
		for h := range n.Latency[i] {
			if i == h {
				continue
			}
			k := [2]string{n.Regions[i], n.Regions[h]}
			if k[0] > k[1] {
				k[0], k[1] = k[1], k[0]
			}
			out[k] = max(out[k], n.Latency[i][h])
		}
	}
	return out
}

// sortedKeys returns a map's region pairs in order.
func sortedKeys(m map[[2]string]time.Duration) [][2]string {
	ks := slices.Collect(maps.Keys(m))
	slices.SortFunc(ks, func(a, b [2]string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), strings.Compare(a[1], b[1]))
	})
	return ks
}
