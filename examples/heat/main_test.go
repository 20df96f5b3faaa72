package main

import (
	"os/exec"
	"strings"
	"testing"
)

// Row blocks of unequal size (98 interior rows on 3 ranks), checked cell
// by cell against a run alone.
func TestHeat(t *testing.T) {
	out, err := exec.Command("go", "run", "../../cmd/spmdrun", "-np", "3", ".", "-rows", "100", "-cols", "60", "-steps", "300").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"heat: 100×60 grid, 300 steps on 3 ranks", "check: ok", "heat: communication "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
