//go:build linux

package launcher_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"

	"github.com/spmd-go/spmd/internal/labtest"
)

// spmdrun runs the built spmdrun and returns its exit code, stdout and
// stderr.
func spmdrun(t *testing.T, bin string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	return code, out.String(), errb.String()
}

var sumLine = regexp.MustCompile(`(?m)^(?:\[[^]]*\] )?(Sum of primes below \d+ is \d+)$`)

func sums(out string) []string {
	var s []string
	for _, m := range sumLine.FindAllStringSubmatch(out, -1) {
		s = append(s, m[1])
	}
	return s
}

// pidOf finds the process of the job with marker that is rank r.
func pidOf(marker string, r int) int {
	procs, _ := os.ReadDir("/proc")
	for _, p := range procs {
		pid, err := strconv.Atoi(p.Name())
		if err != nil {
			continue
		}
		env, err := os.ReadFile("/proc/" + p.Name() + "/environ")
		if err != nil {
			continue
		}
		vars := strings.Split(string(env), "\x00")
		hasMarker, hasRank := false, false
		for _, v := range vars {
			hasMarker = hasMarker || v == marker
			hasRank = hasRank || v == "SPMD_RANK="+strconv.Itoa(r)
		}
		if hasMarker && hasRank {
			return pid
		}
	}
	return 0
}

// startLabJob starts spmdrun on the lab with the test binary in role and
// waits until every rank has printed "ready".
func startLabJob(t *testing.T, bin string, base []string, n int, role, marker string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	args := append(append([]string{}, base...), "--preload-binary", "-x", "SPMD_TEST_ROLE="+role, "-x", marker, "--grace", "1s", os.Args[0])
	return startReady(t, n, bin, args...)
}

// The SSH launcher on the WAN lab: 3 regions x 2 hosts, real sshd.
func TestAcrossLab(t *testing.T) {
	lab := labtest.Start(t, "--regions", "a:2,b:2,c:2", "--delay", "a/b=40ms,a/c=90ms,b/c=70ms")
	bin := buildSpmdrun(t)
	base := []string{"--hostfile", lab.Hostfile, "-i", lab.Key, "--known-hosts", lab.KnownHosts}

	t.Run("sumprimes", func(t *testing.T) {
		want, err := exec.Command("go", "run", "../examples/sumprimes").Output()
		if err != nil {
			t.Fatal(err)
		}
		wantSums := sums(string(want))
		if len(wantSums) < 10 {
			t.Fatalf("the local run printed %d sums:\n%s", len(wantSums), want)
		}
		var stamps []string
		for round := 0; round < 2; round++ {
			code, out, errs := spmdrun(t, bin, append(base, "--preload-binary", "--tag-output", "../examples/sumprimes")...)
			if code != 0 {
				t.Fatalf("round %d: exit %d\n%s\n%s", round, code, out, errs)
			}
			if got := sums(out); strings.Join(got, "\n") != strings.Join(wantSums, "\n") {
				t.Fatalf("round %d: sums differ from a local run:\n%s", round, out)
			}
			for h := 0; h < 6; h++ {
				if !strings.Contains(out, fmt.Sprintf("[0@198.18.1.10]      %d  198.18.", h)) {
					t.Errorf("round %d: no statistics line for rank %d:\n%s", round, h, out)
				}
			}
			// Each host has one copy in its own cache, left alone the
			// second time.
			copies, _ := filepath.Glob(filepath.Join(lab.Dir, "hosts", "*", "home", ".cache", "spmd", "bin", "*", "sumprimes"))
			if len(copies) != 6 {
				t.Fatalf("round %d: %d cached copies of the program, want one per host: %v", round, len(copies), copies)
			}
			sort.Strings(copies)
			var s []string
			for _, c := range copies {
				fi, err := os.Stat(c)
				if err != nil || fi.Mode()&0o111 == 0 {
					t.Fatalf("cached copy %s: %v %v", c, fi, err)
				}
				s = append(s, c+"@"+fi.ModTime().String())
			}
			stamps = append(stamps, strings.Join(s, "\n"))
		}
		if stamps[0] != stamps[1] {
			t.Errorf("the second run copied the program again:\n%s\n---\n%s", stamps[0], stamps[1])
		}
	})

	t.Run("mesh", func(t *testing.T) {
		code, out, errs := spmdrun(t, bin, append(base, "--preload-binary", "-x", "SPMD_TEST_ROLE=pingring", os.Args[0])...)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		for r := 0; r < 6; r++ {
			if !strings.Contains(out, fmt.Sprintf("rank %d of 6 got %d\n", r, (r+5)%6)) {
				t.Errorf("rank %d's line missing:\n%s", r, out)
			}
			// --encrypt wan (the default): the links to the four ranks
			// of the other regions, not the one to the region's other
			// host.
			var other []string
			for p := range 6 {
				if p/2 != r/2 {
					other = append(other, strconv.Itoa(p))
				}
			}
			if line := fmt.Sprintf("rank %d encrypts [%s]\n", r, strings.Join(other, " ")); !strings.Contains(out, line) {
				t.Errorf("no line %q:\n%s", line, out)
			}
		}
	})

	t.Run("ssh-agent", func(t *testing.T) {
		// No key files at all (an empty HOME, no -i): the key comes from
		// the agent.
		dir := t.TempDir()
		sock := filepath.Join(dir, "agent.sock")
		agent := exec.Command("ssh-agent", "-D", "-a", sock)
		if err := agent.Start(); err != nil {
			t.Fatalf("ssh-agent: %v", err)
		}
		defer func() { agent.Process.Kill(); agent.Wait() }()
		for i := 0; i < 100; i++ {
			if _, err := os.Stat(sock); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		add := exec.Command("ssh-add", lab.Key)
		add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
		if out, err := add.CombinedOutput(); err != nil {
			t.Fatalf("ssh-add: %v\n%s", err, out)
		}
		cmd := exec.Command(bin, "--hostfile", lab.Hostfile, "--known-hosts", lab.KnownHosts, "--preload-binary", "-x", "SPMD_TEST_ROLE=pingring", os.Args[0])
		cmd.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock, "HOME="+dir)
		out, err := cmd.CombinedOutput()
		if err != nil || !strings.Contains(string(out), "rank 5 of 6 got 4") {
			t.Errorf("through ssh-agent: %v\n%s", err, out)
		}
	})

	t.Run("stdin to rank 0", func(t *testing.T) {
		cmd := exec.Command(bin, append(base, "--preload-binary", "-x", "SPMD_TEST_ROLE=stdin", os.Args[0])...)
		cmd.Stdin = strings.NewReader("line one\nline two\n")
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "line one\nline two\n" {
			t.Errorf("got %q, %v; want rank 0 to echo its standard input", out, err)
		}
	})

	t.Run("hostkeys", func(t *testing.T) {
		empty := filepath.Join(t.TempDir(), "known_hosts")
		if err := os.WriteFile(empty, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		args := []string{"--hostfile", lab.Hostfile, "-i", lab.Key, "--known-hosts", empty, "--preload-binary", "-x", "SPMD_TEST_ROLE=pingring", os.Args[0]}
		code, out, errs := spmdrun(t, bin, args...)
		if code != 1 || !strings.Contains(errs, "6 of 6 hosts cannot run") || !strings.Contains(errs, "is unknown: ssh-ed25519 SHA256:") ||
			!strings.Contains(errs, "--accept-new-hostkeys") || strings.Contains(out, "got") {
			t.Fatalf("unknown host keys: exit %d\n%s\n%s", code, out, errs)
		}
		code, out, errs = spmdrun(t, bin, append([]string{"--accept-new-hostkeys"}, args...)...)
		if code != 0 {
			t.Fatalf("with --accept-new-hostkeys: exit %d\n%s\n%s", code, out, errs)
		}
		recorded, _ := os.ReadFile(empty)
		if n := strings.Count(string(recorded), "\n"); n != 6 {
			t.Fatalf("recorded %d host keys, want 6:\n%s", n, recorded)
		}
		// Swap two hosts' keys: both must be refused as changed.
		lines := strings.Split(strings.TrimSpace(string(recorded)), "\n")
		f0, f1 := strings.SplitN(lines[0], " ", 2), strings.SplitN(lines[1], " ", 2)
		lines[0], lines[1] = f0[0]+" "+f1[1], f1[0]+" "+f0[1]
		if err := os.WriteFile(empty, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errs = spmdrun(t, bin, append([]string{"--accept-new-hostkeys"}, args...)...)
		if code != 1 || strings.Count(errs, "HAS CHANGED") != 2 || strings.Contains(out, "got") {
			t.Fatalf("changed host keys: exit %d\n%s\n%s", code, out, errs)
		}
	})

	t.Run("fails fast", func(t *testing.T) {
		// The test binary lives under /tmp, which every lab host has its
		// own of: without --preload-binary it is missing there.
		code, _, errs := spmdrun(t, bin, append(base, os.Args[0])...)
		if code != 1 || !strings.Contains(errs, "6 of 6 hosts cannot run") || !strings.Contains(errs, "use --preload-binary") {
			t.Errorf("missing program: exit %d\n%s", code, errs)
		}
		// A key the hosts do not know.
		_, priv, _ := ed25519.GenerateKey(rand.Reader)
		block, _ := ssh.MarshalPrivateKey(priv, "stranger")
		stranger := filepath.Join(t.TempDir(), "id_stranger")
		os.WriteFile(stranger, pem.EncodeToMemory(block), 0o600)
		code, _, errs = spmdrun(t, bin, "-H", "198.18.2.10", "-i", stranger, "--known-hosts", lab.KnownHosts, "--preload-binary", os.Args[0])
		if code != 1 || !strings.Contains(errs, "198.18.2.10") || !strings.Contains(errs, "unable to authenticate") {
			t.Errorf("unknown key: exit %d\n%s", code, errs)
		}
		// Nobody listens on this port: refused, retried, reported.
		hf := filepath.Join(t.TempDir(), "hosts")
		os.WriteFile(hf, []byte("198.18.2.10 slots=1\n198.18.3.10 port=2222 slots=1\n"), 0o600)
		code, _, errs = spmdrun(t, bin, "--hostfile", hf, "-i", lab.Key, "--known-hosts", lab.KnownHosts, "--preload-binary", os.Args[0])
		if code != 1 || !strings.Contains(errs, "1 of 2 hosts cannot run") || !strings.Contains(errs, "198.18.3.10 ("+hf+":2): dial tcp 198.18.3.10:2222: connect: connection refused") {
			t.Errorf("closed port: exit %d\n%s", code, errs)
		}
	})

	t.Run("jump, mesh-net, abort, timeout, interrupt", func(t *testing.T) {
		// Through a bastion (us-west's first host) to the other regions,
		// with ranks listening on their address in the lab's range.
		hf := filepath.Join(t.TempDir(), "hosts")
		os.WriteFile(hf, []byte("198.18.2.10 region=b\n198.18.3.10 region=c\n198.18.3.11 region=c\n"), 0o600)
		args := []string{"--hostfile", hf, "-i", lab.Key, "--known-hosts", lab.KnownHosts, "--jump", "198.18.1.10", "--mesh-net", "198.18.0.0/15", "--preload-binary"}
		code, out, errs := spmdrun(t, bin, append(args, "-x", "SPMD_TEST_ROLE=pingring", os.Args[0])...)
		if code != 0 || !strings.Contains(out, "rank 0 of 3 got 2\n") {
			t.Errorf("through --jump: exit %d\n%s\n%s", code, out, errs)
		}
		code, out, errs = spmdrun(t, bin, append(base, "--preload-binary", "-x", "SPMD_TEST_ROLE=abort", os.Args[0])...)
		if code != 5 || !strings.Contains(errs, "rank 2@198.18.2.10 (pid") || !strings.Contains(errs, "called Abort(5)") {
			t.Errorf("abort: exit %d\n%s\n%s", code, out, errs)
		}
		marker := fmt.Sprintf("SPMD_TEST_MARKER=labtimeout%d", time.Now().UnixNano())
		code, _, errs = spmdrun(t, bin, append(base, "--preload-binary", "--timeout", "3", "--grace", "1s", "-x", marker, "-x", "SPMD_TEST_ROLE=sleep", os.Args[0])...)
		if code != 124 || !strings.Contains(errs, "timed out") {
			t.Errorf("timeout: exit %d\n%s", code, errs)
		}
		waitGone(t, marker, 5*time.Second)
		marker = fmt.Sprintf("SPMD_TEST_MARKER=labint%d", time.Now().UnixNano())
		cmd, errb := startLabJob(t, bin, base, 6, "sleep", marker)
		cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		if ee, _ := err.(*exec.ExitError); ee == nil || ee.ExitCode() != 130 {
			t.Errorf("interrupt: %v\n%s", err, errb)
		}
		waitGone(t, marker, 5*time.Second)
	})

	t.Run("bytes across regions", func(t *testing.T) {
		// One 4 MiB allreduce across the three regions. docs/algorithms.md
		// says: with Lanes each lane carries n/L each way between every
		// two regions, so each direction of each region pair carries n in
		// all; with Lanes2 (Auto's choice at 4 MiB) a lane sends n/(LR)
		// to each other region in each of its two rounds, 2n/R in all;
		// with Chain (a 40 ms, b, c 70 ms further: the chain a, b, c)
		// each direction of a/b and b/c carries n and a/c nothing.
		// Plus headers, acknowledgements, the mesh's handshakes and the
		// argument checks.
		const n = 4 << 20
		all := func(w int64) func(string) int64 { return func(string) int64 { return w } }
		chain := func(pair string) int64 {
			if pair == "a/c" || pair == "c/a" {
				return 0
			}
			return n
		}
		for _, c := range []struct {
			alg  string
			want func(pair string) int64
		}{{"Lanes", all(n)}, {"Lanes2", all(2 * n / 3)}, {"Auto", all(2 * n / 3)}, {"Chain", chain}} {
			before := lab.LineBytes(t)
			code, out, errs := spmdrun(t, bin, append(base, "--preload-binary", "-x", "SPMD_WARMUP=0", "-x", "SPMD_TEST_ALG="+c.alg, "-x", "SPMD_TEST_ROLE=allreduce4m", os.Args[0])...)
			if code != 0 {
				t.Fatalf("%s: exit %d\n%s\n%s", c.alg, code, out, errs)
			}
			after := lab.LineBytes(t)
			if len(after) != 6 {
				t.Fatalf("%d directed region pairs, want 6: %v", len(after), after)
			}
			for k, v := range after {
				d := v - before[k]
				t.Logf("%s: %s: %d bytes (%.3f n)", c.alg, k, d, float64(d)/n)
				if w := c.want(k); d < w || d > w+w/10+256<<10 {
					t.Errorf("%s: %s carried %d bytes, want %d plus at most 10%% and 256 KiB", c.alg, k, d, w)
				}
			}
		}
	})

	t.Run("regions inferred, links warmed", func(t *testing.T) {
		// The hostfile without its region= labels: ranks group the hosts
		// by the round trips timed while the mesh connected. hello only
		// passes small messages, so nothing warms the connections between
		// regions; a 4 MiB allreduce first warms those of lane peers (the
		// same index in their regions) with WarmUp (1 MiB) each way: 2
		// rank pairs x 1 MiB on each directed region pair, plus n.
		data, err := os.ReadFile(lab.Hostfile)
		if err != nil {
			t.Fatal(err)
		}
		plain := filepath.Join(t.TempDir(), "hostfile")
		if err := os.WriteFile(plain, regexp.MustCompile(` region=\S+`).ReplaceAll(data, nil), 0o644); err != nil {
			t.Fatal(err)
		}
		args := []string{"--hostfile", plain, "-i", lab.Key, "--known-hosts", lab.KnownHosts, "--preload-binary"}
		before := lab.LineBytes(t)
		code, out, errs := spmdrun(t, bin, append(args, "../examples/hello")...)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		after := lab.LineBytes(t)
		want := "spmd: regions inferred from round-trip times: auto0 = 198.18.1.10 198.18.1.11; auto1 = 198.18.2.10 198.18.2.11; auto2 = 198.18.3.10 198.18.3.11 ("
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
		for r := range 6 {
			line := fmt.Sprintf("hello from rank %d of 6: host 198.18.%d.%d, region auto%d,", r, r/2+1, 10+r%2, r/2)
			if !strings.Contains(out, line) {
				t.Errorf("no line %q:\n%s", line, out)
			}
		}
		for k, v := range after {
			if d := v - before[k]; d > 256<<10 {
				t.Errorf("hello: %s carried %d bytes, want under 256 KiB (no warm-up)", k, d)
			}
		}

		// The allreduce runs with the labelled hostfile: what is counted
		// is the warm-up, which must not depend on how a loaded machine
		// timed the round trips of this particular job.
		const n, warm = 4 << 20, 2 << 20
		before = lab.LineBytes(t)
		code, out, errs = spmdrun(t, bin, append(base, "--preload-binary", "-x", "SPMD_TEST_ALG=Lanes", "-x", "SPMD_TEST_ROLE=allreduce4m", os.Args[0])...)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		after = lab.LineBytes(t)
		for k, v := range after {
			d := v - before[k]
			t.Logf("%s: %d bytes (%.3f x (n + 2 MiB))", k, d, float64(d)/(n+warm))
			if d < n+warm || d > n+warm+(n+warm)/10+256<<10 {
				t.Errorf("%s carried %d bytes, want n + the warm-up's 2 MiB = %d plus at most 10%% and 256 KiB\n%s", k, d, n+warm, errs)
			}
		}
	})

	t.Run("rank killed", func(t *testing.T) {
		marker := fmt.Sprintf("SPMD_TEST_MARKER=labkill%d", time.Now().UnixNano())
		cmd, errb := startLabJob(t, bin, base, 6, "sleep", marker)
		pid := pidOf(marker, 3)
		if pid == 0 {
			t.Fatal("rank 3's process not found")
		}
		syscall.Kill(pid, syscall.SIGKILL)
		err := cmd.Wait()
		ee, _ := err.(*exec.ExitError)
		if ee == nil || ee.ExitCode() != 137 || !strings.Contains(errb.String(), "rank 3 (pid") || !strings.Contains(errb.String(), "on 198.18.2.11 was killed by signal 9") {
			t.Errorf("exit %v, stderr:\n%s", err, errb)
		}
		waitGone(t, marker, 5*time.Second)
	})

	t.Run("launcher killed", func(t *testing.T) {
		marker := fmt.Sprintf("SPMD_TEST_MARKER=labkill%d", time.Now().UnixNano())
		cmd, _ := startLabJob(t, bin, base, 6, "stubborn", marker)
		cmd.Process.Kill()
		cmd.Wait()
		waitGone(t, marker, 5*time.Second)
	})

	t.Run("stats across regions", func(t *testing.T) {
		// --stats through the proxies: each rank's line names its region
		// and what it sent to the others (one 4 MiB allreduce with its
		// warm-up: well over a megabyte each).
		code, out, errs := spmdrun(t, bin, append(base, "--preload-binary", "--stats", "-x", "SPMD_TEST_ROLE=allreduce4m", os.Args[0])...)
		if code != 0 {
			t.Fatalf("exit %d\n%s\n%s", code, out, errs)
		}
		for r := range 6 {
			re := regexp.MustCompile(fmt.Sprintf(`(?m)^\s+%d\s+198\.18\.%d\.%d\s+%c\s+[\d.]+\s+[\d.]+\s+\d+\s+[\d.]+\s+([\d.]+)\s+\d+\s+.*Allreduce 1`, r, r/2+1, 10+r%2, 'a'+r/2))
			m := re.FindStringSubmatch(errs)
			if m == nil {
				t.Errorf("no statistics line for rank %d:\n%s", r, errs)
				continue
			}
			if mbs, _ := strconv.ParseFloat(m[1], 64); mbs < 1 {
				t.Errorf("rank %d sent %v MB to other regions, want over 1", r, mbs)
			}
		}
	})

	t.Run("under Open MPI's mpirun", func(t *testing.T) {
		// mpirun (run on a-1, as its daemons must reach it) starts the Go
		// program on every host over the lab's ssh; spmd joins from
		// Open MPI's variables, meeting at rank 0's host.
		labtest.NeedCommand(t, "mpirun", "openmpi-bin")
		dir, err := os.MkdirTemp("/var/tmp", "spmd-mpirun-") // every lab host sees /var/tmp
		if err != nil {
			t.Fatal(err)
		}
		defer os.RemoveAll(dir)
		hello := filepath.Join(dir, "hello")
		if out, err := exec.Command("go", "build", "-o", hello, "../examples/hello").CombinedOutput(); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		secret := filepath.Join(dir, "secret")
		os.WriteFile(secret, []byte("the lab's mpirun test secret....\n"), 0o600)
		data, _ := os.ReadFile(lab.Hostfile)
		hosts := filepath.Join(dir, "hosts")
		os.WriteFile(hosts, regexp.MustCompile(` region=\S+`).ReplaceAll(data, nil), 0o644)
		cmd := exec.Command(lab.Bin, "exec", "a-1", "--", "mpirun", "--allow-run-as-root", "--hostfile", hosts, "-np", "6",
			"--mca", "plm_rsh_agent", "ssh -F "+filepath.Join(lab.Dir, "ssh_config"),
			"--mca", "btl", "self,tcp", "--mca", "btl_tcp_if_include", "198.18.0.0/15", "--mca", "oob_tcp_if_include", "198.18.0.0/15",
			"-x", "SPMD_RENDEZVOUS=198.18.1.10:29517", "-x", "SPMD_SECRET_FILE="+secret, hello)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mpirun: %v\n%s", err, out)
		}
		// No labels: regions inferred from the round trips.
		for r := range 6 {
			line := fmt.Sprintf("hello from rank %d of 6: host ", r)
			if !strings.Contains(string(out), line) || !strings.Contains(string(out), fmt.Sprintf("region auto%d, local rank 0\n", r/2)) {
				t.Errorf("no line for rank %d in its inferred region auto%d:\n%s", r, r/2, out)
			}
		}
	})

	// Last: it kills a host.
	t.Run("faults", func(t *testing.T) { labFaults(t, lab, bin, base) })
}

// --wan-first on a lab whose hosts send packets marked lower-effort
// (DSCP LE) only when no other waits (spmdlab up --wan-first): the Chain
// allreduce marks each rank's connections inside its region, so what a
// host sends there goes through the hosts' lower-effort class: its
// contributions (n/2 with two hosts a region), which its peer needs
// before the totals come, and the copies of its part (n/2 more) but
// for what is still in the socket when the call returns and unmarks
// them (a packet takes the mark as it leaves). Nothing else is marked:
// neither the same allreduce without the flag nor, with it, Lanes2,
// which does not order its sends, alone or after a Chain call in the
// same job (which must have unmarked its connections: Lanes2 sends n
// inside the region too). The bytes are the wire's, headers included.
// Needs root and the lab's tools; CI runs as root.
func TestWANFirstLab(t *testing.T) {
	lab := labtest.Start(t, "--regions", "a:2,b:2,c:2", "--delay", "a/b=40ms,a/c=90ms,b/c=70ms", "--host-mbit", "100", "--wan-first")
	bin := buildSpmdrun(t)
	base := []string{"--hostfile", lab.Hostfile, "-i", lab.Key, "--known-hosts", lab.KnownHosts, "--preload-binary"}
	hosts := []string{"a-1", "a-2", "b-1", "b-2", "c-1", "c-2"}
	sentRe := regexp.MustCompile(`Sent (\d+) bytes`)
	// marked returns the bytes each host's lower-effort class has sent.
	marked := func() map[string]int64 {
		got := map[string]int64{}
		for _, h := range hosts {
			out := lab.Run(t, "exec", h, "--", "tc", "-s", "class", "show", "dev", "eth0", "classid", "1:20")
			m := sentRe.FindStringSubmatch(out)
			if m == nil {
				t.Fatalf("%s: no lower-effort class on eth0:\n%s", h, out)
			}
			got[h], _ = strconv.ParseInt(m[1], 10, 64)
		}
		return got
	}
	const n = 4 << 20
	for _, c := range []struct {
		alg       string
		wanFirst  bool
		wantBytes bool
	}{{"Chain", false, false}, {"Lanes2", true, false}, {"Chain,Lanes2", true, true}} {
		args := slices.Clone(base)
		if c.wanFirst {
			args = append(args, "--wan-first")
		}
		args = append(args, "-x", "SPMD_WARMUP=0", "-x", "SPMD_TEST_ALG="+c.alg, "-x", "SPMD_TEST_ROLE=allreduce4m", os.Args[0])
		before := marked()
		code, out, errs := spmdrun(t, bin, args...)
		if code != 0 {
			t.Fatalf("%s, wan-first %v: exit %d\n%s\n%s", c.alg, c.wanFirst, code, out, errs)
		}
		after := marked()
		for _, h := range hosts {
			d := after[h] - before[h]
			t.Logf("%s, wan-first %v: %s sent %d bytes lower-effort (%.3f n)", c.alg, c.wanFirst, h, d, float64(d)/n)
			switch {
			case !c.wantBytes && d != 0:
				t.Errorf("%s, wan-first %v: %s sent %d bytes marked lower-effort, want none", c.alg, c.wanFirst, h, d)
			case c.wantBytes && (d < n/2 || d > n+n/5):
				t.Errorf("%s, wan-first %v: %s sent %d bytes marked lower-effort, want from %d (its contributions) to %d (and its copies, plus 20%%)", c.alg, c.wanFirst, h, d, n/2, n+n/5)
			}
		}
	}
}
