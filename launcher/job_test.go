package launcher

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spmd-go/spmd/internal/control"
)

// fakeJob is a job of np ranks with no processes: signals are recorded,
// and a signalled rank that has not ended is reported killed by it.
type fakeJob struct {
	j       *job
	mu      sync.Mutex
	signals map[int][]syscall.Signal
	log     strings.Builder
}

func newFakeJob(np int) *fakeJob {
	f := &fakeJob{signals: map[int][]syscall.Signal{}}
	cfg := &Config{NP: np, Grace: time.Hour}
	f.j = &job{cfg: cfg, events: make(chan event, 64), pretabled: true}
	f.j.logf = func(format string, args ...any) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.log.WriteString(strings.TrimSpace(fmt.Sprintf(format, args...)) + "\n")
	}
	for i := 0; i < np; i++ {
		r := &rank{id: i, host: "h"}
		id := i
		r.signal = func(sig syscall.Signal) {
			f.mu.Lock()
			f.signals[id] = append(f.signals[id], sig)
			f.mu.Unlock()
		}
		r.send = func(control.Msg) error { return nil }
		f.j.ranks = append(f.j.ranks, r)
	}
	return f
}

// waitSignalled waits until the loop has signalled rank id.
func (f *fakeJob) waitSignalled(t *testing.T, id int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		f.mu.Lock()
		n := len(f.signals[id])
		f.mu.Unlock()
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("rank %d was never signalled", id)
		}
		time.Sleep(time.Millisecond)
	}
}

// exited is a wait status of a plain exit with code.
func exited(code int) syscall.WaitStatus { return syscall.WaitStatus(code << 8) }

// killed is a wait status of a death by sig.
func killed(sig syscall.Signal) syscall.WaitStatus { return syscall.WaitStatus(sig) }

// TestExitStatusRanksFailingTogether drives the loop with exits whose
// reports reach it in a chosen order: a rank that had ended before the
// launcher signalled it failed on its own, however late its report
// comes, and the lowest such rank decides.
func TestExitStatusRanksFailingTogether(t *testing.T) {
	cases := []struct {
		name string
		// first fails and is seen first; second's end is stamped
		// before or after the launcher signals it.
		secondBefore bool
		want         int
	}{
		{"ended before the signal counts", true, 4},
		{"ended after the signal does not", false, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFakeJob(3)
			t0 := time.Now()
			done := make(chan int, 1)
			go func() { done <- f.j.run(context.Background()) }()
			f.j.events <- event{kind: evExit, rank: 0, status: exited(0), at: t0}
			// Rank 2 fails first as the loop sees it; rank 1 ended
			// with 4 either just before (its wait returned, its
			// report not yet read) or after the SIGTERM.
			f.j.events <- event{kind: evExit, rank: 2, status: exited(3), at: t0}
			// Let the loop signal rank 1 before its report arrives.
			f.waitSignalled(t, 1)
			at := time.Now()
			if c.secondBefore {
				at = t0
			}
			f.j.events <- event{kind: evExit, rank: 1, status: exited(4), at: at}
			select {
			case got := <-done:
				if got != c.want {
					t.Fatalf("exit status %d, want %d; log:\n%s", got, c.want, f.log.String())
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the loop did not end after every rank did")
			}
			if f.signals[0] != nil || f.signals[2] != nil {
				t.Errorf("signalled ranks that had ended: %v", f.signals)
			}
		})
	}
}

// TestExitStatusSignalledRankKilled: a rank killed by the launcher's
// SIGTERM does not count, whatever its status.
func TestExitStatusSignalledRankKilled(t *testing.T) {
	f := newFakeJob(2)
	done := make(chan int, 1)
	go func() { done <- f.j.run(context.Background()) }()
	f.j.events <- event{kind: evExit, rank: 1, status: exited(7), at: time.Now()}
	f.waitSignalled(t, 0)
	f.j.events <- event{kind: evExit, rank: 0, status: killed(syscall.SIGTERM), at: time.Now()}
	if got := <-done; got != 7 {
		t.Fatalf("exit status %d, want 7; log:\n%s", got, f.log.String())
	}
}
