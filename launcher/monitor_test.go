//go:build linux

package launcher_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/spmd-go/spmd/internal/labtest"
)

// --stats prints a line per rank with its collectives and a line per host.
func TestStatsTable(t *testing.T) {
	bin := buildSpmdrun(t)
	code, out, errs := spmdrun(t, bin, "-np", "3", "--stats", "-x", "SPMD_TEST_ROLE=allreduceloop", "-x", "LOOP_N=40", "-x", "LOOP_BYTES=65536", os.Args[0])
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, out, errs)
	}
	for r := range 3 {
		// rank, host, region, wall, comm, compute %, MB own, MB others, messages, collectives
		re := regexp.MustCompile(fmt.Sprintf(`(?m)^\s+%d\s+\S+\s+-\s+[\d.]+\s+[\d.]+\s+\d+\s+([\d.]+)\s+0\.00\s+(\d+)\s+Allreduce 40$`, r))
		m := re.FindStringSubmatch(errs)
		if m == nil {
			t.Fatalf("no statistics line for rank %d:\n%s", r, errs)
		}
		// 40 allreduces of 64 KiB among 3 ranks send at least 40 x 64 KiB x 2/3 each.
		if mbs, _ := strconv.ParseFloat(m[1], 64); mbs < 40*65536*2/3/1e6 {
			t.Errorf("rank %d sent %v MB, want at least %.2f", r, mbs, 40*65536*2/3/1e6)
		}
	}
	if !regexp.MustCompile(`(?m)^\s+\S+\s+3\s+[\d.]+\s+[\d.]+\s+[\d.]+\s+0\.00\s+\d+\s+120$`).MatchString(errs) {
		t.Errorf("no host line with 3 ranks and 120 collective calls:\n%s", errs)
	}
}

// startMonitored starts a job that runs until interrupted, with the
// dashboard and metrics served, and returns their addresses.
func startMonitored(t *testing.T, bin string) (cmd *exec.Cmd, dashboard, metrics string) {
	t.Helper()
	cmd = exec.Command(bin, "-np", "3", "--dashboard", "127.0.0.1:0", "--metrics", "127.0.0.1:0", "--grace", "1s",
		"-x", "SPMD_TEST_ROLE=allreduceloop", "-x", "LOOP_N=0", "-x", "LOOP_BYTES=8192", os.Args[0])
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
	})
	sc := bufio.NewScanner(stderr)
	at := regexp.MustCompile(`spmdrun: (dashboard|metrics) at (http://\S+)`)
	for (dashboard == "" || metrics == "") && sc.Scan() {
		if m := at.FindStringSubmatch(sc.Text()); m != nil {
			if m[1] == "dashboard" {
				dashboard = m[2]
			} else {
				metrics = m[2]
			}
		}
	}
	go io.Copy(io.Discard, stderr)
	if dashboard == "" || metrics == "" {
		t.Fatal("spmdrun did not say where it serves")
	}
	return cmd, dashboard, metrics
}

// scrape reads the metrics and returns rank 0's Allreduce count (-1
// while there is none) and the series that are not there yet. Each rank
// reports once a second from its start, so for a moment after rank 0's
// first report the others' series may still be missing.
func scrape(t *testing.T, url string) (int, []string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var missing []string
	for _, want := range []string{"spmd_collective_duration_seconds_bucket{op=\"Allreduce\",rank=\"2\",le=\"0.001\"}", "spmd_sent_bytes_total{",
		"spmd_rank_running{", "spmd_peer_sent_bytes_total{peer=\"2\",rank=\"1\"}", "spmd_peer_sent_messages_total{peer=\"0\",rank=\"2\"}",
		"spmd_region_pair_sent_bytes_total{from_region=\"-\",to_region=\"-\"}", "spmd_region_pair_sent_messages_total{from_region=\"-\",to_region=\"-\"}"} {
		if !strings.Contains(string(body), want) {
			missing = append(missing, want)
		}
	}
	m := regexp.MustCompile(`(?m)^spmd_collective_calls_total\{op="Allreduce",rank="0"\} (\d+)$`).FindSubmatch(body)
	if m == nil {
		return -1, missing
	}
	n, _ := strconv.Atoi(string(m[1]))
	return n, missing
}

// calls waits (20 s at most) until the metrics hold every rank's series
// and a count of rank 0's Allreduces, and returns that count.
func calls(t *testing.T, url string) int {
	t.Helper()
	n, missing := scrape(t, url)
	for end := time.Now().Add(20 * time.Second); (n <= 0 || len(missing) > 0) && time.Now().Before(end); {
		time.Sleep(200 * time.Millisecond)
		n, missing = scrape(t, url)
	}
	if n <= 0 || len(missing) > 0 {
		t.Fatalf("after 20 s the metrics still lack rank 0's Allreduce count (%d) or these series: %q", n, missing)
	}
	return n
}

// The Prometheus endpoint serves counters that grow while the job runs.
func TestMetricsEndpoint(t *testing.T) {
	_, _, metrics := startMonitored(t, buildSpmdrun(t))
	first := calls(t, metrics)
	time.Sleep(2500 * time.Millisecond) // reports come every second
	if second := calls(t, metrics); second <= first {
		t.Errorf("rank 0's Allreduce count did not grow: %d then %d", first, second)
	}
}

// The dashboard in headless Chromium (Debian's chromium): the page
// loads, shows every rank running, and its figures change as the job
// progresses.
func TestDashboardInChromium(t *testing.T) {
	chromium := labtest.NeedCommand(t, "chromium", "chromium")
	_, dashboard, metrics := startMonitored(t, buildSpmdrun(t))
	calls(t, metrics)
	profile := t.TempDir()
	dump := func() string {
		out, err := exec.Command(chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--user-data-dir="+profile,
			"--virtual-time-budget=3000", "--dump-dom", dashboard).Output()
		if err != nil {
			t.Fatalf("chromium: %v\n%s", err, out)
		}
		return string(out)
	}
	callsCell := regexp.MustCompile(`<tr><td>0</td><td>[^<]*</td><td>[^<]*</td><td class="running">running</td>(?:<td>[^<]*</td>){4}<td>(\d+)</td></tr>`)
	first := dump()
	for r := range 3 {
		if !regexp.MustCompile(fmt.Sprintf(`<tr><td>%d</td><td>[^<]+</td><td>[^<]*</td><td class="running">running</td>`, r)).MatchString(first) {
			t.Fatalf("rank %d is not shown running:\n%s", r, first)
		}
	}
	m1 := callsCell.FindStringSubmatch(first)
	if m1 == nil {
		t.Fatalf("no collective calls shown for rank 0:\n%s", first)
	}
	time.Sleep(2500 * time.Millisecond)
	second := dump()
	m2 := callsCell.FindStringSubmatch(second)
	if m2 == nil {
		t.Fatalf("no collective calls shown for rank 0 the second time:\n%s", second)
	}
	a, _ := strconv.Atoi(m1[1])
	b, _ := strconv.Atoi(m2[1])
	if b <= a {
		t.Errorf("rank 0's collective calls did not change on the page: %d then %d", a, b)
	}
	if !strings.Contains(second, "Bytes between regions") || !strings.Contains(second, "<td>-/-</td>") {
		t.Errorf("no region pair table:\n%s", second)
	}
	t.Logf("rank 0's calls on the page: %d, then %d", a, b)
}
