//go:build linux

// Command spmdlab runs an emulated multi-region cluster on one Linux
// machine: a network namespace per host, a bridge per region, a WAN
// emulator between regions, and an sshd per host. See bench/lab and
// DESIGN.md, "The WAN lab". It must run as root.
//
//	spmdlab up --regions us-west:2,ap-sg:2,eu-fra:2 \
//	    --delay us-west/ap-sg=40ms,us-west/eu-fra=90ms,ap-sg/eu-fra=70ms --host-mbit 100
//	spmdlab status
//	spmdlab exec us-west-1 -- ping -c 3 198.18.2.10
//	spmdlab partition ap-sg; spmdlab heal ap-sg
//	spmdlab slow us-west/ap-sg=400ms
//	spmdlab kill eu-fra-2
//	spmdlab down
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spmd-go/spmd/bench/lab"
)

const usage = `usage: spmdlab COMMAND [ARGS]

  up --regions NAME:HOSTS,... --delay A/B=DELAY,... [flags]   build a lab
  down                          remove everything a lab made (safe to repeat)
  status                        hosts, links and what the emulator carried
  exec HOST -- COMMAND [ARGS]   run a command on a host (its network, home, /tmp)
  partition REGION | heal REGION  cut a region off from the others, or undo it
  slow A/B=DELAY                set the one-way delay between two regions now
  kill HOST                     kill every process on a host and take its link down

Run "spmdlab up -h" for up's flags.
`

func main() {
	if handled, err := lab.Helper(os.Args[1:]); handled {
		if err != nil {
			fmt.Fprintln(os.Stderr, "spmdlab:", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Args[2:]); err != nil {
		fmt.Fprintln(os.Stderr, "spmdlab:", err)
		os.Exit(1)
	}
}

func run(cmd string, args []string) error {
	switch cmd {
	case "up":
		return up(args)
	case "down":
		if len(args) != 0 {
			return fmt.Errorf("down takes no arguments")
		}
		return lab.Down(os.Stdout)
	case "help", "-h", "--help":
		fmt.Print(usage)
		return nil
	}
	st, err := lab.Load()
	if err != nil {
		return err
	}
	one := func() (string, error) {
		if len(args) != 1 {
			return "", fmt.Errorf("%s wants one argument", cmd)
		}
		return args[0], nil
	}
	switch cmd {
	case "status":
		return st.Status(os.Stdout)
	case "exec":
		if len(args) < 3 || args[1] != "--" {
			return fmt.Errorf("usage: spmdlab exec HOST -- COMMAND [ARGS]")
		}
		self, err := os.Executable()
		if err != nil {
			return err
		}
		argv, err := st.ExecArgv(self, args[0], args[2:])
		if err != nil {
			return err
		}
		ip, err := exec.LookPath(argv[0])
		if err != nil {
			return err
		}
		return syscall.Exec(ip, argv, os.Environ())
	case "partition", "heal":
		r, err := one()
		if err != nil {
			return err
		}
		return st.Partition(r, cmd == "partition")
	case "slow":
		s, err := one()
		if err != nil {
			return err
		}
		return st.Slow(s)
	case "kill":
		h, err := one()
		if err != nil {
			return err
		}
		return st.Kill(h)
	}
	return fmt.Errorf("unknown command %q\n%s", cmd, usage)
}

func up(args []string) error {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	regions := fs.String("regions", "", "regions and their hosts, as us-west:2,ap-sg:2,eu-fra:2 (required)")
	delays := fs.String("delay", "", "one-way delay of every region pair, as us-west/ap-sg=40ms,... (required with 2+ regions)")
	hostMbit := fs.Float64("host-mbit", 0, "cap each host's traffic at this rate in both directions, as a VPS plan does (0: none)")
	wanMbit := fs.Float64("wan-mbit", 0, "rate of the link each region pair shares (0: unlimited)")
	loss := fs.String("loss", "0", "packet loss on WAN links, as 0.1% or 0.001")
	jitter := fs.Duration("jitter", 0, "extra WAN delay drawn uniformly from [0, D); packets are never reordered")
	slots := fs.Int("slots", 1, "slots per host in the hostfile")
	tune := fs.Bool("tune", false, "turn off slow start after idle and let socket buffers fit the bandwidth-delay product on every host")
	wanFirst := fs.Bool("wan-first", false, "make each host's egress send packets marked lower-effort (DSCP LE; spmdrun --wan-first marks the region's) only when no other waits (needs --host-mbit)")
	dir := fs.String("dir", lab.DefaultDir, "directory for keys, hostfile and host homes (must not exist or be empty)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("up: unexpected argument %q", fs.Arg(0))
	}
	if *regions == "" {
		return fmt.Errorf("up: --regions is required, as --regions us-west:2,ap-sg:2")
	}
	rs, err := lab.ParseRegions(*regions)
	if err != nil {
		return err
	}
	ds, err := lab.ParseDelays(*delays, rs)
	if err != nil {
		return err
	}
	p, err := parseLoss(*loss)
	if err != nil {
		return err
	}
	if *hostMbit < 0 || *wanMbit < 0 || *jitter < 0 || *slots < 1 {
		return fmt.Errorf("up: --host-mbit, --wan-mbit and --jitter must not be negative, --slots at least 1")
	}
	if *wanFirst && *hostMbit == 0 {
		return fmt.Errorf("up: --wan-first orders the packets at each host's cap: give --host-mbit too")
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	start := time.Now()
	st, err := lab.Up(lab.Config{Dir: *dir, Regions: rs, Delays: ds, HostMbit: *hostMbit, WanMbit: *wanMbit,
		Loss: p, Jitter: *jitter, Slots: *slots, Tune: *tune, WANFirst: *wanFirst, Self: self, Log: os.Stdout})
	if err != nil {
		return err
	}
	first := st.Hosts[0]
	fmt.Printf(`lab up in %v: %d hosts in %d regions, files in %s
  log in:      ssh -F %s %s
  run:         spmdlab exec %s -- COMMAND
  hostfile:    %s (with region= labels)
  known_hosts: %s    client key: %s
  inspect:     spmdlab status
  remove:      spmdlab down
`, time.Since(start).Round(time.Millisecond), len(st.Hosts), len(st.Regions), st.Dir,
		st.SSHConfig(), first.Name, first.Name, st.Hostfile(), st.KnownHosts(), st.ClientKey())
	return nil
}

func parseLoss(s string) (float64, error) {
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if pct {
		v /= 100
	}
	if err != nil || v < 0 || v > 1 {
		return 0, fmt.Errorf("up: --loss %q: want a fraction 0..1 or a percentage, as 0.1%%", s)
	}
	return v, nil
}
