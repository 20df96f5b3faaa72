// Package stats keeps the process's counts of collective calls, their
// times and a histogram of their latencies, for spmdrun's --stats,
// --metrics and --dashboard (the comm package reports them with its own
// counters to the launcher).
package stats

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds are the upper bounds, in seconds, of the latency histogram's
// buckets (a last one holds the rest): from loopback to an ocean.
var Bounds = []float64{1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10}

// recentN is how many latest latencies are kept per operation.
const recentN = 8

type op struct {
	calls   atomic.Int64
	nanos   atomic.Int64
	buckets [14]atomic.Int64 // len(Bounds)+1

	mu     sync.Mutex
	recent [recentN]float64
	next   int
}

var ops sync.Map // name -> *op

var enabled atomic.Bool

// Enable turns recording on (comm does when the launcher asks for
// statistics); until then Collective returns at once, so benchmarks and
// jobs that do not ask pay one atomic load per call.
func Enable() { enabled.Store(true) }

// Enabled reports whether recording is on.
func Enabled() bool { return enabled.Load() }

// Collective records one call of the named operation that took d.
func Collective(name string, d time.Duration) {
	v, ok := ops.Load(name)
	if !ok {
		v, _ = ops.LoadOrStore(name, new(op))
	}
	o := v.(*op)
	o.calls.Add(1)
	o.nanos.Add(int64(d))
	s := d.Seconds()
	i, _ := slices.BinarySearch(Bounds, s)
	o.buckets[i].Add(1)
	o.mu.Lock()
	o.recent[o.next%recentN] = s
	o.next++
	o.mu.Unlock()
}

// Op is one operation's counts.
type Op struct {
	Name    string    `json:"name"`
	Calls   int64     `json:"calls"`
	Seconds float64   `json:"seconds"`
	Buckets []int64   `json:"buckets"` // per bucket of Bounds, then the rest; not cumulative
	Recent  []float64 `json:"recent"`  // the latest latencies, oldest first
}

// Snapshot returns every operation called so far, by name.
func Snapshot() []Op {
	var out []Op
	ops.Range(func(k, v any) bool {
		o := v.(*op)
		s := Op{Name: k.(string), Calls: o.calls.Load(), Seconds: time.Duration(o.nanos.Load()).Seconds()}
		for i := range o.buckets {
			s.Buckets = append(s.Buckets, o.buckets[i].Load())
		}
		o.mu.Lock()
		for i := max(0, o.next-recentN); i < o.next; i++ {
			s.Recent = append(s.Recent, o.recent[i%recentN])
		}
		o.mu.Unlock()
		out = append(out, s)
		return true
	})
	slices.SortFunc(out, func(a, b Op) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	return out
}
