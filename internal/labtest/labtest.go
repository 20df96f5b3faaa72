//go:build linux

// Package labtest brings up an spmdlab WAN lab for a test: it checks that
// the machine can (root, iproute2, OpenSSH, ping), serializes the tests of
// every package that use a lab (one lab fits on a machine), and takes the
// lab down when the test ends.
package labtest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// Tools a lab test needs, with their Debian packages.
var tools = []struct{ path, pkg string }{
	{"/usr/sbin/ip", "iproute2"},
	{"/usr/sbin/tc", "iproute2"},
	{"/usr/sbin/sshd", "openssh-server"},
	{"/usr/lib/openssh/sftp-server", "openssh-sftp-server"},
	{"/usr/bin/ssh", "openssh-client"},
	{"/usr/bin/ping", "iputils-ping"},
}

// Need skips the test, saying why, when the machine cannot run a lab; with
// SPMD_LAB_REQUIRED=1 (set by .ci/run) it fails instead.
func Need(t testing.TB) {
	t.Helper()
	var missing []string
	if os.Geteuid() != 0 {
		missing = append(missing, "root (it makes network namespaces)")
	}
	for _, tool := range tools {
		if _, err := os.Stat(tool.path); err != nil {
			missing = append(missing, fmt.Sprintf("%s (apt-get install %s)", tool.path, tool.pkg))
		}
	}
	if len(missing) == 0 {
		return
	}
	skipOrFail(t, "this test runs on the WAN lab and needs "+strings.Join(missing, ", ")+"; .ci/run runs it as root")
}

// skipOrFail skips the test with msg, or fails it under
// SPMD_LAB_REQUIRED=1 (.ci/run), where nothing may be skipped.
func skipOrFail(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("SPMD_LAB_REQUIRED") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// NeedCommand returns the path of command (from Debian's package pkg),
// or skips the test saying so; under SPMD_LAB_REQUIRED=1 (.ci/run, which
// installs it) it fails instead.
func NeedCommand(t testing.TB, command, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(command)
	if err != nil {
		skipOrFail(t, fmt.Sprintf("this test needs %s (apt-get install %s; .ci/run installs it)", command, pkg))
	}
	return path
}

// Lock waits until no other test on the machine holds a lab, and holds it
// until the test ends.
func Lock(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile("/run/spmdlab-test.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	if _, err := os.Stat("/run/spmdlab.dir"); err == nil {
		t.Fatal("a lab is already up on this machine: run `spmdlab down` before this test")
	}
}

// Build builds spmdlab into a test's temporary directory.
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "spmdlab")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/spmd-go/spmd/cmd/spmdlab").CombinedOutput(); err != nil {
		t.Fatalf("building spmdlab: %v\n%s", err, out)
	}
	return bin
}

// Lab is a lab that is up.
type Lab struct {
	Bin        string // spmdlab
	Dir        string
	Hostfile   string
	Key        string // the client key
	KnownHosts string
}

// Start checks the machine, takes the lock, builds spmdlab and brings a
// lab up with upArgs (as `spmdlab up` takes them); the lab goes down when
// the test ends.
func Start(t testing.TB, upArgs ...string) *Lab {
	t.Helper()
	Need(t)
	Lock(t)
	bin := Build(t)
	dir, err := os.MkdirTemp("/var/tmp", "spmdlab-test-")
	if err != nil {
		t.Fatal(err)
	}
	l := &Lab{Bin: bin, Dir: dir, Hostfile: filepath.Join(dir, "hostfile"), Key: filepath.Join(dir, "id_ed25519"), KnownHosts: filepath.Join(dir, "known_hosts")}
	t.Cleanup(func() {
		if t.Failed() {
			out, _ := exec.Command(bin, "status").CombinedOutput()
			t.Logf("lab at the end:\n%s", out)
		}
		if out, err := exec.Command(bin, "down").CombinedOutput(); err != nil {
			t.Errorf("spmdlab down: %v\n%s", err, out)
		}
		os.RemoveAll(dir)
	})
	if out, err := exec.Command(bin, append(append([]string{"up"}, upArgs...), "--dir", dir)...).CombinedOutput(); err != nil {
		t.Fatalf("spmdlab up: %v\n%s", err, out)
	}
	return l
}

// Run runs spmdlab with args and returns its output, failing the test on
// an error.
func (l *Lab) Run(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(l.Bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("spmdlab %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// LineBytes returns the bytes the emulator has carried on each direction
// of each region pair ("from/to"), from `spmdlab status`.
func (l *Lab) LineBytes(t testing.TB) map[string]int64 {
	t.Helper()
	out := l.Run(t, "status")
	lines := strings.Split(out, "\n")
	got := map[string]int64{}
	in := false
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) == 7 && f[0] == "FROM" && f[5] == "BYTES" {
			in = true
			continue
		}
		if in && len(f) == 7 {
			n, err := strconv.ParseInt(f[5], 10, 64)
			if err != nil {
				t.Fatalf("status line %q: %v", line, err)
			}
			got[f[0]+"/"+f[1]] = n
		}
	}
	if len(got) == 0 {
		t.Fatalf("no link table in spmdlab status:\n%s", out)
	}
	return got
}
