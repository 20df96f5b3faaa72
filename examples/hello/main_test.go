package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Run alone, hello is a world of one and says so.
func TestAlone(t *testing.T) {
	out, err := exec.Command("go", "run", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if want := "hello from rank 0 of 1: host (this machine), region -, local rank -1\n"; string(out) != want {
		t.Fatalf("got %q, want %q", out, want)
	}
}

// Under spmdrun every rank is in the table with its local rank.
func TestLocalJob(t *testing.T) {
	out, err := exec.Command("go", "run", "../../cmd/spmdrun", "-np", "3", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for r := 0; r < 3; r++ {
		if !strings.Contains(string(out), "hello from rank "+string(rune('0'+r))+" of 3: host ") || !strings.Contains(string(out), "local rank "+string(rune('0'+r))+"\n") {
			t.Fatalf("rank %d missing:\n%s", r, out)
		}
	}
}
