//go:build linux

package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// The spmdlab binary runs itself inside the lab's namespaces (through
// `ip netns exec`) in these roles. They are not for users.
const (
	helperSysctl   = "__sysctl"   // k=v...: write /proc/sys in this namespace
	helperEmulator = "__emulator" // DIR: the WAN emulator in the router
	helperHost     = "__host"     // DIR HOST -- argv: host HOST's mounts, then exec argv
)

// Helper runs one of the lab's helper roles if args (os.Args[1:]) name
// one, and reports whether it did; cmd/spmdlab calls it first. It returns
// only on failure: the roles exec or run until killed.
func Helper(args []string) (bool, error) {
	if len(args) == 0 || !strings.HasPrefix(args[0], "__") {
		return false, nil
	}
	switch args[0] {
	case helperSysctl:
		return true, writeSysctls(args[1:])
	case helperEmulator:
		if len(args) != 2 {
			return true, fmt.Errorf("usage: %s DIR", helperEmulator)
		}
		return true, runEmulator(args[1])
	case helperHost:
		if len(args) < 5 || args[3] != "--" {
			return true, fmt.Errorf("usage: %s DIR HOST -- PROGRAM [ARGS]", helperHost)
		}
		return true, enterHost(args[1], args[2], args[4:])
	}
	return true, fmt.Errorf("unknown helper role %q", args[0])
}

func writeSysctls(kvs []string) error {
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return fmt.Errorf("sysctl %q: want KEY=VALUE", kv)
		}
		path := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
		if err := os.WriteFile(path, []byte(v+"\n"), 0); err != nil {
			return fmt.Errorf("sysctl %s: %w", k, err)
		}
	}
	return nil
}

// rootHome is root's home directory, which each host has its own copy of.
func rootHome() string {
	if u, err := user.LookupId("0"); err == nil && u.HomeDir != "" && u.HomeDir != "/" {
		return u.HomeDir
	}
	return "/root"
}

// enterHost gives this process host name's private home and /tmp and
// execs argv. `ip netns exec` has already put it in the host's network
// namespace and in a new mount namespace whose mounts do not propagate
// back, so the binds are seen only by this process and its children (sshd
// and every session it starts).
func enterHost(dir, name string, argv []string) error {
	st, err := loadDir(dir)
	if err != nil {
		return err
	}
	if _, err := st.Host(name); err != nil {
		return err
	}
	hd := st.hostDir(name)
	for _, m := range [][2]string{{filepath.Join(hd, "home"), rootHome()}, {filepath.Join(hd, "tmp"), "/tmp"}} {
		if err := syscall.Mount(m[0], m[1], "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
			return fmt.Errorf("lab: host %s: bind %s on %s: %w", name, m[0], m[1], err)
		}
	}
	if err := os.Chdir(rootHome()); err != nil {
		return err
	}
	os.Setenv("HOME", rootHome())
	os.Setenv("SPMDLAB_HOST", name)
	path := argv[0]
	if !strings.Contains(path, "/") {
		if p, err := lookPath(path); err == nil {
			path = p
		}
	}
	err = syscall.Exec(path, argv, os.Environ())
	return fmt.Errorf("lab: host %s: exec %s: %w", name, argv[0], err)
}

func lookPath(file string) (string, error) {
	for _, d := range filepath.SplitList(os.Getenv("PATH")) {
		p := filepath.Join(d, file)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in PATH", file)
}

func detachAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setsid: true} }

// alive reports whether pid is a live process (not a zombie).
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}

// The emulator's control socket speaks one JSON request and one JSON
// response per connection.
type request struct {
	Op     string // ping, stats, cut, heal, slow
	Region int
	A, B   int
	Delay  time.Duration
}

type response struct {
	Error    string
	Lines    []LineStats
	Cut      []int
	CutDrops int64
	PID      int
}

// control sends one request to the lab's emulator.
func (s *State) control(req request) (*response, error) {
	c, err := net.DialTimeout("unix", s.socket(), 2*time.Second)
	if err != nil {
		return nil, fmt.Errorf("lab: the emulator is not answering on %s: %w", s.socket(), err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return nil, fmt.Errorf("lab: emulator: %w", err)
	}
	var resp response
	if err := json.NewDecoder(c).Decode(&resp); err != nil {
		return nil, fmt.Errorf("lab: emulator: %w", err)
	}
	if resp.Error != "" {
		return nil, errors.New(resp.Error)
	}
	return &resp, nil
}

// runEmulator is the daemon in the router's namespace: it moves packets
// between the TUN device and the emulator and serves the control socket,
// until SIGTERM or SIGINT.
func runEmulator(dir string) error {
	st, err := loadDir(dir)
	if err != nil {
		return err
	}
	// Offloads let whole TCP bursts through as one packet; with random
	// loss they would drop a burst at a time, so they are off then.
	offload := true
	for _, l := range st.Links {
		if l.Spec.Loss > 0 {
			offload = false
		}
	}
	tun, err := OpenTUN(tunName, offload)
	if err != nil {
		return err
	}
	e := NewEmulator(st.plan(), uint64(time.Now().UnixNano()))
	if offload {
		e.HeaderLen = VnetHdrLen
	}
	os.Remove(st.socket())
	ln, err := net.Listen("unix", st.socket())
	if err != nil {
		return fmt.Errorf("lab: emulator: %w", err)
	}
	defer os.Remove(st.socket())
	go serveControl(ln, e, len(st.Regions))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	fmt.Fprintf(os.Stderr, "spmdlab emulator: pid %d, %d regions, %d links, offloads %v\n", os.Getpid(), len(st.Regions), len(st.Links), offload)
	stats, err := e.Run(ctx, tun, len(st.Regions))
	tun.Close()
	ln.Close()
	fmt.Fprintf(os.Stderr, "spmdlab emulator: stopping: %+v\n", stats)
	return err
}

func serveControl(ln net.Listener, e *Emulator, regions int) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			var req request
			var resp response
			if err := json.NewDecoder(c).Decode(&req); err != nil {
				resp.Error = "bad request: " + err.Error()
			} else {
				resp = handle(e, regions, req)
			}
			json.NewEncoder(c).Encode(resp)
		}()
	}
}

func handle(e *Emulator, regions int, req request) response {
	var resp response
	inRange := func(r int) bool { return r >= 0 && r < regions }
	switch req.Op {
	case "ping":
	case "stats":
	case "cut", "heal":
		if !inRange(req.Region) {
			resp.Error = fmt.Sprintf("no region %d", req.Region)
			return resp
		}
		e.SetCut(req.Region, req.Op == "cut")
	case "slow":
		spec, ok := e.Spec(req.A, req.B)
		if !ok || req.Delay < 0 {
			resp.Error = fmt.Sprintf("no link between regions %d and %d", req.A, req.B)
			return resp
		}
		spec.Delay = req.Delay
		e.SetSpec(req.A, req.B, spec)
	default:
		resp.Error = fmt.Sprintf("unknown request %q", req.Op)
		return resp
	}
	resp.Lines, resp.CutDrops = e.Stats()
	resp.Cut = e.Cut()
	resp.PID = os.Getpid()
	return resp
}
