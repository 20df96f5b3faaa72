package comm

import (
	"os"
	"time"

	"github.com/spmd-go/spmd/internal/control"
	"github.com/spmd-go/spmd/internal/stats"
)

// Statistics for spmdrun's --stats, --metrics and --dashboard. When the
// launcher sets SPMD_STATS_EVERY (a duration), a rank sends a snapshot of
// its counters over its control socket that often, and a last one when
// it closes: its wall time since Init and how much of it some goroutine
// spent blocked in Wait (communication; the rest is computation), the
// bytes and messages it handed to each region, and its collective calls
// with their latencies (internal/stats).

// enterWait and exitWait count the goroutines blocked in Wait and add up
// the time during which at least one was: while a goroutine is inside,
// waitStart cannot change, so the one that brings the count to zero
// adds the right interval.
//
// The clock is read only while statistics are reported (w.timing): Wait
// is on the path of every blocking receive.
func (w *world) enterWait() {
	if w.waiting.Add(1) == 1 && w.timing.Load() {
		w.waitStart.Store(int64(time.Since(w.started)))
	}
}

func (w *world) exitWait() {
	if !w.timing.Load() {
		w.waiting.Add(-1)
		return
	}
	start := w.waitStart.Load()
	if w.waiting.Add(-1) == 0 && start >= 0 {
		w.commNanos.Add(int64(time.Since(w.started)) - start)
	}
}

// snapshot returns this rank's counters.
func (w *world) snapshot() *control.Stats {
	s := &control.Stats{
		Wall:       time.Since(w.started).Seconds(),
		Comm:       time.Duration(w.commNanos.Load()).Seconds(),
		SentBytes:  map[string]int64{},
		SentMsgsTo: map[string]int64{},
		PeerBytes:  make([]int64, w.size),
		PeerMsgs:   make([]int64, w.size),
	}
	if w.waiting.Load() > 0 && w.waitStart.Load() >= 0 { // a wait in progress counts too
		s.Comm += (time.Since(w.started) - time.Duration(w.waitStart.Load())).Seconds()
	}
	if w.rank < len(w.regions) {
		s.Region = w.regions[w.rank]
	}
	for r, p := range w.peers {
		if p == nil {
			continue
		}
		region := ""
		if r < len(w.regions) {
			region = w.regions[r]
		}
		var b, m int64
		for _, s := range p.conns() {
			b, m = b+s.sentBytes.Load(), m+s.sentMsgs.Load()
		}
		s.SentBytes[region] += b
		s.SentMsgsTo[region] += m
		s.SentMsgs += m
		s.PeerBytes[r], s.PeerMsgs[r] = b, m
	}
	s.Collectives = stats.Snapshot()
	return s
}

// startStats starts the periodic reports if the launcher asked for them.
func (w *world) startStats() {
	d, err := time.ParseDuration(os.Getenv("SPMD_STATS_EVERY"))
	if err != nil || d <= 0 || w.ctl == nil {
		return
	}
	stats.Enable()
	w.waitStart.Store(-1) // no wait began with the clock running yet
	w.timing.Store(true)
	w.statsStop = make(chan struct{})
	go func() {
		t := time.NewTicker(d)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.sendStats()
			case <-w.statsStop:
				return
			}
		}
	}()
}

// sendStats reports a snapshot to the launcher.
func (w *world) sendStats() {
	_ = w.ctl.Send(control.Msg{Type: control.TypeStats, Rank: w.rank, Stats: w.snapshot()})
}

// stopStats sends the last report (at Close).
func (w *world) stopStats() {
	if w.statsStop == nil {
		return
	}
	close(w.statsStop)
	w.sendStats()
}
