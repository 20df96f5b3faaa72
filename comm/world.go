package comm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/spmd-go/spmd/internal/control"
	"github.com/spmd-go/spmd/internal/wire"
)

// world is one rank's membership in a job: its connections to every other
// rank and the matching state shared by all communicators of the process.
type world struct {
	cfg    Config
	log    *slog.Logger
	rank   int
	size   int
	jobID  [wire.JobIDSize]byte
	secret []byte
	addrs  []string
	hosts  []string
	// From the launcher's table: each world rank's region ("" when
	// unlabelled) and rank on its host; nil when not known.
	regions     []string
	localRanks  []int
	regionsAuto bool // the launcher asks for regions inferred from RTTs
	// Filled once the mesh is up (learnNetwork): each world rank's host
	// index and the round trip between every two hosts; nil when not
	// measured.
	hostOf  []int
	hostRTT [][]time.Duration           // set by network
	netDone func(context.Context) error // waits for the round-trip rows (learnNetwork)
	netOnce sync.Once
	netErr  error
	peers   []*peer // peers[rank] is nil

	waiting atomic.Int32 // goroutines blocked in Wait (readers poll while > 0)
	// Statistics (stats.go): time since started during which some
	// goroutine waited, and when the current wait began.
	started   time.Time
	commNanos atomic.Int64
	waitStart atomic.Int64
	timing    atomic.Bool // Wait reads the clock (statistics are reported)
	statsStop chan struct{}
	wblocked  atomic.Int32 // writes waiting for room in a socket (hold.go)
	holdStats holdStats
	// ringRescues counts rings watchRings had to read (shm.go; 0 unless
	// a doorbell was lost).
	ringRescues atomic.Int64

	hookMu sync.Mutex
	hooks  []closeHook // OnClose functions, in registration order

	mu      sync.Mutex
	queues  map[uint32]*queue
	arrived chan struct{} // closed and replaced when a message arrives or a peer goes
	// arrivedTaken: a Probe has the arrived channel, so notifyLocked must
	// close it
	arrivedTaken bool
	err          error // once set (closed, aborted), every new operation fails with it
	closing      bool
	used         map[uint32]bool // context ids (even: point-to-point; +1 collective) in use or reserved

	ctl        *control.Conn // nil when not started by a launcher
	local      *localShrinks // Local: the ranks' shared Shrink coordinator
	shrinkMu   sync.Mutex
	shrinkWait map[string]chan control.Msg // Shrinks waiting for their answer, by key
	pendingLn  *net.TCPListener            // Local: listener opened before the mesh
	abortHook  func(rank, code int)        // in-process jobs: what Abort does
	closeOnce  sync.Once
	closeErr   error
}

func newWorld(cfg Config, rank, size int, jobID [wire.JobIDSize]byte, secret []byte) *world {
	return &world{
		cfg:     cfg,
		log:     cfg.Logger,
		rank:    rank,
		size:    size,
		jobID:   jobID,
		secret:  secret,
		peers:   make([]*peer, size),
		queues:  make(map[uint32]*queue),
		arrived: make(chan struct{}),
		used:    map[uint32]bool{0: true, ctxControl &^ 1: true}, // 0 and 1 belong to the world communicator; the last pair holds ctxControl
		started: time.Now(),
	}
}

// listen opens the mesh listener on host (an address without a port).
func listen(host string) (*net.TCPListener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return nil, fmt.Errorf("comm: listening for the mesh on %s: %w", host, err)
	}
	return ln.(*net.TCPListener), nil
}

type connResult struct {
	rank   int
	conn   *net.TCPConn
	hs     session // the handshake's round trip and nonces
	err    error
	dialed bool // we dialed: the acceptor's verdict is still to read
}

// connect builds the full mesh: rank i dials every rank below it and
// accepts every rank above it. Connections that fail the handshake are
// logged and dropped, and accepting goes on.
func (w *world) connect(ctx context.Context, ln *net.TCPListener) error {
	defer ln.Close()
	ctx, cancel := context.WithTimeout(ctx, w.cfg.ConnectTimeout)
	defer cancel()
	results := make(chan connResult, w.size*maxStreams)
	want := w.size - 1
	var wg sync.WaitGroup

	wg.Add(1)
	go func() { // the accept loop
		defer wg.Done()
		w.acceptLoop(ctx, ln, results)
	}()
	for j := 0; j < w.rank; j++ {
		wg.Add(1)
		go func(j int) {
			defer wg.Done()
			conn, hs, err := w.dial(ctx, j, 0, func(rtt time.Duration) int { return w.streamsTo(j, rtt) })
			results <- connResult{rank: j, conn: conn, hs: hs, err: err, dialed: true}
			if err != nil {
				return
			}
			// The pair's other streams, all at once (streams.go).
			for k := 1; k < hs.streams; k++ {
				wg.Add(1)
				go func(k int) {
					defer wg.Done()
					conn, shs, err := w.dial(ctx, j, k, func(time.Duration) int { return hs.streams })
					shs.stream = k // counted as an extra stream, failed or not
					results <- connResult{rank: j, conn: conn, hs: shs, err: err, dialed: true}
				}(k)
			}
		}(j)
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()

	var firstErr error
	// Every peer's first connection, and as many extra streams as they
	// announced; extra streams wait in streams until all are in.
	got, gotExtra, wantExtra := 0, 0, 0
	streams := map[int][]connResult{}
	for got < want || gotExtra < wantExtra {
		var res connResult
		select {
		case res = <-results:
		case <-ctx.Done():
			res = connResult{rank: -1, err: ctx.Err()}
		}
		if res.hs.stream > 0 {
			gotExtra++
		} else {
			got++
		}
		if res.err != nil {
			if firstErr == nil {
				firstErr = res.err
				cancel()
				ln.Close()
			}
			if res.rank < 0 {
				break
			}
			continue
		}
		if res.hs.stream > 0 {
			streams[res.rank] = append(streams[res.rank], res)
			continue
		}
		if w.peers[res.rank] != nil {
			res.conn.Close()
			if firstErr == nil {
				firstErr = fmt.Errorf("comm: rank %d connected twice", res.rank)
			}
			continue
		}
		p := w.newLink(res)
		p.streamCount = res.hs.streams
		wantExtra += res.hs.streams - 1
		w.peers[res.rank] = p
	}
	for r, extra := range streams {
		if firstErr != nil || w.peers[r] == nil {
			for _, res := range extra {
				res.conn.Close()
			}
			continue
		}
		if err := w.addStreams(w.peers[r], extra); err != nil {
			firstErr = err
			for _, res := range extra {
				res.conn.Close()
			}
		}
	}
	if firstErr != nil {
		cancel()
		ln.Close()
		wg.Wait()
		// Drain connections that raced with the failure.
		for {
			select {
			case res := <-results:
				if res.conn != nil {
					res.conn.Close()
				}
				continue
			default:
			}
			break
		}
		for _, p := range w.conns() {
			p.conn.Close()
		}
		if errors.Is(firstErr, context.DeadlineExceeded) {
			var missing []int
			for r, p := range w.peers {
				if p == nil && r != w.rank {
					missing = append(missing, r)
				}
			}
			firstErr = fmt.Errorf("comm: rank %d: mesh not complete after %v; no connection with ranks %v", w.rank, w.cfg.ConnectTimeout, missing)
		}
		return firstErr
	}
	cancel()
	ln.Close()
	wg.Wait()
	ringSize := w.ringSize()
	for _, p := range w.peers {
		if p != nil {
			if w.offersRemote(p) {
				p.offerRemote(ringSize)
			}
			for _, s := range p.conns() {
				s.start()
			}
		}
	}
	w.awaitAnswers(w.cfg.HandshakeTimeout)
	for _, p := range w.peers {
		if p != nil && p.rs.ringMine != nil {
			go w.watchRings() // shm.go
			break
		}
	}
	return nil
}

// acceptLoop authenticates incoming connections until the listener is
// closed (the mesh is complete or has failed). A connection that fails the
// handshake is logged without any secret material and dropped.
//
// At most maxPending handshakes run at once. When another connection
// comes, the oldest pending one is closed: a peer of the job finishes its
// handshake within a round trip, while a scanner's or an attacker's
// stalled connections are the old ones, so a flood of them holds a
// bounded number of descriptors and goroutines and cannot keep the job's
// own connections out.
func (w *world) acceptLoop(ctx context.Context, ln *net.TCPListener, results chan<- connResult) {
	var (
		hs       sync.WaitGroup
		mu       sync.Mutex
		pending  []*net.TCPConn // oldest first
		rejected int
	)
	defer func() {
		hs.Wait()
		if rejected > maxRejectLogs {
			w.log.Warn("comm: rejected mesh connections", "rank", w.rank, "count", rejected, "logged", maxRejectLogs)
		}
	}()
	limit := maxPending(w.size, w.streamsCap())
	// take removes c from pending and reports whether it was there, that
	// is, whether it was not closed to make room.
	take := func(c *net.TCPConn) bool {
		mu.Lock()
		defer mu.Unlock()
		for i, x := range pending {
			if x == c {
				pending = append(pending[:i], pending[i+1:]...)
				return true
			}
		}
		return false
	}
	for {
		c, err := ln.AcceptTCP()
		if err != nil {
			return
		}
		mu.Lock()
		if len(pending) >= limit {
			pending[0].Close() // its handshake fails and is counted there
			pending = pending[1:]
		}
		pending = append(pending, c)
		mu.Unlock()
		hs.Add(1)
		go func() {
			defer hs.Done()
			// Abandon the handshake as soon as the mesh is done with.
			stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(aLongTimeAgo) })
			from, hs, err := acceptHandshake(c, w.secret, w.jobID, w.rank, w.size, w.cfg.HandshakeTimeout)
			if !take(c) && err == nil {
				err = errors.New("closed to make room for newer connections")
			}
			if err == nil && from < w.rank {
				err = fmt.Errorf("%w: rank %d dialed rank %d, but lower ranks are dialed, not dialing", ErrHandshake, from, w.rank)
			}
			stopped := stop()
			if err != nil {
				c.Close()
				if !stopped {
					return
				}
				mu.Lock()
				rejected++
				n := rejected
				mu.Unlock()
				if n <= maxRejectLogs {
					w.log.Warn("comm: rejected mesh connection", "rank", w.rank, "remote", c.RemoteAddr().String(), "err", err)
				}
				if n == maxRejectLogs {
					w.log.Warn("comm: further rejected mesh connections are counted, not logged", "rank", w.rank)
				}
				return
			}
			select {
			case results <- connResult{rank: from, conn: c, hs: hs}:
			case <-ctx.Done():
				c.Close()
			}
		}()
	}
}

// maxRejectLogs is how many rejected connections a rank logs one by one
// while its mesh is built; the rest are counted in one line at the end.
const maxRejectLogs = 16

// maxPending is how many handshakes a rank of a job of size ranks, with
// up to streams connections per peer, runs at once: room for every
// peer's every stream at once, and more.
func maxPending(size, streams int) int { return size*streams + 64 }

// streamsCap is the most connections this rank may have per peer.
func (w *world) streamsCap() int {
	if w.cfg.Streams > 0 {
		return w.cfg.Streams
	}
	return maxStreams
}

// newLink makes the peer of an authenticated connection: its round
// trip, encryption, compression, buffers and heartbeats.
func (w *world) newLink(res connResult) *peer {
	p := newPeer(w, res.rank, res.conn)
	p.rtt = res.hs.rtt
	p.awaitVerdict = res.dialed
	if w.encrypts(res.rank) {
		p.encrypt(res.hs, res.dialed)
	}
	if w.cfg.Compress == CompressAll || w.cfg.Compress == CompressWAN && w.acrossRegions(res.rank) {
		p.comp = &compressor{}
	}
	p.near = p.isNear()
	if p.onThisHost() {
		if err := res.conn.SetWriteBuffer(localSendBuffer); err != nil {
			w.log.Warn("comm: cannot size a local connection's send buffer", "rank", w.rank, "peer", res.rank, "err", err)
		}
	}
	if err := setHeartbeat(res.conn, w.cfg.Heartbeat); err != nil {
		w.log.Warn("comm: cannot set heartbeats; a silent peer may go unnoticed", "rank", w.rank, "peer", res.rank, "err", err)
	}
	return p
}

// dial connects to world rank to as stream k of the pair and
// authenticates; streams gives the pair's stream count from the round
// trip (see dialHandshake).
func (w *world) dial(ctx context.Context, to, k int, streams func(time.Duration) int) (*net.TCPConn, session, error) {
	addr := w.addrs[to]
	var d net.Dialer
	backoff := 20 * time.Millisecond
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			tc := c.(*net.TCPConn)
			hs, herr := dialHandshake(tc, w.secret, w.jobID, w.rank, to, k, streams, w.cfg.HandshakeTimeout)
			if herr == nil {
				return tc, hs, nil
			}
			tc.Close()
			var hu *hungUp
			if !errors.As(herr, &hu) || ctx.Err() != nil {
				return nil, session{}, &PeerError{Op: "connect", Rank: to, Addr: addr, Err: herr}
			}
			err = herr // shed by a flooded acceptor: try again
		}
		if ctx.Err() != nil {
			return nil, session{}, &PeerError{Op: "connect", Rank: to, Addr: addr, Err: err}
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil, session{}, &PeerError{Op: "connect", Rank: to, Addr: addr, Err: err}
		}
		if backoff < time.Second {
			backoff *= 2
		}
	}
}

// close flushes outgoing messages, says goodbye to every peer, waits (up
// to CloseTimeout) for every peer to say goodbye or go, and fails what is
// still pending with ErrClosed.
func (w *world) close() error {
	w.closeOnce.Do(func() {
		w.stopStats()
		deadline := time.NewTimer(w.cfg.CloseTimeout)
		defer deadline.Stop()
		w.mu.Lock()
		w.closing = true
		w.mu.Unlock()
		w.pokeAll()

		// 1. Flush: wait for every accepted send to be written.
		var timedOut bool
		conns := w.conns()
		for _, p := range conns {
			for _, r := range p.pendingSends() {
				select {
				case <-r.done:
				case <-deadline.C:
					timedOut = true
				}
				if timedOut {
					break
				}
			}
			if timedOut {
				break
			}
		}
		w.mu.Lock()
		if w.err == nil {
			w.err = ErrClosed
		}
		w.mu.Unlock()
		// 2. Goodbye and half-close.
		for _, p := range conns {
			p.sendBye(&PeerError{Op: "send", Rank: p.rank, Addr: p.addr, Err: ErrClosed})
		}
		// 3. Wait for the peers' goodbye (so that nothing we sent is lost
		// to a reset), then close.
		for _, p := range conns {
			if !timedOut {
				select {
				case <-p.readerDone:
				case <-deadline.C:
					timedOut = true
				}
			}
			p.conn.Close()
		}
		for _, p := range conns {
			<-p.readerDone
			<-p.writerDone
		}
		// 4. Fail whatever is still posted.
		w.mu.Lock()
		var pending []*Request
		for _, q := range w.queues {
			for _, r := range q.posted {
				r.state = stFinished
				pending = append(pending, r)
			}
			q.posted = nil
		}
		w.notifyLocked()
		w.mu.Unlock()
		for _, r := range pending {
			r.complete(Status{}, ErrClosed)
		}
		if w.ctl != nil {
			w.ctl.Close()
		}
		if timedOut {
			w.closeErr = fmt.Errorf("comm: rank %d: close timed out after %v waiting for peers", w.rank, w.cfg.CloseTimeout)
		}
	})
	return w.closeErr
}

// abortLocal ends an in-process world at once: every pending and later
// operation fails with err.
func (w *world) abortLocal(err error) {
	w.mu.Lock()
	if w.err == nil || w.err == ErrClosed {
		w.err = err
	}
	w.closing = true
	w.mu.Unlock()
	w.pokeAll()
	for _, p := range w.conns() {
		p.fail(&PeerError{Op: "recv", Rank: p.rank, Addr: p.addr, Err: err})
	}
	w.mu.Lock()
	var pending []*Request
	for _, q := range w.queues {
		pending = append(pending, q.posted...)
		for _, r := range q.posted {
			r.state = stFinished
		}
		q.posted = nil
	}
	w.notifyLocked()
	w.mu.Unlock()
	for _, r := range pending {
		r.complete(Status{}, err)
	}
}

type closeHook struct {
	owner *atomic.Bool // the communicator's closed flag
	f     func(context.Context)
}

// runHooks runs, newest first, the close hooks of the communicator whose
// closed flag is owner, or of every communicator when owner is nil, within
// the close timeout.
func (w *world) runHooks(owner *atomic.Bool) {
	w.hookMu.Lock()
	var run []closeHook
	keep := w.hooks[:0]
	for _, h := range w.hooks {
		if owner == nil || h.owner == owner {
			run = append(run, h)
		} else {
			keep = append(keep, h)
		}
	}
	w.hooks = keep
	w.hookMu.Unlock()
	if len(run) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.CloseTimeout)
	defer cancel()
	for i := len(run) - 1; i >= 0; i-- {
		run[i].f(ctx)
	}
}
