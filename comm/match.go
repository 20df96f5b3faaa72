package comm

import (
	"fmt"
	"github.com/spmd-go/spmd/internal/mem"

	"github.com/spmd-go/spmd/internal/bufpool"
)

// Matching. Every communicator context has a queue of posted receives (in
// the order they were posted) and a queue of unexpected messages (in the
// order they completed). A message matches the first posted receive whose
// source and tag fit; a receive matches the first unexpected message that
// fits. Because one connection carries one source's messages in order and
// one goroutine reads it, messages from one source on one context are
// matched in the order sent.

type queue struct {
	posted     []*Request
	unexpected []*message
}

type message struct {
	src  int // world rank
	tag  int
	data []byte
}

func tagMatches(want, got int) bool {
	if want == AnyTag {
		return got >= 0 // internal (negative) tags are never matched by AnyTag
	}
	return want == got
}

func (w *world) queueLocked(ctx uint32) *queue {
	q := w.queues[ctx]
	if q == nil {
		q = &queue{}
		w.queues[ctx] = q
	}
	return q
}

// takePosted removes and returns the first posted receive matching a
// message from world rank src with tag.
func (q *queue) takePosted(src, tag int) *Request {
	for i, r := range q.posted {
		if (r.src == AnySource || r.src == src) && tagMatches(r.tag, tag) {
			copy(q.posted[i:], q.posted[i+1:])
			q.posted[len(q.posted)-1] = nil
			q.posted = q.posted[:len(q.posted)-1]
			return r
		}
	}
	return nil
}

func (q *queue) removePosted(r *Request) bool {
	for i, x := range q.posted {
		if x == r {
			copy(q.posted[i:], q.posted[i+1:])
			q.posted[len(q.posted)-1] = nil
			q.posted = q.posted[:len(q.posted)-1]
			return true
		}
	}
	return false
}

// findUnexpected returns the index of the first unexpected message
// matching src (world rank or AnySource) and tag, or -1.
func (q *queue) findUnexpected(src, tag int) int {
	for i, m := range q.unexpected {
		if (src == AnySource || src == m.src) && tagMatches(tag, m.tag) {
			return i
		}
	}
	return -1
}

func (q *queue) takeUnexpected(i int) *message {
	m := q.unexpected[i]
	copy(q.unexpected[i:], q.unexpected[i+1:])
	q.unexpected[len(q.unexpected)-1] = nil
	q.unexpected = q.unexpected[:len(q.unexpected)-1]
	return m
}

// fill copies a complete message into a receive and completes it. The
// message is consumed: its buffer goes back to the pool.
func fill(r *Request, m *message) {
	st := Status{Source: r.c.commRank(m.src), Tag: m.tag, Len: len(m.data)}
	mem.Copy(r.buf, m.data)
	bufpool.Put(m.data)
	if st.Len > len(r.buf) {
		r.complete(st, fmt.Errorf("%w: %d-byte message from rank %d tag %d into a %d-byte buffer", ErrTruncated, st.Len, st.Source, m.tag, len(r.buf)))
		return
	}
	r.complete(st, nil)
}

// deliver hands a complete message to a posted receive or queues it as
// unexpected.
func (w *world) deliver(src int, ctx uint32, tag int, data []byte) {
	w.mu.Lock()
	q := w.queueLocked(ctx)
	if r := q.takePosted(src, tag); r != nil {
		r.state = stFinished
		w.mu.Unlock()
		fill(r, &message{src: src, tag: tag, data: data})
		return
	}
	q.unexpected = append(q.unexpected, &message{src: src, tag: tag, data: data})
	w.notifyLocked()
	w.mu.Unlock()
}

// notifyLocked wakes every Probe (if a Probe took the channel since the
// last time: a channel per message would be garbage for nobody).
func (w *world) notifyLocked() {
	if w.arrivedTaken {
		close(w.arrived)
		w.arrived = make(chan struct{})
		w.arrivedTaken = false
	}
}

// postRecv matches r against unexpected messages or queues it.
func (w *world) postRecv(r *Request) {
	w.mu.Lock()
	if w.err != nil {
		r.state = stFinished
		err := w.err
		w.mu.Unlock()
		r.complete(Status{}, err)
		return
	}
	q := w.queueLocked(r.context)
	if i := q.findUnexpected(r.src, r.tag); i >= 0 {
		m := q.takeUnexpected(i)
		r.state = stFinished
		w.mu.Unlock()
		fill(r, m)
		return
	}
	if err := w.recvFailureLocked(r.c, r.src); err != nil {
		r.state = stFinished
		w.mu.Unlock()
		r.complete(Status{}, withOp(err, "recv"))
		return
	}
	r.state = stPosted
	q.posted = append(q.posted, r)
	// A reader holding a message may now have its receive, or must read
	// it into a buffer to reach what is behind it (hold.go).
	w.pokeFromLocked(r.c, r.src, false)
	w.mu.Unlock()
}

// recvFailureLocked returns the error a receive from src (world rank or
// AnySource) on c must fail with because of a lost peer, or nil.
func (w *world) recvFailureLocked(c *Comm, src int) error {
	if src != AnySource {
		if p := w.peers[src]; p != nil && p.recvErr != nil {
			return p.recvErr
		}
		return nil
	}
	for _, wr := range c.group {
		if p := w.peers[wr]; p != nil && p.recvErr != nil && p.crashed {
			return p.recvErr
		}
	}
	return nil
}

// cancelRecv withdraws a receive whose Wait gave up.
func (w *world) cancelRecv(r *Request, cause error) {
	w.mu.Lock()
	switch r.state {
	case stPosted:
		w.queueLocked(r.context).removePosted(r)
		r.state = stFinished
		w.mu.Unlock()
		r.complete(Status{}, cause)
		return
	case stInProgress:
		p := r.from
		w.mu.Unlock()
		p.cmu.Lock()
		if p.inprog == r {
			p.cancelInprog = true
			p.rdStop.Store(true)
			_ = p.conn.SetReadDeadline(aLongTimeAgo)
		}
		p.cmu.Unlock()
		<-r.released
		r.complete(Status{}, cause) // no-op if the message had arrived
		return
	default:
		w.mu.Unlock()
	}
}
