// Command spmdrun starts an SPMD program on several ranks.
//
//	spmdrun -np 4 ./prog [args]          # four ranks on this machine
//	spmdrun -np 4 ./examples/sumprimes   # a Go package directory is built first
//	spmdrun --hostfile hosts -np 6 --preload-binary ./prog   # across hosts, over SSH
//
// See the launcher package for exit statuses and signal handling, and
// hostfile.example for the hostfile forms.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/launcher"
	"github.com/spmd-go/spmd/topology"
)

type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	*l = append(*l, v)
	return nil
}

type envFlag []string

func (e *envFlag) String() string { return strings.Join(*e, ",") }

func (e *envFlag) Set(v string) error {
	if v == "" || strings.HasPrefix(v, "=") {
		return fmt.Errorf("want NAME or NAME=value")
	}
	if !strings.Contains(v, "=") {
		v = v + "=" + os.Getenv(v)
	}
	*e = append(*e, v)
	return nil
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == launcher.ProxyRole {
		os.Exit(launcher.Proxy(os.Args[2:], os.Stdin, os.Stdout))
	}
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("spmdrun", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: spmdrun [-np N] [--hostfile FILE | -H HOSTS] [options] program [args...]\n\n")
		fs.PrintDefaults()
	}
	var cfg launcher.HostsConfig
	var env envFlag
	var keys, known listFlag
	var timeout float64
	var hostfile, hostList, mapBy, regions string
	var bwMbit float64
	var encrypt, onFailure, compress, metricsAddr, dashboardAddr, streams string
	var showStats, wanFirst bool
	var heartbeat time.Duration
	fs.IntVar(&cfg.NP, "np", 0, "number of ranks (default: 1 locally; one per slot with hosts)")
	fs.IntVar(&cfg.NP, "n", 0, "same as -np")
	fs.Var(&env, "x", "export `NAME[=value]` to every rank (repeatable); NAME alone copies this shell's value")
	fs.BoolVar(&cfg.TagOutput, "tag-output", false, "prefix every output line with [rank] (with hosts: [rank@host])")
	fs.Float64Var(&timeout, "timeout", 0, "end the job after `S` seconds (exit status 124)")
	fs.DurationVar(&cfg.Grace, "grace", launcher.DefaultGrace, "time between SIGTERM and SIGKILL when ending ranks")
	fs.StringVar(&cfg.ListenOn, "listen", "127.0.0.1", "address ranks listen on for the mesh (local jobs)")
	fs.StringVar(&hostfile, "hostfile", "", "run on the hosts in `FILE` over SSH (see hostfile.example)")
	fs.StringVar(&hostList, "H", "", "run on `host[:slots],...` over SSH")
	fs.IntVar(&cfg.Map.PerHost, "N", 0, "ranks per host")
	fs.StringVar(&mapBy, "map-by", "slot", "place ranks by `slot` (fill each host) or node (round-robin)")
	fs.BoolVar(&cfg.Map.Oversubscribe, "oversubscribe", false, "allow more ranks than slots (up to max_slots)")
	fs.Var(&keys, "i", "SSH private key `FILE` (repeatable; default: ssh-agent, then ~/.ssh/id_*)")
	fs.Var(&known, "known-hosts", "known hosts `FILE` (repeatable; default ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts)")
	fs.BoolVar(&cfg.SSH.AcceptNew, "accept-new-hostkeys", false, "record the keys of hosts not yet known (a changed key is always refused)")
	fs.StringVar(&cfg.SSH.Jump, "jump", "", "reach the hosts through the bastion `[user@]host[:port]`")
	fs.StringVar(&cfg.SSH.User, "ssh-user", "", "SSH user for hosts without user@ (default: yours)")
	fs.BoolVar(&cfg.Preload, "preload-binary", false, "copy the program into each host's cache (~/.cache/spmd) instead of expecting it at the same path")
	fs.StringVar(&cfg.MeshNet, "mesh-net", "", "ranks listen on their host's address in this `CIDR` or on this interface")
	fs.Float64Var(&bwMbit, "bw-mbit", 0, "each host's bandwidth in `Mbit/s` for the collectives' cost model (exported as SPMD_BW_MBIT; default 100, or what collectives.MeasureBandwidth finds)")
	fs.StringVar(&streams, "streams", "1", "TCP connections between two ranks of different regions: 1 to 8, or auto (as many as one flow's window needs to carry the pair's share of --bw-mbit across its round trip)")
	fs.BoolVar(&wanFirst, "wan-first", false, "the hosts' egress sends packets marked lower-effort (DSCP LE) after all others (docs/walkthrough.md, Tuning): mark the ranks' connections inside a region for calls whose WAN sends should go first, and price those calls so (exported as SPMD_WAN_FIRST=on)")
	fs.StringVar(&regions, "regions", "labels", "`labels`: regions from the hostfile's region= (inferred when no host has one); auto: inferred from round-trip times")
	fs.BoolVar(&showStats, "stats", false, "at the end, print each rank's and host's time in communication and computation, bytes sent within and across regions, and collective calls")
	fs.StringVar(&metricsAddr, "metrics", "", "serve the ranks' statistics in the Prometheus format at http://`ADDR`/metrics while the job runs (a port alone: on loopback)")
	fs.StringVar(&dashboardAddr, "dashboard", "", "serve a live status page at http://`ADDR`/ while the job runs (a port alone: on loopback)")
	fs.StringVar(&onFailure, "on-failure", "end", "when a rank fails: `end` the job, or continue (the others are told; see comm.Comm.Shrink)")
	fs.StringVar(&compress, "compress", "none", "compress messages of 4 KiB or more where it saves an eighth: `none`, wan (between hosts not labelled with one region) or all")
	fs.StringVar(&encrypt, "encrypt", "wan", "encrypt the links between ranks: `none`, wan (between hosts not labelled with one region) or all")
	fs.DurationVar(&heartbeat, "heartbeat", comm.DefaultConfig().Heartbeat, "a rank silent this `long` (host down, network cut) is lost by its peers, and the job ends; 0: the kernel's defaults")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	cfg.Program = fs.Arg(0)
	cfg.Args = fs.Args()[1:]
	cfg.Env = env
	if bwMbit < 0 {
		fmt.Fprintf(os.Stderr, "spmdrun: --bw-mbit %g: must be positive\n", bwMbit)
		return 2
	}
	if bwMbit > 0 {
		cfg.Env = append(cfg.Env, "SPMD_BW_MBIT="+strconv.FormatFloat(bwMbit, 'g', -1, 64))
	}
	if n, err := strconv.Atoi(streams); streams != "auto" && (err != nil || n < 1 || n > topology.MaxStreams) {
		fmt.Fprintf(os.Stderr, "spmdrun: --streams %q: want auto or a number from 1 to %d\n", streams, topology.MaxStreams)
		return 2
	}
	if streams != "1" {
		cfg.Env = append(cfg.Env, "SPMD_STREAMS="+streams)
	}
	if wanFirst {
		cfg.Env = append(cfg.Env, "SPMD_WAN_FIRST=on")
	}
	if _, err := comm.ParseEncryptMode(encrypt); err != nil {
		fmt.Fprintf(os.Stderr, "spmdrun: --encrypt: %v\n", err)
		return 2
	}
	if _, err := comm.ParseCompressMode(compress); err != nil {
		fmt.Fprintf(os.Stderr, "spmdrun: --compress: %v\n", err)
		return 2
	}
	switch onFailure {
	case "end":
	case "continue":
		cfg.ContinueOnFailure = true
	default:
		fmt.Fprintf(os.Stderr, "spmdrun: --on-failure %q: want end or continue\n", onFailure)
		return 2
	}
	if heartbeat < 0 {
		fmt.Fprintf(os.Stderr, "spmdrun: --heartbeat %v: must not be negative\n", heartbeat)
		return 2
	}
	cfg.Env = append(cfg.Env, "SPMD_ENCRYPT="+encrypt, "SPMD_COMPRESS="+compress, "SPMD_HEARTBEAT="+heartbeat.String())
	if heartbeat > 0 {
		// A host whose SSH connection is silent this long is lost too:
		// a request every heartbeat/4, given three of those to answer.
		cfg.SSH.Keepalive = max(heartbeat/4, time.Second)
	}
	var stopServers []func()
	defer func() {
		for _, stop := range stopServers {
			stop()
		}
	}()
	if showStats || metricsAddr != "" || dashboardAddr != "" {
		cfg.Monitor = launcher.NewMonitor()
		cfg.Env = append(cfg.Env, "SPMD_STATS_EVERY=1s")
		for _, s := range []struct{ addr, what, path string }{{metricsAddr, "metrics", "metrics"}, {dashboardAddr, "dashboard", ""}} {
			if s.addr == "" {
				continue
			}
			at, stop, err := cfg.Monitor.Serve(s.addr)
			if err != nil {
				fmt.Fprintf(os.Stderr, "spmdrun: --%s %s: %v\n", s.what, s.addr, err)
				return 2
			}
			stopServers = append(stopServers, stop)
			fmt.Fprintf(os.Stderr, "spmdrun: %s at http://%s/%s\n", s.what, at, s.path)
		}
	}
	cfg.Timeout = time.Duration(timeout * float64(time.Second))
	cfg.Stdin = os.Stdin
	cfg.HandleSignals = true
	fail := func(err error) int {
		fmt.Fprintf(os.Stderr, "spmdrun: %v\n", err)
		return launcher.ExitLaunch
	}
	switch regions {
	case "labels":
	case "auto":
		cfg.RegionsAuto = true
	default:
		return fail(fmt.Errorf("--regions %q: want labels or auto", regions))
	}
	switch {
	case hostfile != "" && hostList != "":
		return fail(fmt.Errorf("give --hostfile or -H, not both"))
	case hostfile != "":
		f, err := os.Open(hostfile)
		if err != nil {
			return fail(err)
		}
		cfg.Hosts, err = launcher.ParseHostfile(hostfile, f)
		f.Close()
		if err != nil {
			return fail(err)
		}
	case hostList != "":
		var err error
		if cfg.Hosts, err = launcher.ParseHostList(hostList); err != nil {
			return fail(err)
		}
	}
	var code int
	var err error
	if cfg.Hosts == nil {
		if cfg.Map.PerHost > 0 || mapBy != "slot" || cfg.Preload || len(keys) > 0 || cfg.SSH.Jump != "" {
			return fail(fmt.Errorf("-N, --map-by, --preload-binary, -i and --jump need hosts (--hostfile or -H)"))
		}
		if cfg.NP == 0 {
			cfg.NP = 1
		}
		code, err = launcher.Run(context.Background(), cfg.Config)
	} else {
		switch mapBy {
		case "slot":
		case "node":
			cfg.Map.ByNode = true
		default:
			return fail(fmt.Errorf("--map-by %q: want slot or node", mapBy))
		}
		cfg.Map.NP = cfg.NP
		cfg.SSH.KeyFiles = keys
		cfg.SSH.KnownHosts = known
		if term.IsTerminal(int(os.Stderr.Fd())) {
			cfg.Progress = &termProgress{}
		}
		code, err = launcher.RunHosts(context.Background(), cfg)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "spmdrun: %v\n", err)
	}
	if showStats && err == nil {
		fmt.Fprintln(os.Stderr, "spmdrun: statistics (--stats):")
		cfg.Monitor.WriteTable(os.Stderr)
	}
	return code
}

// termProgress draws staging progress on the terminal (standard error).
type termProgress struct {
	bar *progressbar.ProgressBar
}

func (p *termProgress) Step(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "spmdrun: "+format+"\n", args...)
}

func (p *termProgress) Stage(total int64) func(int64) {
	p.bar = progressbar.NewOptions64(total,
		progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription("spmdrun: staging"),
		progressbar.OptionShowBytes(true),
		progressbar.OptionThrottle(100*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	return func(n int64) { _ = p.bar.Add64(n) }
}

func (p *termProgress) Done() {
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}
