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
	// RegionsAuto makes ranks group hosts into regions by measured
	// round-trip times instead of the hostfile's region= labels
	// (--regions auto). A multi-host job without labels does so anyway.
	RegionsAuto bool
	// ContinueOnFailure (spmdrun --on-failure continue) keeps the job
	// running when a rank that joined it (its comm.Init completed) fails;
	// one that fails before ends the job as usual. The others are told
	// (their operations with it fail with comm.ErrRankFailed) and may
	// comm.Shrink. The job then exits 0 if some rank exited 0.
	ContinueOnFailure bool
	// Monitor, if not nil, receives the ranks' states and the statistics
	// they report (the program's environment must then hold
	// SPMD_STATS_EVERY; spmdrun's --stats, --metrics and --dashboard set
	// both).
	Monitor *Monitor

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

// rank is one started process, here or on another host.
type rank struct {
	id        int
	localRank int
	host      string
	remote    bool
	cmd       *exec.Cmd     // local ranks only
	ctl       *control.Conn // local ranks only
	pid       int
	outDone   sync.WaitGroup
	// signal sends sig to the rank's process group; send writes a
	// control message to the rank.
	signal func(sig syscall.Signal)
	send   func(control.Msg) error

	// set by the event loop
	exited     bool
	joined     bool   // its Init completed (it said so)
	status     int    // exit code the rank contributes (128+sig for signals)
	why        string // human description of how it ended
	terminated bool   // the launcher signalled it before it ended
	// signalledAt is when it was first signalled (markTerminated).
	signalledAt time.Time
}

type event struct {
	kind   int // evExit, evAddr, evAbort, evShrink, evStats, evJoined
	rank   int
	status syscall.WaitStatus
	err    error
	msg    control.Msg
	// lost is set when a remote rank's host or proxy was lost: the
	// rank's end is unknown, err says why.
	lost bool
	// at is when the launcher learnt of an exit (its wait returned, or
	// the proxy's report arrived): a rank that ended before the
	// launcher signalled it failed on its own even if the loop sees its
	// end after another rank's.
	at time.Time
}

// ExitLost is the status of a rank whose host was lost (as ssh's 255).
const ExitLost = 255

const (
	evExit = iota
	evAddr
	evAbort
	evShrink
	evStats
	evJoined
)

// rankEvents are the control messages a rank sends while it runs, and
// the event each becomes. A proxy relays them to spmdrun under the same
// names (proxyMsg.T is the message's type).
var rankEvents = map[string]int{
	control.TypeAddr:   evAddr,
	control.TypeAbort:  evAbort,
	control.TypeShrink: evShrink,
	control.TypeStats:  evStats,
	control.TypeJoined: evJoined,
}

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
		spec := rankSpec{ID: i, LocalRank: i, LocalSize: cfg.NP, Size: cfg.NP, Host: hostname}
		r, err := startRank(spec, prog, &cfg, jobID, secret, stdout, stderr, events, stop)
		if err != nil {
			killAll(syscall.SIGKILL)
			for _, r := range ranks {
				_ = r.cmd.Wait()
			}
			return ExitLaunch, err
		}
		ranks = append(ranks, r)
	}

	j := &job{cfg: &cfg, ranks: ranks, events: events, logf: logf}
	code := j.run(ctx)
	// Every rank has exited: take down anything they left in their groups
	// and wait (briefly) until the kernel has removed it, then let the
	// output drain.
	killAll(syscall.SIGKILL)
	pgids := make([]int, len(ranks))
	for i, r := range ranks {
		pgids[i] = r.pid
	}
	waitGroupsGone(pgids, time.Second)
	drainOutput(ranks, logf)
	for _, r := range ranks {
		r.ctl.Close()
	}
	return code, nil
}

// drainOutput waits up to 5 s for the ranks' output to be forwarded.
func drainOutput(ranks []*rank, logf func(string, ...any)) {
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

// rankSpec is who a rank is in its job.
type rankSpec struct {
	ID, LocalRank, LocalSize, Size int
	Host                           string
	// With a remote job's table known in advance: the rank's bound mesh
	// listener, inherited as descriptor 4, and the table, sent with the
	// job.
	Listener *os.File
	Table    *control.Msg
}

// startRank starts one rank of cfg's program on this machine with its
// control socket; its output goes to stdout and stderr (prefixed when
// cfg.TagOutput), and its address, abort and exit to events.
func startRank(spec rankSpec, prog string, cfg *Config, jobID [16]byte, secret []byte, stdout, stderr *lineWriter, events chan<- event, stop <-chan struct{}) (*rank, error) {
	id := spec.ID
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
		control.EnvSize+"="+strconv.Itoa(spec.Size),
		control.EnvLocalRank+"="+strconv.Itoa(spec.LocalRank),
		control.EnvLocalSize+"="+strconv.Itoa(spec.LocalSize),
	)
	if !hasEnv(cmd.Env, "GOMAXPROCS") {
		// Share the cores among the host's ranks, as MPI binds ranks to
		// cores: more Go threads than that only fight over them.
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(max(1, runtime.NumCPU()/spec.LocalSize)))
	}
	cmd.ExtraFiles = []*os.File{theirs}
	if spec.Listener != nil {
		cmd.ExtraFiles = append(cmd.ExtraFiles, spec.Listener) // descriptor 4
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if id == 0 && cfg.Stdin != nil {
		cmd.Stdin = cfg.Stdin
	}
	prefix := ""
	if cfg.TagOutput {
		prefix = "[" + strconv.Itoa(id) + "] "
	}
	r := &rank{id: id, localRank: spec.LocalRank, host: spec.Host, cmd: cmd, ctl: control.NewConn(conn)}
	r.send = r.ctl.Send
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
	r.signal = func(sig syscall.Signal) { _ = syscall.Kill(-r.pid, sig) }
	r.outDone.Add(2)
	go func() { defer r.outDone.Done(); forward(outR, stdout, prefix); outR.Close() }()
	go func() { defer r.outDone.Done(); forward(errR, stderr, prefix); errR.Close() }()
	// The exit is reported after what the rank said on its control socket
	// before it ended (an Abort's code, sent just before exiting, would
	// otherwise race its exit status): the reader below ends at the
	// socket's end, which comes with the process's; a descriptor kept
	// open by a child of the rank delays the report by a second at most.
	ctlDone := make(chan struct{})
	go func() {
		err := cmd.Wait()
		at := time.Now()
		var ws syscall.WaitStatus
		if cmd.ProcessState != nil {
			ws = cmd.ProcessState.Sys().(syscall.WaitStatus)
		}
		select {
		case <-ctlDone:
		case <-time.After(time.Second):
		}
		post(event{kind: evExit, rank: id, status: ws, err: err, at: at})
	}()
	// The job description goes first; the socket buffer holds it even if
	// the rank never reads it (a program that does not call comm.Init).
	jm := control.Msg{Type: control.TypeJob, JobID: jobID[:], Secret: secret, Rank: id, Size: spec.Size, LocalRank: spec.LocalRank, LocalSize: spec.LocalSize, ListenOn: cfg.ListenOn}
	if spec.Listener != nil && spec.Table != nil {
		jm.ListenFD = 4
		jm.Addrs, jm.Hosts, jm.Regions, jm.LocalRanks = spec.Table.Addrs, spec.Table.Hosts, spec.Table.Regions, spec.Table.LocalRanks
		jm.RegionsAuto = spec.Table.RegionsAuto
	}
	if err := r.ctl.Send(jm); err != nil {
		close(ctlDone)
		return r, nil // the rank died at once; its exit event tells
	}
	go func() {
		defer close(ctlDone)
		for {
			m, err := r.ctl.Recv()
			if err != nil {
				return // the exit event tells how the rank ended
			}
			ok := true
			if kind, known := rankEvents[m.Type]; known {
				ok = post(event{kind: kind, rank: id, msg: m})
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
