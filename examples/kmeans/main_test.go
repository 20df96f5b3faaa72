package main

import (
	"os/exec"
	"strings"
	"testing"
)

func TestKmeans(t *testing.T) {
	out, err := exec.Command("go", "run", "../../cmd/spmdrun", "-np", "3", ".", "-points", "30000", "-k", "4").CombinedOutput()
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"kmeans: 30000 points, k = 4, 3 ranks, ", "check: ok", "kmeans: communication ", "centroid 3: ("} {
		if !strings.Contains(string(out), want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
}
