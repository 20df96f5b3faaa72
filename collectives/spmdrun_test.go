package collectives_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

// The test binary doubles as a rank program: run by spmdrun with
// SPMD_TEST_ROLE set, it joins the job and runs the cases.
func TestMain(m *testing.M) {
	if os.Getenv("SPMD_TEST_ROLE") == "collectives" {
		os.Exit(rankMain())
	}
	os.Exit(m.Run())
}

func rankMain() int {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := comm.Init(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "init:", err)
		return 1
	}
	defer c.Close()
	seed := 1000
	for _, cc := range cases {
		for _, alg := range append([]collectives.Algorithm{collectives.Auto}, collectives.Algorithms(cc.op)...) {
			for _, n := range []int{0, 1, 37, 5000} {
				seed++
				if err := cc.run(ctx, c, collectives.Options{Algorithm: alg}, seed, n); err != nil {
					fmt.Fprintf(os.Stderr, "%s %v n=%d: %v\n", cc.op, alg, n, err)
					return 1
				}
			}
		}
	}
	fmt.Printf("rank %d of %d: all collectives agree\n", c.Rank(), c.Size())
	return 0
}

// TestThroughSpmdrun runs the cases as a real multi-process job started
// by spmdrun.
func TestThroughSpmdrun(t *testing.T) {
	if testing.Short() {
		t.Skip("builds spmdrun; skipped with -short")
	}
	bin := filepath.Join(t.TempDir(), "spmdrun")
	if out, err := exec.Command("go", "build", "-o", bin, "../cmd/spmdrun").CombinedOutput(); err != nil {
		t.Fatalf("building spmdrun: %v\n%s", err, out)
	}
	const np = 5
	cmd := exec.Command(bin, "-np", fmt.Sprint(np), "--timeout", "120", "-x", "SPMD_TEST_ROLE=collectives", os.Args[0])
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("spmdrun: %v\n%s", err, out)
	}
	if got := strings.Count(string(out), "all collectives agree"); got != np {
		t.Fatalf("%d of %d ranks reported success:\n%s", got, np, out)
	}
}
