package launcher

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/spmd-go/spmd/internal/control"
	"github.com/spmd-go/spmd/internal/stats"
)

// Monitor collects what the ranks report while a job runs (with
// Config.StatsEvery they send their counters that often, and once more
// when they close) for spmdrun's --stats (a table at the end), --metrics
// (the Prometheus text format) and --dashboard (a live page).
type Monitor struct {
	mu      sync.Mutex
	started time.Time
	ranks   []RankStatus
}

// RankStatus is what the monitor knows of one rank.
type RankStatus struct {
	Rank   int            `json:"rank"`
	Host   string         `json:"host"`
	Region string         `json:"region"`
	State  string         `json:"state"` // starting, running, exited 0, failed: ...
	Stats  *control.Stats `json:"stats,omitempty"`
}

// NewMonitor returns an empty monitor; the job fills it.
func NewMonitor() *Monitor { return &Monitor{started: time.Now()} }

// begin records the job's ranks.
func (m *Monitor) begin(ranks []*rank, regions []string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ranks = make([]RankStatus, len(ranks))
	for i, r := range ranks {
		m.ranks[i] = RankStatus{Rank: r.id, Host: r.host, State: "starting"}
		if i < len(regions) {
			m.ranks[i].Region = regions[i]
		}
	}
}

func (m *Monitor) update(rank int, s *control.Stats) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rank < 0 || rank >= len(m.ranks) || s == nil {
		return
	}
	r := &m.ranks[rank]
	r.Stats = s
	if s.Region != "" {
		r.Region = s.Region // inferred regions are known to the ranks only
	}
	if r.State == "starting" {
		r.State = "running"
	}
}

func (m *Monitor) setState(rank int, state string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rank >= 0 && rank < len(m.ranks) {
		m.ranks[rank].State = state
	}
}

// Status returns a copy of every rank's status.
func (m *Monitor) Status() []RankStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.ranks)
}

// sentSplit returns what a rank sent within its region and to others.
func sentSplit(r RankStatus) (same, other int64) {
	if r.Stats == nil {
		return 0, 0
	}
	for region, n := range r.Stats.SentBytes {
		if region == r.Region {
			same += n
		} else {
			other += n
		}
	}
	return same, other
}

func mb(n int64) string { return strconv.FormatFloat(float64(n)/1e6, 'f', 2, 64) }

// WriteTable writes the --stats table: each rank's time in communication
// and computation, bytes sent within and across regions, messages and
// collective calls; then the same summed per host.
func (m *Monitor) WriteTable(w io.Writer) {
	ranks := m.Status()
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rank\thost\tregion\twall s\tcomm s\tcompute %\tMB to own region\tMB to others\tmessages\tcollectives\t")
	type hostSum struct {
		ranks             int
		wall, comm        float64
		same, other, msgs int64
		calls             int64
	}
	hosts := map[string]*hostSum{}
	var order []string
	for _, r := range ranks {
		h := hosts[r.Host]
		if h == nil {
			h = &hostSum{}
			hosts[r.Host] = h
			order = append(order, r.Host)
		}
		h.ranks++
		if r.Stats == nil {
			fmt.Fprintf(tw, "%d\t%s\t%s\t-\t-\t-\t-\t-\t-\t(no report: %s)\t\n", r.Rank, r.Host, dash(r.Region), r.State)
			continue
		}
		s := r.Stats
		same, other := sentSplit(r)
		var calls int64
		var names []string
		for _, op := range s.Collectives {
			calls += op.Calls
			names = append(names, fmt.Sprintf("%s %d", op.Name, op.Calls))
		}
		compute := 0.0
		if s.Wall > 0 {
			compute = 100 * (s.Wall - s.Comm) / s.Wall
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.2f\t%.2f\t%.0f\t%s\t%s\t%d\t%s\t\n", r.Rank, r.Host, dash(r.Region), s.Wall, s.Comm, compute, mb(same), mb(other), s.SentMsgs, joinOr(names, "none"))
		h.wall += s.Wall
		h.comm += s.Comm
		h.same += same
		h.other += other
		h.msgs += s.SentMsgs
		h.calls += calls
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "host\tranks\tcomm s\tcompute s\tMB to own region\tMB to others\tmessages\tcollective calls\t")
	for _, name := range order {
		h := hosts[name]
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%s\t%s\t%d\t%d\t\n", name, h.ranks, h.comm, h.wall-h.comm, mb(h.same), mb(h.other), h.msgs, h.calls)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func joinOr(s []string, none string) string {
	if len(s) == 0 {
		return none
	}
	out := s[0]
	for _, x := range s[1:] {
		out += ", " + x
	}
	return out
}

// RegionPairs returns the bytes sent from each region to each ("from/to").
func (m *Monitor) RegionPairs() map[string]int64 {
	return m.regionPairs(func(s *control.Stats) map[string]int64 { return s.SentBytes })
}

// regionPairs sums a per-destination-region counter over the ranks of
// each region.
func (m *Monitor) regionPairs(counter func(*control.Stats) map[string]int64) map[string]int64 {
	out := map[string]int64{}
	for _, r := range m.Status() {
		if r.Stats == nil {
			continue
		}
		for to, n := range counter(r.Stats) {
			out[dash(r.Region)+"/"+dash(to)] += n
		}
	}
	return out
}

// ---- Prometheus ----

var (
	descSent     = prometheus.NewDesc("spmd_sent_bytes_total", "Bytes a rank handed to the ranks of a region.", []string{"rank", "host", "region", "to_region"}, nil)
	descMsgs     = prometheus.NewDesc("spmd_sent_messages_total", "Messages a rank sent.", []string{"rank", "host", "region"}, nil)
	descWall     = prometheus.NewDesc("spmd_wall_seconds", "Seconds since the rank joined the job.", []string{"rank", "host", "region"}, nil)
	descComm     = prometheus.NewDesc("spmd_communication_seconds_total", "Seconds during which some goroutine of the rank waited for communication.", []string{"rank", "host", "region"}, nil)
	descCalls    = prometheus.NewDesc("spmd_collective_calls_total", "Collective calls, by operation.", []string{"rank", "op"}, nil)
	descLatency  = prometheus.NewDesc("spmd_collective_duration_seconds", "Latency of collective calls, by operation.", []string{"rank", "op"}, nil)
	descPeer     = prometheus.NewDesc("spmd_peer_sent_bytes_total", "Bytes a rank handed to another rank.", []string{"rank", "peer"}, nil)
	descPeerMsgs = prometheus.NewDesc("spmd_peer_sent_messages_total", "Messages a rank sent to another rank.", []string{"rank", "peer"}, nil)
	descPairMsgs = prometheus.NewDesc("spmd_region_pair_sent_messages_total", "Messages sent from the ranks of one region to those of another, summed over ranks.", []string{"from_region", "to_region"}, nil)
	descPair     = prometheus.NewDesc("spmd_region_pair_sent_bytes_total", "Bytes sent from the ranks of one region to those of another, summed over ranks.", []string{"from_region", "to_region"}, nil)
	descUp       = prometheus.NewDesc("spmd_rank_running", "1 while the rank runs, 0 once it has ended.", []string{"rank", "host", "region", "state"}, nil)
)

type collector struct{ m *Monitor }

func (c collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descSent, descMsgs, descWall, descComm, descCalls, descLatency, descUp, descPeer, descPeerMsgs, descPair, descPairMsgs} {
		ch <- d
	}
}

func (c collector) Collect(ch chan<- prometheus.Metric) {
	for desc, pairs := range map[*prometheus.Desc]map[string]int64{
		descPair:     c.m.RegionPairs(),
		descPairMsgs: c.m.regionPairs(func(s *control.Stats) map[string]int64 { return s.SentMsgsTo }),
	} {
		for pair, n := range pairs {
			from, to, _ := strings.Cut(pair, "/")
			ch <- prometheus.MustNewConstMetric(desc, prometheus.CounterValue, float64(n), from, to)
		}
	}
	for _, r := range c.m.Status() {
		rk := strconv.Itoa(r.Rank)
		running := 0.0
		if r.State == "running" || r.State == "starting" {
			running = 1
		}
		ch <- prometheus.MustNewConstMetric(descUp, prometheus.GaugeValue, running, rk, r.Host, r.Region, r.State)
		s := r.Stats
		if s == nil {
			continue
		}
		for to, n := range s.SentBytes {
			ch <- prometheus.MustNewConstMetric(descSent, prometheus.CounterValue, float64(n), rk, r.Host, r.Region, to)
		}
		ch <- prometheus.MustNewConstMetric(descMsgs, prometheus.CounterValue, float64(s.SentMsgs), rk, r.Host, r.Region)
		for peer, n := range s.PeerBytes {
			if peer != r.Rank && peer < len(s.PeerMsgs) {
				ch <- prometheus.MustNewConstMetric(descPeer, prometheus.CounterValue, float64(n), rk, strconv.Itoa(peer))
				ch <- prometheus.MustNewConstMetric(descPeerMsgs, prometheus.CounterValue, float64(s.PeerMsgs[peer]), rk, strconv.Itoa(peer))
			}
		}
		ch <- prometheus.MustNewConstMetric(descWall, prometheus.GaugeValue, s.Wall, rk, r.Host, r.Region)
		ch <- prometheus.MustNewConstMetric(descComm, prometheus.CounterValue, s.Comm, rk, r.Host, r.Region)
		for _, op := range s.Collectives {
			ch <- prometheus.MustNewConstMetric(descCalls, prometheus.CounterValue, float64(op.Calls), rk, op.Name)
			buckets := map[float64]uint64{}
			var cum uint64
			for i, b := range stats.Bounds {
				if i < len(op.Buckets) {
					cum += uint64(op.Buckets[i])
				}
				buckets[b] = cum
			}
			ch <- prometheus.MustNewConstHistogram(descLatency, uint64(op.Calls), op.Seconds, buckets, rk, op.Name)
		}
	}
}

// ---- HTTP ----

//go:embed dashboard.html
var dashboardHTML []byte

// Handler serves the dashboard at /, the status as JSON at /status.json
// and the metrics at /metrics.
func (m *Monitor) Handler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collector{m})
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/status.json", func(w http.ResponseWriter, _ *http.Request) {
		pairs := m.RegionPairs()
		keys := make([]string, 0, len(pairs))
		for k := range pairs {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		type pair struct {
			Pair  string `json:"pair"`
			Bytes int64  `json:"bytes"`
		}
		var ps []pair
		for _, k := range keys {
			ps = append(ps, pair{k, pairs[k]})
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(struct {
			Elapsed float64      `json:"elapsed"`
			Ranks   []RankStatus `json:"ranks"`
			Pairs   []pair       `json:"pairs"`
		}{time.Since(m.started).Seconds(), m.Status(), ps})
	})
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(dashboardHTML)
	})
	return mux
}

// Serve serves Handler on addr (a port alone means loopback) until the
// returned function is called; it returns the address it listens on.
func (m *Monitor) Serve(addr string) (string, func(), error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && host == "" {
		addr = net.JoinHostPort("127.0.0.1", port)
	} else if err != nil {
		if _, perr := strconv.Atoi(addr); perr == nil {
			addr = net.JoinHostPort("127.0.0.1", addr)
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}
