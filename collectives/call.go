package collectives

import (
	"context"
	"errors"
	"fmt"
	"github.com/spmd-go/spmd/internal/bufpool"
	"github.com/spmd-go/spmd/internal/mem"
	"github.com/spmd-go/spmd/internal/stats"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/topology"
)

// Tags. Every collective call on a communicator takes the next number of
// that communicator's call counter; its messages carry the low bits of it,
// so that traffic left behind by a failed call never matches a later one.
//
//	bits 16..29  call number (mod 2^14)
//	bit  15      1 for the argument check, 0 for the algorithm's data
//	bits  0..14  step within the call
const (
	seqShift  = 16
	seqMask   = 1<<14 - 1
	checkFlag = 1 << 15
	maxStep   = 1<<15 - 1
)

type stateKey struct{}

// window is how many argument checks may be outstanding per communicator.
// A root that sends eagerly (Bcast, Scatter) runs ahead of its receivers;
// a small window would make it wait for their checks, which trail the
// data (measured at 4 ranks, 8-byte bcast loop in one process: 18 us per
// call with 64, 13 us with 1024, 9 us with no check).
const window = 1024

// state is what package collectives keeps on each communicator.
type state struct {
	seq atomic.Uint64

	view     *comm.Comm                                     // the communicator's collective view
	streams  [topology.MaxStreams]atomic.Pointer[comm.Comm] // view's Stream views (streamView)
	mu       sync.Mutex
	checks   []*pendingCheck // in call order, not yet harvested
	broken   error           // the first disagreement found; sticky
	abortCtx context.Context // ends when broken is set: stops every data part
	abort    context.CancelFunc
	hook     sync.Once
	checker  *checker

	topoOnce   sync.Once
	topo       topology.Topology // regions of the ranks, for Hierarchical
	netMu      sync.Mutex
	net        topology.Net // what the cost model knows (model.go); Lat nil until first asked
	bwKnown    bool         // net.BW was given or measured, not the default
	shareOnce  sync.Once
	most, here int // ranks sharing a host: the most on one, and on this rank's (hostShare)
}

// drain waits for the outstanding checks, so that closing a communicator
// right after a collective does not cut the other ranks' checks short.
func (st *state) drain(ctx context.Context) {
	st.mu.Lock()
	checks := append([]*pendingCheck(nil), st.checks...)
	st.mu.Unlock()
	st.checker.urgent.Add(1)
	defer st.checker.urgent.Add(-1)
	st.checker.sendNow()
	for _, pc := range checks {
		for !pc.settled() {
			select {
			case <-pc.done():
			case <-ctx.Done():
				return
			case <-time.After(time.Millisecond):
			}
		}
	}
	st.checker.flush(ctx)
	st.checker.stop()
}

type pendingCheck struct {
	seq uint64
	err error // set before finished
	// finished is set when the verdict is in; ch, made only when some
	// goroutine waits (most checks finish unwatched), is closed then.
	finished atomic.Bool
	mu       sync.Mutex
	ch       chan struct{}
	// abandoned is set when the call failed for another reason (a lost
	// peer, the caller's deadline): its check may never finish, and
	// nobody waits for it.
	abandoned atomic.Bool
}

func newPendingCheck(seq uint64) *pendingCheck { return &pendingCheck{seq: seq} }

// done returns a channel closed when the verdict is in.
func (pc *pendingCheck) done() <-chan struct{} {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	if pc.ch == nil {
		pc.ch = make(chan struct{})
		if pc.finished.Load() {
			close(pc.ch)
		}
	}
	return pc.ch
}

// finish records that the verdict (pc.err) is in.
func (pc *pendingCheck) finish() {
	pc.mu.Lock()
	pc.finished.Store(true)
	if pc.ch != nil {
		close(pc.ch)
	}
	pc.mu.Unlock()
}

// settled reports whether nobody need wait for pc any more.
func (pc *pendingCheck) settled() bool {
	return pc.finished.Load() || pc.abandoned.Load()
}

// harvest looks at the finished checks, waiting for the oldest while more
// than keep are outstanding, and returns the sticky error if any found a
// disagreement.
func (st *state) harvest(ctx context.Context, keep int) error {
	for {
		st.mu.Lock()
		if st.broken != nil {
			err := st.broken
			st.mu.Unlock()
			return err
		}
		for len(st.checks) > 0 && st.checks[0].settled() {
			st.checks = st.checks[1:]
		}
		if len(st.checks) <= keep {
			st.mu.Unlock()
			return nil
		}
		oldest := st.checks[0]
		st.mu.Unlock()
		if err := st.checker.await(ctx, oldest); err != nil {
			var me *MismatchError
			if !errors.As(err, &me) && ctx.Err() != nil {
				return err
			}
		}
	}
}

// fail records a disagreement and stops every data part in progress.
func (st *state) fail(err error) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.broken == nil {
		st.broken = err
		st.abort()
	}
}

// call is one collective call in progress on one rank.
type call struct {
	ctx   context.Context // receives; cancelled when the check fails
	sctx  context.Context // sends: only the caller's context
	c     *comm.Comm      // collective view
	rank  int
	size  int
	seq   uint64
	esize int      // element size in bytes
	op    *reducer // nil for operations without a reduction
	opts  Options
	name  string // the operation, for errors
	// oneStream keeps every message of the call on stream 0 (on).
	oneStream bool

	st      *state
	bufs    [][]byte        // pooled buffers, released when the call succeeds
	pending []*comm.Request // receives to cancel if the call fails
	scratch []byte          // for non-commutative reductions
}

// stateOf returns c's collective state, made on first use.
func stateOf(c *comm.Comm) *state {
	return c.Attr(stateKey{}, func() any {
		st := &state{view: c.Collective()}
		st.abortCtx, st.abort = context.WithCancel(context.Background())
		return st
	}).(*state)
}

func newCall(ctx context.Context, c *comm.Comm, name string, esize int, op *reducer, opts []Options) *call {
	if len(opts) > 1 {
		panic("collectives: " + name + ": at most one Options")
	}
	k := &call{ctx: ctx, sctx: ctx, rank: c.Rank(), size: c.Size(), esize: esize, op: op, name: name}
	if len(opts) == 1 {
		k.opts = opts[0]
	}
	k.st = stateOf(c)
	k.c = k.st.view
	k.st.hook.Do(func() {
		k.st.checker = newChecker(c, k.topo(), k.st.fail)
		c.OnClose(k.st.drain)
	})
	k.seq = k.st.seq.Add(1) - 1
	return k
}

func (k *call) tag(step int) int {
	if step < 0 || step > maxStep {
		panic(fmt.Sprintf("collectives: %s: step %d out of range", k.name, step))
	}
	return int(k.seq&seqMask)<<seqShift | step
}

// send sends buf to rank dst as step.
func (k *call) send(buf []byte, dst, step int) error {
	return k.on(dst, step).Send(k.sctx, buf, dst, k.tag(step))
}

// isend starts sending buf to dst; the request must be waited.
func (k *call) isend(buf []byte, dst, step int) *comm.Request {
	return k.on(dst, step).Isend(buf, dst, k.tag(step))
}

// on returns the view of the communicator that sends step to dst: when
// several TCP streams join this rank to dst (comm.Comm.Streams), the
// steps are spread over them, so that consecutive segments of a pipeline
// travel on different flows. Every receive of a call names its source
// and tag, and a step's messages to one rank stay on one stream, so
// spreading them cannot match a message to the wrong receive.
//
// Direct keeps to one stream (oneStream): its segments to a rank share
// one step, so they would take one stream anyway, and its paced
// all-pairs phases on two streams per pair overran the host's link on the
// lab (allreduce of 4 MiB with buffers capped: 2167 ms against 990).
func (k *call) on(dst, step int) *comm.Comm {
	s := k.c.Streams(dst)
	if k.oneStream || s == 1 {
		return k.c
	}
	return k.st.streamView(step % s)
}

// streamView returns the view of st's communicator on stream i (below
// topology.MaxStreams), made once.
func (st *state) streamView(i int) *comm.Comm {
	if v := st.streams[i].Load(); v != nil {
		return v
	}
	v := st.view.Stream(i)
	st.streams[i].Store(v)
	return v
}

// waitSends waits for sends started by isend. Sends are waited with the
// caller's context only: cancelling a send that is being written would
// break the connection, and eager sends finish without the peer's help.
func (k *call) waitSends(reqs []*comm.Request) error {
	return comm.WaitAll(k.sctx, reqs...)
}

// irecv starts receiving exactly len(buf) bytes from src.
func (k *call) irecv(buf []byte, src, step int) *comm.Request {
	r := k.c.Irecv(buf, src, k.tag(step))
	k.pending = append(k.pending, r)
	return r
}

// recv receives exactly len(buf) bytes from src.
func (k *call) recv(buf []byte, src, step int) error {
	return k.wait(k.irecv(buf, src, step), len(buf))
}

// wait waits for a receive of want bytes (or a send, with want < 0) and
// checks the length of what came.
func (k *call) wait(r *comm.Request, want int) error {
	st, err := r.Wait(k.ctx)
	if err != nil {
		return err
	}
	if want >= 0 && st.Len != want {
		return &lengthError{op: k.name, rank: st.Source, got: st.Len, want: want}
	}
	return nil
}

// waitRecvs waits for receives recvs[r] (nil ones are skipped) of the
// lengths off[r+1]-off[r].
func (k *call) waitRecvs(recvs []*comm.Request, off []int) error {
	for r, rq := range recvs {
		if rq == nil {
			continue
		}
		if err := k.wait(rq, off[r+1]-off[r]); err != nil {
			return err
		}
	}
	return nil
}

// recvBatch is a set of receives, each of exactly its buffer's length,
// posted together and waited for in order.
type recvBatch struct {
	reqs []*comm.Request
	lens []int
}

// irecv posts a receive of exactly len(b) bytes from src as step.
func (rb *recvBatch) irecv(k *call, b []byte, src, step int) {
	rb.reqs = append(rb.reqs, k.irecv(b, src, step))
	rb.lens = append(rb.lens, len(b))
}

// wait waits for every receive of the batch.
func (rb *recvBatch) wait(k *call) error {
	for i, rq := range rb.reqs {
		if err := k.wait(rq, rb.lens[i]); err != nil {
			return err
		}
	}
	return nil
}

func (k *call) waitRecvsLayout(recvs []*comm.Request, l layout) error {
	for r, rq := range recvs {
		if rq == nil {
			continue
		}
		if err := k.wait(rq, l.end[r]-l.start[r]); err != nil {
			return err
		}
	}
	return nil
}

// sendrecv sends sbuf to dst and receives exactly len(rbuf) bytes from src.
func (k *call) sendrecv(sbuf []byte, dst int, rbuf []byte, src, step int) error {
	rr := k.irecv(rbuf, src, step)
	if err := k.send(sbuf, dst, step); err != nil {
		return err
	}
	return k.wait(rr, len(rbuf))
}

// cleanup withdraws receives a failed call left posted, so that nothing
// writes into the caller's buffers after the call returns.
func (k *call) cleanup() {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	for _, r := range k.pending {
		_, _ = r.Wait(done)
	}
	k.pending = nil
}

// lengthError is a message of another length than this rank expected: a
// sign that the ranks' arguments disagree.
type lengthError struct {
	op        string
	rank      int
	got, want int
}

func (e *lengthError) Error() string {
	return fmt.Sprintf("collectives: %s: rank %d sent %d bytes where %d were expected (do the ranks' counts agree?)", e.op, e.rank, e.got, e.want)
}

// run executes body, the algorithm, while the ranks compare their
// arguments (see check.go and Options.Check). A disagreement is reported
// as a *MismatchError and stops the algorithm, which may otherwise wait
// for messages that never come.
func (k *call) run(sig signature, body func() error) error {
	if stats.Enabled() {
		start := time.Now()
		defer func() { stats.Collective(k.name, time.Since(start)) }()
	}
	if k.warmsUp(sig) && !k.c.WarmedUp() {
		algorithm := body
		body = func() error {
			if err := k.c.WarmUp(k.ctx); err != nil {
				return err
			}
			return algorithm()
		}
	}
	err := k.run1(sig, body)
	if err == nil {
		k.release()
	}
	return err
}

// warmMin is the least a call must move per rank across regions for
// the communicator to warm its WAN connections first (comm.WarmUp). A
// cold connection sends its first segment at once but paces the next at
// BBR's starting rate (about 1.9 Mbit/s on a 180 ms path, measured 1.8:
// 6 ms a segment), so anything past one segment (1448 bytes) pays.
const warmMin = 2 << 10

// warmsUp reports whether the call is the kind that makes a communicator
// spanning regions warm its WAN connections (comm.WarmUp; only the first
// such call on it moves data). Every rank decides the same from the
// arguments they agree on, so the warm-up's messages always have a
// partner; a rank whose arguments disagree waits in it no longer than in
// the algorithm (the mismatch check stops both).
func (k *call) warmsUp(sig signature) bool {
	return k.size > 1 && sig.count >= 0 && int64(max(k.esize, int(sig.esize), 1))*sig.count >= warmMin && k.multiRegion()
}

func (k *call) run1(sig signature, body func() error) error {
	if k.size == 1 {
		return body()
	}
	mode := k.opts.Check
	if mode == CheckOff {
		err := body()
		if err != nil {
			k.cleanup()
		}
		return err
	}
	st := k.st
	if err := st.harvest(k.ctx, window-1); err != nil {
		return err
	}
	parent := k.ctx
	pc := newPendingCheck(k.seq)
	// The data part stops when the caller's context ends or a check finds
	// a disagreement. A context that never ends (Background, as most
	// callers pass) needs no merging: the communicator's abort context
	// serves as it is, which saves three allocations and a registration
	// per call (about 1 us of a 10 us small broadcast at 4 ranks).
	dataCtx := st.abortCtx
	if parent.Done() != nil {
		var stopData context.CancelFunc
		dataCtx, stopData = context.WithCancel(parent)
		defer stopData()
		defer context.AfterFunc(st.abortCtx, stopData)()
	}
	st.mu.Lock()
	if st.broken != nil {
		st.mu.Unlock()
		return st.broken
	}
	st.checks = append(st.checks, pc)
	st.mu.Unlock()

	// The check outlives the call: it ends with its messages, or when
	// the communicator closes.
	st.checker.start(k.seq, k.name, sig, pc)

	k.ctx = dataCtx
	err := body()
	k.ctx = parent
	if err != nil {
		k.cleanup()
		var le *lengthError
		if errors.As(err, &le) || dataCtx.Err() != nil && parent.Err() == nil {
			// Likely a disagreement: wait for the verdict, unless
			// an earlier call's check already gave one.
			st.checker.urgent.Add(1)
			st.checker.sendNow()
			select {
			case <-pc.done():
			case <-st.abortCtx.Done():
			}
			st.checker.urgent.Add(-1)
			if pc.err != nil {
				return pc.err
			}
			if b := st.brokenErr(); b != nil {
				return b
			}
			return err
		}
		// A lost peer or the caller's deadline: the check may never
		// finish; do not wait for it, now or at Close.
		pc.abandoned.Store(true)
		return err
	}
	if mode == CheckSync {
		return st.checker.await(parent, pc)
	}
	if pc.finished.Load() {
		return pc.err
	}
	return nil
}

func (st *state) brokenErr() error {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.broken
}

// reduceLeft sets dst = dst ⊕ src (dst holds the lower ranks' data).
func (k *call) reduceLeft(dst, src []byte) {
	k.op.fn(dst, src)
}

// reduceRight sets dst = src ⊕ dst (src holds the lower ranks' data),
// leaving src unchanged.
func (k *call) reduceRight(dst, src []byte) {
	if k.op.commutative {
		k.op.fn(dst, src)
		return
	}
	if cap(k.scratch) < len(src) {
		k.scratch = bufpool.Alloc(len(src))
	}
	t := k.scratch[:len(src)]
	mem.Copy(t, src)
	k.op.fn(t, dst)
	mem.Copy(dst, t)
}

// pof2 returns the largest power of two not above n (n >= 1).
func pof2(n int) int {
	p := 1
	for p*2 <= n {
		p *= 2
	}
	return p
}

// blocks splits count elements into n blocks as evenly as possible (the
// first count%n blocks one larger) and returns their byte offsets: block i
// is buf[off[i]:off[i+1]].
func blocks(count, n, esize int) []int {
	off := make([]int, n+1)
	q, r := count/n, count%n
	for i := 0; i < n; i++ {
		c := q
		if i < r {
			c++
		}
		off[i+1] = off[i] + c*esize
	}
	return off
}

// subtree describes relative rank rel in a binomial tree of p ranks rooted
// at 0: its subtree is ranks rel .. rel+span-1 (span is rel's lowest set
// bit, or the smallest power of two not below p for the root), of which
// cnt exist.
func subtree(rel, p int) (span, cnt int) {
	span = 1
	for span < p {
		span <<= 1
	}
	if rel != 0 {
		span = rel & -rel
	}
	return span, min(span, p-rel)
}
