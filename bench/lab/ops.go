//go:build linux

package lab

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// labNamespaces lists the network namespaces a lab made (by name), from
// /run/netns, whether or not its state survives.
func labNamespaces() []string {
	entries, _ := os.ReadDir("/run/netns")
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), nsPrefix) {
			out = append(out, e.Name())
		}
	}
	return out
}

// pidsIn returns the processes whose network namespace is the named one.
func pidsIn(ns string) []int {
	var want syscall.Stat_t
	if err := syscall.Stat("/run/netns/"+ns, &want); err != nil {
		return nil
	}
	procs, _ := os.ReadDir("/proc")
	var out []int
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		var got syscall.Stat_t
		if syscall.Stat("/proc/"+p.Name()+"/ns/net", &got) == nil && got.Ino == want.Ino && got.Dev == want.Dev && alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// killAll SIGKILLs every process in the namespaces and waits, up to 5 s,
// until none is left.
func killAll(nss ...string) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		var left []int
		for _, ns := range nss {
			left = append(left, pidsIn(ns)...)
		}
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("lab: processes %v in %s would not die", left, strings.Join(nss, " "))
		}
		for _, pid := range left {
			syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Down removes the lab: every process in its namespaces, the namespaces
// and links, and its directory. It works from what is on the machine, not
// only from the lab's state, so it is safe to run twice or after a crash.
// log, if not nil, gets a line per step.
func Down(log io.Writer) error {
	say := func(format string, args ...any) {
		if log != nil {
			fmt.Fprintf(log, format+"\n", args...)
		}
	}
	var errs []error
	nss := labNamespaces()
	if len(nss) > 0 {
		say("stopping the processes in %d namespaces", len(nss))
		if err := killAll(nss...); err != nil {
			errs = append(errs, err)
		}
	}
	for _, ns := range nss {
		if err := run("ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	if _, err := net.InterfaceByName(uplink); err == nil {
		if err := run("ip", "link", "del", uplink); err != nil {
			errs = append(errs, err)
		}
	}
	if b, err := os.ReadFile(pointerFile); err == nil {
		dir := strings.TrimSpace(string(b))
		// Remove the directory only if it is a lab's.
		if _, err := os.Stat(filepath.Join(dir, stateName)); err == nil {
			say("removing %s", dir)
			if err := os.RemoveAll(dir); err != nil {
				errs = append(errs, fmt.Errorf("lab: %w", err))
			}
		}
		if err := os.Remove(pointerFile); err != nil {
			errs = append(errs, fmt.Errorf("lab: %w", err))
		}
	}
	if len(nss) == 0 && len(errs) == 0 {
		say("no lab was up")
	}
	return errors.Join(errs...)
}

// Kill ends host name as if it lost power: every process in its namespace
// (its sshd and whatever ssh started there) is SIGKILLed and its link goes
// down, so peers see silence, not refused connections.
func (s *State) Kill(name string) error {
	h, err := s.Host(name)
	if err != nil {
		return err
	}
	// The link first: processes killed on a host that is still connected
	// would have their kernel close their connections (FIN), which no
	// host that loses power does.
	if err := run("ip", "-n", h.NetNS, "link", "set", "eth0", "down"); err != nil {
		return err
	}
	if err := killAll(h.NetNS); err != nil {
		return err
	}
	h.Killed = true
	return s.save()
}

// Partition cuts region off from every other region; Heal undoes it.
func (s *State) Partition(region string, cut bool) error {
	r, err := s.Region(region)
	if err != nil {
		return err
	}
	op := "heal"
	if cut {
		op = "cut"
	}
	_, err = s.control(request{Op: op, Region: r})
	return err
}

// Slow sets the one-way delay between two regions, given as "A/B=DELAY".
func (s *State) Slow(spec string) error {
	pair, ds, ok := strings.Cut(spec, "=")
	a, b, ok2 := strings.Cut(pair, "/")
	if !ok || !ok2 {
		return fmt.Errorf("lab: slow %q: want A/B=DELAY, as us-west/ap-sg=400ms", spec)
	}
	ia, err := s.Region(a)
	if err != nil {
		return err
	}
	ib, err := s.Region(b)
	if err != nil {
		return err
	}
	if ia == ib {
		return fmt.Errorf("lab: slow %q: a region has no delay to itself", spec)
	}
	delay, err := time.ParseDuration(ds)
	if err != nil || delay < 0 || delay > time.Minute {
		return fmt.Errorf("lab: slow %q: %q is not a one-way delay such as 400ms", spec, ds)
	}
	_, err = s.control(request{Op: "slow", A: ia, B: ib, Delay: delay})
	return err
}

// ExecArgv returns the command that runs argv on host name, in its
// network namespace with its private home and /tmp, as `spmdlab exec`
// does.
func (s *State) ExecArgv(self, name string, argv []string) ([]string, error) {
	h, err := s.Host(name)
	if err != nil {
		return nil, err
	}
	if len(argv) == 0 {
		return nil, fmt.Errorf("lab: exec %s: no command given", name)
	}
	return append([]string{"ip", "netns", "exec", h.NetNS, self, helperHost, s.Dir, name, "--"}, argv...), nil
}

// Status writes what the lab is made of and what its emulator has
// carried.
func (s *State) Status(w io.Writer) error {
	fmt.Fprintf(w, "lab up since %s, files in %s\n", s.Started.Format(time.RFC3339), s.Dir)
	fmt.Fprintf(w, "  ssh -F %s HOST    hostfile %s\n\n", s.SSHConfig(), s.Hostfile())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tREGION\tADDRESS\tSSHD\tPROCESSES")
	for _, h := range s.Hosts {
		state := "up"
		switch {
		case h.Killed:
			state = "killed"
		case !alive(h.SSHDPID):
			state = "down"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", h.Name, s.Regions[h.Region].Name, h.Addr, state, len(pidsIn(h.NetNS)))
	}
	tw.Flush()
	resp, err := s.control(request{Op: "stats"})
	if err != nil {
		fmt.Fprintf(w, "\nemulator: %v\n", err)
		return err
	}
	cut := "none"
	if len(resp.Cut) > 0 {
		var names []string
		for _, r := range resp.Cut {
			names = append(names, s.Regions[r].Name)
		}
		cut = strings.Join(names, " ")
	}
	fmt.Fprintf(w, "\nemulator pid %d, cpu %s, cut off: %s (%d packets dropped by cuts)\n", resp.PID, cpuTime(resp.PID), cut, resp.CutDrops)
	slices.SortFunc(resp.Lines, func(a, b LineStats) int { return (a.Src*1000 + a.Dst) - (b.Src*1000 + b.Dst) })
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FROM\tTO\tDELAY\tMBIT\tPACKETS\tBYTES\tDROPPED")
	for _, l := range resp.Lines {
		mbit := "-"
		if l.Spec.Mbit > 0 {
			mbit = fmt.Sprint(l.Spec.Mbit)
		}
		fmt.Fprintf(tw, "%s\t%s\t%v\t%s\t%d\t%d\t%d\n", s.Regions[l.Src].Name, s.Regions[l.Dst].Name, l.Spec.Delay, mbit, l.Sent, l.Bytes, l.Dropped)
	}
	return tw.Flush()
}

// cpuTime returns the user+system CPU time of pid.
func cpuTime(pid int) string {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "?"
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return "?"
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	stt, _ := strconv.ParseInt(f[12], 10, 64)
	return (time.Duration(ut+stt) * time.Second / 100).String() // USER_HZ is 100 on Linux
}
