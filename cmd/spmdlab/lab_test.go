//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/spmd-go/spmd/internal/labtest"
)

// labCmd runs the built spmdlab with args and returns its combined output
// and exit code.
func labCmd(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	out, err := cmd.CombinedOutput()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("spmdlab %s: %v", strings.Join(args, " "), err)
		}
		code = ee.ExitCode()
	}
	return string(out), code
}

func mustLab(t *testing.T, bin string, args ...string) string {
	t.Helper()
	out, code := labCmd(t, bin, args...)
	if code != 0 {
		t.Fatalf("spmdlab %s: exit %d:\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

var rttLine = regexp.MustCompile(`rtt min/avg/max/mdev = ([0-9.]+)/([0-9.]+)/`)

// ping returns the min and average RTT from host to addr.
func ping(t *testing.T, bin, host, addr string) (minRTT, avg time.Duration) {
	t.Helper()
	out := mustLab(t, bin, "exec", host, "--", "ping", "-n", "-q", "-c", "5", "-i", "0.2", addr)
	m := rttLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("ping %s from %s: no RTT in:\n%s", addr, host, out)
	}
	ms := func(s string) time.Duration {
		f, _ := strconv.ParseFloat(s, 64)
		return time.Duration(f * float64(time.Millisecond))
	}
	return ms(m[1]), ms(m[2])
}

// checkRTT asserts that the least of five pings is within 5% above twice
// the one-way delay (the emulator's accuracy; averages can be late on a
// loaded machine, so they are logged, not asserted).
func checkRTT(t *testing.T, bin, host, addr string, oneWay time.Duration) {
	t.Helper()
	minRTT, avg := ping(t, bin, host, addr)
	want := 2 * oneWay
	t.Logf("ping %s -> %s: min %v avg %v, want %v", host, addr, minRTT, avg, want)
	if minRTT < want || float64(minRTT) > 1.05*float64(want) {
		t.Errorf("ping %s -> %s: min RTT %v, want within 5%% above %v", host, addr, minRTT, want)
	}
}

func TestLabEndToEnd(t *testing.T) {
	labtest.Need(t)
	labtest.Lock(t)
	bin := labtest.Build(t)
	// Not under /tmp or root's home: each host has its own copies.
	if _, code := labCmd(t, bin, "up", "--regions", "a:1", "--dir", filepath.Join(t.TempDir(), "lab")); code == 0 {
		t.Fatal("up accepted a directory under /tmp, which hosts cannot see")
	}
	dir, err := os.MkdirTemp("/var/tmp", "spmdlab-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	out := mustLab(t, bin, "up", "--regions", "a:2,b:2,c:2", "--delay", "a/b=40ms,a/c=90ms,b/c=70ms", "--slots", "2", "--dir", dir)
	t.Log(out)
	down := func() string { return mustLab(t, bin, "down") }
	defer func() {
		if t.Failed() {
			t.Log(mustLab(t, bin, "status"))
		}
		down()
	}()

	// A second lab is refused while this one is up.
	if out, code := labCmd(t, bin, "up", "--regions", "x:1"); code == 0 || !strings.Contains(out, "already up") {
		t.Errorf("second up: exit %d, %q; want a refusal saying a lab is already up", code, out)
	}

	// Delays between regions; a region's own LAN is bridged directly.
	checkRTT(t, bin, "a-1", "198.18.2.10", 40*time.Millisecond)
	checkRTT(t, bin, "a-2", "198.18.3.11", 90*time.Millisecond)
	checkRTT(t, bin, "c-1", "198.18.2.11", 70*time.Millisecond)
	if minRTT, _ := ping(t, bin, "b-1", "198.18.2.11"); minRTT >= time.Millisecond {
		t.Errorf("RTT inside region b: %v, want under 1 ms", minRTT)
	}

	// ssh with the lab's key and known_hosts reaches the right host, whose
	// home and /tmp are its own.
	sshConfig := filepath.Join(dir, "ssh_config")
	ssh := func(args ...string) (string, error) {
		out, err := exec.Command("ssh", append([]string{"-F", sshConfig, "-o", "ConnectTimeout=3"}, args...)...).CombinedOutput()
		return string(out), err
	}
	out, err = ssh("b-2", "ip -4 -o addr show dev eth0; echo b2 > ~/mine; echo t > /tmp/mine; ls -A /tmp")
	if err != nil || !strings.Contains(out, "198.18.2.11/24") || strings.TrimSpace(lastLine(out)) != "mine" {
		t.Fatalf("ssh b-2: %v\n%s", err, out)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "hosts", "b-2", "home", "mine")); err != nil || string(b) != "b2\n" {
		t.Errorf("b-2's home is not its own: %q %v", b, err)
	}
	if out, err := ssh("a-1", "cat ~/mine /tmp/mine"); err == nil {
		t.Errorf("a-1 sees b-2's files: %s", out)
	}
	if out, code := labCmd(t, bin, "exec", "a-1", "--", "sh", "-c", "echo $SPMDLAB_HOST; exit 7"); code != 7 || strings.TrimSpace(out) != "a-1" {
		t.Errorf("exec: exit %d, %q; want 7 and the host's name", code, out)
	}

	// Host keys are checked: a known_hosts that pairs c-1's key with
	// b-1's address is refused.
	known, err := os.ReadFile(filepath.Join(dir, "known_hosts"))
	if err != nil {
		t.Fatal(err)
	}
	var c1Key string
	for _, line := range strings.Split(string(known), "\n") {
		if strings.HasPrefix(line, "c-1,") {
			c1Key = strings.SplitN(line, " ", 2)[1]
		}
	}
	bad := filepath.Join(dir, "known_hosts.bad")
	if err := os.WriteFile(bad, []byte("b-1,198.18.2.10 "+c1Key+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := ssh("-o", "UserKnownHostsFile="+bad, "b-1", "true"); err == nil || !strings.Contains(out, "Host key verification failed") {
		t.Errorf("ssh with a wrong host key: %v %q; want it refused", err, out)
	}

	// The hostfile names every host with its region and slots.
	hf, err := os.ReadFile(filepath.Join(dir, "hostfile"))
	if err != nil || !strings.Contains(string(hf), "198.18.3.11 slots=2 region=c\n") || strings.Count(string(hf), "region=") != 6 {
		t.Errorf("hostfile:\n%s", hf)
	}

	// Faults: a cut region, a slower link, a dead host.
	mustLab(t, bin, "partition", "c")
	if out, code := labCmd(t, bin, "exec", "a-1", "--", "ping", "-n", "-c", "2", "-W", "1", "198.18.3.10"); code == 0 {
		t.Errorf("ping into a cut-off region succeeded:\n%s", out)
	}
	if minRTT, _ := ping(t, bin, "c-1", "198.18.3.11"); minRTT >= time.Millisecond {
		t.Errorf("inside a cut-off region: RTT %v, want it still bridged", minRTT)
	}
	mustLab(t, bin, "heal", "c")
	checkRTT(t, bin, "a-1", "198.18.3.10", 90*time.Millisecond)
	mustLab(t, bin, "slow", "a/b=120ms")
	checkRTT(t, bin, "a-1", "198.18.2.10", 120*time.Millisecond)
	if out, code := labCmd(t, bin, "slow", "a/zz=1ms"); code == 0 || !strings.Contains(out, `no region "zz"`) {
		t.Errorf("slow with a bad region: exit %d %q", code, out)
	}
	mustLab(t, bin, "kill", "b-2")
	status := mustLab(t, bin, "status")
	if !regexp.MustCompile(`b-2\s+b\s+198.18.2.11\s+killed\s+0`).MatchString(status) {
		t.Errorf("status after kill:\n%s", status)
	}
	if out, err := ssh("b-2", "true"); err == nil {
		t.Errorf("ssh to a killed host worked: %s", out)
	}

	// down removes everything and can be repeated.
	t.Log(down())
	if nss, _ := filepath.Glob("/run/netns/spmdlab-*"); len(nss) != 0 {
		t.Errorf("namespaces left after down: %v", nss)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("lab directory left after down: %v", err)
	}
	if out, err := exec.Command("pgrep", "-f", "spmdlab-e2e-").CombinedOutput(); err == nil {
		t.Errorf("processes left after down:\n%s", out)
	}
	if out := down(); !strings.Contains(out, "no lab was up") {
		t.Errorf("second down: %q", out)
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func TestParseLoss(t *testing.T) {
	for in, want := range map[string]float64{"0": 0, "0.5%": 0.005, "0.01": 0.01, "100%": 1} {
		if got, err := parseLoss(in); err != nil || got != want {
			t.Errorf("parseLoss(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"-1", "2", "x%", "150%"} {
		if _, err := parseLoss(in); err == nil {
			t.Errorf("parseLoss(%q) accepted", in)
		}
	}
}

func TestUpBadInput(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{}, "--regions is required"},
		{[]string{"--regions", "a:1,b:1"}, "no delay for a/b"},
		{[]string{"--regions", "a:1", "--loss", "5"}, "--loss"},
		{[]string{"--regions", "a:1", "--slots", "0"}, "--slots"},
		{[]string{"--regions", "a:1", "extra"}, `unexpected argument "extra"`},
		{[]string{"--regions", "a:1", "--wan-first"}, "--wan-first orders the packets at each host's cap: give --host-mbit too"},
	} {
		err := up(tc.args)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("up %v: %v, want an error with %q", tc.args, err, tc.want)
		}
	}
}
