package main

import (
	"os/exec"
	"strings"
	"testing"
)

// A worker SIGKILLs itself mid-run. With --on-failure continue the master
// reassigns its task, all Shrink, and the total is still right; without
// it the job ends with the worker's status, as MPI's would.
func TestWorkerDies(t *testing.T) {
	cmd := exec.Command("go", "run", "../../cmd/spmdrun", "-np", "4", "--on-failure", "continue", ".", "-tasks", "60", "-crash-rank", "2", "-crash-after", "3")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"serial check: ok", "lost workers: [2], tasks reassigned: 1", "the others go on (--on-failure continue)", "the job went on without rank(s) [2]"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	cmd = exec.Command("go", "run", "../../cmd/spmdrun", "-np", "4", ".", "-tasks", "60", "-crash-rank", "2", "-crash-after", "3")
	out, err = cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 || !strings.Contains(string(out), "exit status 137") || !strings.Contains(string(out), "rank 2 failed; terminating") || strings.Contains(string(out), "serial check") {
		// go run reports the program's non-zero status as its own 1.
		t.Errorf("without --on-failure continue: %v\n%s", err, out)
	}
}
