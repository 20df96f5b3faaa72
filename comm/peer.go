package comm

import (
	"errors"
	"fmt"
	"github.com/spmd-go/spmd/internal/bufpool"
	"io"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/spmd-go/spmd/internal/wire"
)

var aLongTimeAgo = time.Unix(1, 0)

// inlineMax is the largest Isend written by the calling goroutine when the
// connection is idle; larger ones go to the peer's writer goroutine so that
// Isend returns at once. Above inlineAlways bytes the socket must also
// have room (hasRoom): a run of Isends to one peer would otherwise keep
// its caller writing, parked whenever the socket is full, until all but
// the last had left.
const (
	inlineMax    = 64 << 10
	inlineAlways = 4 << 10
)

// peer is the connection to one other rank: one reader goroutine, and
// writes serialized by smu (by the sending goroutine itself when the
// connection is idle, else by the writer goroutine).
type peer struct {
	w    *world
	rank int
	addr string
	conn *net.TCPConn
	rtt  time.Duration // timed by the handshake
	near bool          // on this host or under nearRTT away (hold.go)
	// awaitVerdict: we dialed, and the acceptor's one-byte verdict on our
	// proof comes before its first frame (see the handshake).
	awaitVerdict bool
	// The pair's streams (streams.go): how many the dialer announced on
	// this first connection, and, when more than one, the group.
	streamCount int
	group       *streamGroup
	alone       [1]*peer // this peer, for conns without a group

	// send side
	sentBytes, sentMsgs atomic.Int64 // handed to send, for statistics
	smu                 sync.Mutex
	busy                bool       // a message is being written
	sendq               []*Request // waiting to be written, in Isend order
	inflight            *Request
	sendErr             error // once set, every send fails with it
	byeDue              bool  // write a bye frame before half-closing
	wrClosed            bool  // CloseWrite done
	wake                chan struct{}
	scratch             []byte        // header+payload of small messages, used while busy
	one                 [1][]byte     // writeAll's argument for a small message
	bell                [1][]byte     // writeAll's argument for a doorbell (shm.go)
	ws                  writeState    // writeAll's, used by the one writer
	roomFn              func(uintptr) // hasRoom's poll, made once; under smu
	room                bool          // its answer

	// receive side; recvErr and crashed are guarded by w.mu
	recvErr error
	crashed bool // lost without a bye
	byeSeen bool

	raw syscall.RawConn // the socket, for raw reads and writes (rawio.go)

	// An encrypted connection's two directions (crypt.go); nil when the
	// connection is not encrypted. seal is used by the one writer, open
	// under rmu.
	seal *sealer
	open *opener
	// comp compresses large messages (compress.go); nil when this
	// connection does not. Used by the one writer.
	comp *compressor
	// rs is the single-copy state (remote.go).
	rs remoteState
	// The shared-memory rings (shm.go): ringOut, set by the writer when it
	// switches, takes every frame we write; ringIn, set by the reader when
	// the peer switches, is read instead of the socket. ringStop stops a
	// write that waits for room in ringOut.
	ringOut  atomic.Pointer[shmRing]
	ringIn   atomic.Pointer[shmRing]
	ringStop atomic.Int32
	// lookAgain asks whoever holds rmu to read the ring once more after
	// it lets go (unlockRead): set by a goroutine that stopped polling
	// the ring and found the read token taken (Request.spin).
	lookAgain atomic.Bool
	pollers   atomic.Int32 // goroutines in Request.spin on this peer
	// readerWants: the reader goroutine has found the stream readable
	// and waits for the read token, so it will read whatever a waiter
	// leaves (pumpFor).
	readerWants atomic.Bool
	// bellsLost is how many doorbells to this peer's reader are to be
	// lost (tests of the ring watchdog); always 0 otherwise.
	bellsLost atomic.Int32

	rmu         sync.Mutex // the read token; guards the fields below
	br          *readBuffer
	rd          *wire.Reader
	rscratch    []byte
	readStopped bool

	// A large message that matches no posted receive is held: its header
	// is read, its payload left in the socket until a receive for it is
	// posted (then read straight into that buffer) or something needs
	// what is behind it (hold.go). held and hh are guarded by rmu;
	// holding mirrors held for other goroutines (set under w.mu).
	held       bool
	hh         wire.Header
	heldSince  time.Time
	holding    atomic.Bool
	writeWaits atomic.Int32  // writes to this peer that wait for it to read (blockedWrite)
	flushHeld  bool          // guarded by w.mu: buffer the held message now
	poke       chan struct{} // wakes a reader that holds a message

	rdStop       atomic.Bool    // a read deadline interrupts the reader (cancellation)
	sockErr      atomic.Uintptr // a socket error seen by waitReadable's peek (an Errno)
	cmu          sync.Mutex     // guards inprog and cancelInprog
	inprog       *Request
	cancelInprog bool

	readerDone chan struct{}
	writerDone chan struct{}
}

func newPeer(w *world, rank int, conn *net.TCPConn) *peer {
	raw, _ := conn.SyscallConn() // nil only for a closed conn: initReader reports it
	p := &peer{
		raw:        raw,
		w:          w,
		rank:       rank,
		addr:       conn.RemoteAddr().String(),
		conn:       conn,
		wake:       make(chan struct{}, 1),
		poke:       make(chan struct{}, 1),
		scratch:    make([]byte, wire.HeaderSize+inlineMax),
		readerDone: make(chan struct{}),
		writerDone: make(chan struct{}),
	}
	p.alone[0] = p
	return p
}

func (p *peer) start() {
	if err := p.initReader(); err != nil {
		p.fail(p.peerErr("recv", err))
		close(p.readerDone)
		go p.writeLoop()
		return
	}
	go p.readLoop()
	go p.writeLoop()
}

func (p *peer) peerErr(op string, err error) *PeerError {
	return &PeerError{Op: op, Rank: p.rank, Addr: p.addr, Err: err}
}

// ---- sending ----

// send queues or writes r. blocking says the caller will wait anyway, so
// it may as well do the writing itself.
func (p *peer) send(r *Request, blocking bool) {
	p.sentBytes.Add(int64(len(r.payload)))
	p.sentMsgs.Add(1)
	p.smu.Lock()
	if p.sendErr != nil {
		err := p.sendErr
		p.smu.Unlock()
		r.complete(Status{}, withOp(err, "send"))
		return
	}
	if !p.busy && len(p.sendq) == 0 && !p.ctrlPendingLocked() && (blocking || len(r.payload) <= inlineAlways || len(r.payload) <= inlineMax && p.hasRoom()) {
		err := p.writeOne(r)
		if len(p.sendq) > 0 || p.sendErr != nil || p.ctrlPendingLocked() {
			p.kick()
		}
		p.smu.Unlock()
		p.finishSend(r, err)
		return
	}
	p.sendq = append(p.sendq, r)
	p.kick()
	p.smu.Unlock()
}

// writeOne writes r as the connection's one writer. smu is held on entry
// and on return, but not during the write.
func (p *peer) writeOne(r *Request) error {
	p.busy = true
	p.inflight = r
	p.smu.Unlock()
	err := p.write(r)
	p.smu.Lock()
	p.busy = false
	p.inflight = nil
	return err
}

func (p *peer) kick() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *peer) finishSend(r *Request, err error) {
	if err != nil {
		if r.fired.Load() { // cancelled by Wait: the connection is now unusable
			err = fmt.Errorf("send cancelled in the middle of a message: %w", err)
		}
		pe := p.peerErr("send", err)
		r.complete(Status{}, pe)
		p.fail(pe)
		return
	}
	if r.remote.Load() {
		return // the peer's acknowledgement completes it (remote.go)
	}
	r.complete(Status{Len: len(r.payload)}, nil)
}

func (p *peer) writeLoop() {
	defer close(p.writerDone)
	for {
		<-p.wake
		p.smu.Lock()
		for !p.busy && !p.wrClosed {
			if p.ctrlPendingLocked() && (p.sendErr == nil || p.byeDue) {
				// Control frames go first, and before the bye.
				if err := p.writeCtrlLocked(); err != nil {
					p.smu.Unlock()
					p.fail(p.peerErr("send", err))
					p.smu.Lock()
				}
				continue
			}
			if len(p.sendq) == 0 || p.sendErr != nil {
				break
			}
			r := p.sendq[0]
			p.sendq[0] = nil
			p.sendq = p.sendq[1:]
			err := p.writeOne(r)
			p.smu.Unlock()
			p.finishSend(r, err)
			p.smu.Lock()
		}
		stop := p.sendErr != nil && !p.busy
		if stop && !p.wrClosed {
			p.wrClosed = true
			if p.byeDue {
				p.one[0] = wire.ByeFrame()
				_ = p.writeOut(p.one[:])
				p.one[0] = nil
			}
			_ = p.conn.CloseWrite()
		}
		p.smu.Unlock()
		if stop {
			return
		}
	}
}

// write puts one message on the wire. Only the goroutine that set busy
// calls it.
func (p *peer) write(r *Request) error {
	if p.sendsRemote(r) {
		return p.writeRemote(r)
	}
	maxFrame := uint32(p.w.cfg.MaxFrame)
	payload := r.payload
	var flags byte
	if p.comp != nil {
		if c := p.comp.compress(payload); c != nil {
			defer bufpool.Put(c)
			payload, flags = c, wire.FlagCompressed
		}
	}
	n := len(payload)
	if n <= inlineMax && n <= int(maxFrame) {
		return p.writeOneFrame(r, flags, payload)
	}
	hdrs := make([]byte, wire.Frames(uint64(n), maxFrame)*wire.HeaderSize)
	bufs := wire.AppendMessage(make([][]byte, 0, 2*len(hdrs)/wire.HeaderSize), hdrs, r.context, int32(r.tag), payload, maxFrame)
	hdrs[1] |= flags // the first frame's
	return p.writeOut(bufs)
}

// writeOneFrame writes a one-frame message of r's context and tag with
// payload (at most inlineMax bytes), copied with its header into scratch
// so that it takes one write. Only the writer (busy) calls it.
func (p *peer) writeOneFrame(r *Request, flags byte, payload []byte) error {
	n := len(payload)
	h := wire.Header{Kind: wire.KindData, Flags: wire.FlagFirst | wire.FlagLast | flags,
		Context: r.context, Tag: int32(r.tag), Length: uint32(n), Total: uint64(n)}
	b := p.scratch[:wire.HeaderSize+n]
	h.Put(b)
	copy(b[wire.HeaderSize:], payload)
	p.one[0] = b
	return p.writeOut(p.one[:])
}

// cancelSend withdraws a queued send, or breaks the connection under a
// send that is being written.
func (p *peer) cancelSend(r *Request, cause error) {
	p.smu.Lock()
	for i, x := range p.sendq {
		if x == r {
			p.sendq = append(p.sendq[:i], p.sendq[i+1:]...)
			p.smu.Unlock()
			r.complete(Status{}, cause)
			return
		}
	}
	if p.inflight == r {
		// Mark it first so finishSend knows why the write failed.
		r.complete(Status{}, cause)
		_ = p.conn.SetWriteDeadline(aLongTimeAgo)
		p.stopRing(ringCancelled)
		p.smu.Unlock()
		return
	}
	p.smu.Unlock()
	if p.withdraw(r, cause) {
		// The peer may be reading the buffer now; it will find the send
		// withdrawn and drop what it copied, and the connection that
		// named the buffer goes. (If the acknowledgement came first, the
		// send is complete and nothing is broken.)
		p.fail(p.peerErr("send", errors.New("send cancelled while the receiver copies it: the connection is now unusable")))
	}
}

// pendingSends returns the requests not yet written, and the one in flight.
func (p *peer) pendingSends() []*Request {
	p.smu.Lock()
	defer p.smu.Unlock()
	out := append([]*Request(nil), p.sendq...)
	if p.inflight != nil {
		out = append(out, p.inflight)
	}
	p.rs.amu.Lock()
	out = append(out, p.rs.awaiting...)
	p.rs.amu.Unlock()
	return out
}

// sendBye writes the bye frame after everything queued and half-closes the
// connection. Later sends fail with err.
func (p *peer) sendBye(err error) {
	p.smu.Lock()
	defer p.smu.Unlock()
	if p.sendErr != nil {
		return
	}
	p.sendErr = err
	for _, r := range p.sendq {
		r.complete(Status{}, withOp(err, "send"))
	}
	p.sendq = nil
	p.byeDue = true
	p.kick() // the writer goroutine writes the bye once no write is in flight
}

// ---- receiving ----

func isTimeout(err error) bool { return errors.Is(err, os.ErrDeadlineExceeded) }

// leftoverDeadline clears a read deadline set by a cancellation that lost
// the race with the message's end, and reports whether that was the case.
func (p *peer) leftoverDeadline(err error) bool {
	if !isTimeout(err) {
		return false
	}
	p.cmu.Lock()
	defer p.cmu.Unlock()
	if p.cancelInprog {
		p.cancelInprog = false
		_ = p.conn.SetReadDeadline(time.Time{})
		p.rdStop.Store(false)
		return true
	}
	return false
}

// The read side of a connection is a token (rmu): whoever holds it may
// read the stream, always a whole message at a time, and must not let it
// go while the buffer holds unread bytes. The reader goroutine takes it
// when the socket becomes readable; a goroutine waiting for a message from
// this peer takes it too and reads for itself for up to Config.SpinWait,
// which saves the wake-ups of a hand-off on fast networks.

func (p *peer) initReader() error {
	if p.raw == nil {
		return errNoFD
	}
	p.br = newReadBuffer(newPollReader(p.raw, p.w, &p.rdStop), 64<<10)
	p.br.open = p.open
	p.rd = wire.NewReader(p.br, uint32(p.w.cfg.MaxFrame), uint64(p.w.cfg.MaxMessage))
	p.rscratch = make([]byte, 64<<10)
	return nil
}

// readable reports, without blocking, whether the stream has bytes (or an
// end or error) to look at. rmu must be held.
func (p *peer) readable() bool {
	return p.br.tryFill()
}

// pump handles what the stream has now: whole messages until nothing is
// readable and the buffer is empty, reading has ended, or a message is
// held. rmu must be held.
func (p *peer) pump() {
	for !p.readStopped && (p.held || p.readable()) {
		switch p.step() {
		case stepStop:
			p.readStopped = true
		case stepHold:
			return
		}
	}
}

// waitReadable parks until the socket has data, an end or an error,
// without consuming anything.
func (p *peer) waitReadable() {
	if rg := p.ringIn.Load(); rg != nil {
		_ = p.br.src.parkRing(rg, false) // a read deadline: the cancellation's reader handles it
		return
	}
	_ = p.raw.Read(func(fd uintptr) bool {
		e := rawPeek(fd)
		if e != 0 && e != syscall.EAGAIN {
			// The socket's error is reported once, to this peek; the
			// read that follows would see only an end of stream.
			p.sockErr.Store(uintptr(e))
		}
		return e != syscall.EAGAIN
	})
}

func (p *peer) readLoop() {
	defer close(p.readerDone)
	defer func() {
		// A ring the peer never answered for: nobody will map it now.
		p.rmu.Lock()
		if rg := p.rs.ringMine; rg != nil {
			rg.closeFD()
		}
		p.rmu.Unlock()
	}()
	var (
		held  bool
		until time.Time
	)
	for {
		if held {
			p.awaitPoke(until)
		} else {
			p.waitReadable()
		}
		p.readerWants.Store(true)
		p.rmu.Lock()
		p.readerWants.Store(false)
		if p.ringIn.Load() != nil {
			p.br.src.drainRing() // what woke us
		}
		p.pump()
		// The doorbells this goroutine took were its own wake-ups: it
		// sets rsleep itself before it parks again (no rebell).
		p.br.src.tookBell = false
		stopped := p.readStopped
		held, until = p.held, p.heldSince.Add(time.Duration(holdMax.Load()))
		p.unlockRead()
		if stopped {
			return
		}
		if p.w.waiting.Load() > 0 {
			// Let a goroutine this made runnable have the P now.
			runtime.Gosched()
		}
	}
}

// pumpFor is pump for a goroutine that waits for done (Request.spin): it
// stops at the first message boundary after done is closed. Without the
// stop, a waiter whose message had come kept reading the connection for
// as long as its peer kept sending: a rank of a pipeline whose
// predecessor sends a long message in segments at the link's rate read
// every segment before it could pass the first on (Chain reduce of 1 MiB
// on the lab: the calls where that happened took 270 ms instead of 200).
// What it leaves in the read buffer is read by the reader goroutine when
// that waits for the token (readerWants) or when the socket wakes it;
// when neither is sure (bytes already taken from the socket, a reader
// parked on it), by a goroutine started for it. rmu must be held.
func (p *peer) pumpFor(done <-chan struct{}) {
	for !p.readStopped && (p.held || p.readable()) {
		switch p.step() {
		case stepStop:
			p.readStopped = true
		case stepHold:
			return
		}
		select {
		case <-done:
			if !p.readStopped && !p.held && !p.readerWants.Load() && p.br.buffered() {
				go p.pumpLeft()
			}
			return
		default:
		}
	}
}

// pumpLeft reads what a waiter left in the read buffer (pumpFor), and on
// while the stream has more, as the reader goroutine does.
func (p *peer) pumpLeft() {
	p.rmu.Lock()
	p.pump()
	p.unlockRead()
}

// pollOnce is pumpFor for a goroutine that polls this peer while it waits
// for done (Request.spin): it reads only if nobody else is. When another goroutine
// holds the connection (the reader, mid-message), it yields the P to it:
// with few Ps a spinning waiter would otherwise keep the reader from
// running and the payload would pile up in the socket instead of being
// copied as it arrives. A shared-memory ring needs no doorbell while it
// is polled: rsleep is cleared, only under the read token, and set again
// when polling stops (stopPolling).
func (p *peer) pollOnce(done <-chan struct{}) {
	if p.rmu.TryLock() {
		// Loaded first: a store on every poll would pull the word's
		// cache line away from the writer, which reads it per message.
		if rg := p.ringIn.Load(); rg != nil && rg.rsleep.Load() != 0 {
			rg.rsleep.Store(0)
		}
		p.pumpFor(done)
		p.unlockRead()
		return
	}
	runtime.Gosched()
}

// stopPolling ends a Request.spin's polling of the ring rg: rsleep is set
// again, so that what is written from now on rings, and what was written
// while it was clear is read, by this goroutine, or when the read token
// is taken, by its holder as it lets go (lookAgain, unlockRead). Left
// to the holder's pump, it could be missed: that pump may have found the
// ring empty just before the write, and the reader goroutine parks for a
// doorbell that never comes.
func (p *peer) stopPolling(rg *shmRing) {
	rg.rsleep.Store(1)
	p.lookAgain.Store(true)
	if p.rmu.TryLock() {
		p.lookAgain.Store(false)
		p.pump()
		p.unlockRead()
	}
}

// unlockRead lets go of the read token (rmu, held), then reads once more
// while a goroutine asked for it (lookAgain) and the token is free. When
// it is not, its new holder does the same as it lets go: whoever set
// lookAgain before a holder let go has that holder, or a later one, read
// the ring.
//
// A holder that took doorbells from the socket (parked mid-message) took
// the wake-up of the reader goroutine too, which may have set rsleep and
// parked on the socket meanwhile: the writer cleared rsleep as it rang,
// and would not ring again. So such a holder sets rsleep and reads what
// came first.
func (p *peer) unlockRead() {
	p.rebell()
	p.rmu.Unlock()
	for p.lookAgain.Load() {
		if !p.rmu.TryLock() {
			return
		}
		p.lookAgain.Store(false)
		p.pump()
		p.rebell()
		p.rmu.Unlock()
	}
}

// rebell is unlockRead's part under rmu: after doorbells were taken, rsleep
// set and the ring read, until no more were.
func (p *peer) rebell() {
	c := p.br.src
	for c.tookBell {
		c.tookBell = false
		if rg := p.ringIn.Load(); rg != nil {
			rg.rsleep.Store(1)
			p.pump()
		}
	}
}

// What step did: read on, reading has ended, or a message is held.
const (
	stepOn = iota
	stepStop
	stepHold
)

// step reads one message (or the goodbye), or looks again at the held
// one. rmu must be held.
func (p *peer) step() int {
	if p.awaitVerdict {
		var b [1]byte
		if _, err := io.ReadFull(p.br, b[:]); err != nil || b[0] != handshakeOK {
			p.fail(p.peerErr("recv", errRejected))
			return stepStop
		}
		p.awaitVerdict = false
		return stepOn
	}
	rd := p.rd
	h := p.hh
	if !p.held {
		var err error
		h, err = rd.Next()
		if err != nil {
			if p.leftoverDeadline(err) {
				return stepOn
			}
			if errors.Is(err, wire.ErrBye) {
				p.gotBye()
				return stepOn
			}
			if p.byeSeen && errors.Is(err, io.EOF) {
				return stepStop
			}
			if e := p.sockErr.Load(); e != 0 && errors.Is(err, io.EOF) {
				err = &readError{syscall.Errno(e)} // what the peek took
			} else if errors.Is(err, io.EOF) {
				err = fmt.Errorf("connection lost (EOF without goodbye): %w", err)
			}
			p.fail(p.peerErr("recv", err))
			return stepStop
		}
	}
	switch err := p.receive(rd, h, p.rscratch); {
	case err == errHeld:
		return stepHold
	case err != nil:
		p.fail(p.peerErr("recv", err))
		return stepStop
	}
	return stepOn
}

// receive reads the payload of one message whose first header is h.
func (p *peer) receive(rd *wire.Reader, h wire.Header, scratch []byte) error {
	w := p.w
	tag := int(h.Tag)
	if h.Context == ctxControl {
		return p.control(rd, h)
	}
	if h.Flags&wire.FlagRemote != 0 {
		return p.receiveRemote(rd, h)
	}
	if h.Flags&wire.FlagCompressed != 0 {
		comp := bufpool.Get(int(h.Total))
		err := p.readFull(rd, comp)
		var data []byte
		if err == nil {
			data, err = decompress(comp, uint64(w.cfg.MaxMessage))
		}
		bufpool.Put(comp)
		if err != nil {
			return err
		}
		w.deliver(p.rank, h.Context, tag, data)
		return nil
	}
	w.mu.Lock()
	q := w.queueLocked(h.Context)
	r := q.takePosted(p.rank, tag)
	if r == nil && p.holdLocked(h) {
		w.mu.Unlock()
		return errHeld
	}
	p.unholdLocked(r)
	if r == nil {
		w.mu.Unlock()
		data := bufpool.Get(int(h.Total))
		if err := p.readFull(rd, data); err != nil {
			return err
		}
		w.deliver(p.rank, h.Context, tag, data)
		return nil
	}
	st := Status{Source: r.c.commRank(p.rank), Tag: tag, Len: int(h.Total)}
	if h.Total > uint64(len(r.buf)) {
		r.state = stFinished
		w.mu.Unlock()
		data := make([]byte, h.Total)
		if err := p.readFull(rd, data); err != nil {
			r.complete(st, p.peerErr("recv", err))
			return err
		}
		fill(r, &message{src: p.rank, tag: tag, data: data})
		return nil
	}
	r.state = stInProgress
	r.from = p
	p.cmu.Lock()
	p.inprog = r
	p.cmu.Unlock()
	w.mu.Unlock()

	dst := r.buf[:h.Total]
	off := 0
	for off < len(dst) {
		n, err := rd.Read(dst[off:])
		off += n
		if err == nil || (err == io.EOF && off == len(dst)) {
			continue
		}
		p.cmu.Lock()
		cancelled := p.cancelInprog && isTimeout(err)
		p.inprog = nil
		if cancelled {
			p.cancelInprog = false
			_ = p.conn.SetReadDeadline(time.Time{})
			p.rdStop.Store(false)
		}
		close(r.released)
		p.cmu.Unlock()
		if cancelled {
			// The receive was withdrawn: drop the rest of the message.
			return rd.Discard(scratch)
		}
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		r.complete(st, p.peerErr("recv", err))
		return err
	}
	p.cmu.Lock()
	p.inprog = nil
	if p.cancelInprog {
		p.cancelInprog = false
		_ = p.conn.SetReadDeadline(time.Time{})
		p.rdStop.Store(false)
	}
	close(r.released)
	p.cmu.Unlock()
	r.complete(st, nil)
	return nil
}

// readFull reads a whole payload, riding over a stale cancellation deadline.
func (p *peer) readFull(rd *wire.Reader, dst []byte) error {
	off := 0
	for {
		n, err := rd.Read(dst[off:])
		off += n
		if err == io.EOF || (err == nil && off == len(dst) && rd.Left() == 0) {
			if off != len(dst) {
				return io.ErrUnexpectedEOF
			}
			return nil
		}
		if err != nil && !p.leftoverDeadline(err) {
			return err
		}
	}
}

// gotBye handles the peer's announcement that it is done.
func (p *peer) gotBye() {
	w := p.w
	pe := p.peerErr("recv", ErrPeerClosed)
	w.mu.Lock()
	p.byeSeen = true
	// With several streams, the peer is done only when each has said
	// goodbye: data sent before the goodbye may still be on its way on
	// another stream (streams.go). Until then the peer's recvErr (on its
	// first connection, which matching looks at) stays unset.
	var failed []*Request
	if p.allSaidBye() {
		if f := p.first(); f.recvErr == nil {
			f.recvErr = pe
		}
		failed = w.takePostedFromLocked(p.rank, false)
		w.notifyLocked()
	}
	w.mu.Unlock()
	for _, r := range failed {
		r.complete(Status{}, pe)
	}
	// The peer read every descriptor it will read; the rest it would have
	// dropped, as a closed rank drops messages sent to it.
	for _, r := range p.takeAwaiting() {
		r.complete(Status{Len: len(r.payload)}, nil)
	}
	// Nobody will read what we would send: stop sending, half-close.
	p.sendBye(p.peerErr("send", ErrPeerClosed))
}

// fail records that the connection is lost: every pending operation with
// this peer fails with err, and so does every later one.
func (p *peer) fail(err *PeerError) {
	w := p.w
	w.mu.Lock()
	first := false
	if !p.byeSeen && !p.crashed {
		p.recvErr = &PeerError{Op: "recv", Rank: p.rank, Addr: p.addr, Err: err.Err}
		p.crashed = true
		first = true
	}
	failed := w.takePostedFromLocked(p.rank, true)
	w.notifyLocked()
	closing := w.closing
	w.mu.Unlock()
	p.smu.Lock()
	if p.sendErr == nil {
		p.sendErr = &PeerError{Op: "send", Rank: p.rank, Addr: p.addr, Err: err.Err}
	}
	queued := p.sendq
	p.sendq = nil
	p.byeDue = false
	p.smu.Unlock()
	p.kick()
	p.stopRing(ringClosed)
	_ = p.conn.Close()
	// Logged once per peer, not once per stream.
	if first && !closing && (p.group == nil || !p.group.failed.Load()) {
		w.log.Warn("comm: lost peer", "rank", w.rank, "peer", p.rank, "addr", p.addr, "err", err.Err)
	}
	// The streams of a peer go together (streams.go): each is failed
	// before any of this one's operations completes, so that nobody who
	// sees one fail can still use another.
	if g := p.group; g != nil && g.failed.CompareAndSwap(false, true) {
		for _, s := range g.conns {
			if s != p {
				s.fail(err)
			}
		}
	}
	for _, r := range failed {
		r.complete(Status{}, withOp(err, "recv"))
	}
	for _, r := range queued {
		r.complete(Status{}, withOp(err, "send"))
	}
	for _, r := range p.takeAwaiting() {
		r.complete(Status{}, withOp(err, "send"))
	}
}

// takePostedFromLocked removes the posted receives that can no longer
// complete because world rank src is gone: those naming src, and with
// anySource also the AnySource ones of communicators that contain src.
func (w *world) takePostedFromLocked(src int, anySource bool) []*Request {
	var out []*Request
	for _, q := range w.queues {
		kept := q.posted[:0]
		for _, r := range q.posted {
			if r.src == src || anySource && r.src == AnySource && r.c.commRank(src) >= 0 {
				r.state = stFinished
				out = append(out, r)
				continue
			}
			kept = append(kept, r)
		}
		for i := len(kept); i < len(q.posted); i++ {
			q.posted[i] = nil
		}
		q.posted = kept
	}
	return out
}
