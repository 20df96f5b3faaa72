package lab

import (
	"strings"
	"testing"
	"time"
)

func TestParseRegionsAndDelays(t *testing.T) {
	regions, err := ParseRegions("us-west:2,ap-sg:2,eu-fra:3")
	if err != nil {
		t.Fatal(err)
	}
	if len(regions) != 3 || regions[2] != (Region{"eu-fra", 3}) {
		t.Fatalf("regions %v", regions)
	}
	d, err := ParseDelays("us-west/ap-sg=40ms, eu-fra/us-west=90ms,ap-sg/eu-fra=70ms", regions)
	if err != nil {
		t.Fatal(err)
	}
	if d[[2]int{0, 1}] != 40*time.Millisecond || d[[2]int{0, 2}] != 90*time.Millisecond || d[[2]int{1, 2}] != 70*time.Millisecond {
		t.Fatalf("delays %v", d)
	}
	bad := []struct{ regions, delays, want string }{
		{"us-west", "", "want NAME:HOSTS"},
		{"US:1", "", "lower-case"},
		{"a:1,a:2", "", "given twice"},
		{"a:0", "", "want 1..240"},
		{"a:1,b:1", "", "no delay for a/b"},
		{"a:1,b:1", "a/c=1ms", `no region "c"`},
		{"a:1,b:1", "a/b=fast", "not a one-way delay"},
		{"a:1,b:1", "a/b=1ms,b/a=2ms", "given twice"},
		{"a:1,b:1", "a/a=1ms", "no delay to itself"},
	}
	for _, tc := range bad {
		rs, err := ParseRegions(tc.regions)
		if err == nil {
			_, err = ParseDelays(tc.delays, rs)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q %q: got %v, want an error with %q", tc.regions, tc.delays, err, tc.want)
		}
	}
}

func TestAddresses(t *testing.T) {
	if got := HostAddr(2, 1).String(); got != "198.18.3.11" {
		t.Fatalf("host address %s", got)
	}
	if !RegionPrefix(2).Contains(HostAddr(2, 0)) || RegionPrefix(1).Contains(HostAddr(2, 0)) {
		t.Fatal("prefix")
	}
	if RegionOf(HostAddr(1, 3), 3) != 1 || RegionOf(RouterAddr(0), 3) != 0 || RegionOf(HostAddr(5, 0), 3) != -1 {
		t.Fatal("RegionOf")
	}
}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// A packet is released exactly after serialization plus delay, and
// back-to-back packets are spaced by their serialization time.
func TestDelayAndSerialization(t *testing.T) {
	l := newDelayLine(LinkSpec{Delay: 40 * time.Millisecond, Mbit: 100}, 1)
	pkt := make([]byte, 1250) // 100 µs at 100 Mbit/s
	for i := 0; i < 3; i++ {
		if !l.push(t0, pkt) {
			t.Fatal("dropped")
		}
	}
	for i, want := range []time.Duration{40100 * time.Microsecond, 40200 * time.Microsecond, 40300 * time.Microsecond} {
		if got := l.q[i].at.Sub(t0); got != want {
			t.Errorf("packet %d due after %v, want %v", i, got, want)
		}
	}
	if out := l.pop(t0.Add(40150*time.Microsecond), nil); len(out) != 1 {
		t.Fatalf("%d due at 40.15 ms, want 1", len(out))
	}
	if out := l.pop(t0.Add(time.Second), nil); len(out) != 2 {
		t.Fatalf("%d due later, want 2", len(out))
	}
}

// Offered faster than the link, the line keeps a bounded queue and its
// throughput is the link rate.
func TestQueueAndRate(t *testing.T) {
	spec := LinkSpec{Delay: 10 * time.Millisecond, Mbit: 80, QueueBytes: 100_000}
	l := newDelayLine(spec, 1)
	pkt := make([]byte, 1000) // 100 µs at 80 Mbit/s
	var accepted int
	for i := 0; i < 2000; i++ { // 1000 bytes every 50 µs: twice the rate
		if l.push(t0.Add(time.Duration(i)*50*time.Microsecond), pkt) {
			accepted++
		}
	}
	if l.Dropped == 0 {
		t.Fatal("no drops when offered twice the rate")
	}
	// Over 100 ms the link carries 1 MB: 1000 packets, plus what the
	// queue holds at the end (at most 100 packets).
	if accepted < 1000 || accepted > 1101 {
		t.Fatalf("accepted %d packets, want about 1000-1100", accepted)
	}
	last := l.q[len(l.q)-1].at.Sub(t0)
	if want := time.Duration(accepted) * 100 * time.Microsecond; last < want || last > want+spec.Delay+time.Millisecond {
		t.Fatalf("last release after %v, want about %v + delay", last, want)
	}
}

func TestJitterNeverReorders(t *testing.T) {
	l := newDelayLine(LinkSpec{Delay: 5 * time.Millisecond, Jitter: 3 * time.Millisecond}, 42)
	for i := 0; i < 1000; i++ {
		l.push(t0.Add(time.Duration(i)*10*time.Microsecond), []byte{byte(i)})
	}
	for i := 1; i < len(l.q); i++ {
		if l.q[i].at.Before(l.q[i-1].at) {
			t.Fatalf("packet %d released before packet %d", i, i-1)
		}
	}
	spread := l.q[len(l.q)-1].at.Sub(t0.Add(999 * 10 * time.Microsecond))
	if spread < 5*time.Millisecond || spread >= 8*time.Millisecond {
		t.Fatalf("last packet's delay %v outside [5ms, 8ms)", spread)
	}
}

func TestLoss(t *testing.T) {
	l := newDelayLine(LinkSpec{Delay: time.Millisecond, Loss: 0.1}, 7)
	for i := 0; i < 10000; i++ {
		l.push(t0, []byte{1})
	}
	if l.Dropped < 800 || l.Dropped > 1200 {
		t.Fatalf("dropped %d of 10000 at 10%% loss", l.Dropped)
	}
}

func TestEmulatorRoutes(t *testing.T) {
	regions, _ := ParseRegions("a:1,b:1,c:1")
	delays, _ := ParseDelays("a/b=40ms,a/c=90ms,b/c=70ms", regions)
	plan := Plan{Regions: regions, Links: map[[2]int]LinkSpec{}}
	for k, d := range delays {
		plan.Links[k] = LinkSpec{Delay: d}
	}
	e := NewEmulator(plan, 1)
	e.Submit(t0, 2, 0, []byte("c->a"))
	e.Submit(t0, 0, 1, []byte("a->b"))
	e.Submit(t0, 1, 2, []byte("b->c"))
	if e.Submit(t0, 0, 0, []byte("a->a")) {
		t.Fatal("intra-region packet accepted: those are bridged, not emulated")
	}
	var order []string
	for {
		at, ok := e.Next()
		if !ok {
			break
		}
		for _, p := range e.Due(at, nil) {
			order = append(order, string(p)+"@"+at.Sub(t0).String())
		}
	}
	if got := strings.Join(order, " "); got != "a->b@40ms b->c@70ms c->a@90ms" {
		t.Fatalf("released %s", got)
	}
}
