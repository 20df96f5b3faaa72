package launcher

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spmd-go/spmd/internal/control"
)

// ProxyRole is the first argument that makes spmdrun a host's proxy.
// The launcher starts `spmdrun __proxy` on every host over SSH; the proxy
// forks the host's ranks and relays their control messages, output and
// exits over the SSH channel's stdin and stdout, so ranks never connect
// back to the launcher's machine.
const ProxyRole = "__proxy"

const (
	proxyMissing    = "spmd-no-proxy" // what the start command prints when spmdrun is not cached
	proxyVerifySelf = "--verify-self" // the proxy reports its own sha256 (after staging)
)

// proxyMsg is one line between the launcher and a proxy.
//
// The proxy starts as `spmdrun __proxy [--verify-self] LISTEN MESHNET N
// PROGRAM`, binds N listening sockets for its ranks' mesh (on LISTEN, or
// on this host's address in MESHNET unless it is "-"), and says "hello"
// first (Addrs: the sockets' addresses; Err: what is wrong with PROGRAM or
// the sockets, if anything; Sum: its own sha256 when asked). Before the job, the launcher may send "check"
// (Sum: the program's expected sha256, after staging it), answered by
// "checked" (Err: a mismatch).
//
// Launcher to proxy: "job" (once), "ctl" (a control message for
// Rank), "sig" (a signal for Rank, or every rank when Rank is -1), "in"
// (standard input for rank 0), "in-eof", "ping" (every second).
//
// Proxy to launcher: "started" (Rank's PID), a rank's control message
// under its own type (rankEvents: "addr", "abort", "shrink", "stats",
// "joined"), "out" (a line of Rank's output on FD), "exit" (Rank
// ended with wait status Status), "fail" (the proxy cannot go on: Err),
// "done" (every rank has ended and nothing of theirs is left).
type proxyMsg struct {
	T      string       `json:"t"`
	Rank   int          `json:"r,omitempty"`
	FD     int          `json:"fd,omitempty"`
	Data   []byte       `json:"d,omitempty"`
	Sig    int          `json:"sig,omitempty"`
	Status uint32       `json:"st,omitempty"`
	PID    int          `json:"pid,omitempty"`
	Err    string       `json:"err,omitempty"`
	Sum    string       `json:"sum,omitempty"`
	Addrs  []string     `json:"addrs,omitempty"`
	Ctl    *control.Msg `json:"ctl,omitempty"`
	Job    *proxyJob    `json:"job,omitempty"`
}

// proxyJob is what a proxy needs to start its host's ranks. It carries
// the job's secret, so it travels only over the SSH channel.
type proxyJob struct {
	JobID  []byte
	Secret []byte
	Args   []string
	Env    []string
	Size   int
	Ranks  []int  // world ranks on this host; local rank is the index
	Host   string // the host's name in the job, for the table
	Stdin  bool   // rank 0 is here and gets the launcher's stdin
	// Table is the whole job's table (addresses from every proxy's
	// hello), sent to each rank with its job.
	Table *control.Msg
}

// proxyIdle is how long a proxy goes on without hearing from the
// launcher (which pings every second) before it kills its ranks.
const proxyIdle = 4 * time.Second

// msgConn writes proxy messages one JSON line at a time from many
// goroutines.
type msgConn struct {
	mu  sync.Mutex
	w   *bufio.Writer
	enc *json.Encoder
}

func newMsgConn(w io.Writer) *msgConn {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &msgConn{w: bw, enc: json.NewEncoder(bw)}
}

func (c *msgConn) send(m proxyMsg) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.enc.Encode(m); err != nil {
		return err
	}
	return c.w.Flush()
}

// outSender is a rank's output stream as the proxy's lineWriter sees it:
// every line becomes one "out" message.
type outSender struct {
	c    *msgConn
	rank int
	fd   int
}

func (o outSender) Write(p []byte) (int, error) {
	return len(p), o.c.send(proxyMsg{T: "out", Rank: o.rank, FD: o.fd, Data: p})
}

// Proxy runs the proxy role with its arguments (after ProxyRole) on
// standard input and output until its ranks have ended or the launcher is
// gone, and returns the process's exit status.
func Proxy(args []string, in io.Reader, out io.Writer) int {
	c := newMsgConn(out)
	dec := json.NewDecoder(bufio.NewReaderSize(in, 64<<10))
	verifySelf := len(args) > 0 && args[0] == proxyVerifySelf
	if verifySelf {
		args = args[1:]
	}
	var nranks int
	if len(args) == 4 {
		nranks, _ = strconv.Atoi(args[2])
	}
	if nranks < 1 {
		fmt.Fprintf(os.Stderr, "spmdrun proxy: want LISTEN MESHNET N PROGRAM: the proxy is started by spmdrun, not by hand\n")
		return 2
	}
	listenOn, meshNet, program := args[0], args[1], args[3]
	if meshNet == "-" {
		meshNet = ""
	}
	hello := proxyMsg{T: "hello"}
	// The ranks' listeners, bound now so that their addresses go out
	// with the hello and every rank gets the whole table with its job.
	var listeners []*os.File
	defer func() {
		for _, f := range listeners {
			f.Close()
		}
	}()
	if err := bindListeners(listenOn, meshNet, nranks, &listeners, &hello.Addrs); err != nil {
		_ = c.send(proxyMsg{T: "fail", Err: err.Error()})
		return 1
	}
	if verifySelf {
		self, err := os.Executable()
		if err == nil {
			hello.Sum, _, err = fileSum(self)
		}
		if err != nil {
			hello.Sum = "unknown: " + err.Error()
		}
	}
	if fi, err := os.Stat(program); err != nil {
		hello.Err = fmt.Sprintf("program %s: %v", program, err)
	} else if fi.IsDir() || fi.Mode()&0o111 == 0 {
		hello.Err = fmt.Sprintf("program %s is not an executable file", program)
	}
	if c.send(hello) != nil {
		return 1
	}
	var pj *proxyJob
	for pj == nil {
		var m proxyMsg
		if err := dec.Decode(&m); err != nil {
			return 1 // the launcher gave up on this host
		}
		switch m.T {
		case "check":
			reply := proxyMsg{T: "checked"}
			if sum, _, err := fileSum(program); err != nil {
				reply.Err = err.Error()
			} else if sum != m.Sum {
				reply.Err = fmt.Sprintf("%s has sha256 %s, want %s", program, sum, m.Sum)
			}
			if c.send(reply) != nil {
				return 1
			}
		case "job":
			pj = m.Job
		}
	}
	host, _ := os.Hostname()
	fail := func(format string, args ...any) int {
		_ = c.send(proxyMsg{T: "fail", Err: fmt.Sprintf(format, args...)})
		return 1
	}
	if pj == nil || len(pj.Ranks) != nranks || pj.Table == nil {
		return fail("malformed job for %d ranks", nranks)
	}
	var stdinW *io.PipeWriter
	cfg := Config{Program: program, Args: pj.Args, Env: pj.Env}
	if pj.Stdin {
		var r *io.PipeReader
		r, stdinW = io.Pipe()
		cfg.Stdin = r
	}
	events := make(chan event, 4*len(pj.Ranks)+8)
	stop := make(chan struct{})
	defer close(stop)
	var jobID [16]byte
	copy(jobID[:], pj.JobID)
	ranks := make([]*rank, 0, len(pj.Ranks))
	byID := map[int]*rank{}
	killAll := func() {
		for _, r := range ranks {
			r.signal(syscall.SIGKILL)
		}
	}
	for i, id := range pj.Ranks {
		spec := rankSpec{ID: id, LocalRank: i, LocalSize: len(pj.Ranks), Size: pj.Size, Host: pj.Host, Listener: listeners[i], Table: pj.Table}
		stdout := &lineWriter{w: outSender{c, id, 1}}
		stderr := &lineWriter{w: outSender{c, id, 2}}
		r, err := startRank(spec, program, &cfg, jobID, pj.Secret, stdout, stderr, events, stop)
		if err != nil {
			killAll()
			return fail("on %s: %v", host, err)
		}
		ranks = append(ranks, r)
		byID[id] = r
		_ = c.send(proxyMsg{T: "started", Rank: id, PID: r.pid})
	}

	// Messages from the launcher; its end (EOF, error) or silence ends
	// the job here.
	fromLauncher := make(chan proxyMsg, 64)
	gone := make(chan error, 1)
	go func() {
		for {
			var m proxyMsg
			if err := dec.Decode(&m); err != nil {
				gone <- err
				return
			}
			fromLauncher <- m
		}
	}()
	idle := time.NewTimer(proxyIdle)
	defer idle.Stop()
	running := len(ranks)
	for running > 0 {
		select {
		case ev := <-events:
			switch ev.kind {
			default: // a rank's control message (rankEvents), under its own type
				m := ev.msg
				_ = c.send(proxyMsg{T: m.Type, Rank: ev.rank, Ctl: &m})
			case evExit:
				running--
				r := byID[ev.rank]
				r.exited = true
				m := proxyMsg{T: "exit", Rank: ev.rank, Status: uint32(ev.status)}
				if ev.err != nil && ev.status == 0 {
					m.Err = ev.err.Error()
				}
				_ = c.send(m)
			}
		case m := <-fromLauncher:
			idle.Reset(proxyIdle)
			switch m.T {
			case "ctl":
				if r := byID[m.Rank]; r != nil && m.Ctl != nil && !r.exited {
					_ = r.send(*m.Ctl)
				}
			case "sig":
				for _, r := range ranks {
					if (m.Rank < 0 || r.id == m.Rank) && !r.exited {
						r.signal(syscall.Signal(m.Sig))
					}
				}
			case "in":
				if stdinW != nil {
					_, _ = stdinW.Write(m.Data)
				}
			case "in-eof":
				if stdinW != nil {
					stdinW.Close()
				}
			}
		case err := <-gone:
			fmt.Fprintf(os.Stderr, "spmdrun proxy on %s: the launcher is gone (%v); killing %d rank(s)\n", host, err, running)
			killAll()
			return 1
		case <-idle.C:
			fmt.Fprintf(os.Stderr, "spmdrun proxy on %s: no word from the launcher for %v; killing %d rank(s)\n", host, proxyIdle, running)
			killAll()
			return 1
		}
	}
	// As the local launcher: nothing of the job may outlive it.
	killAll()
	pgids := make([]int, len(ranks))
	for i, r := range ranks {
		pgids[i] = r.pid
	}
	waitGroupsGone(pgids, time.Second)
	drainOutput(ranks, func(f string, a ...any) { fmt.Fprintf(os.Stderr, f, a...) })
	if stdinW != nil {
		stdinW.Close()
	}
	_ = c.send(proxyMsg{T: "done"})
	return 0
}

// bindListeners binds n listening sockets on the address ranks listen on
// and appends their files and addresses.
func bindListeners(named, meshNet string, n int, files *[]*os.File, addrs *[]string) error {
	host, err := listenAddr(named, meshNet)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
		if err != nil {
			return fmt.Errorf("listening for the mesh on %s: %w", host, err)
		}
		f, err := ln.(*net.TCPListener).File()
		addr := ln.Addr().String()
		ln.Close() // f is a duplicate that stays open
		if err != nil {
			return err
		}
		*files = append(*files, f)
		*addrs = append(*addrs, addr)
	}
	return nil
}

// listenAddr returns the address ranks listen on: the one named (a host
// name is resolved here, on the rank's host), or the address of this
// host in the CIDR or on the interface meshNet names.
func listenAddr(named, meshNet string) (string, error) {
	if meshNet == "" {
		if named == "" {
			return "", fmt.Errorf("no address to listen on")
		}
		return named, nil
	}
	if p, err := netip.ParsePrefix(meshNet); err == nil {
		addrs, err := net.InterfaceAddrs()
		if err != nil {
			return "", err
		}
		for _, a := range addrs {
			if ipn, ok := a.(*net.IPNet); ok {
				if ip, ok := netip.AddrFromSlice(ipn.IP); ok && p.Contains(ip.Unmap()) {
					return ip.Unmap().String(), nil
				}
			}
		}
		return "", fmt.Errorf("--mesh-net %s: no address of this host is in it", meshNet)
	}
	ifi, err := net.InterfaceByName(meshNet)
	if err != nil {
		return "", fmt.Errorf("--mesh-net %s: not a CIDR, and no such interface here", meshNet)
	}
	addrs, err := ifi.Addrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && ipn.IP.To4() != nil {
			return ipn.IP.String(), nil
		}
	}
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLinkLocalUnicast() {
			return ipn.IP.String(), nil
		}
	}
	return "", fmt.Errorf("--mesh-net %s: the interface has no usable address", meshNet)
}
