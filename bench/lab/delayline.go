package lab

import (
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// LinkSpec describes one direction of the WAN between two regions.
type LinkSpec struct {
	Delay  time.Duration // one-way propagation delay
	Jitter time.Duration // extra delay drawn uniformly from [0, Jitter); never reorders
	Mbit   float64       // link rate shared by the region pair's traffic; 0 = unlimited
	Loss   float64       // probability that a packet is dropped, 0..1
	// QueueBytes bounds the bytes waiting for the link, as a router's
	// buffer does: a packet that would exceed it is dropped. 0 means one
	// bandwidth-delay product (at least 64 KiB).
	QueueBytes int
}

func (s LinkSpec) queueLimit() int {
	if s.QueueBytes > 0 {
		return s.QueueBytes
	}
	bdp := int(s.Mbit * 1e6 / 8 * s.Delay.Seconds())
	return max(bdp, 64<<10)
}

// delayLine is one direction of one region pair: a FIFO for the link
// (serialization at Mbit), then the propagation delay. Packets leave in
// the order they came. All times come from the caller, so it is pure.
type delayLine struct {
	spec        LinkSpec
	busyUntil   time.Time // when the link has sent everything accepted
	lastRelease time.Time
	q           []timed
	rng         *rand.Rand

	Sent, Dropped, Bytes int64
}

type timed struct {
	at  time.Time
	pkt []byte
}

func newDelayLine(spec LinkSpec, seed uint64) *delayLine {
	return &delayLine{spec: spec, rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
}

// serialization returns how long n bytes take on the link.
func (l *delayLine) serialization(n int) time.Duration {
	if l.spec.Mbit <= 0 {
		return 0
	}
	return time.Duration(float64(n) * 8 / (l.spec.Mbit * 1e6) * float64(time.Second))
}

// push offers pkt at time now and reports whether it was accepted (not
// lost or dropped for a full queue). The line keeps pkt until released.
func (l *delayLine) push(now time.Time, pkt []byte) bool {
	if l.spec.Loss > 0 && l.rng.Float64() < l.spec.Loss {
		l.Dropped++
		return false
	}
	start := now
	if l.busyUntil.After(now) {
		start = l.busyUntil
		// bytes still waiting for the link at now
		backlog := int(float64(l.busyUntil.Sub(now)) / float64(time.Second) * l.spec.Mbit * 1e6 / 8)
		if backlog+len(pkt) > l.spec.queueLimit() {
			l.Dropped++
			return false
		}
	}
	l.busyUntil = start.Add(l.serialization(len(pkt)))
	at := l.busyUntil.Add(l.spec.Delay)
	if l.spec.Jitter > 0 {
		at = at.Add(time.Duration(l.rng.Int64N(int64(l.spec.Jitter))))
	}
	if at.Before(l.lastRelease) {
		at = l.lastRelease // no reordering
	}
	l.lastRelease = at
	l.q = append(l.q, timed{at: at, pkt: pkt})
	l.Sent++
	l.Bytes += int64(len(pkt))
	return true
}

// next returns when the first waiting packet is due.
func (l *delayLine) next() (time.Time, bool) {
	if len(l.q) == 0 {
		return time.Time{}, false
	}
	return l.q[0].at, true
}

// pop appends to dst the packets due at now, in order.
func (l *delayLine) pop(now time.Time, dst [][]byte) [][]byte {
	i := 0
	for i < len(l.q) && !l.q[i].at.After(now) {
		dst = append(dst, l.q[i].pkt)
		l.q[i] = timed{}
		i++
	}
	l.q = l.q[i:]
	return dst
}

// Emulator holds a delay line for each direction of each region pair.
// Its methods are safe for concurrent use: the lab's control socket
// changes links and partitions while Run moves packets.
type Emulator struct {
	mu       sync.Mutex
	lines    map[[2]int]*delayLine // (src region, dst region)
	cut      map[int]bool          // partitioned regions
	cutDrops int64                 // packets dropped because a region was cut off

	// HeaderLen is the number of bytes before the IP header in each
	// packet Run reads (VnetHdrLen on a TUN device with offloads).
	// Set it before Run.
	HeaderLen int
}

// NewEmulator makes an emulator for plan's links (each pair in both
// directions, each direction with its own link).
func NewEmulator(plan Plan, seed uint64) *Emulator {
	e := &Emulator{lines: map[[2]int]*delayLine{}, cut: map[int]bool{}}
	for k, spec := range plan.Links {
		e.lines[[2]int{k[0], k[1]}] = newDelayLine(spec, seed+uint64(k[0]*1000+k[1]))
		e.lines[[2]int{k[1], k[0]}] = newDelayLine(spec, seed+uint64(k[1]*1000+k[0])+7)
	}
	return e
}

// Submit offers a packet from region src to region dst at time now. It
// reports false when there is no link between them, either region is
// cut off, or the packet was dropped.
func (e *Emulator) Submit(now time.Time, src, dst int, pkt []byte) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.lines[[2]int{src, dst}]
	if l == nil {
		return false
	}
	if e.cut[src] || e.cut[dst] {
		e.cutDrops++
		return false
	}
	return l.push(now, pkt)
}

// Next returns the earliest time a packet is due, if any waits.
func (e *Emulator) Next() (time.Time, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var best time.Time
	found := false
	for _, l := range e.lines {
		if t, ok := l.next(); ok && (!found || t.Before(best)) {
			best, found = t, true
		}
	}
	return best, found
}

// Due appends to dst every packet due at now.
func (e *Emulator) Due(now time.Time, dst [][]byte) [][]byte {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, l := range e.lines {
		dst = l.pop(now, dst)
	}
	return dst
}

// LineStats is what one direction of a region pair carried.
type LineStats struct {
	Src, Dst             int
	Sent, Dropped, Bytes int64
	Spec                 LinkSpec
}

// Stats returns the counters of every direction of every region pair,
// and the packets dropped because a region was cut off.
func (e *Emulator) Stats() (lines []LineStats, cutDrops int64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for k, l := range e.lines {
		lines = append(lines, LineStats{k[0], k[1], l.Sent, l.Dropped, l.Bytes, l.spec})
	}
	return lines, e.cutDrops
}

// SetSpec changes both directions between regions a and b from now on.
// Packets already on the line keep their release times, and the line
// never reorders, so a shorter delay takes effect once they are out.
func (e *Emulator) SetSpec(a, b int, spec LinkSpec) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	ab, ba := e.lines[[2]int{a, b}], e.lines[[2]int{b, a}]
	if ab == nil || ba == nil {
		return false
	}
	ab.spec, ba.spec = spec, spec
	return true
}

// Spec returns the link between regions a and b.
func (e *Emulator) Spec(a, b int) (LinkSpec, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	l := e.lines[[2]int{a, b}]
	if l == nil {
		return LinkSpec{}, false
	}
	return l.spec, true
}

// SetCut cuts region r off from every other region (on) or heals it.
// Packets already on a line are still delivered, as they were on the
// wire.
func (e *Emulator) SetCut(r int, on bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if on {
		e.cut[r] = true
	} else {
		delete(e.cut, r)
	}
}

// Cut reports the regions cut off, in increasing order.
func (e *Emulator) Cut() []int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []int
	for r := range e.cut {
		out = append(out, r)
	}
	slices.Sort(out)
	return out
}
