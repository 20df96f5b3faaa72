package lab

import (
	"math/rand/v2"
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
type Emulator struct {
	lines map[[2]int]*delayLine // (src region, dst region)
}

// NewEmulator makes an emulator for plan's links (each pair in both
// directions, each direction with its own link).
func NewEmulator(plan Plan, seed uint64) *Emulator {
	e := &Emulator{lines: map[[2]int]*delayLine{}}
	for k, spec := range plan.Links {
		e.lines[[2]int{k[0], k[1]}] = newDelayLine(spec, seed+uint64(k[0]*1000+k[1]))
		e.lines[[2]int{k[1], k[0]}] = newDelayLine(spec, seed+uint64(k[1]*1000+k[0])+7)
	}
	return e
}

// Submit offers a packet from region src to region dst at time now. It
// reports false when there is no link between them or the packet was
// dropped.
func (e *Emulator) Submit(now time.Time, src, dst int, pkt []byte) bool {
	l := e.lines[[2]int{src, dst}]
	return l != nil && l.push(now, pkt)
}

// Next returns the earliest time a packet is due, if any waits.
func (e *Emulator) Next() (time.Time, bool) {
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
	for _, l := range e.lines {
		dst = l.pop(now, dst)
	}
	return dst
}

// Stats returns packets sent and dropped on the line from src to dst.
func (e *Emulator) Stats(src, dst int) (sent, dropped int64) {
	if l := e.lines[[2]int{src, dst}]; l != nil {
		return l.Sent, l.Dropped
	}
	return 0, 0
}
