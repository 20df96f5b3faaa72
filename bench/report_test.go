package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

func TestMedianAndSummary(t *testing.T) {
	ms := time.Millisecond
	if m := Median([]time.Duration{5 * ms, 1 * ms, 3 * ms}); m != 3*ms {
		t.Errorf("odd median %v", m)
	}
	if m := Median([]time.Duration{4 * ms, 1 * ms, 3 * ms, 10 * ms}); m != 3500*time.Microsecond {
		t.Errorf("even median %v", m)
	}
	s := Sync{Reps: []time.Duration{7 * ms, 2 * ms, 9 * ms}}
	s.Summarize()
	if s.Median != 7*ms || s.Min != 2*ms || s.Max != 9*ms || s.Reps[0] != 7*ms {
		t.Errorf("summary %+v (Reps must keep their order)", s)
	}
}

func sampleRows() []Row {
	return []Row{
		{Impl: "spmd", Op: "bcast", Alg: "Auto", Bytes: 8, Ranks: 6, Reps: 5, Median: 140 * time.Millisecond, Min: 139 * time.Millisecond, Max: 150 * time.Millisecond, OSU: 30 * time.Millisecond, Bound: 90 * time.Millisecond},
		{Impl: "spmd", Op: "bcast", Alg: "Auto", Bytes: 512 << 10, Ranks: 6, Reps: 5, Median: 300500 * time.Microsecond, Min: 290 * time.Millisecond, Max: 320 * time.Millisecond, Bound: 131941 * time.Microsecond, Model: 266 * time.Millisecond, ModelAlg: "Lanes"},
		{Impl: "openmpi", Op: "bcast", Alg: "default", Bytes: 8, Ranks: 6, Reps: 5, Median: 138 * time.Millisecond, Min: 137 * time.Millisecond, Max: 140 * time.Millisecond},
		{Impl: "openmpi", Op: "bcast", Alg: "default", Bytes: 512 << 10, Ranks: 6, Reps: 5, Median: 456 * time.Millisecond, Min: 450 * time.Millisecond, Max: 470 * time.Millisecond},
		{Impl: "spmd", Op: "barrier", Alg: "Auto", Bytes: 0, Ranks: 6, Reps: 5, Median: 180 * time.Millisecond, Min: 180 * time.Millisecond, Max: 181 * time.Millisecond, Bound: 90 * time.Millisecond},
	}
}

func TestCSVRoundTrip(t *testing.T) {
	rows := sampleRows()
	var buf bytes.Buffer
	if err := WriteCSV(&buf, rows); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "spmd,bcast,Auto,524288,6,5,300.500,290.000,320.000,0.000,131.941,2.28,Lanes,266.000\n") {
		t.Errorf("CSV:\n%s", buf.String())
	}
	back, err := ReadCSV("x.csv", &buf)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rows) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", back, rows)
	}
	// The C harness writes the columns without the model's.
	old := strings.Join(csvHeader, ",") + "\nopenmpi,bcast,default,8,6,5,138,137,140,0,0,0\n"
	if got, err := ReadCSV("ompi.csv", strings.NewReader(old)); err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], rows[2]) {
		t.Errorf("without the model's columns: %+v, %v; want %+v", got, err, rows[2])
	}
	for _, tc := range []struct{ text, want string }{
		{"op,bytes\n", "x.csv:1: want the header"},
		{strings.Join(csvHeader, ",") + "\nspmd,bcast,Auto,-1,6,5,1,1,1,0,1,1\n", "x.csv:2: column bytes"},
		{strings.Join(csvHeader, ",") + "\nspmd,bcast,Auto,8,6,5,1,1,1,0,1,1\nspmd,bcast,Auto,8,6,5,fast,1,1,0,1,1\n", `x.csv:3: column median_ms: "fast"`},
		{strings.Join(csvHeader, ",") + "\nspmd,bcast\n", "x.csv"},
		{strings.Join(csvHeader, ",") + ",model_alg,model_ms\nspmd,bcast,Auto,8,6,5,1,1,1,0,1,1,Lanes,soon\n", `x.csv:2: column model_ms: "soon"`},
	} {
		if _, err := ReadCSV("x.csv", strings.NewReader(tc.text)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestTableAndCombine(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteTable(&buf, sampleRows()[:2]); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(buf.String(), "\n"), "\n")
	if len(lines) != 3 || !strings.HasSuffix(lines[1], "1.56  ") && !strings.Contains(lines[1], "1.56") || !strings.Contains(lines[2], "512K") || !strings.Contains(lines[1], "30.000") ||
		!strings.HasSuffix(strings.Join(strings.Fields(lines[2]), " "), "2.28 266.000 Lanes") ||
		!strings.HasSuffix(strings.Join(strings.Fields(lines[1]), " "), "1.56 - -") {
		t.Errorf("table:\n%s", buf.String())
	}
	// Columns line up: every line as long as the header.
	for _, l := range lines {
		if len(l) != len(lines[0]) {
			t.Errorf("ragged table:\n%s", buf.String())
			break
		}
	}
	buf.Reset()
	if err := Combine(&buf, sampleRows()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	// 300.5 / 456 = 0.66; Open MPI's 456 ms is 3.46 x the bound.
	if !strings.Contains(out, "512K") || !strings.Contains(out, "0.66") || !strings.Contains(out, "3.46") || !strings.Contains(out, "1.01") {
		t.Errorf("combined:\n%s", out)
	}
	if !strings.Contains(out, "barrier") || strings.Count(out, "\n") != 4 {
		t.Errorf("combined rows:\n%s", out)
	}
}

func TestPlotFiles(t *testing.T) {
	dir := t.TempDir()
	files, err := Plot(dir, sampleRows())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(dir, "bcast.png"), filepath.Join(dir, "bcast.svg")}; !reflect.DeepEqual(files, want) {
		t.Fatalf("files %v, want %v", files, want)
	}
	png, _ := os.ReadFile(files[0])
	svg, _ := os.ReadFile(files[1])
	if !bytes.HasPrefix(png, []byte("\x89PNG")) || !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte("lower bound")) || !bytes.Contains(svg, []byte("openmpi default")) {
		t.Errorf("plot files do not look right: png %d bytes, svg %d bytes", len(png), len(svg))
	}
}

func TestClockWarning(t *testing.T) {
	m := Measured{Network: Network{Hosts: []string{"a", "b"}}, ClockOffset: []time.Duration{0, 30 * time.Millisecond}, ClockError: []time.Duration{0, time.Millisecond}}
	if w := ClockWarning(m, 100*time.Millisecond); !strings.Contains(w, "clock of b is 30.000 ms off a's") {
		t.Errorf("warning %q", w)
	}
	m.ClockOffset[1] = 2 * time.Millisecond
	if w := ClockWarning(m, 100*time.Millisecond); w != "" {
		t.Errorf("2 ms off with 100 ms figures: %q", w)
	}
}

// The synchronized start: the figure is the latest end minus the agreed
// start, so a rank that takes 20 ms longer sets it.
func TestSyncStartIsLatestEnd(t *testing.T) {
	commtest.Run(t, 3, func(ctx context.Context, c *comm.Comm) error {
		s, err := SyncStart(ctx, c, 3, 1, 0, func(ctx context.Context) error {
			time.Sleep(time.Duration(c.Rank()) * 10 * time.Millisecond)
			return nil
		})
		if err != nil {
			return err
		}
		if len(s.Reps) != 3 || s.Median < 20*time.Millisecond || s.Min < 20*time.Millisecond {
			t.Errorf("rank %d: %+v; every figure must be at least rank 2's 20 ms", c.Rank(), s)
		}
		return nil
	})
}

func TestLayoutAndMeasureInProcess(t *testing.T) {
	commtest.Run(t, 3, func(ctx context.Context, c *comm.Comm) error {
		l := LayoutOf(c)
		if len(l.Names) != 1 || !reflect.DeepEqual(l.HostOf, []int{0, 0, 0}) {
			t.Errorf("layout %+v", l)
		}
		m, err := Measure(ctx, c, l, 3, 1<<16, 12.5e6)
		if err != nil {
			return err
		}
		if len(m.Latency) != 1 || m.Bandwidth[0] != 12.5e6 {
			t.Errorf("measured %+v", m)
		}
		return nil
	})
}

// The JSON keeps every repetition's figure in order; a row without them
// (the C harness's) has no times_ns.
func TestJSONTimes(t *testing.T) {
	rows := sampleRows()[:3]
	rows[1].Times = []time.Duration{320 * time.Millisecond, 290 * time.Millisecond, 300500 * time.Microsecond, 301 * time.Millisecond, 299 * time.Millisecond}
	var buf bytes.Buffer
	if err := WriteJSON(&buf, Report{Rows: rows}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), `"times_ns"`); n != 1 {
		t.Errorf("times_ns %d times in\n%s", n, buf.String())
	}
	var back Report
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Rows, rows) {
		t.Errorf("round trip:\n%+v\nwant\n%+v", back.Rows, rows)
	}
}
