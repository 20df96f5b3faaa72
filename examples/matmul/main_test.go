package main

import (
	"os/exec"
	"strings"
	"testing"
)

// An order that does not divide among the ranks, so blocks differ.
func TestMatmul(t *testing.T) {
	out, err := exec.Command("go", "run", "../../cmd/spmdrun", "-np", "3", ".", "-n", "200").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"matmul: C = A·B, 200×200, rows split over 3 ranks", "check: ok", "matmul: communication "} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
