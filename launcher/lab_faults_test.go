//go:build linux

package launcher_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spmd-go/spmd/internal/labtest"
)

// faultRow is one line of the fault-injection table (docs/failure.md).
type faultRow struct {
	fault    string
	detected time.Duration // from the fault to spmdrun's exit (or, launcher killed: to the last process gone)
	status   int
	message  string
	left     int // processes of the job on any host once it ended
}

// firstLine returns the first line of s matching re, for the table.
func firstLine(s string, re *regexp.Regexp) string {
	for _, l := range strings.Split(s, "\n") {
		if re.MatchString(l) {
			return strings.TrimSpace(l)
		}
	}
	return ""
}

// leftAfter counts the job's processes (on every lab host: they all live
// in this machine's process table) once they had within to go.
func leftAfter(marker string, within time.Duration) int {
	end := time.Now().Add(within)
	for {
		n := len(withMarker(marker))
		if n == 0 || time.Now().After(end) {
			return n
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// labFaults injects the faults of issue 8 into jobs on the lab (3 regions
// x 2 hosts) and checks, for each, how soon the job ends, its status,
// what it says, and that no process of it is left on any host. The
// table goes to the test log and, with SPMD_FAULT_TABLE=FILE, to FILE.
// It kills a host, so it runs last.
func labFaults(t *testing.T, lab *labtest.Lab, bin string, base []string) {
	var rows []faultRow
	defer func() {
		var b strings.Builder
		b.WriteString("| fault | job ended after | exit status | first message | processes left |\n|---|---|---|---|---|\n")
		for _, r := range rows {
			fmt.Fprintf(&b, "| %s | %.1f s | %d | `%s` | %d |\n", r.fault, r.detected.Seconds(), r.status, strings.ReplaceAll(r.message, "|", "/"), r.left)
		}
		t.Logf("fault injection on the lab:\n%s", b.String())
		if f := os.Getenv("SPMD_FAULT_TABLE"); f != "" {
			os.WriteFile(f, []byte(b.String()), 0o644)
		}
	}()
	loop := func(marker string, n, bytes int, extra ...string) (*exec.Cmd, *strings.Builder) {
		args := append(append([]string{}, base...), extra...)
		args = append(args, "-x", fmt.Sprintf("LOOP_N=%d", n), "-x", fmt.Sprintf("LOOP_BYTES=%d", bytes))
		return startLabJob(t, bin, args, 6, "allreduceloop", marker)
	}
	newMarker := func(name string) string {
		return fmt.Sprintf("SPMD_TEST_MARKER=fault-%s-%d", name, time.Now().UnixNano())
	}
	// wait waits for spmdrun, at most limit, and returns its status and
	// how long after t0 it ended.
	wait := func(cmd *exec.Cmd, t0 time.Time, limit time.Duration) (int, time.Duration) {
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			return exitCode(err), time.Since(t0)
		case <-time.After(limit):
			cmd.Process.Kill()
			<-done
			t.Errorf("spmdrun still running %v after the fault", limit)
			return -1, time.Since(t0)
		}
	}
	// underLab runs a loop job (n allreduces of size bytes; 0: until one
	// fails), lets it run for settle, applies the spmdlab command fault,
	// waits up to limit for spmdrun, then applies undo (if any).
	underLab := func(name string, n, size int, settle, limit time.Duration, fault, undo []string) (marker string, code int, took time.Duration, errb *strings.Builder) {
		marker = newMarker(name)
		cmd, errb := loop(marker, n, size)
		time.Sleep(settle)
		t0 := time.Now()
		lab.Run(t, fault...)
		code, took = wait(cmd, t0, limit)
		if undo != nil {
			lab.Run(t, undo...)
		}
		return marker, code, took, errb
	}
	failed := regexp.MustCompile(`rank \d+.*(failed|exited|killed|lost|timed out|cannot run)`)

	t.Run("rank SIGKILLed", func(t *testing.T) {
		marker := newMarker("rank")
		cmd, errb := loop(marker, 0, 64<<10)
		pid := pidOf(marker, 3)
		if pid == 0 {
			t.Fatal("rank 3's process not found")
		}
		t0 := time.Now()
		syscall.Kill(pid, syscall.SIGKILL)
		code, took := wait(cmd, t0, 30*time.Second)
		row := faultRow{"SIGKILL of rank 3 during 64 KiB allreduces", took, code, firstLine(errb.String(), regexp.MustCompile(`rank 3 .*killed`)), leftAfter(marker, 5*time.Second)}
		rows = append(rows, row)
		if code != 137 || row.message == "" || row.left != 0 || took > 5*time.Second {
			t.Errorf("%+v\n%s", row, errb)
		}
	})

	t.Run("timeout", func(t *testing.T) {
		marker := newMarker("timeout")
		t0 := time.Now()
		code, _, errs := spmdrun(t, bin, append(base, "--preload-binary", "--timeout", "4", "--grace", "1s", "-x", marker, "-x", "SPMD_TEST_ROLE=sleep", os.Args[0])...)
		took := time.Since(t0) - 4*time.Second
		row := faultRow{"a rank computes past --timeout 4 (figure: time past the limit)", took, code, firstLine(errs, regexp.MustCompile(`timed out`)), leftAfter(marker, 5*time.Second)}
		rows = append(rows, row)
		if code != 124 || row.message == "" || row.left != 0 || took > 5*time.Second {
			t.Errorf("%+v\n%s", row, errs)
		}
	})

	t.Run("region partitioned", func(t *testing.T) {
		// 3 s: past the first allreduce's warm-up, mid-run.
		marker, code, took, errb := underLab("partition", 0, 1<<20, 3*time.Second, 60*time.Second, []string{"partition", "c"}, []string{"heal", "c"})
		row := faultRow{"region c cut off (spmdlab partition) during 1 MiB allreduces", took, code, firstLine(errb.String(), failed), leftAfter(marker, 10*time.Second)}
		rows = append(rows, row)
		// Heartbeats: a silent peer is lost after 8 s; then the launcher
		// ends the rest (--grace 1s).
		if code == 0 || row.left != 0 || took > 12*time.Second || !strings.Contains(errb.String(), "timed out") {
			t.Errorf("%+v\n%s", row, errb)
		}
	})

	t.Run("link slowed 10x", func(t *testing.T) {
		marker, code, took, errb := underLab("slow", 30, 256<<10, 500*time.Millisecond, 120*time.Second, []string{"slow", "a/b=400ms"}, []string{"slow", "a/b=40ms"})
		row := faultRow{"a/b one-way delay 40 -> 400 ms during 30 allreduces of 256 KiB (no failure: completes)", took, code, "", leftAfter(marker, 5*time.Second)}
		rows = append(rows, row)
		if code != 0 || row.left != 0 {
			t.Errorf("%+v\n%s", row, errb)
		}
	})

	t.Run("sshd refuses a host", func(t *testing.T) {
		keys := filepath.Join(lab.Dir, "hosts", "c-2", "home", ".ssh", "authorized_keys")
		saved, err := os.ReadFile(keys)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keys, nil, 0o600); err != nil {
			t.Fatal(err)
		}
		defer os.WriteFile(keys, saved, 0o600)
		marker := newMarker("sshd")
		t0 := time.Now()
		code, out, errs := spmdrun(t, bin, append(base, "--preload-binary", "-x", marker, "-x", "SPMD_TEST_ROLE=pingring", os.Args[0])...)
		row := faultRow{"sshd of c-2 refuses our key at start", time.Since(t0), code, firstLine(errs, regexp.MustCompile(`198\.18\.3\.11`)), leftAfter(marker, 5*time.Second)}
		rows = append(rows, row)
		if code != 1 || !strings.Contains(errs, "1 of 6 hosts cannot run") || !strings.Contains(row.message, "unable to authenticate") ||
			strings.Contains(out, "got") || row.left != 0 {
			t.Errorf("%+v\n%s\n%s", row, out, errs)
		}
	})

	t.Run("launcher SIGKILLed", func(t *testing.T) {
		marker := newMarker("launcher")
		cmd, _ := loop(marker, 0, 64<<10)
		t0 := time.Now()
		cmd.Process.Kill()
		cmd.Wait()
		left := leftAfter(marker, 10*time.Second)
		row := faultRow{"spmdrun SIGKILLed (figure: until no process is left)", time.Since(t0), 137, "(none: the proxies end the ranks)", left}
		rows = append(rows, row)
		if left != 0 || row.detected > 6*time.Second {
			t.Errorf("%+v", row)
		}
	})

	t.Run("worker killed, job goes on", func(t *testing.T) {
		// examples/taskfarm with --on-failure continue: the master
		// reassigns the dead worker's task and the total is still right.
		marker := newMarker("farm")
		cmd := exec.Command(bin, append(append([]string{}, base...), "--preload-binary", "--on-failure", "continue", "-x", marker,
			"../examples/taskfarm", "-tasks", "150", "-task-ms", "40")...)
		var out, errb strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &errb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		pid := 0
		for end := time.Now().Add(60 * time.Second); pid == 0 && time.Now().Before(end); time.Sleep(50 * time.Millisecond) {
			pid = pidOf(marker, 3)
		}
		if pid == 0 {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("rank 3 never started:\n%s", errb.String())
		}
		time.Sleep(2 * time.Second) // mid-run
		t0 := time.Now()
		syscall.Kill(pid, syscall.SIGKILL)
		code, took := wait(cmd, t0, 120*time.Second)
		row := faultRow{"SIGKILL of worker rank 3 of examples/taskfarm under --on-failure continue (figure: until the job ended, done)", took, code,
			firstLine(out.String(), regexp.MustCompile(`lost workers`)), leftAfter(marker, 5*time.Second)}
		rows = append(rows, row)
		if code != 0 || !strings.Contains(out.String(), "serial check: ok") || !strings.Contains(out.String(), "lost workers: [3], tasks reassigned: 1") || row.left != 0 {
			t.Errorf("%+v\n%s\n%s", row, out.String(), errb.String())
		}
	})

	t.Run("host killed", func(t *testing.T) {
		marker, code, took, errb := underLab("host", 0, 64<<10, 500*time.Millisecond, 60*time.Second, []string{"kill", "c-2"}, nil)
		row := faultRow{"host c-2 killed (spmdlab kill: its processes SIGKILLed, its link down)", took, code, firstLine(errb.String(), failed), leftAfter(marker, 10*time.Second)}
		rows = append(rows, row)
		if code == 0 || row.left != 0 || took > 12*time.Second {
			t.Errorf("%+v\n%s", row, errb)
		}
	})
}
