package comm

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"

	"github.com/spmd-go/spmd/internal/control"
)

// Wildcards for Recv, Irecv and Probe.
const (
	AnySource = -1
	AnyTag    = -1
)

// MaxTag is the largest tag a user may give. Tags are 0..MaxTag.
const MaxTag = 1<<30 - 1

// Undefined is the color that leaves a rank out of every communicator made
// by Split.
const Undefined = -1

// Comm is a communicator: a group of ranks with its own message space.
// Ranks are numbered 0..Size()-1 within it. A Comm is safe for concurrent
// use by many goroutines.
//
// Each communicator has two contexts: one for point-to-point messages and
// one for collective operations (see Collective), so that a user's
// Recv(AnySource, AnyTag) never takes a collective's message.
type Comm struct {
	w       *world
	context uint32 // point-to-point context id; collective is context+1
	coll    bool   // this value is the collective view
	rank    int
	group   []int         // comm rank -> world rank
	inv     map[int]int   // world rank -> comm rank
	closed  *atomic.Bool  // shared by a comm and its collective view
	attrs   *sync.Map     // shared by a comm and its collective view
	world   bool          // this is the world communicator
	shrinks *atomic.Int64 // Shrinks called, shared by a comm and its collective view
	stream  int           // the stream its sends take (Stream; streams.go)
}

func newComm(w *world, context uint32, group []int, isWorld bool) *Comm {
	c := &Comm{w: w, context: context, group: group, inv: make(map[int]int, len(group)), closed: new(atomic.Bool), attrs: new(sync.Map), world: isWorld, rank: -1, shrinks: new(atomic.Int64)}
	for i, wr := range group {
		c.inv[wr] = i
		if wr == w.rank {
			c.rank = i
		}
	}
	return c
}

// Rank returns this process's rank in c.
func (c *Comm) Rank() int { return c.rank }

// Size returns the number of ranks in c.
func (c *Comm) Size() int { return len(c.group) }

// WorldRank returns the world rank of c's rank r.
func (c *Comm) WorldRank(r int) int {
	c.checkRank(r, "WorldRank")
	return c.group[r]
}

// Host returns the host name of c's rank r as the launcher knows it, or ""
// when it is not known (a standalone or in-process job).
func (c *Comm) Host(r int) string {
	c.checkRank(r, "Host")
	if wr := c.group[r]; wr < len(c.w.hosts) {
		return c.w.hosts[wr]
	}
	return ""
}

// RankInfo is one line of the job's rank table.
type RankInfo struct {
	Rank      int    // in the communicator
	WorldRank int    // in the world
	Host      string // as the launcher knows it; "" when not known
	Region    string // the host's region label; "" when unlabelled
	LocalRank int    // rank among the job's ranks on its host; -1 when not known
}

// Info returns the rank table entry of c's rank r: its host, region and
// local rank, as the launcher placed it.
func (c *Comm) Info(r int) RankInfo {
	c.checkRank(r, "Info")
	wr := c.group[r]
	info := RankInfo{Rank: r, WorldRank: wr, LocalRank: -1}
	if wr < len(c.w.hosts) {
		info.Host = c.w.hosts[wr]
	}
	if wr < len(c.w.regions) {
		info.Region = c.w.regions[wr]
	}
	if wr < len(c.w.localRanks) {
		info.LocalRank = c.w.localRanks[wr]
	}
	return info
}

// Addr returns the mesh address of c's rank r ("" for this rank in a
// world of size one).
func (c *Comm) Addr(r int) string {
	c.checkRank(r, "Addr")
	if wr := c.group[r]; wr < len(c.w.addrs) {
		return c.w.addrs[wr]
	}
	return ""
}

// Encrypted reports whether messages between this rank and c's rank r
// travel encrypted (Config.Encrypt; false for this rank itself).
func (c *Comm) Encrypted(r int) bool {
	c.checkRank(r, "Encrypted")
	wr := c.group[r]
	return wr != c.w.rank && wr < len(c.w.peers) && c.w.peers[wr] != nil && c.w.peers[wr].seal != nil
}

// SingleCopy reports whether messages of Config.SingleCopyMin bytes (2
// MiB) or more from this rank to rank r are read by r straight from this
// rank's memory (Config.SingleCopy; ranks of one host whose memory r
// could read when the mesh came up).
func (c *Comm) SingleCopy(r int) bool {
	c.checkRank(r, "SingleCopy")
	wr := c.group[r]
	return c.w.cfg.SingleCopy && wr != c.w.rank && wr < len(c.w.peers) && c.w.peers[wr] != nil && c.w.peers[wr].rs.remoteOK.Load()
}

// Collective returns the view of c used by collective operations: the same
// group and ranks, but its own message context. Messages sent on it are
// received only on it. Collective of a collective view is the view itself.
func (c *Comm) Collective() *Comm {
	if c.coll {
		return c
	}
	v := *c
	v.context = c.context + 1
	v.coll = true
	return &v
}

// Attr returns the value cached on c under key, storing init() there first
// if there is none, as MPI's attribute caching does: it lets a library keep
// state per communicator (package collectives keeps its call counter there).
// c and its collective view share their attributes; Split and Dup start
// with none. Use a key of an unexported type to avoid collisions.
func (c *Comm) Attr(key any, init func() any) any {
	if v, ok := c.attrs.Load(key); ok {
		return v
	}
	v, _ := c.attrs.LoadOrStore(key, init())
	return v
}

// OnClose registers f to run when c is closed, before its traffic stops
// (for the world communicator: before Close flushes; every communicator's
// functions run then). A library with work in flight on c, such as package
// collectives' argument checks, finishes it there, as MPI libraries do in
// attribute delete callbacks at MPI_Finalize. f gets a context bounded by
// Config.CloseTimeout.
func (c *Comm) OnClose(f func(ctx context.Context)) {
	c.w.hookMu.Lock()
	c.w.hooks = append(c.w.hooks, closeHook{owner: c.closed, f: f})
	c.w.hookMu.Unlock()
}

func (c *Comm) commRank(worldRank int) int {
	if r, ok := c.inv[worldRank]; ok {
		return r
	}
	return -1
}

func (c *Comm) checkRank(r int, op string) {
	if r < 0 || r >= len(c.group) {
		panic(fmt.Sprintf("comm: %s: rank %d out of range [0, %d)", op, r, len(c.group)))
	}
}

func checkTag(tag int, wildcard bool, op string) {
	if tag == AnyTag && wildcard {
		return
	}
	if tag < 0 || tag > MaxTag {
		panic(fmt.Sprintf("comm: %s: tag %d out of range [0, %d]", op, tag, MaxTag))
	}
}

// Close ends this process's use of c. Closing the world communicator
// flushes every outgoing message, says goodbye to every peer and waits
// (up to Config.CloseTimeout) for their goodbye, so that data sent just
// before Close is not lost; operations still pending then fail with
// ErrClosed. Closing another communicator only makes later operations on
// it fail. Close is idempotent.
func (c *Comm) Close() error {
	if c.closed.Load() {
		return nil
	}
	// OnClose functions run while the communicator still works.
	if c.world {
		c.w.runHooks(nil)
	} else {
		c.w.runHooks(c.closed)
	}
	if c.closed.Swap(true) {
		return nil
	}
	if c.world {
		return c.w.close()
	}
	c.w.mu.Lock()
	delete(c.w.used, c.context&^1)
	c.w.mu.Unlock()
	return nil
}

// Abort ends the whole job: every rank's process is terminated and the
// launcher exits with code. In a job started without a launcher it exits
// this process; in an in-process job (Local) it makes every operation of
// every rank fail with an *AbortError. Abort does not return in the first
// two cases.
func (c *Comm) Abort(code int) {
	w := c.w
	if w.abortHook != nil {
		w.abortHook(w.rank, code)
		return
	}
	if w.ctl != nil {
		_ = w.ctl.Send(control.Msg{Type: control.TypeAbort, Code: code, Rank: w.rank})
	}
	fmt.Fprintf(os.Stderr, "comm: rank %d called Abort(%d)\n", w.rank, code)
	os.Exit(code)
}

func (c *Comm) usable() error {
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}

// ---- point to point ----

// Send sends buf to rank dst with tag and returns when buf has been handed
// to the transport (messages are eager: Send does not wait for a matching
// receive). The buffer may be reused as soon as Send returns.
func (c *Comm) Send(ctx context.Context, buf []byte, dst, tag int) error {
	checkTag(tag, false, "Send")
	r := c.isend(buf, dst, tag, true)
	_, err := r.Wait(ctx)
	return err
}

// Isend starts sending buf to rank dst with tag. buf must not be modified
// until the request completes. Messages from one goroutine's Isend calls
// to one destination on one communicator are received in call order.
func (c *Comm) Isend(buf []byte, dst, tag int) *Request {
	checkTag(tag, false, "Isend")
	return c.isend(buf, dst, tag, false)
}

func (c *Comm) isend(buf []byte, dst, tag int, blocking bool) *Request {
	c.checkRank(dst, "Send")
	r := newRequest(c.w, c)
	r.payload = buf
	r.tag = tag
	r.context = c.context
	if err := c.usable(); err != nil {
		r.complete(Status{}, err)
		return r
	}
	c.w.mu.Lock()
	err := c.w.err
	c.w.mu.Unlock()
	if err != nil {
		r.complete(Status{}, err)
		return r
	}
	wr := c.group[dst]
	if wr == c.w.rank {
		c.w.deliver(wr, c.context, tag, append([]byte(nil), buf...))
		r.complete(Status{Len: len(buf)}, nil)
		return r
	}
	r.p = c.w.peers[wr].on(c.stream)
	r.p.send(r, blocking)
	return r
}

// Recv receives a message from rank src (or AnySource) with tag (or
// AnyTag) into buf. A message longer than buf fills buf and returns
// ErrTruncated. Status.Len is the message's length.
func (c *Comm) Recv(ctx context.Context, buf []byte, src, tag int) (Status, error) {
	return c.Irecv(buf, src, tag).Wait(ctx)
}

// Irecv starts a receive into buf; buf belongs to the library until the
// request completes.
func (c *Comm) Irecv(buf []byte, src, tag int) *Request {
	checkTag(tag, true, "Recv")
	return c.irecv(buf, src, tag)
}

func (c *Comm) irecv(buf []byte, src, tag int) *Request {
	if src != AnySource {
		c.checkRank(src, "Recv")
	}
	r := newRequest(c.w, c)
	r.isRecv = true
	r.buf = buf
	r.tag = tag
	r.context = c.context
	r.released = make(chan struct{})
	r.src = AnySource
	if src != AnySource {
		r.src = c.group[src]
	}
	if err := c.usable(); err != nil {
		r.state = stFinished
		r.complete(Status{}, err)
		return r
	}
	c.w.postRecv(r)
	return r
}

// Probe blocks until a message from src (or AnySource) with tag (or
// AnyTag) has arrived and returns its status without receiving it.
func (c *Comm) Probe(ctx context.Context, src, tag int) (Status, error) {
	for {
		st, ok, ch, err := c.iprobe(src, tag)
		if ok || err != nil {
			return st, err
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return Status{}, ctx.Err()
		}
	}
}

// Iprobe reports whether a matching message has arrived, without blocking.
func (c *Comm) Iprobe(src, tag int) (Status, bool, error) {
	st, ok, _, err := c.iprobe(src, tag)
	return st, ok, err
}

func (c *Comm) iprobe(src, tag int) (Status, bool, <-chan struct{}, error) {
	if src != AnySource {
		c.checkRank(src, "Probe")
	}
	checkTag(tag, true, "Probe")
	if err := c.usable(); err != nil {
		return Status{}, false, nil, err
	}
	wsrc := AnySource
	if src != AnySource {
		wsrc = c.group[src]
	}
	w := c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	// Held messages have arrived too: have them read (hold.go).
	w.pokeFromLocked(c, wsrc, true)
	q := w.queueLocked(c.context)
	if i := q.findUnexpected(wsrc, tag); i >= 0 {
		m := q.unexpected[i]
		return Status{Source: c.commRank(m.src), Tag: m.tag, Len: len(m.data)}, true, nil, nil
	}
	if w.err != nil {
		return Status{}, false, nil, w.err
	}
	if err := w.recvFailureLocked(c, wsrc); err != nil {
		return Status{}, false, nil, withOp(err, "probe")
	}
	w.arrivedTaken = true
	return Status{}, false, w.arrived, nil
}

// Sendrecv sends sendbuf to dst and receives into recvbuf from src at the
// same time, so that pairs of ranks can exchange without deadlock.
func (c *Comm) Sendrecv(ctx context.Context, sendbuf []byte, dst, sendtag int, recvbuf []byte, src, recvtag int) (Status, error) {
	rr := c.Irecv(recvbuf, src, recvtag)
	sr := c.Isend(sendbuf, dst, sendtag)
	_, serr := sr.Wait(ctx)
	st, rerr := rr.Wait(ctx)
	if serr != nil {
		return st, serr
	}
	return st, rerr
}
