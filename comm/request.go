package comm

import (
	"context"
	"reflect"
	"runtime"
	"sync/atomic"
	"time"
)

// Status describes a received (or probed) message.
type Status struct {
	Source int // sender's rank in the communicator the message was received on
	Tag    int
	Len    int // payload length in bytes
}

// Receive request states, guarded by world.mu.
const (
	stPosted     = iota + 1 // waiting in a posted queue
	stInProgress            // matched; its payload is being read into buf
	stFinished              // matched and dealt with, or never posted
)

// Request is a pending Isend or Irecv. Wait or Test it; a Request must not
// be copied.
//
// Buffer ownership: the buffer given to Isend or Irecv belongs to the
// library until Wait returns or Test reports completion.
type Request struct {
	done  chan struct{}
	fired atomic.Bool
	st    Status
	err   error

	w      *world
	c      *Comm
	isRecv bool

	// receive side
	src      int // world rank, or AnySource
	tag      int
	buf      []byte
	state    int // guarded by w.mu
	from     *peer
	released chan struct{} // closed when the reader stops touching buf

	// send side
	p       *peer
	context uint32
	payload []byte
	remote  atomic.Bool // sent as a descriptor: the acknowledgement completes it
	// withdrawn is set (to 1) before a descriptor's send completes without
	// the receiver's acknowledgement; the receiver reads it after copying
	// (remote.go's copyRemote).
	withdrawn atomic.Uint32
}

func newRequest(w *world, c *Comm) *Request {
	return &Request{done: make(chan struct{}), w: w, c: c}
}

// complete records the outcome once; later calls are ignored. It reports
// whether this call was the one that completed the request.
func (r *Request) complete(st Status, err error) bool {
	if !r.fired.CompareAndSwap(false, true) {
		return false
	}
	r.st, r.err = st, err
	close(r.done)
	return true
}

// Wait blocks until the operation completes or ctx ends. When ctx ends
// first, the operation is cancelled: a receive that has not matched a
// message is withdrawn, a receive whose message is arriving stops writing
// into the buffer (the rest of that message is discarded), a send still
// queued is withdrawn, and a send already being written fails its
// connection, since a half-written message cannot be taken back. Wait
// returns ctx.Err() in those cases; the buffer is the caller's again.
func (r *Request) Wait(ctx context.Context) (Status, error) {
	select {
	case <-r.done:
		return r.st, r.err
	default:
	}
	r.w.enterWait()
	defer r.w.exitWait()
	var p *peer
	switch {
	case r.isRecv && r.src != AnySource && r.src != r.w.rank:
		p = r.w.peers[r.src]
	case !r.isRecv && r.remote.Load():
		p = r.p // the acknowledgement comes on the peer's connection
	}
	if p != nil && r.w.cfg.SpinWait > 0 && r.spin(ctx, p) {
		return r.st, r.err
	}
	select {
	case <-r.done:
		return r.st, r.err
	case <-ctx.Done():
		r.cancel(ctx.Err())
		<-r.done
		return r.st, r.err
	}
}

// spin reads the peer's connection for up to SpinWait and reports whether
// r completed meanwhile. While it polls a shared-memory ring (shm.go) the
// peer need not ring the doorbell; when it stops it asks for the doorbell
// again and looks once more, so that nothing that came in between waits
// for a reader that sleeps.
func (r *Request) spin(ctx context.Context, p *peer) bool {
	p.pollers.Add(1)
	defer func() {
		if rg := p.ringIn.Load(); rg != nil {
			p.stopPolling(rg)
		}
		p.pollers.Add(-1)
	}()
	start := time.Now()
	for i := 1; ; i++ {
		select {
		case <-r.done:
			return true
		default:
		}
		p.pollOnce(r.done)
		if r.w.cfg.SpinYield {
			yield()
		} else {
			// Let other goroutines (another rank of an in-process
			// job, the goroutine that will send what we wait for)
			// have the P; returns at once when none is runnable.
			runtime.Gosched()
		}
		if i%16 == 0 && (time.Since(start) > r.w.cfg.SpinWait || ctx.Err() != nil) {
			return false
		}
	}
}

// Test reports whether the operation has completed and, if so, its outcome.
func (r *Request) Test() (bool, Status, error) {
	select {
	case <-r.done:
		return true, r.st, r.err
	default:
		return false, Status{}, nil
	}
}

// Done returns a channel closed when the request completes.
func (r *Request) Done() <-chan struct{} { return r.done }

func (r *Request) cancel(cause error) {
	if r.isRecv {
		r.w.cancelRecv(r, cause)
	} else {
		r.p.cancelSend(r, cause)
	}
}

// WaitAll waits for every request and returns the first error met.
func WaitAll(ctx context.Context, reqs ...*Request) error {
	var first error
	for _, r := range reqs {
		if r == nil {
			continue
		}
		if _, err := r.Wait(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// WaitAny blocks until one of reqs (nil ones are skipped) has completed
// or ctx ends, and returns the index of a completed one (the lowest when
// several have). Unlike Wait it cancels nothing when ctx ends: it
// returns -1 and ctx.Err(), and every request is still the caller's to
// wait for or cancel. With no request it returns -1 and nil. A request's
// own outcome is for Wait or Test to report.
func WaitAny(ctx context.Context, reqs ...*Request) (int, error) {
	var w *world
	for i, r := range reqs {
		if r == nil {
			continue
		}
		w = r.w
		select {
		case <-r.done:
			return i, nil
		default:
		}
	}
	if w == nil {
		return -1, nil
	}
	cases := make([]reflect.SelectCase, 0, len(reqs)+1)
	index := make([]int, 0, len(reqs))
	for i, r := range reqs {
		if r != nil {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(r.done)})
			index = append(index, i)
		}
	}
	cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(ctx.Done())})
	w.enterWait()
	defer w.exitWait()
	chosen, _, _ := reflect.Select(cases)
	if chosen == len(index) {
		return -1, ctx.Err()
	}
	return index[chosen], nil
}
