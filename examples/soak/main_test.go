package main

import (
	"os/exec"
	"strings"
	"testing"
)

// A short soak through spmdrun (the full one is the README's command:
// 100 000 small and 1 000 16 MiB allreduces): every result checked, no
// goroutine more at the end than after the warm-up, memory within bound.
func TestShortSoak(t *testing.T) {
	out, err := exec.Command("go", "run", "../../cmd/spmdrun", "-np", "4", ".",
		"-small", "3000", "-large", "20", "-mib", "2", "-max-rss-growth", "32").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(string(out), "soak: steady") || strings.Count(string(out), "goroutines") != 4 {
		t.Fatalf("no verdict for 4 ranks:\n%s", out)
	}
}
