package launcher

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spmd-go/spmd/internal/control"
)

// Config describes a local job.
type Config struct {
	NP      int      // number of ranks
	Program string   // executable path, or a Go package directory (built first)
	Args    []string // arguments of every rank
	// Env holds NAME=value entries added to every rank's environment (-x).
	Env       []string
	TagOutput bool          // prefix each output line with "[rank] "
	Timeout   time.Duration // 0: none
	// Grace is how long a rank has between SIGTERM and SIGKILL.
	Grace time.Duration
	// ListenOn is the address ranks listen on for the mesh.
	ListenOn string

	Stdin          io.Reader // rank 0's standard input; nil: /dev/null
	Stdout, Stderr io.Writer // nil: os.Stdout, os.Stderr
	// Log receives the launcher's own messages; nil: Stderr.
	Log io.Writer
	// HandleSignals makes Run catch SIGINT and SIGTERM: the first is
	// forwarded to every rank, the second kills them.
	HandleSignals bool
}

// DefaultGrace is the default time between SIGTERM and SIGKILL.
const DefaultGrace = 5 * time.Second

// Exit codes the launcher itself decides.
const (
	ExitTimeout = 124 // the job ran past Config.Timeout
	ExitLaunch  = 1   // the job could not start
)

func (c *Config) validate() error {
	if c.NP < 1 {
		return fmt.Errorf("launcher: -np %d: need at least one rank", c.NP)
	}
	if c.Program == "" {
		return errors.New("launcher: no program given")
	}
	for _, e := range c.Env {
		if i := strings.IndexByte(e, '='); i <= 0 {
			return fmt.Errorf("launcher: environment entry %q is not NAME=value", e)
		}
	}
	if c.Grace <= 0 {
		c.Grace = DefaultGrace
	}
	if c.ListenOn == "" {
		c.ListenOn = "127.0.0.1"
	}
	if c.Stdout == nil {
		c.Stdout = os.Stdout
	}
	if c.Stderr == nil {
		c.Stderr = os.Stderr
	}
	if c.Log == nil {
		c.Log = c.Stderr
	}
	return nil
}

// rank is one started process.
type rank struct {
	id      int
	cmd     *exec.Cmd
	ctl     *control.Conn
	pid     int
	outDone sync.WaitGroup

	// set by the event loop
	exited     bool
	status     int    // exit code the rank contributes (128+sig for signals)
	why        string // human description of how it ended
	terminated bool   // the launcher signalled it before it ended
}

type event struct {
	kind   int // evExit, evAddr, evAbort
	rank   int
	status syscall.WaitStatus
	err    error
	msg    control.Msg
}

const (
	evExit = iota
	evAddr
	evAbort
)

// Run runs a local job to its end and returns its exit status. The error
// is non-nil only when the job could not be started at all (with status
// ExitLaunch); how ranks ended is reported on cfg.Log and in the status.
func Run(ctx context.Context, cfg Config) (int, error) {
	if err := cfg.validate(); err != nil {
		return ExitLaunch, err
	}
	prog := cfg.Program
	if IsPackageDir(prog) {
		tmp, err := os.MkdirTemp("", "spmdrun-build-")
		if err != nil {
			return ExitLaunch, err
		}
		defer os.RemoveAll(tmp)
		if prog, err = Build(ctx, prog, tmp); err != nil {
			return ExitLaunch, err
		}
	} else if !strings.ContainsRune(prog, '/') {
		p, err := exec.LookPath(prog)
		if err != nil {
			return ExitLaunch, fmt.Errorf("launcher: program %q: %w", prog, err)
		}
		prog = p
	} else if _, err := os.Stat(prog); err != nil {
		return ExitLaunch, fmt.Errorf("launcher: program %q: %w", prog, err)
	}
	if abs, err := filepath.Abs(prog); err == nil {
		prog = abs
	}

	var jobID [16]byte
	secret := make([]byte, 32)
	if _, err := rand.Read(jobID[:]); err != nil {
		return ExitLaunch, err
	}
	if _, err := rand.Read(secret); err != nil {
		return ExitLaunch, err
	}

	events := make(chan event, 4*cfg.NP+8)
	stop := make(chan struct{}) // closed when Run returns: event senders give up
	defer close(stop)
	stdout := &lineWriter{w: cfg.Stdout}
	stderr := &lineWriter{w: cfg.Stderr}
	logw := stderr // the launcher's messages never split a rank's line
	if cfg.Log != cfg.Stderr {
		logw = &lineWriter{w: cfg.Log}
	}
	logf := func(format string, args ...any) {
		logw.writeLine([]byte(fmt.Sprintf(format, args...)))
	}
	ranks := make([]*rank, 0, cfg.NP)
	hostname, _ := os.Hostname()

	killAll := func(sig syscall.Signal) {
		for _, r := range ranks {
			_ = syscall.Kill(-r.pid, sig)
		}
	}
	for i := 0; i < cfg.NP; i++ {
		r, err := startRank(i, prog, &cfg, jobID, secret, hostname, stdout, stderr, events, stop)
		if err != nil {
			killAll(syscall.SIGKILL)
			for _, r := range ranks {
				_ = r.cmd.Wait()
			}
			return ExitLaunch, err
		}
		ranks = append(ranks, r)
	}

	var sigc chan os.Signal
	if cfg.HandleSignals {
		sigc = make(chan os.Signal, 4)
		signal.Notify(sigc, syscall.SIGINT, syscall.SIGTERM)
		defer signal.Stop(sigc)
	}
	var timeout <-chan time.Time
	if cfg.Timeout > 0 {
		t := time.NewTimer(cfg.Timeout)
		defer t.Stop()
		timeout = t.C
	}

	addrs := make([]string, cfg.NP)
	reported := 0
	tableSent := false
	running := cfg.NP
	var failedRank = -1 // the first rank that failed on its own
	var abortCode *int
	var special = -1 // status decided by the launcher (timeout, signal)
	terminating := false
	var killTimer <-chan time.Time
	interrupts := 0

	terminate := func(reason string) {
		if terminating {
			return
		}
		terminating = true
		live := 0
		for _, r := range ranks {
			if !r.exited {
				r.terminated = true
				live++
				_ = syscall.Kill(-r.pid, syscall.SIGTERM)
			}
		}
		if live > 0 {
			logf("spmdrun: %s; terminating %d remaining rank(s)\n", reason, live)
		}
		killTimer = time.After(cfg.Grace)
	}
	// failJoin tells ranks waiting for the table that it will never come.
	failJoin := func(reason string) {
		for _, r := range ranks {
			if !r.exited {
				_ = r.ctl.Send(control.Msg{Type: control.TypeError, Reason: reason})
			}
		}
	}

	for running > 0 {
		select {
		case ev := <-events:
			r := ranks[ev.rank]
			switch ev.kind {
			case evAddr:
				if tableSent || addrs[ev.rank] != "" {
					continue
				}
				addrs[ev.rank] = ev.msg.Addr
				reported++
				if reported == cfg.NP {
					hosts := make([]string, cfg.NP)
					for i := range hosts {
						hosts[i] = hostname
					}
					for _, x := range ranks {
						_ = x.ctl.Send(control.Msg{Type: control.TypeTable, Addrs: addrs, Hosts: hosts})
					}
					tableSent = true
				}
			case evAbort:
				if abortCode == nil && !r.terminated {
					code := ev.msg.Code
					abortCode = &code
					logf("spmdrun: rank %d (pid %d) called Abort(%d)\n", r.id, r.pid, code)
					terminate(fmt.Sprintf("rank %d aborted the job", r.id))
				}
			case evExit:
				running--
				r.exited = true
				r.status, r.why = describe(ev.status, ev.err)
				if !tableSent && addrs[r.id] == "" {
					failJoin(fmt.Sprintf("rank %d %s before joining the job", r.id, r.why))
				}
				if r.status != 0 && !r.terminated {
					logf("spmdrun: rank %d (pid %d) on %s %s\n", r.id, r.pid, hostname, r.why)
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
				logf("spmdrun: got %v; forwarding it to the ranks (again to kill them)\n", sig)
				for _, r := range ranks {
					if !r.exited {
						r.terminated = true
						_ = syscall.Kill(-r.pid, sig)
					}
				}
			} else {
				logf("spmdrun: got %v again; killing the ranks\n", sig)
				killAll(syscall.SIGKILL)
			}
		case <-timeout:
			special = ExitTimeout
			logf("spmdrun: job timed out after %v\n", cfg.Timeout)
			terminate("timeout")
		case <-ctx.Done():
			if special < 0 {
				special = ExitLaunch
			}
			terminate(ctx.Err().Error())
			ctx = context.Background()
		case <-killTimer:
			for _, r := range ranks {
				if !r.exited {
					logf("spmdrun: rank %d (pid %d) still running %v after SIGTERM; killing it\n", r.id, r.pid, cfg.Grace)
					_ = syscall.Kill(-r.pid, syscall.SIGKILL)
				}
			}
		}
	}
	// Every rank has exited: take down anything they left in their groups
	// and wait (briefly) until the kernel has removed it, then let the
	// output drain.
	killAll(syscall.SIGKILL)
	pgids := make([]int, len(ranks))
	for i, r := range ranks {
		pgids[i] = r.pid
	}
	waitGroupsGone(pgids, time.Second)
	drained := make(chan struct{})
	go func() {
		for _, r := range ranks {
			r.outDone.Wait()
		}
		close(drained)
	}()
	select {
	case <-drained:
	case <-time.After(5 * time.Second):
		logf("spmdrun: output of the ranks did not close; some of it may be missing\n")
	}
	for _, r := range ranks {
		r.ctl.Close()
	}

	switch {
	case abortCode != nil:
		return *abortCode, nil
	case failedRank >= 0:
		return ranks[failedRank].status, nil
	case special >= 0:
		return special, nil
	}
	return 0, nil
}

// describe turns a wait status into the rank's exit code and a phrase.
func describe(ws syscall.WaitStatus, err error) (int, string) {
	switch {
	case ws.Signaled():
		return 128 + int(ws.Signal()), fmt.Sprintf("was killed by signal %d (%v)", int(ws.Signal()), ws.Signal())
	case ws.Exited() && ws.ExitStatus() != 0:
		return ws.ExitStatus(), fmt.Sprintf("exited with status %d", ws.ExitStatus())
	case ws.Exited():
		return 0, "exited normally"
	}
	if err != nil {
		return ExitLaunch, fmt.Sprintf("could not be waited for: %v", err)
	}
	return ExitLaunch, "ended in an unknown way"
}

func startRank(id int, prog string, cfg *Config, jobID [16]byte, secret []byte, hostname string, stdout, stderr *lineWriter, events chan<- event, stop <-chan struct{}) (*rank, error) {
	post := func(ev event) bool {
		select {
		case events <- ev:
			return true
		case <-stop:
			return false
		}
	}
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("launcher: control socket for rank %d: %w", id, err)
	}
	mine := os.NewFile(uintptr(fds[0]), "spmd-control")
	theirs := os.NewFile(uintptr(fds[1]), "spmd-control")
	conn, err := net.FileConn(mine)
	mine.Close()
	if err != nil {
		theirs.Close()
		return nil, err
	}
	cmd := exec.Command(prog, cfg.Args...)
	cmd.Env = append(os.Environ(), cfg.Env...)
	cmd.Env = append(cmd.Env,
		control.EnvFD+"=3",
		control.EnvRank+"="+strconv.Itoa(id),
		control.EnvSize+"="+strconv.Itoa(cfg.NP),
		control.EnvLocalRank+"="+strconv.Itoa(id),
		control.EnvLocalSize+"="+strconv.Itoa(cfg.NP),
	)
	if !hasEnv(cmd.Env, "GOMAXPROCS") {
		// Share the cores among the host's ranks, as MPI binds ranks to
		// cores: more Go threads than that only fight over them.
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(max(1, runtime.NumCPU()/cfg.NP)))
	}
	cmd.ExtraFiles = []*os.File{theirs}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if id == 0 && cfg.Stdin != nil {
		cmd.Stdin = cfg.Stdin
	}
	prefix := ""
	if cfg.TagOutput {
		prefix = "[" + strconv.Itoa(id) + "] "
	}
	r := &rank{id: id, cmd: cmd, ctl: control.NewConn(conn)}
	outR, outW, err := os.Pipe()
	if err != nil {
		theirs.Close()
		conn.Close()
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		theirs.Close()
		conn.Close()
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	theirs.Close()
	outW.Close()
	errW.Close()
	if err != nil {
		conn.Close()
		outR.Close()
		errR.Close()
		return nil, fmt.Errorf("launcher: starting rank %d (%s): %w", id, prog, err)
	}
	r.pid = cmd.Process.Pid
	r.outDone.Add(2)
	go func() { defer r.outDone.Done(); forward(outR, stdout, prefix); outR.Close() }()
	go func() { defer r.outDone.Done(); forward(errR, stderr, prefix); errR.Close() }()
	go func() {
		err := cmd.Wait()
		var ws syscall.WaitStatus
		if cmd.ProcessState != nil {
			ws = cmd.ProcessState.Sys().(syscall.WaitStatus)
		}
		post(event{kind: evExit, rank: id, status: ws, err: err})
	}()
	// The job description goes first; the socket buffer holds it even if
	// the rank never reads it (a program that does not call comm.Init).
	if err := r.ctl.Send(control.Msg{Type: control.TypeJob, JobID: jobID[:], Secret: secret, Rank: id, Size: cfg.NP, LocalRank: id, ListenOn: cfg.ListenOn}); err != nil {
		return r, nil // the rank died at once; its exit event tells
	}
	go func() {
		for {
			m, err := r.ctl.Recv()
			if err != nil {
				return // the exit event tells how the rank ended
			}
			ok := true
			switch m.Type {
			case control.TypeAddr:
				ok = post(event{kind: evAddr, rank: id, msg: m})
			case control.TypeAbort:
				ok = post(event{kind: evAbort, rank: id, msg: m})
			}
			if !ok {
				return
			}
		}
	}()
	return r, nil
}

// hasEnv reports whether env sets name.
func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}

// waitGroupsGone waits up to limit until no live process is left in the
// process groups pgids (SIGKILL is delivered asynchronously; zombies, which
// run nothing, wait for their parent or init to reap them).
func waitGroupsGone(pgids []int, limit time.Duration) {
	deadline := time.Now().Add(limit)
	for {
		var left []int
		for _, g := range pgids {
			if syscall.Kill(-g, 0) != syscall.ESRCH {
				left = append(left, g)
			}
		}
		if len(left) == 0 || !groupsAlive(left) || !time.Now().Before(deadline) {
			return
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// groupsAlive reports whether a process of one of the groups, other than
// a zombie, exists, from one scan of /proc (true when /proc cannot be
// read).
func groupsAlive(pgids []int) bool {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return true
	}
	for _, e := range ents {
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp ...; comm may hold spaces and ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || f[0] == "Z" {
			continue
		}
		if g, _ := strconv.Atoi(f[2]); slices.Contains(pgids, g) {
			return true
		}
	}
	return false
}
