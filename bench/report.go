package bench

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Row is one figure of a sweep.
type Row struct {
	Impl   string        `json:"impl"` // "spmd", or "openmpi" for the C harness
	Op     string        `json:"op"`
	Alg    string        `json:"alg"`
	Bytes  int           `json:"bytes"`
	Ranks  int           `json:"ranks"`
	Reps   int           `json:"reps"`
	Median time.Duration `json:"median_ns"` // synchronized start: latest end - start
	Min    time.Duration `json:"min_ns"`
	Max    time.Duration `json:"max_ns"`
	OSU    time.Duration `json:"osu_ns"` // OSU-style mean per call; 0 if not measured
	Bound  time.Duration `json:"bound_ns"`
	// Times is each timed repetition's figure, in the order they ran
	// (the JSON only: tails and their timing, such as a slow repetition
	// every ten seconds, hide behind the median).
	Times []time.Duration `json:"times_ns,omitempty"`
	// Model is the collectives' cost model's time for the call and
	// ModelAlg the algorithm it prices (Auto's choice for Auto); 0 and
	// "" where the model prices nothing (one region, barrier, alltoall).
	Model    time.Duration `json:"model_ns,omitempty"`
	ModelAlg string        `json:"model_alg,omitempty"`
}

// Ratio is the median over the lower bound (0 without a bound).
func (r Row) Ratio() float64 {
	if r.Bound <= 0 {
		return 0
	}
	return float64(r.Median) / float64(r.Bound)
}

// Report is what spmdbench writes: the network it measured and the rows.
type Report struct {
	Network  *Measured `json:"network,omitempty"`
	Rows     []Row     `json:"rows"`
	Warnings []string  `json:"warnings,omitempty"`
}

func ms(d time.Duration) string { return strconv.FormatFloat(float64(d)/1e6, 'f', 3, 64) }

// HumanBytes writes 524288 as 512K.
func HumanBytes(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dM", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dK", n>>10)
	}
	return strconv.Itoa(n)
}

var csvHeader = []string{"impl", "op", "alg", "bytes", "ranks", "reps", "median_ms", "min_ms", "max_ms", "osu_ms", "bound_ms", "ratio"}

// csvModel are the columns after csvHeader's that spmdbench writes
// since 2026-12-07; files without them (older ones, the C harness's)
// still read.
var csvModel = []string{"model_alg", "model_ms"}

// csvFull is the header WriteCSV writes.
var csvFull = append(slices.Clip(csvHeader), csvModel...)

// WriteCSV writes the rows with a header.
func WriteCSV(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	cw.Write(csvFull)
	for _, r := range rows {
		cw.Write([]string{r.Impl, r.Op, r.Alg, strconv.Itoa(r.Bytes), strconv.Itoa(r.Ranks), strconv.Itoa(r.Reps),
			ms(r.Median), ms(r.Min), ms(r.Max), ms(r.OSU), ms(r.Bound), strconv.FormatFloat(r.Ratio(), 'f', 2, 64),
			r.ModelAlg, ms(r.Model)})
	}
	cw.Flush()
	return cw.Error()
}

// ReadCSV reads rows written by WriteCSV (or by the C harness, which
// writes the same columns but the model's); it names the file and line
// of a bad row.
func ReadCSV(name string, r io.Reader) ([]Row, error) {
	cr := csv.NewReader(r)
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(recs) == 0 || !slices.Equal(recs[0], csvHeader) && !slices.Equal(recs[0], csvFull) {
		return nil, fmt.Errorf("%s:1: want the header %s (and optionally ,%s)", name, strings.Join(csvHeader, ","), strings.Join(csvModel, ","))
	}
	withModel := len(recs[0]) > len(csvHeader)
	var rows []Row
	for i, rec := range recs[1:] {
		bad := func(col string, err error) error {
			return fmt.Errorf("%s:%d: column %s: %v", name, i+2, col, err)
		}
		var row Row
		row.Impl, row.Op, row.Alg = rec[0], rec[1], rec[2]
		ints := []*int{&row.Bytes, &row.Ranks, &row.Reps}
		for k, p := range ints {
			v, err := strconv.Atoi(rec[3+k])
			if err != nil || v < 0 {
				return nil, bad(csvHeader[3+k], fmt.Errorf("%q is not a count", rec[3+k]))
			}
			*p = v
		}
		durs := []*time.Duration{&row.Median, &row.Min, &row.Max, &row.OSU, &row.Bound}
		for k, p := range durs {
			d, err := millis(rec[6+k])
			if err != nil {
				return nil, bad(csvHeader[6+k], err)
			}
			*p = d
		}
		if withModel {
			row.ModelAlg = rec[len(csvHeader)]
			d, err := millis(rec[len(csvHeader)+1])
			if err != nil {
				return nil, bad(csvModel[1], err)
			}
			row.Model = d
		}
		rows = append(rows, row)
	}
	return rows, nil
}

// millis reads a CSV cell of milliseconds.
func millis(cell string) (time.Duration, error) {
	f, err := strconv.ParseFloat(cell, 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not milliseconds", cell)
	}
	return time.Duration(math.Round(f * 1e6)), nil
}

// WriteJSON writes the report, indented.
func WriteJSON(w io.Writer, rep Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(rep)
}

// WriteTable writes the rows as an aligned table: times in ms.
func WriteTable(w io.Writer, rows []Row) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\talg\tbytes\treps\tmedian\tmin\tmax\tosu avg\tbound\tx bound\tmodel\tmodel alg\t")
	for _, r := range rows {
		ratio := "-"
		if r.Bound > 0 {
			ratio = strconv.FormatFloat(r.Ratio(), 'f', 2, 64)
		}
		osu := "-"
		if r.OSU > 0 {
			osu = ms(r.OSU)
		}
		model, alg := "-", "-"
		if r.Model > 0 {
			model, alg = ms(r.Model), r.ModelAlg
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Op, r.Alg, HumanBytes(r.Bytes), r.Reps, ms(r.Median), ms(r.Min), ms(r.Max), osu, ms(r.Bound), ratio, model, alg)
	}
	return tw.Flush()
}

// WriteNetwork writes the measured latencies by region pair, bandwidths
// and clock offsets.
func WriteNetwork(w io.Writer, m Measured) {
	pairs := m.RegionPairs()
	fmt.Fprintf(w, "# %d hosts; one-way latency by region pair:", len(m.Hosts))
	for _, k := range sortedKeys(pairs) {
		fmt.Fprintf(w, " %s/%s %s ms", orDash(k[0]), orDash(k[1]), ms(pairs[k]))
	}
	fmt.Fprintln(w)
	fmt.Fprintf(w, "# bandwidth (Mbit/s):")
	for i, b := range m.Bandwidth {
		fmt.Fprintf(w, " %s %.1f", m.Hosts[i], b*8/1e6)
	}
	fmt.Fprintln(w)
	if m.Tunnel > 0 {
		fmt.Fprintf(w, "# each pair of regions shares one link of %.1f Mbit/s (-wan-mbit)\n", m.Tunnel*8/1e6)
	}
	var worst time.Duration
	for _, o := range m.ClockOffset {
		worst = max(worst, o.Abs())
	}
	fmt.Fprintf(w, "# clock offsets to %s: largest %s ms\n", m.Hosts[0], ms(worst))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// ClockWarning returns a warning when some host's clock is off by more
// than 5% of the shortest figure (or 1 ms), beyond what can be told apart
// from its measurement error: then the synchronized start is not
// simultaneous and figures are off by as much.
func ClockWarning(m Measured, shortest time.Duration) string {
	limit := max(shortest/20, time.Millisecond)
	for i, o := range m.ClockOffset {
		if o.Abs()-m.ClockError[i] > limit {
			return fmt.Sprintf("the clock of %s is %s ms off %s's (±%s ms): figures may be off by that much; synchronize the hosts' clocks (NTP, PTP)",
				m.Hosts[i], ms(o), m.Hosts[0], ms(m.ClockError[i]))
		}
	}
	return ""
}

// Plot writes one log-log plot per operation (but barrier, which has one
// size) of the median time against size, a line per implementation and
// algorithm, with the lower bound dashed, as DIR/OP.png and DIR/OP.svg. It
// returns the files written.
func Plot(dir string, rows []Row) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var ops []string
	for _, r := range rows {
		if r.Op != "barrier" && !slices.Contains(ops, r.Op) {
			ops = append(ops, r.Op)
		}
	}
	palette := []color.Color{color.RGBA{0x1f, 0x77, 0xb4, 255}, color.RGBA{0xd6, 0x27, 0x28, 255}, color.RGBA{0x2c, 0xa0, 0x2c, 255},
		color.RGBA{0xff, 0x7f, 0x0e, 255}, color.RGBA{0x94, 0x67, 0xbd, 255}, color.RGBA{0x8c, 0x56, 0x4b, 255}}
	var files []string
	for _, op := range ops {
		p := plot.New()
		p.Title.Text = op
		p.X.Label.Text = "bytes"
		p.Y.Label.Text = "ms (median, synchronized start)"
		p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
		p.X.Tick.Marker, p.Y.Tick.Marker = ticks125{bytes: true}, ticks125{}
		p.Legend.Top, p.Legend.Left = true, true
		series := map[string]plotter.XYs{}
		var names []string
		bound := map[int]float64{}
		for _, r := range rows {
			if r.Op != op || r.Bytes <= 0 || r.Median <= 0 {
				continue
			}
			name := r.Impl + " " + r.Alg
			if _, ok := series[name]; !ok {
				names = append(names, name)
			}
			series[name] = append(series[name], plotter.XY{X: float64(r.Bytes), Y: float64(r.Median) / 1e6})
			if r.Bound > 0 {
				bound[r.Bytes] = float64(r.Bound) / 1e6
			}
		}
		for i, name := range names {
			l, err := plotter.NewLine(series[name])
			if err != nil {
				return files, err
			}
			l.Color = palette[i%len(palette)]
			l.Width = vg.Points(1.5)
			s, err := plotter.NewScatter(series[name])
			if err != nil {
				return files, err
			}
			s.Color = l.Color
			s.Shape = draw.CircleGlyph{}
			p.Add(l, s)
			p.Legend.Add(name, l)
		}
		if len(bound) > 0 {
			var xy plotter.XYs
			for b, v := range bound {
				xy = append(xy, plotter.XY{X: float64(b), Y: v})
			}
			slices.SortFunc(xy, func(a, b plotter.XY) int { return int(a.X - b.X) })
			l, err := plotter.NewLine(xy)
			if err != nil {
				return files, err
			}
			l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			l.Color = color.Gray{Y: 80}
			p.Add(l)
			p.Legend.Add("lower bound", l)
		}
		for _, ext := range []string{"png", "svg"} {
			f := filepath.Join(dir, op+"."+ext)
			if err := p.Save(7*vg.Inch, 4.5*vg.Inch, f); err != nil {
				return files, fmt.Errorf("bench: plotting %s: %w", f, err)
			}
			files = append(files, f)
		}
	}
	return files, nil
}

// Combine pairs each spmd row with the Open MPI row of the same operation
// and size and writes them side by side with the ratio.
func Combine(w io.Writer, rows []Row) error {
	type key struct {
		op    string
		bytes int
	}
	ompi := map[key]Row{}
	for _, r := range rows {
		if r.Impl == "openmpi" {
			ompi[key{r.Op, r.Bytes}] = r
		}
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\tbytes\tspmd alg\tspmd ms\topen mpi ms\tspmd/ompi\tbound ms\tspmd x bound\tompi x bound\t")
	for _, r := range rows {
		if r.Impl != "spmd" {
			continue
		}
		o, ok := ompi[key{r.Op, r.Bytes}]
		om, ratio, oxb := "-", "-", "-"
		if ok && o.Median > 0 {
			om = ms(o.Median)
			ratio = strconv.FormatFloat(float64(r.Median)/float64(o.Median), 'f', 2, 64)
			if r.Bound > 0 {
				oxb = strconv.FormatFloat(float64(o.Median)/float64(r.Bound), 'f', 2, 64)
			}
		}
		sxb := "-"
		if r.Bound > 0 {
			sxb = strconv.FormatFloat(r.Ratio(), 'f', 2, 64)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t\n", r.Op, HumanBytes(r.Bytes), r.Alg, ms(r.Median), om, ratio, ms(r.Bound), sxb, oxb)
	}
	return tw.Flush()
}

// ticks125 labels a log axis at 1, 2 and 5 times powers of ten, so that a
// range within one decade still gets labels; sizes are labelled as 4K, 1M.
type ticks125 struct{ bytes bool }

func (t ticks125) Ticks(lo, hi float64) []plot.Tick {
	var out []plot.Tick
	if lo <= 0 {
		lo = 1e-9
	}
	for e := math.Floor(math.Log10(lo)) - 1; e <= math.Ceil(math.Log10(hi)); e++ {
		for _, m := range []float64{1, 2, 5} {
			v := m * math.Pow(10, e)
			if v < lo || v > hi {
				continue
			}
			out = append(out, plot.Tick{Value: v, Label: t.label(v)})
		}
	}
	if t.bytes { // powers of two read better for sizes
		out = out[:0]
		for e := math.Floor(math.Log2(lo)); e <= math.Ceil(math.Log2(hi)); e += 2 {
			v := math.Pow(2, e)
			if v >= lo && v <= hi {
				out = append(out, plot.Tick{Value: v, Label: HumanBytes(int(v))})
			}
		}
	}
	return out
}

func (t ticks125) label(v float64) string {
	return strconv.FormatFloat(v, 'g', 3, 64)
}
