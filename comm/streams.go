package comm

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spmd-go/spmd/topology"
)

// Several streams per peer. One TCP flow moves at most its window per
// round trip, and Linux caps a flow's buffers (net.ipv4.tcp_rmem and
// tcp_wmem), so across an ocean one flow may not fill a fast link. Two
// ranks that may be in different regions can therefore be joined by S
// connections instead of one:
//
//   - The dialer chooses S for the pair from the round trip its first
//     handshake timed (Config.Streams, or topology.Streams from
//     Config.LinkBandwidth and the kernel's caps) and proves it in that
//     handshake; it then dials streams 1..S-1, each with its own
//     handshake, proof of its index, keys (when encrypted), reader and
//     writer. The acceptor's mesh is complete once every announced stream
//     has come.
//   - A message goes on stream 0 unless its sender picks another with
//     Comm.Stream. Each stream keeps its messages in order, and every
//     stream delivers into the same matching, so a receive does not care
//     which stream a message came on; but two messages sent on different
//     streams may overtake each other. Package collectives, whose
//     receives name their source and tag, spreads its pipelines' segments
//     across the streams.
//   - The streams of a pair live and die together: the loss of one is the
//     loss of the peer, and the peer has closed only when every stream
//     has said goodbye (a goodbye on one stream may overtake data still
//     in flight on another).

// maxStreams is the most connections between two ranks.
const maxStreams = topology.MaxStreams

// streamsTo returns how many connections this rank opens to world rank
// j (which it dials), given the round trip of the first one.
func (w *world) streamsTo(j int, rtt time.Duration) int {
	if !w.acrossRegions(j) {
		return 1
	}
	if w.cfg.Streams > 0 {
		return min(w.cfg.Streams, maxStreams)
	}
	return topology.Streams(w.pairBandwidth(), rtt, kernelWindow())
}

// pairBandwidth is the share of this host's link that one peer in
// another region gets while the region-aware collectives exchange with
// a peer in every other region at once (the lanes): the link over the
// number of other regions, when the launcher labelled them.
func (w *world) pairBandwidth() float64 {
	return w.linkBandwidth() / float64(w.otherRegions())
}

// otherRegions is the number of regions but this rank's in the
// launcher's labels (at least 1; 1 when they are not known).
func (w *world) otherRegions() int {
	if len(w.regions) != w.size {
		return 1
	}
	seen := map[string]bool{}
	for _, r := range w.regions {
		if r == "" {
			return 1
		}
		seen[r] = true
	}
	return max(len(seen)-1, 1)
}

// defaultLinkBandwidth is Config.LinkBandwidth's default: 100 Mbit/s.
const defaultLinkBandwidth = 100e6 / 8

var (
	windowOnce sync.Once
	windowVal  int
)

// kernelWindow is the most one connection of this host keeps in flight
// (topology.Window of the maxima of net.ipv4.tcp_rmem and tcp_wmem), or
// 0 when they cannot be read.
func kernelWindow() int {
	windowOnce.Do(func() {
		windowVal = topology.Window(sysctlMax("/proc/sys/net/ipv4/tcp_rmem"), sysctlMax("/proc/sys/net/ipv4/tcp_wmem"))
	})
	return windowVal
}

// sysctlMax returns the last of the numbers in the file at path (the
// maximum of a "min default max" setting), or 0.
func sysctlMax(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	n, _ := strconv.Atoi(f[len(f)-1])
	return n
}

// streamsFromEnv reads SPMD_STREAMS (auto or a count) and SPMD_BW_MBIT.
func streamsFromEnv(cfg *Config) error {
	switch s := os.Getenv("SPMD_STREAMS"); s {
	case "":
	case "auto":
		cfg.Streams = 0
	default:
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxStreams {
			return fmt.Errorf("comm: SPMD_STREAMS=%q: want auto or a number of connections per peer from 1 to %d", s, maxStreams)
		}
		cfg.Streams = n
	}
	if s := os.Getenv("SPMD_BW_MBIT"); s != "" {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 {
			return fmt.Errorf("comm: SPMD_BW_MBIT=%q: want each host's bandwidth in Mbit/s, such as 100", s)
		}
		cfg.LinkBandwidth = v * 1e6 / 8
	}
	return nil
}

// streamGroup is what the streams of one peer share.
type streamGroup struct {
	conns  []*peer // conns[0] is the peer's first connection (w.peers)
	failed atomic.Bool
	pace   float64 // each stream's pacing rate when not set otherwise (bytes/s)
}

// on returns the connection of p's stream i (modulo their number).
func (p *peer) on(i int) *peer {
	if p.group == nil || i == 0 {
		return p
	}
	return p.group.conns[i%len(p.group.conns)]
}

// conns returns p's connections: p alone, or its stream group. It does
// not allocate (postRecv's pokes and holdLocked call it per message).
func (p *peer) conns() []*peer {
	if p.group == nil {
		return p.alone[:]
	}
	return p.group.conns
}

// first returns the first connection of p's group (the one in w.peers).
func (p *peer) first() *peer {
	if p.group == nil {
		return p
	}
	return p.group.conns[0]
}

// conns returns every connection of w: each peer's, with its streams.
func (w *world) conns() []*peer {
	var out []*peer
	for _, p := range w.peers {
		if p != nil {
			out = append(out, p.conns()...)
		}
	}
	return out
}

// addStreams joins the extra connections of world rank r (streams 1..S-1,
// in any order) to its first connection p, which announced S.
func (w *world) addStreams(p *peer, extra []connResult) error {
	want := p.streamCount
	if len(extra) != want-1 {
		return fmt.Errorf("comm: rank %d: %d extra streams from rank %d, %d announced", w.rank, len(extra), p.rank, want-1)
	}
	if want <= 1 {
		return nil
	}
	g := &streamGroup{conns: make([]*peer, want)}
	g.conns[0] = p
	for _, res := range extra {
		k := res.hs.stream
		if res.hs.streams != want || k <= 0 || k >= want || g.conns[k] != nil {
			return fmt.Errorf("comm: rank %d: rank %d's stream %d of %d does not fit the %d it announced", w.rank, p.rank, k, res.hs.streams, want)
		}
		g.conns[k] = w.newLink(res)
	}
	for _, s := range g.conns {
		s.group = g
	}
	// Paced together at the pair's share of the link (pairBandwidth):
	// S flows probing a path each on its own, from several senders into
	// one host, overrun a policed link several times over, and every drop
	// costs a round trip (measured on the lab: 30 times the drops of one
	// flow each, and slower collectives, without it). Only when the link's
	// rate was given: paced at the default figure, a faster host would be
	// held to it (in-process tests on loopback were, at 2 MB/s a stream).
	if w.cfg.LinkBandwidth <= 0 {
		return nil
	}
	g.pace = w.pairBandwidth() / float64(want)
	for _, s := range g.conns {
		if err := s.setPacing(g.pace); err != nil {
			w.log.Warn("comm: cannot pace a stream", "rank", w.rank, "peer", p.rank, "err", err)
			break
		}
	}
	return nil
}

// linkBandwidth is Config.LinkBandwidth or its default.
func (w *world) linkBandwidth() float64 {
	if w.cfg.LinkBandwidth > 0 {
		return w.cfg.LinkBandwidth
	}
	return defaultLinkBandwidth
}

// setPacing caps p's connection at bytesPerSec (0 or less: no cap).
func (p *peer) setPacing(bytesPerSec float64) error {
	rate := uint32(math.MaxUint32) // unlimited
	if bytesPerSec > 0 {
		rate = uint32(min(bytesPerSec, math.MaxUint32-1))
	}
	return sockopt(p.conn, func(fd int) error { return setMaxPacing(fd, rate) })
}

// Streams returns how many connections carry this rank's messages to
// rank r of c (1 for itself, a rank of its region or one it is not
// connected to).
func (c *Comm) Streams(r int) int {
	c.checkRank(r, "Streams")
	wr := c.group[r]
	if wr == c.w.rank || c.w.peers[wr] == nil {
		return 1
	}
	return len(c.w.peers[wr].conns())
}

// Stream returns a view of c whose messages to a rank r go on its stream
// i modulo Streams(r); c's own messages go on stream 0. A receive takes a
// message whatever stream it came on, and every stream keeps its own
// messages in order, but messages sent on different streams may overtake
// each other: use a view only for messages that are received by source
// and tag, no two with the same tag unless on the same stream. The view
// shares everything else with c (it is not a new communicator).
func (c *Comm) Stream(i int) *Comm {
	if i < 0 {
		panic(fmt.Sprintf("comm: Stream(%d): the index must not be negative", i))
	}
	v := *c
	v.stream = i
	return &v
}

// allSaidBye reports whether every connection of p's group has said
// goodbye. w.mu is held.
func (p *peer) allSaidBye() bool {
	for _, s := range p.conns() {
		if !s.byeSeen {
			return false
		}
	}
	return true
}

// writesWait reports whether a write to p's rank, on any of its
// streams, waits for room (hold.go).
func (p *peer) writesWait() bool {
	for _, s := range p.conns() {
		if s.writeWaits.Load() > 0 {
			return true
		}
	}
	return false
}
