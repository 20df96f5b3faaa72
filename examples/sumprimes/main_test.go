package main

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/spmd-go/spmd/launcher"
)

var known = map[int64]int64{
	100: 1060, 500000: 9914236195, 500100: 9917236483, 500200: 9922237979,
	500300: 9926740220, 500400: 9930743046, 500500: 9934746636,
	500600: 9938250425, 500700: 9941254397,
}

func checkOutput(t *testing.T, out string, ranks int) {
	t.Helper()
	for _, in := range DefaultInputs() {
		want := fmt.Sprintf("Sum of primes below %d is %d\n", in, known[in])
		if n := strings.Count(out, want); n != 1+boolInt(in != 100) {
			t.Fatalf("%q appears %d times in:\n%s", want, n, out)
		}
	}
	if !strings.Contains(out, "Job execution statistics:") || !strings.Contains(out, "Time elapsed") {
		t.Fatalf("no statistics table:\n%s", out)
	}
	// One row per rank, and the job counts add up to 17.
	total := 0
	for r := 0; r < ranks; r++ {
		var rank, count int
		var host string
		found := false
		for _, line := range strings.Split(out, "\n") {
			if _, err := fmt.Sscanf(line, "%d %s %d", &rank, &host, &count); err == nil && rank == r {
				found = true
				total += count
				break
			}
		}
		if !found {
			t.Fatalf("no statistics row for rank %d:\n%s", r, out)
		}
	}
	if total != len(DefaultInputs()) {
		t.Fatalf("job counts add up to %d, want %d:\n%s", total, len(DefaultInputs()), out)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestSumPrimesSmall(t *testing.T) {
	for n, want := range map[int64]int64{0: 0, 2: 0, 3: 2, 10: 17, 100: 1060} {
		if got := SumPrimes(n); got != want {
			t.Errorf("SumPrimes(%d) = %d, want %d", n, got, want)
		}
	}
}

func TestOneRank(t *testing.T) {
	var out bytes.Buffer
	if err := run(&out, nil); err != nil {
		t.Fatal(err)
	}
	checkOutput(t, out.String(), 1)
}

func TestUnderSpmdrun(t *testing.T) {
	for _, np := range []int{2, 4} {
		t.Run(fmt.Sprint(np), func(t *testing.T) {
			var out, errb bytes.Buffer
			code, err := launcher.Run(context.Background(), launcher.Config{
				NP: np, Program: ".", Stdout: &out, Stderr: &errb,
			})
			if err != nil || code != 0 {
				t.Fatalf("status %d, %v; stderr:\n%s", code, err, errb.String())
			}
			checkOutput(t, out.String(), np)
		})
	}
}

func TestBadArgument(t *testing.T) {
	if err := run(&bytes.Buffer{}, []string{"12", "x"}); err == nil || !strings.Contains(err.Error(), `"x"`) {
		t.Fatalf("got %v", err)
	}
}
