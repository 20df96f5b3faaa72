package comm

import (
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spmd-go/spmd/internal/wire"
)

// Holding large messages. A message that arrives before its receive is
// posted would be read into a pooled buffer and copied again when the
// receive comes: a second copy of every byte, into memory that is cold.
// In a loop of broadcasts, where the root runs ahead of its receivers,
// that was most large messages (bcast of 2 MiB, 4 ranks on 2 cores: a
// quarter of the CPU time went to the second copy). So a reader that
// meets a message of holdMin bytes or more with no receive for it holds
// it: it has read the header, leaves the payload in the socket, and
// parks. The sender's data waits in the kernel's buffers, and when they
// are full the sender waits too, as a rendezvous protocol would make it.
//
// Holding must never stop a receive that needs a message behind the held
// one, so the held message is read into a buffer after all, at once, when
//   - a receive from this peer that does not match it is posted, on any
//     context (it may need a message behind it);
//   - a Probe or Iprobe looks (it must see every message that arrived),
//     and a message is not held at all while a Probe waits (it arrived
//     after the Probe looked, which only a delivered message would wake);
//   - a write to the same peer waits for room in its socket (the peer
//     may be sending to us and waiting in turn: two ranks that both Send
//     large messages before they Recv must not deadlock);
//   - any write of this rank has waited for room for cycleWait (a cycle
//     of ranks that each Send before they Recv; flushing every held
//     message at once would undo holding whenever a rank forwards data
//     to a slower one, as inner ranks of a broadcast tree do);
//   - the rank closes or fails;
//   - it has been held for holdMax (for what no rule above sees, such as
//     an AnySource receive that wants a message behind it).
//
// Only messages from near peers (this host, or a round trip under
// nearRTT: a LAN) are held. Across a WAN the copy costs little next to the
// transfer, and a held message would close the TCP window a whole round
// trip before the receiver is ready.
const (
	holdMin   = 64 << 10
	cycleWait = time.Millisecond
	nearRTT   = time.Millisecond
)

// holdMax is how long a message may be held (5 ms; tests change it).
var holdMax atomic.Int64

func init() { holdMax.Store(int64(5 * time.Millisecond)) }

// errHeld is receive's answer when it holds the message (not an error).
var errHeld = errors.New("message held")

// holdLocked decides whether the reader holds the message whose header is
// h, which no posted receive matches, and if so records it. w.mu is held.
func (p *peer) holdLocked(h wire.Header) bool {
	w := p.w
	if h.Total < holdMin || !p.near || w.closing || p.flushHeld || w.arrivedTaken ||
		p.writesWait() || w.wblocked.Load() > 0 || w.postedFromLocked(p.rank) {
		return false
	}
	if !p.held {
		p.held, p.hh, p.heldSince = true, h, time.Now()
	} else if time.Since(p.heldSince) >= time.Duration(holdMax.Load()) {
		w.holdStats.expired.Add(1)
		return false
	}
	p.holding.Store(true)
	return true
}

// isNear reports whether p is on this host or a round trip under nearRTT
// away (as its handshake measured it; a busy host can measure more than
// that on loopback, which is why the host is asked too). The mesh sets
// p.near from it once.
func (p *peer) isNear() bool {
	return p.rtt < nearRTT || p.onThisHost()
}

// onThisHost reports whether p's end of the connection is on this host:
// a loopback address, or this end's own.
func (p *peer) onThisHost() bool {
	l, lok := p.conn.LocalAddr().(*net.TCPAddr)
	r, rok := p.conn.RemoteAddr().(*net.TCPAddr)
	return lok && rok && (r.IP.IsLoopback() || r.IP.Equal(l.IP))
}

// unholdLocked forgets the held message: it is being read, into the
// receive r or (r nil) into a buffer. w.mu is held.
func (p *peer) unholdLocked(r *Request) {
	if p.held {
		p.held = false
		p.holding.Store(false)
		if r != nil {
			p.w.holdStats.direct.Add(1)
		} else {
			p.w.holdStats.buffered.Add(1)
		}
	}
	p.flushHeld = false
}

// holdStats counts what became of held messages, for tests.
type holdStats struct {
	direct   atomic.Int64 // read straight into a receive posted later
	buffered atomic.Int64 // read into a buffer after all
	expired  atomic.Int64 // of those, because holdMax had passed
}

// postedFromLocked reports whether a receive naming world rank src is
// posted on any context. w.mu is held.
func (w *world) postedFromLocked(src int) bool {
	for _, q := range w.queues {
		for _, r := range q.posted {
			if r.src == src {
				return true
			}
		}
	}
	return false
}

// pokeHeld wakes p's reader if it holds a message, so that it looks at
// it again; flush makes it read the message into a buffer. w.mu is held
// when flush is set.
func (p *peer) pokeHeld(flush bool) {
	if p == nil || !p.holding.Load() {
		return
	}
	if flush {
		p.flushHeld = true
	}
	select {
	case p.poke <- struct{}{}:
	default:
	}
}

// pokeFromLocked pokes the reader of world rank src, or with AnySource
// those of every rank of c. w.mu is held.
func (w *world) pokeFromLocked(c *Comm, src int, flush bool) {
	if src != AnySource {
		w.peers[src].pokeStreams(flush)
		return
	}
	for _, wr := range c.group {
		w.peers[wr].pokeStreams(flush)
	}
}

// pokeStreams pokes the reader of each of p's connections (p may be nil).
func (p *peer) pokeStreams(flush bool) {
	if p == nil {
		return
	}
	for _, s := range p.conns() {
		s.pokeHeld(flush)
	}
}

// pokeAll wakes every reader that holds a message. A caller that changed
// what holdLocked looks at (closing, a waiting write) calls it after.
func (w *world) pokeAll() {
	for _, p := range w.peers {
		p.pokeStreams(false)
	}
}

// awaitPoke parks a reader that holds a message until it is poked or
// until, when it has been held for holdMax, it must be read anyway.
func (p *peer) awaitPoke(until time.Time) {
	t := time.NewTimer(time.Until(until))
	defer t.Stop()
	select {
	case <-p.poke:
	case <-t.C:
	}
}

// blockedWrite is a write to a peer that found no room in its socket, or
// descriptors sent to it that wait for its acknowledgement (remote.go):
// either way this rank waits for the peer to read.
type blockedWrite struct {
	p     *peer
	t     *time.Timer
	mu    sync.Mutex
	ended bool
	long  bool // counted in w.wblocked
}

// writeBlocked records that a write to p waits for room: p's held message
// is read at once, and every held message if the wait lasts cycleWait.
func (p *peer) writeBlocked() *blockedWrite {
	b := &blockedWrite{p: p}
	p.writeWaits.Add(1)
	p.first().pokeStreams(false)
	b.t = time.AfterFunc(cycleWait, func() {
		b.mu.Lock()
		if !b.ended {
			b.long = true
			p.w.wblocked.Add(1)
		}
		b.mu.Unlock()
		if b.long {
			p.w.pokeAll()
		}
	})
	return b
}

// end records that the write is over.
func (b *blockedWrite) end() {
	b.t.Stop()
	b.mu.Lock()
	b.ended = true
	if b.long {
		b.p.w.wblocked.Add(-1)
	}
	b.mu.Unlock()
	b.p.writeWaits.Add(-1)
}
