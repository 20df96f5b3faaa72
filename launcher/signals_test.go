package launcher_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// buildSpmdrun builds the real spmdrun command once per test binary.
func buildSpmdrun(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "spmdrun")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/spmdrun").CombinedOutput()
	if err != nil {
		t.Fatalf("building spmdrun: %v\n%s", err, out)
	}
	return bin
}

// startJob starts spmdrun -np n on the test binary in role and waits until
// every rank has printed "ready".
func startJob(t *testing.T, bin string, n int, role, marker string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	return startReady(t, n, bin, "-np", fmt.Sprint(n), "-x", "SPMD_TEST_ROLE="+role, "-x", marker, "--grace", "1s", os.Args[0])
}

// startReady starts spmdrun with args and waits until n ranks have
// printed "ready"; standard output goes on being drained.
func startReady(t *testing.T, n int, bin string, args ...string) (*exec.Cmd, *strings.Builder) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var errb strings.Builder
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	ready := 0
	deadline := time.AfterFunc(60*time.Second, func() { cmd.Process.Kill() })
	defer deadline.Stop()
	for ready < n && sc.Scan() {
		if sc.Text() == "ready" {
			ready++
		}
	}
	if ready < n {
		t.Fatalf("only %d of %d ranks became ready; stderr:\n%s", ready, n, errb.String())
	}
	go func() { // keep draining
		for sc.Scan() {
		}
	}()
	return cmd, &errb
}

func waitGone(t *testing.T, marker string, within time.Duration) {
	t.Helper()
	end := time.Now().Add(within)
	for {
		left := withMarker(marker)
		if len(left) == 0 {
			return
		}
		if time.Now().After(end) {
			t.Fatalf("processes still running %v after the launcher ended: %v", within, left)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func exitCode(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		ws := ee.Sys().(syscall.WaitStatus)
		if ws.Signaled() {
			return 128 + int(ws.Signal())
		}
		return ws.ExitStatus()
	}
	if err == nil {
		return 0
	}
	return -1
}

func TestSignals(t *testing.T) {
	if testing.Short() {
		t.Skip("builds spmdrun; skipped in -short mode")
	}
	bin := buildSpmdrun(t)
	t.Run("ctrl-c forwards SIGINT", func(t *testing.T) {
		marker := fmt.Sprintf("SPMD_TEST_MARKER=int-%d", time.Now().UnixNano())
		cmd, errb := startJob(t, bin, 3, "sleep", marker)
		cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		if c := exitCode(err); c != 130 {
			t.Fatalf("exit %d, want 130; stderr:\n%s", c, errb)
		}
		waitGone(t, marker, time.Second)
	})
	t.Run("second ctrl-c kills", func(t *testing.T) {
		marker := fmt.Sprintf("SPMD_TEST_MARKER=int2-%d", time.Now().UnixNano())
		cmd, errb := startJob(t, bin, 3, "stubborn", marker)
		cmd.Process.Signal(syscall.SIGINT)
		time.Sleep(300 * time.Millisecond)
		if len(withMarker(marker)) != 3 {
			t.Fatalf("stubborn ranks should survive one SIGINT")
		}
		cmd.Process.Signal(syscall.SIGINT)
		err := cmd.Wait()
		if c := exitCode(err); c != 130 || !strings.Contains(errb.String(), "killing the ranks") {
			t.Fatalf("exit %d, stderr:\n%s", c, errb)
		}
		waitGone(t, marker, time.Second)
	})
	t.Run("launcher killed with SIGKILL", func(t *testing.T) {
		marker := fmt.Sprintf("SPMD_TEST_MARKER=kill-%d", time.Now().UnixNano())
		cmd, _ := startJob(t, bin, 3, "stubborn", marker)
		cmd.Process.Kill()
		cmd.Wait()
		waitGone(t, marker, 5*time.Second)
	})
}
