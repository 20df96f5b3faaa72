package launcher

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/spmd-go/spmd/internal/control"
)

// job is the event loop shared by local and remote jobs: it collects the
// ranks' addresses and sends the table, turns endings, aborts, signals
// and the timeout into terminations, and decides the exit status. A rank
// is reached only through its signal and send functions, which act on a
// local process group or go through a host's proxy.
type job struct {
	cfg    *Config
	ranks  []*rank
	events chan event
	logf   func(format string, args ...any)
	// regions labels each rank's host; nil when no host has one.
	regions []string
	trace   func(format string, args ...any) // nil: none
	// pretabled: the ranks got the table with the job (remote jobs,
	// whose proxies bound the ranks' listeners in advance).
	pretabled bool
	shrinks   control.Shrinks
}

// label names a rank in messages: "3", or "3@host" when it is remote.
func (r *rank) label() string {
	if r.remote {
		return strconv.Itoa(r.id) + "@" + r.host
	}
	return strconv.Itoa(r.id)
}

// markTerminated notes that the launcher is about to signal r.
func (r *rank) markTerminated() {
	if !r.terminated {
		r.terminated = true
		r.signalledAt = time.Now()
	}
}

// table is the address table every rank gets once all have reported.
func (j *job) table(addrs []string) control.Msg {
	hosts := make([]string, len(j.ranks))
	local := make([]int, len(j.ranks))
	for i, r := range j.ranks {
		hosts[i] = r.host
		local[i] = r.localRank
	}
	return control.Msg{Type: control.TypeTable, Addrs: addrs, Hosts: hosts, Regions: j.regions, LocalRanks: local, RegionsAuto: j.cfg.RegionsAuto}
}

// run runs the loop until every rank has ended and returns the job's exit
// status.
func (j *job) run(ctx context.Context) int {
	var sigc chan os.Signal
	if j.cfg.HandleSignals {
		sigc = make(chan os.Signal, 4)
		signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sigc)
	}
	var timeout <-chan time.Time
	if j.cfg.Timeout > 0 {
		t := time.NewTimer(j.cfg.Timeout)
		defer t.Stop()
		timeout = t.C
	}

	addrs := make([]string, j.cfg.NP)
	reported := 0
	tableSent := j.pretabled
	running := j.cfg.NP
	var failedRank = -1 // the lowest rank that failed on its own
	var abortCode *int
	var special = -1 // status decided by the launcher (timeout, signal)
	terminating := false
	var killTimer <-chan time.Time
	var survived []int // ranks that failed while the others went on (ContinueOnFailure)
	succeeded := 0     // ranks that exited 0
	ended := func(i int) bool { return j.ranks[i].exited }
	mon := j.cfg.Monitor
	if mon != nil {
		mon.begin(j.ranks, j.regions)
	}
	answer := func(replies []control.Reply) {
		for _, rep := range replies {
			_ = j.ranks[rep.Rank].send(rep.Msg)
		}
	}
	interrupts := 0

	terminate := func(reason string) {
		if terminating {
			return
		}
		terminating = true
		live := 0
		for _, r := range j.ranks {
			if !r.exited {
				r.markTerminated()
				live++
				r.signal(syscall.SIGTERM)
			}
		}
		if live > 0 {
			j.logf("spmdrun: %s; terminating %d remaining rank(s)\n", reason, live)
		}
		killTimer = time.After(j.cfg.Grace)
	}
	// failJoin tells j.ranks waiting for the table that it will never come.
	failJoin := func(reason string) {
		for _, r := range j.ranks {
			if !r.exited {
				_ = r.send(control.Msg{Type: control.TypeError, Reason: reason})
			}
		}
	}

	for running > 0 {
		select {
		case ev := <-j.events:
			r := j.ranks[ev.rank]
			switch ev.kind {
			case evAddr:
				if j.pretabled && !r.terminated {
					// The rank ignored the table in its job: its spmd is
					// older than this launcher's.
					_ = r.send(control.Msg{Type: control.TypeError, Reason: "the program was built with an older spmd than spmdrun's; rebuild it"})
					j.logf("spmdrun: rank %s: the program was built with an older spmd than spmdrun's (it asked for the address table); rebuild it\n", r.label())
					if special < 0 {
						special = ExitLaunch
					}
					terminate("a rank cannot join")
					continue
				}
				if tableSent || addrs[ev.rank] != "" {
					continue
				}
				addrs[ev.rank] = ev.msg.Addr
				reported++
				if j.trace != nil {
					j.trace("rank %d reported its address (%d of %d)", ev.rank, reported, len(j.ranks))
				}
				if reported == j.cfg.NP {
					table := j.table(addrs)
					for _, x := range j.ranks {
						_ = x.send(table)
					}
					tableSent = true
				}
			case evAbort:
				if abortCode == nil && !r.terminated {
					code := ev.msg.Code
					abortCode = &code
					j.logf("spmdrun: rank %s (pid %d) called Abort(%d)\n", r.label(), r.pid, code)
					terminate(fmt.Sprintf("rank %d aborted the job", r.id))
				}
			case evShrink:
				answer(j.shrinks.Ask(ev.rank, ev.msg, ended))
			case evStats:
				if mon != nil {
					mon.update(ev.rank, ev.msg.Stats)
				}
			case evJoined:
				r.joined = true
			case evExit:
				running--
				if j.trace != nil {
					j.trace("rank %d ended", ev.rank)
				}
				r.exited = true
				if r.terminated && !ev.at.IsZero() && ev.at.Before(r.signalledAt) {
					// It had ended before the signal went out: its
					// end is its own (ranks failing together).
					r.terminated = false
				}
				r.status, r.why = describe(ev.status, ev.err)
				if ev.lost {
					r.status, r.why = ExitLost, ev.err.Error()
				}
				if !tableSent && addrs[r.id] == "" {
					failJoin(fmt.Sprintf("rank %d %s before joining the job", r.id, r.why))
				}
				if r.status == 0 {
					succeeded++
				}
				if mon != nil {
					switch {
					case r.status == 0:
						mon.setState(r.id, "exited 0")
					case r.terminated:
						mon.setState(r.id, "ended by spmdrun")
					default:
						mon.setState(r.id, "failed: "+r.why)
					}
				}
				answer(j.shrinks.Ended(ended))
				if r.status != 0 && !r.terminated && j.cfg.ContinueOnFailure && r.joined && !terminating {
					j.logf("spmdrun: rank %d (pid %d) on %s %s; the others go on (--on-failure continue)\n", r.id, r.pid, r.host, r.why)
					survived = append(survived, r.id)
					for _, x := range j.ranks {
						if !x.exited {
							_ = x.send(control.Msg{Type: control.TypeFailed, Rank: r.id, Reason: fmt.Sprintf("rank %d %s", r.id, r.why)})
						}
					}
					continue
				}
				if r.status != 0 && !r.terminated {
					j.logf("spmdrun: rank %d (pid %d) on %s %s\n", r.id, r.pid, r.host, r.why)
					if failedRank < 0 || r.id < failedRank {
						failedRank = r.id
					}
					terminate(fmt.Sprintf("rank %d failed", r.id))
				}
			}
		case s := <-sigc:
			interrupts++
			sig := s.(syscall.Signal)
			if interrupts == 1 {
				if special < 0 {
					special = 128 + int(sig)
				}
				j.logf("spmdrun: got %v; forwarding it to the ranks (again to kill them)\n", sig)
				for _, r := range j.ranks {
					if !r.exited {
						r.markTerminated()
						r.signal(sig)
					}
				}
			} else {
				j.logf("spmdrun: got %v again; killing the ranks\n", sig)
				for _, r := range j.ranks {
					r.signal(syscall.SIGKILL)
				}
			}
		case <-timeout:
			special = ExitTimeout
			j.logf("spmdrun: job timed out after %v\n", j.cfg.Timeout)
			terminate("timeout")
		case <-ctx.Done():
			if special < 0 {
				special = ExitLaunch
			}
			terminate(ctx.Err().Error())
			ctx = context.Background()
		case <-killTimer:
			for _, r := range j.ranks {
				if !r.exited {
					j.logf("spmdrun: rank %s (pid %d) still running %v after SIGTERM; killing it\n", r.label(), r.pid, j.cfg.Grace)
					r.signal(syscall.SIGKILL)
				}
			}
		}
	}
	if len(survived) > 0 && failedRank < 0 && abortCode == nil && special < 0 {
		if succeeded > 0 {
			j.logf("spmdrun: the job went on without rank(s) %v, which failed\n", survived)
			return 0
		}
		failedRank = survived[0]
	}
	switch {
	case abortCode != nil:
		return *abortCode
	case failedRank >= 0:
		return j.ranks[failedRank].status
	case special >= 0:
		return special
	}
	return 0
}
