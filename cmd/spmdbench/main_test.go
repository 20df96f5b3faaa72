package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spmd-go/spmd/bench"
	"github.com/spmd-go/spmd/collectives"
)

func TestSizes(t *testing.T) {
	if got := sizes(8, 4<<20, 4); len(got) != 11 || got[9] != 2<<20 || got[10] != 4<<20 {
		t.Errorf("8..4M x4: %v", got)
	}
	if got := sizes(0, 4, 2); !reflect.DeepEqual(got, []int{0, 1, 2, 4}) {
		t.Errorf("0..4 x2: %v", got)
	}
	if got := sizes(16, 16, 4); !reflect.DeepEqual(got, []int{16}) {
		t.Errorf("16..16: %v", got)
	}
}

func TestOptionErrors(t *testing.T) {
	for _, tc := range []struct {
		o    options
		want string
	}{
		{options{min: 8, max: 4, factor: 4, reps: 5, algs: "Auto", check: "async"}, "bad sizes"},
		{options{min: 8, max: 64, factor: 4, reps: 0, algs: "Auto", check: "async", bulk: 1}, "-reps"},
		{options{min: 8, max: 64, factor: 4, reps: 5, algs: "Nope", check: "async", bulk: 1}, `unknown algorithm "Nope"`},
		{options{min: 8, max: 64, factor: 4, reps: 5, algs: "Auto", check: "later", bulk: 1}, `-check "later"`},
		{options{min: 8, max: 64, factor: 4, reps: 5, algs: "Auto", check: "async", bulk: 1, ops: []string{"allsorts"}}, `unknown operation "allsorts"`},
	} {
		if _, _, err := tc.o.validate(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.o, err, tc.want)
		}
	}
}

func TestCombine(t *testing.T) {
	dir := t.TempDir()
	header := "impl,op,alg,bytes,ranks,reps,median_ms,min_ms,max_ms,osu_ms,bound_ms,ratio\n"
	os.WriteFile(filepath.Join(dir, "spmd.csv"), []byte(header+"spmd,bcast,Auto,8,6,5,91.500,91.000,92.000,20.000,90.314,1.01\nspmd,bcast,Auto,524288,6,5,200.000,190.000,210.000,0,131.941,1.52\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "ompi.csv"), []byte(header+"openmpi,bcast,default,8,6,5,138.000,137.000,139.000,30.000,0.000,0.00\nopenmpi,bcast,default,524288,6,5,456.000,450.000,460.000,400,0.000,0.00\n"), 0o644)
	var out bytes.Buffer
	err := combine([]string{"-plot", filepath.Join(dir, "plots"), filepath.Join(dir, "spmd.csv"), filepath.Join(dir, "ompi.csv")}, &out)
	if err != nil {
		t.Fatal(err)
	}
	// 91.5/138 = 0.66, 200/456 = 0.44; Open MPI is 1.53 and 3.46 x the bound.
	for _, want := range []string{"0.66", "0.44", "1.53", "3.46", "512K"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("combined table lacks %s:\n%s", want, out.String())
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "plots", "bcast.svg")); err != nil {
		t.Error(err)
	}
	if err := combine([]string{filepath.Join(dir, "missing.csv")}, &out); err == nil {
		t.Error("a missing file was accepted")
	}
}

// One -alg list serves several operations: each keeps what it has.
func TestOffered(t *testing.T) {
	algs := []collectives.Algorithm{collectives.Auto, collectives.Binomial, collectives.Ring, collectives.Lanes}
	for op, want := range map[string]string{
		"bcast":         "[Auto Binomial Lanes]",
		"allreduce":     "[Auto Ring Lanes]",
		"allgather":     "[Auto Ring Lanes]",
		"barrier":       "[Auto]",
		"reducescatter": "[Auto Binomial Ring]",
	} {
		if got := fmt.Sprint(offered(op, algs)); got != want {
			t.Errorf("%s: %s, want %s", op, got, want)
		}
	}
	for _, op := range bench.Operations {
		if collectives.Algorithms(opName(op)) == nil && op != "barrier" {
			t.Errorf("%s: collectives knows no operation %q", op, opName(op))
		}
	}
}
