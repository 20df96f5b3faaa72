package comm

import (
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"time"

	"github.com/spmd-go/spmd/internal/control"
	"github.com/spmd-go/spmd/internal/wire"
)

// Init joins the job this process was started in and returns the world
// communicator. A process started by spmdrun (or its per-host proxy) reads
// the job description, with the job's secret, from the control socket it
// inherited; a process started on its own is a world of size one, so every
// program also runs as a plain `go run`.
//
// Init uses DefaultConfig with two adjustments from the environment: when
// the launcher reports more ranks on this host than CPUs (SPMD_LOCAL_SIZE),
// SpinYield is on; SPMD_SPIN_WAIT (a Go duration such as "200us" or "0")
// sets SpinWait; SPMD_WARMUP (bytes) sets WarmUp; SPMD_REGIONS=auto sets
// InferRegions; SPMD_HEARTBEAT (a duration, 0 for the kernel's defaults)
// sets Heartbeat; SPMD_ENCRYPT (none, wan or all) sets Encrypt;
// SPMD_COMPRESS (none, wan or all) sets Compress; SPMD_SINGLE_COPY (on
// or off) sets SingleCopy and SPMD_SINGLE_COPY_MIN (bytes)
// SingleCopyMin; SPMD_SHM (on or off) sets SharedMemory; SPMD_STREAMS
// (auto or a number) sets Streams and SPMD_BW_MBIT LinkBandwidth;
// SPMD_CONNECT_TIMEOUT sets ConnectTimeout; SPMD_WAN_FIRST (on or off)
// sets WANFirst. spmdrun sets SPMD_HEARTBEAT, SPMD_ENCRYPT and
// SPMD_COMPRESS from --heartbeat, --encrypt and --compress, and
// SPMD_WAN_FIRST=on with --wan-first.
//
// A process started by another launcher (Open MPI's mpirun, Slurm's srun,
// a PMI or torchrun-style one) joins its job from that launcher's
// variables, with SPMD_RENDEZVOUS and SPMD_SECRET_FILE (rendezvous.go).
func Init(ctx context.Context) (*Comm, error) {
	cfg := DefaultConfig()
	if n, err := strconv.Atoi(os.Getenv(control.EnvLocalSize)); err == nil && n > runtime.NumCPU() {
		cfg.SpinYield = true
	}
	if err := cfg.ApplyEnv(); err != nil {
		return nil, err
	}
	return InitConfig(ctx, cfg)
}

// ApplyEnv sets the fields that the SPMD_* variables Init reads give (see
// Init), leaving the others; an unusable value is an error naming its
// variable.
func (c *Config) ApplyEnv() error {
	durations := []struct {
		name    string
		dst     *time.Duration
		zeroOK  bool
		example string
	}{
		{"SPMD_SPIN_WAIT", &c.SpinWait, true, "200us or 0"},
		{"SPMD_HEARTBEAT", &c.Heartbeat, true, "8s or 0"},
		{"SPMD_CONNECT_TIMEOUT", &c.ConnectTimeout, false, "60s"},
	}
	for _, v := range durations {
		s := os.Getenv(v.name)
		if s == "" {
			continue
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 || d == 0 && !v.zeroOK {
			kind := "a duration"
			if !v.zeroOK {
				kind = "a positive duration"
			}
			return fmt.Errorf("comm: %s=%q is not %s such as %s", v.name, s, kind, v.example)
		}
		*v.dst = d
	}
	if s := os.Getenv("SPMD_COMPRESS"); s != "" {
		m, err := ParseCompressMode(s)
		if err != nil {
			return fmt.Errorf("comm: SPMD_COMPRESS: %v", err)
		}
		c.Compress = m
	}
	if s := os.Getenv("SPMD_ENCRYPT"); s != "" {
		m, err := ParseEncryptMode(s)
		if err != nil {
			return fmt.Errorf("comm: SPMD_ENCRYPT: %v", err)
		}
		c.Encrypt = m
	}
	for _, v := range []struct {
		name string
		dst  *bool
	}{{"SPMD_SINGLE_COPY", &c.SingleCopy}, {"SPMD_SHM", &c.SharedMemory}, {"SPMD_WAN_FIRST", &c.WANFirst}} {
		switch s := os.Getenv(v.name); s {
		case "":
		case "1", "on":
			*v.dst = true
		case "0", "off":
			*v.dst = false
		default:
			return fmt.Errorf("comm: %s=%q: want on or off", v.name, s)
		}
	}
	if s := os.Getenv("SPMD_SINGLE_COPY_MIN"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return fmt.Errorf("comm: SPMD_SINGLE_COPY_MIN=%q: want a size in bytes, at least 1", s)
		}
		c.SingleCopyMin = n
	}
	if err := warmUpFromEnv(c); err != nil {
		return err
	}
	if err := streamsFromEnv(c); err != nil {
		return err
	}
	switch s := os.Getenv("SPMD_REGIONS"); s {
	case "", "labels":
	case "auto":
		c.InferRegions = true
	default:
		return fmt.Errorf("comm: SPMD_REGIONS=%q: want auto (infer regions from round-trip times) or labels", s)
	}
	return nil
}

// InitConfig is Init with a configuration.
func InitConfig(ctx context.Context, cfg Config) (*Comm, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	fdStr, ok := os.LookupEnv(control.EnvFD)
	if !ok {
		if j, found, err := foreignVars(os.Getenv); found {
			if err != nil {
				return nil, err
			}
			secret, err := foreignSecret(os.Getenv)
			if err != nil {
				return nil, err
			}
			return joinForeign(ctx, cfg, j, secret)
		}
		var id [wire.JobIDSize]byte
		w := newWorld(cfg, 0, 1, id, nil)
		return newComm(w, 0, []int{0}, true), nil
	}
	fd, err := strconv.Atoi(fdStr)
	if err != nil || fd < 3 {
		return nil, fmt.Errorf("comm: %s=%q is not a descriptor number", control.EnvFD, fdStr)
	}
	f := os.NewFile(uintptr(fd), "spmd-control")
	conn, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("comm: control descriptor %d: %w", fd, err)
	}
	// Children of this rank must not inherit the job's socket or think
	// they are ranks.
	os.Unsetenv(control.EnvFD)
	ctl := control.NewConn(conn)
	c, err := join(ctx, cfg, ctl)
	if err != nil {
		ctl.Close()
		return nil, err
	}
	return c, nil
}

func join(ctx context.Context, cfg Config, ctl *control.Conn) (*Comm, error) {
	type res struct {
		m   control.Msg
		err error
	}
	recv := func() (control.Msg, error) {
		ch := make(chan res, 1)
		go func() {
			m, err := ctl.Recv()
			ch <- res{m, err}
		}()
		select {
		case r := <-ch:
			if r.err == nil && r.m.Type == control.TypeError {
				return r.m, fmt.Errorf("comm: the launcher could not start the job: %s", r.m.Reason)
			}
			return r.m, r.err
		case <-ctx.Done():
			return control.Msg{}, ctx.Err()
		}
	}
	job, err := recv()
	if err != nil {
		return nil, fmt.Errorf("comm: reading the job description: %w", err)
	}
	if job.Type != control.TypeJob || job.Size < 1 || job.Rank < 0 || job.Rank >= job.Size || len(job.JobID) != wire.JobIDSize || len(job.Secret) < 16 {
		return nil, fmt.Errorf("comm: malformed job description %s", job)
	}
	var id [wire.JobIDSize]byte
	copy(id[:], job.JobID)
	w := newWorld(cfg, job.Rank, job.Size, id, job.Secret)
	w.ctl = ctl
	if job.Size == 1 {
		w.addrs = []string{""}
		w.hosts = job.Hosts
		go w.watchControl()
		return newComm(w, 0, []int{0}, true), nil
	}
	var ln *net.TCPListener
	if job.ListenFD > 0 && len(job.Addrs) == job.Size {
		// The launcher bound our socket and sent the table with the job.
		f := os.NewFile(uintptr(job.ListenFD), "spmd-mesh-listener")
		l, err := net.FileListener(f)
		f.Close()
		tl, ok := l.(*net.TCPListener)
		if err != nil || !ok {
			return nil, fmt.Errorf("comm: the inherited mesh listener (descriptor %d): %v", job.ListenFD, err)
		}
		ln = tl
		w.setTable(job)
	} else {
		host := job.ListenOn
		if host == "" {
			host = "127.0.0.1"
		}
		var err error
		if ln, err = listen(host); err != nil {
			return nil, err
		}
		if err := ctl.Send(control.Msg{Type: control.TypeAddr, Rank: job.Rank, Addr: ln.Addr().String()}); err != nil {
			ln.Close()
			return nil, fmt.Errorf("comm: reporting our address: %w", err)
		}
		table, err := recv()
		if err != nil {
			ln.Close()
			return nil, fmt.Errorf("comm: waiting for the address table: %w", err)
		}
		if table.Type != control.TypeTable || len(table.Addrs) != job.Size {
			ln.Close()
			return nil, fmt.Errorf("comm: malformed address table %s", table)
		}
		w.setTable(table)
	}
	if err := w.connect(ctx, ln); err != nil {
		return nil, err
	}
	go w.watchControl()
	c := newComm(w, 0, seq(job.Size), true)
	if err := w.learnNetwork(ctx, c, cfg.InferRegions || w.regionsAuto); err != nil {
		w.abortLocal(err)
		_ = w.close()
		return nil, err
	}
	w.startStats() // after learnNetwork, which may set the regions
	// The launcher survives only the failures of ranks that joined
	// (--on-failure continue): before, the others cannot build the mesh.
	_ = ctl.Send(control.Msg{Type: control.TypeJoined, Rank: w.rank})
	return c, nil
}

// setTable takes the addresses, hosts, regions and local ranks of every
// rank from the launcher's table.
func (w *world) setTable(t control.Msg) {
	w.addrs = t.Addrs
	w.hosts = t.Hosts
	if len(t.Regions) == len(t.Addrs) {
		w.regions = t.Regions
	}
	if len(t.LocalRanks) == len(t.Addrs) {
		w.localRanks = t.LocalRanks
	}
	w.regionsAuto = t.RegionsAuto
}

// watchControl takes what the launcher says while the job runs (answers
// to Shrink, ranks that failed), and ends the process when the launcher
// goes away: the control socket reaching EOF means spmdrun (or the proxy)
// died, and a rank must never outlive its job.
func (w *world) watchControl() {
	for {
		m, err := w.ctl.Recv()
		if err == nil {
			switch m.Type {
			case control.TypeShrunk:
				w.shrunk(m)
			case control.TypeFailed: // spmdrun --on-failure continue
				w.failedRank(m.Rank, m.Reason)
			}
			continue
		}
		w.mu.Lock()
		closing := w.closing
		w.mu.Unlock()
		if closing {
			return
		}
		fmt.Fprintf(os.Stderr, "comm: rank %d: lost the launcher (%v); exiting\n", w.rank, err)
		os.Exit(137)
	}
}

func seq(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}
