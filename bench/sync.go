package bench

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

// Sync is the result of timing an operation with a synchronized start.
type Sync struct {
	Reps   []time.Duration // latest end over ranks minus the agreed start, per repetition
	Median time.Duration
	Min    time.Duration
	Max    time.Duration
	Lead   time.Duration // how far ahead the start was agreed
}

// Summarize fills Median, Min and Max from Reps.
func (s *Sync) Summarize() {
	if len(s.Reps) == 0 {
		return
	}
	sorted := slices.Clone(s.Reps)
	slices.Sort(sorted)
	s.Min, s.Max = sorted[0], sorted[len(sorted)-1]
	s.Median = Median(sorted)
}

// Median returns the median of ds (the mean of the middle two for an even
// count); ds need not be sorted.
func Median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	k := len(s) / 2
	if len(s)%2 == 1 {
		return s[k]
	}
	return (s[k-1] + s[k]) / 2
}

// SyncStart times op as DESIGN.md says to on a WAN: rank 0 picks an
// instant T a little in the future and broadcasts it, every rank sleeps
// until T by its own clock, runs op once, and the figure is the latest end
// over ranks minus T. It does that warmup times untimed, then reps times,
// on every rank. If T had already passed on some rank when it learnt of
// it, the repetition is run again with T twice as far ahead; lead is the
// first guess (0: 20 ms).
func SyncStart(ctx context.Context, c *comm.Comm, reps, warmup int, lead time.Duration, op func(context.Context) error) (Sync, error) {
	if lead <= 0 {
		lead = 20 * time.Millisecond
	}
	res := Sync{}
	for done, tries := 0, 0; done < reps+warmup; tries++ {
		if tries > 4*(reps+warmup)+20 {
			return res, fmt.Errorf("bench: could not agree on a start %v ahead", lead)
		}
		t := []int64{0}
		if c.Rank() == 0 {
			t[0] = time.Now().Add(lead).UnixNano()
		}
		if err := collectives.Bcast(ctx, c, t, 0); err != nil {
			return res, err
		}
		start := time.Unix(0, t[0])
		late := time.Since(start)
		SleepUntil(start)
		if err := op(ctx); err != nil {
			return res, err
		}
		// [latest end relative to T, latest lateness]
		v := []int64{int64(time.Since(start)), int64(late)}
		if err := collectives.Allreduce(ctx, c, v, v, collectives.Max); err != nil {
			return res, err
		}
		if v[1] > 0 {
			lead *= 2 // someone learnt of T after T: redo, further ahead
			continue
		}
		if done >= warmup {
			res.Reps = append(res.Reps, time.Duration(v[0]))
		}
		done++
	}
	res.Lead = lead
	res.Summarize()
	return res, nil
}

// SleepUntil returns at t or just after: it sleeps until 2 ms before
// (timers can wake up a millisecond late) and then polls the clock.
func SleepUntil(t time.Time) {
	if d := time.Until(t) - 2*time.Millisecond; d > 0 {
		time.Sleep(d)
	}
	for time.Now().Before(t) {
		runtime.Gosched()
	}
}
