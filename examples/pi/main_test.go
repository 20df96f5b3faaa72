package main

import (
	"os/exec"
	"regexp"
	"strconv"
	"testing"
)

func TestPi(t *testing.T) {
	out, err := exec.Command("go", "run", "../../cmd/spmdrun", "-np", "4", ".", "-samples", "4000000", "-check").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`pi ≈ (\S+) from \d+ of 4000000 points inside, on 4 ranks`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("no estimate:\n%s", out)
	}
	if est, _ := strconv.ParseFloat(string(m[1]), 64); est < 3.13 || est > 3.153 {
		t.Errorf("estimate %v, more than 0.01 from pi", est)
	}
	for _, want := range []string{"check: ok", "pi: communication ", " computation "} {
		if !regexp.MustCompile(regexp.QuoteMeta(want)).Match(out) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
