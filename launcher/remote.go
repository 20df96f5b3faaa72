package launcher

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/spmd-go/spmd/internal/control"
)

// HostsConfig describes a job across hosts, started over SSH.
type HostsConfig struct {
	Config // the program, its arguments and environment, output, timeout, signals
	Hosts  []Host
	Map    MapOptions
	SSH    SSHConfig
	// Preload copies the program into each host's cache; without it the
	// program must be at the same path on every host.
	Preload bool
	// MeshNet names a CIDR or interface whose address ranks listen on,
	// instead of their host's name (or addr= attribute).
	MeshNet string
	// Progress is told what staging and launch are doing; nil for none.
	Progress Progress
}

// Progress is the launcher's report of staging and launch, for a terminal.
type Progress interface {
	Stage(total int64) func(n int64) // bytes to copy; returns an adder
	Step(format string, args ...any)
	Done()
}

// hostConn is the launcher's side of one host: its SSH connection, its
// proxy session and the ranks it runs.
type hostConn struct {
	h       Host
	client  *ssh.Client
	sftp    *sftp.Client
	home    string
	proxy   string // path of spmdrun on the host
	program string // path of the program on the host
	ranks   []*rank

	sess    ssh.Channel // the proxy's session
	out     *msgConn
	dec     *json.Decoder // the proxy's messages, after its hello
	addrs   []string      // where the proxy bound its ranks' listeners
	errp    io.Reader     // the proxy's standard error
	started chan error    // the proxy started every rank, or could not
	ended   chan struct{} // the proxy's output closed
}

// RunHosts runs a job on hosts over SSH and returns its exit status, as
// Run does for a local job. The error is non-nil only when the job could
// not be started (status ExitLaunch): an unreachable host, refused
// authentication, an unknown host key or a missing program are reported
// with the host's name before any rank starts.
func RunHosts(ctx context.Context, cfg HostsConfig) (int, error) {
	t0 := time.Now()
	trace := func(format string, args ...any) {}
	if os.Getenv("SPMD_TRACE_LAUNCH") != "" {
		trace = func(format string, args ...any) {
			fmt.Fprintf(os.Stderr, "spmdrun trace %7.3fs: %s\n", time.Since(t0).Seconds(), fmt.Sprintf(format, args...))
		}
	}
	placement, err := Map(cfg.Hosts, cfg.Map)
	if err != nil {
		return ExitLaunch, err
	}
	cfg.NP = len(placement)
	if err := cfg.validate(); err != nil {
		return ExitLaunch, err
	}
	prog, cleanup, err := programPath(ctx, cfg.Program)
	if err != nil {
		return ExitLaunch, err
	}
	defer cleanup()
	self, err := os.Executable()
	if err != nil {
		return ExitLaunch, fmt.Errorf("launcher: finding spmdrun's own binary to run as the proxy: %w", err)
	}
	selfStage, err := newStaged(self)
	if err != nil {
		return ExitLaunch, err
	}
	selfStage.name = "spmdrun"
	var progStage *staged
	if cfg.Preload {
		if progStage, err = newStaged(prog); err != nil {
			return ExitLaunch, err
		}
	}

	// The hosts that get ranks, in order, with their ranks.
	var hosts []*hostConn
	byIndex := map[int]*hostConn{}
	ranks := make([]*rank, cfg.NP)
	for id, hi := range placement {
		hc := byIndex[hi]
		if hc == nil {
			hc = &hostConn{h: cfg.Hosts[hi], started: make(chan error, 1), ended: make(chan struct{})}
			byIndex[hi] = hc
			hosts = append(hosts, hc)
		}
		r := &rank{id: id, localRank: len(hc.ranks), host: hc.h.Name, remote: true}
		hc.ranks = append(hc.ranks, r)
		ranks[id] = r
	}
	// Each rank's region, or nil when no host has a label.
	var regions []string
	for id, hi := range placement {
		if cfg.Hosts[hi].Region != "" && regions == nil {
			regions = make([]string, cfg.NP)
		}
		if regions != nil {
			regions[id] = cfg.Hosts[hi].Region
		}
	}

	d, err := newDialer(cfg.SSH)
	if err != nil {
		return ExitLaunch, err
	}
	defer d.close()
	defer func() {
		for _, hc := range hosts {
			if hc.sftp != nil {
				hc.sftp.Close()
			}
			if hc.client != nil {
				hc.client.Close()
			}
		}
	}()

	// Connect, check and stage on every host at once; any failure ends
	// the job here, before a rank starts.
	prog0 := cfg.Program
	var total int64
	for range hosts {
		total += selfStage.size
		if progStage != nil {
			total += progStage.size
		}
	}
	var add func(int64)
	if cfg.Progress != nil {
		cfg.Progress.Step("connecting to %d hosts", len(hosts))
		add = cfg.Progress.Stage(total)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(hosts))
	for i, hc := range hosts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = hc.prepare(ctx, d, selfStage, progStage, prog, cfg.MeshNet, add, trace)
			trace("%s: prepared (%v)", hc.h.Name, errs[i])
		}()
	}
	wg.Wait()
	if cfg.Progress != nil {
		cfg.Progress.Done()
	}
	var failed []string
	for i, err := range errs {
		if err != nil {
			// SSH's errors already begin with the host and its hostfile line.
			msg := err.Error()
			if name := hosts[i].h.Name; !strings.HasPrefix(msg, name+" (") {
				msg = name + ": " + msg
			}
			failed = append(failed, "  "+msg)
		}
	}
	if len(failed) > 0 {
		return ExitLaunch, fmt.Errorf("launcher: %d of %d hosts cannot run %s:\n%s", len(failed), len(hosts), prog0, strings.Join(failed, "\n"))
	}

	// Start the proxies.
	var jobID [16]byte
	secret := make([]byte, 32)
	rand.Read(jobID[:])
	rand.Read(secret)
	events := make(chan event, 4*cfg.NP+8)
	stop := make(chan struct{})
	defer close(stop)
	stdout := &lineWriter{w: cfg.Stdout}
	stderr := &lineWriter{w: cfg.Stderr}
	logw := stderr
	if cfg.Log != cfg.Stderr {
		logw = &lineWriter{w: cfg.Log}
	}
	logf := func(format string, args ...any) {
		logw.writeLine([]byte(fmt.Sprintf(format, args...)))
	}
	post := func(ev event) {
		select {
		case events <- ev:
		case <-stop:
		}
	}
	// Every proxy has bound its ranks' listeners: the table goes out with
	// the jobs.
	j := &job{cfg: &cfg.Config, ranks: ranks, events: events, logf: logf, regions: regions, trace: trace, pretabled: true}
	addrs := make([]string, cfg.NP)
	for _, hc := range hosts {
		for i, r := range hc.ranks {
			addrs[r.id] = hc.addrs[i]
		}
	}
	table := j.table(addrs)
	for _, hc := range hosts {
		if err := hc.startProxy(&cfg, jobID, secret, &table, stdout, stderr, logw, post); err != nil {
			for _, x := range hosts {
				x.kill()
			}
			return ExitLaunch, fmt.Errorf("launcher: %s: starting the proxy: %w", hc.h.Name, err)
		}
	}
	for _, hc := range hosts {
		if err := <-hc.started; err != nil {
			for _, x := range hosts {
				x.kill()
			}
			return ExitLaunch, fmt.Errorf("launcher: %s: %w", hc.h.Name, err)
		}
	}
	// Keep the proxies' watchdogs fed; forward stdin to rank 0.
	pingStop := make(chan struct{})
	go func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				for _, hc := range hosts {
					_ = hc.out.send(proxyMsg{T: "ping"})
				}
			case <-pingStop:
				return
			}
		}
	}()
	defer close(pingStop)
	if cfg.Stdin != nil {
		hc0 := byIndex[placement[0]]
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := cfg.Stdin.Read(buf)
				if n > 0 {
					if hc0.out.send(proxyMsg{T: "in", Data: append([]byte(nil), buf[:n]...)}) != nil {
						return
					}
				}
				if err != nil {
					_ = hc0.out.send(proxyMsg{T: "in-eof"})
					return
				}
			}
		}()
	}

	trace("all proxies started their ranks")
	code := j.run(ctx)

	trace("every rank ended")
	// Every rank has ended; each proxy cleans up its host and says done.
	deadline := time.After(10 * time.Second)
	for _, hc := range hosts {
		select {
		case <-hc.ended:
		case <-deadline:
			logf("spmdrun: the proxy on %s did not finish; closing its connection (it then kills what is left)\n", hc.h.Name)
			hc.client.Close()
		}
	}
	trace("every proxy finished")
	return code, nil
}

// programPath builds a Go package directory, or finds the program.
func programPath(ctx context.Context, prog string) (string, func(), error) {
	nop := func() {}
	if IsPackageDir(prog) {
		tmp, err := os.MkdirTemp("", "spmdrun-build-")
		if err != nil {
			return "", nop, err
		}
		p, err := Build(ctx, prog, tmp)
		if err != nil {
			os.RemoveAll(tmp)
			return "", nop, err
		}
		return p, func() { os.RemoveAll(tmp) }, nil
	}
	if !strings.ContainsRune(prog, '/') {
		return "", nop, fmt.Errorf("launcher: program %q: give a path (as ./%s or /usr/bin/%s) so that it names the same file on every host", prog, prog, prog)
	}
	abs, err := filepath.Abs(prog)
	if err != nil {
		return "", nop, err
	}
	return abs, nop, nil
}

// proxyCommand is the shell command that starts the cached proxy, or,
// when this spmdrun is not in the host's cache yet, says so and prints
// the host's platform. prog is the program's path on the host, as a shell
// word.
func proxyCommand(self *staged, listen, meshNet string, nranks int, prog string, verifySelf bool) string {
	flag := ""
	if verifySelf {
		flag = " " + proxyVerifySelf
	}
	if meshNet == "" {
		meshNet = "-"
	}
	return fmt.Sprintf(`p="$HOME/.cache/spmd/bin/%s/spmdrun"; if [ -x "$p" ]; then exec "$p" %s%s %s %s %d %s; fi; echo %s; uname -sm`,
		self.sum, ProxyRole, flag, quote(listen), quote(meshNet), nranks, prog, proxyMissing)
}

// prepare connects to the host and starts its proxy, staging spmdrun
// first if the host does not have this one, and the program with
// preload. In the usual case (both cached) that is one SSH connection
// and one command: every round trip counts across an ocean.
func (hc *hostConn) prepare(ctx context.Context, d *dialer, self, prog *staged, progPath, meshNet string, add func(int64), trace func(string, ...any)) error {
	trace("%s: dialing", hc.h.Name)
	c, err := d.dial(ctx, hc.h)
	if err != nil {
		return err
	}
	hc.client = c
	trace("%s: connected", hc.h.Name)
	progWord := quote(progPath)
	if prog != nil {
		progWord = `"$HOME/.cache/spmd/bin/` + prog.sum + "/" + prog.name + `"`
	}
	var hello proxyMsg
	for attempt := 0; ; attempt++ {
		listen := hc.h.Addr
		if listen == "" {
			listen = hc.h.Name
		}
		sess, errp, err := startSession(c, proxyCommand(self, listen, meshNet, len(hc.ranks), progWord, attempt > 0))
		if err != nil {
			return err
		}
		br := bufio.NewReaderSize(sess, 64<<10)
		line, err := br.ReadString('\n')
		if err != nil {
			sess.Close()
			return fmt.Errorf("starting the proxy: %v: %s", err, drain(errp))
		}
		if strings.TrimSpace(line) == proxyMissing {
			uname, _ := br.ReadString('\n')
			sess.Close()
			if attempt > 0 {
				return fmt.Errorf("spmdrun was copied to the host but does not start there")
			}
			if err := checkPlatform(uname); err != nil {
				return err
			}
			if err := hc.openSFTP(); err != nil {
				return err
			}
			if _, _, err := self.stageTo(hc.sftp, hc.home, add); err != nil {
				return fmt.Errorf("staging spmdrun: %w", err)
			}
			continue
		}
		if err := json.Unmarshal([]byte(line), &hello); err == nil && hello.T == "fail" {
			sess.Close()
			return errors.New(hello.Err)
		}
		if err := json.Unmarshal([]byte(line), &hello); err != nil || hello.T != "hello" {
			sess.Close()
			return fmt.Errorf("the proxy said %q: %s", strings.TrimSpace(line), drain(errp))
		}
		if hello.Sum != "" && hello.Sum != self.sum {
			sess.Close()
			return fmt.Errorf("the copy of spmdrun in the host's cache has sha256 %s, want %s", hello.Sum, self.sum)
		}
		if len(hello.Addrs) != len(hc.ranks) {
			sess.Close()
			return fmt.Errorf("the proxy bound %d listeners for %d ranks", len(hello.Addrs), len(hc.ranks))
		}
		hc.addrs = hello.Addrs
		hc.sess, hc.out, hc.errp = sess, newMsgConn(sess), errp
		hc.dec = json.NewDecoder(br)
		break
	}
	if hello.Err == "" {
		if add != nil { // nothing to copy
			add(self.size)
			if prog != nil {
				add(prog.size)
			}
		}
		return nil
	}
	if prog == nil {
		return fmt.Errorf("%s (copy it there, or use --preload-binary)", hello.Err)
	}
	// Stage the program, then have the proxy check what arrived.
	if err := hc.openSFTP(); err != nil {
		return err
	}
	if _, _, err := prog.stageTo(hc.sftp, hc.home, add); err != nil {
		return fmt.Errorf("staging the program: %w", err)
	}
	if err := hc.out.send(proxyMsg{T: "check", Sum: prog.sum}); err != nil {
		return err
	}
	var m proxyMsg
	if err := hc.dec.Decode(&m); err != nil || m.T != "checked" {
		return fmt.Errorf("checking the staged program: %v %s", err, m.Err)
	}
	if m.Err != "" {
		return fmt.Errorf("the staged program: %s", m.Err)
	}
	return nil
}

func (hc *hostConn) openSFTP() error {
	if hc.sftp != nil {
		return nil
	}
	sc, err := sftp.NewClient(hc.client)
	if err != nil {
		return fmt.Errorf("sftp: %w (does sshd have the sftp subsystem?)", err)
	}
	hc.sftp = sc
	if hc.home, err = sc.Getwd(); err != nil {
		return fmt.Errorf("sftp: home directory: %w", err)
	}
	return nil
}

// startSession runs cmd on the host in a new session channel and returns
// the channel (its standard input and output) and its standard error.
// The exec request does not ask for a reply, which would cost a round
// trip; if the command cannot start, the channel closes and the caller's
// first read fails.
func startSession(c *ssh.Client, cmd string) (ssh.Channel, io.Reader, error) {
	ch, reqs, err := c.OpenChannel("session", nil)
	if err != nil {
		return nil, nil, err
	}
	go ssh.DiscardRequests(reqs)
	if _, err := ch.SendRequest("exec", false, ssh.Marshal(struct{ Command string }{cmd})); err != nil {
		ch.Close()
		return nil, nil, err
	}
	return ch, ch.Stderr(), nil
}

// drain returns what is left on r, for an error message (at most 2 KiB,
// within a second).
func drain(r io.Reader) string {
	ch := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(io.LimitReader(r, 2048))
		ch <- strings.TrimSpace(string(b))
	}()
	select {
	case s := <-ch:
		return s
	case <-time.After(time.Second):
		return ""
	}
}

// startProxy sends the job to the host's proxy and relays what it says
// to the job's events and outputs.
func (hc *hostConn) startProxy(cfg *HostsConfig, jobID [16]byte, secret []byte, table *control.Msg, stdout, stderr, logw *lineWriter, post func(event)) error {
	ids := make([]int, len(hc.ranks))
	for i, r := range hc.ranks {
		ids[i] = r.id
		r.signal = func(sig syscall.Signal) { _ = hc.out.send(proxyMsg{T: "sig", Rank: r.id, Sig: int(sig)}) }
		r.send = func(m control.Msg) error { return hc.out.send(proxyMsg{T: "ctl", Rank: r.id, Ctl: &m}) }
	}
	pj := &proxyJob{JobID: jobID[:], Secret: secret, Args: cfg.Args, Env: cfg.Env,
		Size: cfg.NP, Ranks: ids, Host: hc.h.Name, Table: table,
		Stdin: cfg.Stdin != nil && ids[0] == 0}
	if err := hc.out.send(proxyMsg{T: "job", Job: pj}); err != nil {
		return err
	}
	// The proxy's own messages (not its ranks'), prefixed with the host.
	go func() {
		sc := bufio.NewScanner(hc.errp)
		for sc.Scan() {
			logw.writeLine([]byte(fmt.Sprintf("spmdrun: [proxy@%s] %s\n", hc.h.Name, sc.Text())))
		}
	}()
	go hc.relay(cfg.TagOutput, stdout, stderr, post)
	return nil
}

// relay reads the proxy's messages until it ends.
func (hc *hostConn) relay(tag bool, stdout, stderr *lineWriter, post func(event)) {
	defer close(hc.ended)
	byID := map[int]*rank{}
	for _, r := range hc.ranks {
		byID[r.id] = r
	}
	dec := hc.dec
	pending := len(hc.ranks) // "started" still to come
	exited := map[int]bool{}
	done := false // the proxy said "done"
	var endErr error
	for {
		var m proxyMsg
		if err := dec.Decode(&m); err != nil {
			endErr = err
			break
		}
		r := byID[m.Rank]
		if kind, ok := rankEvents[m.T]; ok { // a rank's control message
			if r != nil && m.Ctl != nil && m.Ctl.Type == m.T {
				post(event{kind: kind, rank: r.id, msg: *m.Ctl})
			}
			continue
		}
		switch m.T {
		case "started":
			if r != nil && pending > 0 {
				r.pid = m.PID
				if pending--; pending == 0 {
					hc.started <- nil
				}
			}
		case "fail":
			if pending > 0 {
				pending = 0
				hc.started <- errors.New(m.Err)
				continue
			}
			endErr = errors.New(m.Err)
		case "out":
			if r == nil {
				continue
			}
			w := stdout
			if m.FD == 2 {
				w = stderr
			}
			line := m.Data
			if tag {
				line = append([]byte("["+strconv.Itoa(r.id)+"@"+hc.h.Name+"] "), line...)
				if line[len(line)-1] != '\n' {
					line = append(line, '\n')
				}
			}
			w.writeLine(line)
		case "exit":
			if r != nil && !exited[r.id] {
				exited[r.id] = true
				var err error
				if m.Err != "" {
					err = errors.New(m.Err)
				}
				post(event{kind: evExit, rank: r.id, status: syscall.WaitStatus(m.Status), err: err, at: time.Now()})
			}
		case "done":
			done = true
		}
	}
	if pending > 0 {
		hc.started <- fmt.Errorf("the proxy ended before starting the ranks: %v", endErr)
		return
	}
	if done {
		return
	}
	// The proxy or the host was lost with ranks still running: their
	// ends are unknown; the job treats them as failed.
	if endErr == nil || endErr == io.EOF {
		endErr = errors.New("connection closed")
	}
	var left []int
	for _, r := range hc.ranks {
		if !exited[r.id] {
			left = append(left, r.id)
		}
	}
	sort.Ints(left)
	for _, id := range left {
		post(event{kind: evExit, rank: id, lost: true, err: fmt.Errorf("was lost with host %s (%v)", hc.h.Name, endErr)})
	}
}

// kill ends the host's proxy, which kills its ranks.
func (hc *hostConn) kill() {
	if hc.out != nil {
		_ = hc.out.send(proxyMsg{T: "sig", Rank: -1, Sig: int(syscall.SIGKILL)})
	}
	if hc.client != nil {
		hc.client.Close()
	}
}
