package comm

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/spmd-go/spmd/internal/bufpool"
	"github.com/spmd-go/spmd/internal/wire"
)

// Single-copy transfers between ranks of one host (Config.SingleCopy).
//
// Through a loopback socket a message is copied twice: into the kernel
// and out of it. Between ranks of one host the receiver can instead read
// the sender's buffer itself (Linux's process_vm_readv, cross memory
// attach): a large message then goes as a descriptor (its address and
// length in the sender and the address of the send's withdrawn word, a
// 24-byte message flagged wire.FlagRemote), the receiver copies the
// payload straight into the posted receive (or, when none is posted yet,
// into a buffer, as any early message), and tells the sender with an
// acknowledgement, which completes the send. The sender's buffer is the
// library's until then, as MPI says of any send; a send that completes
// otherwise (cancelled, or the receiver lost or closing) is marked
// withdrawn first, and a receiver that finds the mark after its copy
// drops the message (copyRemote).
//
// Whether a receiver may read a sender's memory depends on the host
// (ptrace rules: the same user; Yama's ptrace_scope; containers; other
// PID namespaces), so it is tried, not assumed: when the mesh is up, each
// rank offers each peer on its host its pid and the address of a random
// token, the peer reads the token from that address and, only when it
// reads back the bytes the offer carried, accepts. From the acceptance on,
// large messages to that peer go as descriptors; without it they go
// through the socket. Init waits for the answers, so a job's first large
// message already takes the path it will keep. Encrypted and compressing connections
// never offer (a user who asked for every link to be encrypted gets it).
//
// Control frames (offers, acceptances, acknowledgements) travel as
// ordinary messages on ctxControl, a context no communicator uses; the
// reader handles them itself and the writer sends them ahead of queued
// messages.

const (
	// ctxControl is the context of control frames (reserved in world).
	ctxControl = ^uint32(0)
	tagOffer   = 1 // pid (8 bytes), token address (8), token (tokenSize)
	tagAnswer  = 2 // 1 byte: 1 if the offer checked out (its sender may send descriptors), else 0
	tagAck     = 3 // count (8 bytes): that many descriptors were read, in order
	// shared-memory rings (shm.go)
	tagRing       = 4 // the writer's memfd number (8 bytes), after its offer
	tagRingAnswer = 5 // 1 byte: 1 if the ring was mapped and checked, else 0
	tagSwitch     = 6 // no payload: every later frame comes through the ring

	tokenSize = 32
	offerSize = 16 + tokenSize
	descSize  = 24 // address, length, address of the send's withdrawn word
	ctrlMax   = offerSize

	// remoteMin is the smallest message sent as a descriptor by default
	// (Config.SingleCopyMin). The
	// kernel's copy out of another process (about 19 GB/s here, a page at
	// a time, against memcpy's 80) is made by the receiver's core alone,
	// while a socket's two copies run on both cores at once, and the
	// acknowledgement makes the send wait for the receiver. Measured on
	// this 2-core machine: 4 ranks, allgather of 128 KiB blocks, 490-535
	// us single-copy from 64 KiB on against 209-235 through the socket;
	// ping-pong half round trips, single-copy from 1 MiB / 2 MiB / 4 MiB /
	// never: 1 MiB 115-117 / 92-99 / 94-95 / 92-93 us, 2 MiB 182-192 /
	// 182-188 / 182-183 / 175-179, 8 MiB 683-686 / 651-665 / 659-682 /
	// 704-729. The halved copying pays where every core is busy (4 ranks
	// on 2 cores, bcast of 4 MiB: 683-848 us from 1 MiB on, 702-743 from
	// 2 MiB on, 1321 never), and the 2 MiB threshold keeps ping-pongs as
	// fast as through the socket at every size.
	remoteMin = 2 << 20
)

var token struct {
	once sync.Once
	b    *[tokenSize]byte
}

// offerToken returns this process's token (made on first use).
func offerToken() *[tokenSize]byte {
	token.once.Do(func() {
		token.b = new([tokenSize]byte)
		rand.Read(token.b[:])
	})
	return token.b
}

// remoteState is a peer's single-copy state.
type remoteState struct {
	// send side: remoteOK says the peer accepted our offer; awaiting holds
	// the descriptors sent and not yet acknowledged, in order (amu).
	remoteOK atomic.Bool
	answered chan struct{} // closed when the peer answered our offer
	amu      sync.Mutex
	awaiting []*Request
	waits    *blockedWrite // while awaiting is not empty (hold.go's rules)

	// control frames due, guarded by smu; written by the writer goroutine.
	offerDue  bool
	answerDue bool
	answerOK  bool
	acksDue   uint64
	// shared-memory ring (shm.go): ringMine is the ring we made for our
	// writes, offered with ringDue; ringAnswered is closed when the peer
	// answered and we switched or not; switchDue makes the writer send
	// tagSwitch and switch. ringAnswerDue/OK answer the peer's ring.
	ringMine      *shmRing
	ringDue       bool
	ringAnswered  chan struct{}
	switchDue     bool
	ringAnswerDue bool
	ringAnswerOK  bool
	ctrlBuf       [6 * (wire.HeaderSize + ctrlMax)]byte
	ctrlOne       [1][]byte

	// retired: sends completed without an acknowledgement (failure,
	// goodbye, cancellation). The receiver may still read their withdrawn
	// word, so they are kept; it happens once per connection, which then
	// ends.
	retired []*Request

	// receive side (under rmu): the peer's verified pid, once its offer
	// checked out; the descriptor of a held message.
	readable bool
	pid      int
	peerTok  [tokenSize]byte // the token of the peer's offer
	ringPeer *shmRing        // the peer's ring, mapped, until it switches
	heldDesc [descSize]byte
}

// offersRemote reports whether this rank offers p single-copy transfers
// or a shared-memory ring (or both): p is on this host (by its address and
// by the launcher's table), not labelled with another region, and its
// connection neither encrypts nor compresses.
func (w *world) offersRemote(p *peer) bool {
	sameRegion := len(w.regions) != w.size || w.regions[p.rank] == w.regions[w.rank]
	return (w.cfg.SingleCopy || w.cfg.SharedMemory && shmSupported()) && p.onThisHost() && w.sameHost(w.rank, p.rank) && sameRegion &&
		p.seal == nil && p.comp == nil
}

// offerRemote queues the offer, with a ring of ringSize bytes when
// Config.SharedMemory; called before the peer starts.
func (p *peer) offerRemote(ringSize int) {
	p.rs.answered = make(chan struct{})
	var ring *shmRing
	if p.w.cfg.SharedMemory && shmSupported() {
		var err error
		if ring, err = makeRing(offerToken(), ringSize); err != nil {
			p.w.log.Debug("comm: cannot make a shared-memory ring; messages to this peer go through the socket",
				"rank", p.w.rank, "peer", p.rank, "err", err)
		}
	}
	p.queueCtrl(func(rs *remoteState) {
		rs.offerDue = true
		if ring != nil {
			rs.ringMine, rs.ringDue, rs.ringAnswered = ring, true, make(chan struct{})
		}
	})
}

// ctrlPendingLocked reports whether a control frame is due. smu is held.
func (p *peer) ctrlPendingLocked() bool {
	rs := &p.rs
	return rs.offerDue || rs.answerDue || rs.acksDue > 0 || rs.ringDue || rs.ringAnswerDue || rs.switchDue
}

// ctrlFramesLocked encodes the due control frames into ctrlBuf and clears
// them. smu is held.
func (p *peer) ctrlFramesLocked() []byte {
	rs := &p.rs
	b := rs.ctrlBuf[:0]
	put := func(tag int32, payload []byte) {
		h := wire.Header{Kind: wire.KindData, Flags: wire.FlagFirst | wire.FlagLast, Context: ctxControl,
			Tag: tag, Length: uint32(len(payload)), Total: uint64(len(payload))}
		n := len(b)
		b = b[:n+wire.HeaderSize]
		h.Put(b[n:])
		b = append(b, payload...)
	}
	if rs.offerDue {
		var o [offerSize]byte
		tok := offerToken()
		binary.LittleEndian.PutUint64(o[0:], uint64(os.Getpid()))
		binary.LittleEndian.PutUint64(o[8:], uint64(uintptr(unsafe.Pointer(tok))))
		copy(o[16:], tok[:])
		put(tagOffer, o[:])
		rs.offerDue = false
	}
	if rs.ringDue {
		var f [8]byte
		binary.LittleEndian.PutUint64(f[:], uint64(rs.ringMine.fd))
		put(tagRing, f[:])
		rs.ringDue = false
	}
	yes := func(ok bool) []byte {
		if ok {
			return []byte{1}
		}
		return []byte{0}
	}
	if rs.answerDue {
		put(tagAnswer, yes(rs.answerOK))
		rs.answerDue = false
	}
	if rs.ringAnswerDue {
		put(tagRingAnswer, yes(rs.ringAnswerOK))
		rs.ringAnswerDue = false
	}
	if rs.acksDue > 0 {
		var a [8]byte
		binary.LittleEndian.PutUint64(a[:], rs.acksDue)
		put(tagAck, a[:])
		rs.acksDue = 0
	}
	if rs.switchDue {
		put(tagSwitch, nil) // last: what follows goes through the ring
		rs.switchDue = false
	}
	return b
}

// writeCtrlLocked writes the due control frames as the connection's one
// writer. smu is held on entry and on return, but not during the write.
func (p *peer) writeCtrlLocked() error {
	switching := p.rs.switchDue
	p.rs.ctrlOne[0] = p.ctrlFramesLocked()
	p.busy = true
	p.smu.Unlock()
	err := p.writeOut(p.rs.ctrlOne[:])
	if switching {
		if err == nil {
			p.ringOut.Store(p.rs.ringMine)
		}
		close(p.rs.ringAnswered)
	}
	p.smu.Lock()
	p.busy = false
	return err
}

// queueCtrl marks a control frame due and wakes the writer.
func (p *peer) queueCtrl(f func(rs *remoteState)) {
	p.smu.Lock()
	f(&p.rs)
	p.smu.Unlock()
	p.kick()
}

var errControl = errors.New("malformed control frame")

// control handles a control frame whose header is h. rmu is held.
func (p *peer) control(rd *wire.Reader, h wire.Header) error {
	if h.Total > ctrlMax {
		return fmt.Errorf("%w: %d bytes", errControl, h.Total)
	}
	var b [ctrlMax]byte
	payload := b[:h.Total]
	if err := p.readFull(rd, payload); err != nil {
		return err
	}
	switch h.Tag {
	case tagOffer:
		if len(payload) != offerSize {
			return fmt.Errorf("%w: offer of %d bytes", errControl, len(payload))
		}
		ok := p.w.offersRemote(p) // what we would offer, we accept
		if ok {
			pid := int(binary.LittleEndian.Uint64(payload[0:]))
			addr := binary.LittleEndian.Uint64(payload[8:])
			var got [tokenSize]byte
			err := readRemote(pid, addr, got[:])
			if ok = err == nil && got == [tokenSize]byte(payload[16:]); ok {
				p.rs.readable, p.rs.pid = true, pid
				p.rs.peerTok = got
			} else {
				p.w.log.Debug("comm: cannot read this peer's memory; its large messages come through the socket",
					"rank", p.w.rank, "peer", p.rank, "err", err)
			}
		}
		p.queueCtrl(func(rs *remoteState) { rs.answerDue, rs.answerOK = true, ok })
	case tagAnswer:
		if len(payload) != 1 || payload[0] > 1 || p.rs.answered == nil {
			return fmt.Errorf("%w: answer of %d bytes, or to no offer", errControl, len(payload))
		}
		select {
		case <-p.rs.answered:
			return fmt.Errorf("%w: a second answer", errControl)
		default:
		}
		p.rs.remoteOK.Store(payload[0] == 1)
		close(p.rs.answered)
	case tagAck:
		if len(payload) != 8 {
			return fmt.Errorf("%w: acknowledgement of %d bytes", errControl, len(payload))
		}
		done, err := p.popAwaiting(binary.LittleEndian.Uint64(payload), false)
		if err != nil {
			return err
		}
		for _, r := range done {
			r.complete(Status{Len: len(r.payload)}, nil)
		}
	case tagRing, tagRingAnswer, tagSwitch:
		return p.ringControl(h.Tag, payload)
	default:
		return fmt.Errorf("%w: unknown tag %d", errControl, h.Tag)
	}
	return nil
}

// sendsRemote reports whether r goes as a descriptor. Only the writer
// calls it.
func (p *peer) sendsRemote(r *Request) bool {
	return p.w.cfg.SingleCopy && len(r.payload) >= p.w.cfg.SingleCopyMin && p.rs.remoteOK.Load()
}

// writeRemote sends r's descriptor; the acknowledgement completes r.
func (p *peer) writeRemote(r *Request) error {
	r.remote.Store(true)
	p.rs.amu.Lock()
	p.rs.awaiting = append(p.rs.awaiting, r)
	if p.rs.waits == nil {
		// Until the peer has read it, this rank waits for the peer as a
		// write into a full socket does: the peer's held message is read
		// at once, and every held one after cycleWait.
		p.rs.waits = p.writeBlocked()
	}
	p.rs.amu.Unlock()
	var d [descSize]byte
	binary.LittleEndian.PutUint64(d[0:], uint64(uintptr(unsafe.Pointer(&r.payload[0]))))
	binary.LittleEndian.PutUint64(d[8:], uint64(len(r.payload)))
	binary.LittleEndian.PutUint64(d[16:], uint64(uintptr(unsafe.Pointer(&r.withdrawn))))
	return p.writeOneFrame(r, wire.FlagRemote, d[:])
}

// takeAwaiting removes and returns the unacknowledged descriptors, which
// the caller completes without an acknowledgement: each is marked
// withdrawn first (see withdraw).
func (p *peer) takeAwaiting() []*Request {
	out, _ := p.popAwaiting(math.MaxUint64, true)
	return out
}

// popAwaiting removes the first n unacknowledged descriptors (all of them
// when there are fewer and withdrawn is set; too many acknowledged is an
// error) and, once none is left, ends the wait they stood for. withdrawn
// marks them withdrawn and keeps them (retired), for a caller that
// completes them without an acknowledgement.
func (p *peer) popAwaiting(n uint64, withdrawn bool) ([]*Request, error) {
	p.rs.amu.Lock()
	if n > uint64(len(p.rs.awaiting)) {
		if !withdrawn {
			k := len(p.rs.awaiting)
			p.rs.amu.Unlock()
			return nil, fmt.Errorf("%w: %d acknowledgements for %d descriptors", errControl, n, k)
		}
		n = uint64(len(p.rs.awaiting))
	}
	out := append([]*Request(nil), p.rs.awaiting[:n]...)
	clear(p.rs.awaiting[:n])
	p.rs.awaiting = p.rs.awaiting[n:]
	var waits *blockedWrite
	if len(p.rs.awaiting) == 0 {
		waits, p.rs.waits = p.rs.waits, nil
	}
	if withdrawn {
		for _, r := range out {
			r.withdrawn.Store(1) // before the caller can have the buffer back
		}
		p.rs.retired = append(p.rs.retired, out...)
	}
	p.rs.amu.Unlock()
	if waits != nil {
		waits.end()
	}
	return out, nil
}

// withdraw completes r, if it waits for its acknowledgement, with cause,
// after marking it withdrawn, and reports whether it did.
func (p *peer) withdraw(r *Request, cause error) bool {
	p.rs.amu.Lock()
	defer p.rs.amu.Unlock()
	for _, x := range p.rs.awaiting {
		if x == r {
			r.withdrawn.Store(1)
			if !r.complete(Status{}, cause) {
				return false // acknowledged meanwhile
			}
			p.rs.retired = append(p.rs.retired, r)
			return true
		}
	}
	return false
}

// receiveRemote reads a descriptor (header h) and copies the message it
// names from the sender's memory. rmu is held.
func (p *peer) receiveRemote(rd *wire.Reader, h wire.Header) error {
	var d [descSize]byte
	if p.held {
		d = p.rs.heldDesc
	} else {
		if h.Total != descSize {
			return fmt.Errorf("%w: descriptor of %d bytes", wire.ErrCorrupt, h.Total)
		}
		if err := p.readFull(rd, d[:]); err != nil {
			return err
		}
	}
	if !p.rs.readable {
		return fmt.Errorf("%w: descriptor from a peer whose offer was not accepted", wire.ErrCorrupt)
	}
	addr := binary.LittleEndian.Uint64(d[0:])
	n := binary.LittleEndian.Uint64(d[8:])
	flag := binary.LittleEndian.Uint64(d[16:])
	if n > uint64(p.w.cfg.MaxMessage) {
		return fmt.Errorf("%w: message of %d bytes exceeds the cap of %d", wire.ErrCorrupt, n, p.w.cfg.MaxMessage)
	}
	w := p.w
	tag := int(h.Tag)
	w.mu.Lock()
	r := w.queueLocked(h.Context).takePosted(p.rank, tag)
	// Held like a message in the socket (hold.go), by its real length.
	hr := h
	hr.Total = n
	if r == nil && p.holdLocked(hr) {
		p.rs.heldDesc = d
		w.mu.Unlock()
		return errHeld
	}
	p.unholdLocked(r)
	if r != nil {
		r.state = stFinished // the copy below neither waits nor can be cancelled
	}
	w.mu.Unlock()
	if r != nil && n <= uint64(len(r.buf)) {
		err := p.copyRemote(addr, flag, r.buf[:n])
		st := Status{Source: r.c.commRank(p.rank), Tag: tag, Len: int(n)}
		if err != nil {
			r.complete(st, p.peerErr("recv", err))
			return err
		}
		p.ack()
		r.complete(st, nil)
		return nil
	}
	data := bufpool.Get(int(n))
	if err := p.copyRemote(addr, flag, data); err != nil {
		bufpool.Put(data)
		if r != nil {
			r.complete(Status{}, p.peerErr("recv", err))
		}
		return err
	}
	p.ack()
	if r != nil {
		fill(r, &message{src: p.rank, tag: tag, data: data}) // reports the truncation
		return nil
	}
	w.deliver(p.rank, h.Context, tag, data)
	return nil
}

// errWithdrawn: the sender completed the send without our
// acknowledgement (it gave up on it or lost us) and may have reused the
// buffer while we copied it.
var errWithdrawn = errors.New("the sender withdrew the message while it was copied")

// copyRemote copies a message out of the sender's memory and then reads
// the send's withdrawn word. A sender sets that word before it completes
// a send without our acknowledgement (withdraw), and only after that can
// its program touch the buffer again; so if the word is still 0 after the
// copy, no byte we copied had been changed.
func (p *peer) copyRemote(addr, flag uint64, dst []byte) error {
	if err := readRemote(p.rs.pid, addr, dst); err != nil {
		return fmt.Errorf("reading the message from process %d: %w", p.rs.pid, err)
	}
	var w [4]byte
	if err := readRemote(p.rs.pid, flag, w[:]); err != nil {
		return fmt.Errorf("reading the message from process %d: %w", p.rs.pid, err)
	}
	if w != [4]byte{} {
		return errWithdrawn
	}
	return nil
}

// ack acknowledges one descriptor. When nothing else is being written to
// the peer it writes the acknowledgement itself, before the receive
// completes: a rank that answers a message at once (a ping-pong, a
// pipeline) then puts its acknowledgement on the wire ahead of its
// answer, and the sender, whose send waits for it, is not kept waiting
// for this rank's writer goroutine to be scheduled. Otherwise the writer
// sends it, ahead of any queued message.
func (p *peer) ack() {
	p.smu.Lock()
	p.rs.acksDue++
	if p.busy || len(p.sendq) > 0 || p.sendErr != nil || p.wrClosed {
		p.smu.Unlock()
		p.kick()
		return
	}
	err := p.writeCtrlLocked()
	more := len(p.sendq) > 0 || p.ctrlPendingLocked() || p.sendErr != nil
	p.smu.Unlock()
	if more {
		p.kick()
	}
	if err != nil {
		p.fail(p.peerErr("send", err))
	}
}

// awaitAnswers waits, up to d, for the peers offered single-copy
// transfers to answer, so that the path a peer's large messages take is
// settled when Init returns. A peer lost meanwhile, or slow to answer,
// keeps the socket path.
func (w *world) awaitAnswers(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for _, p := range w.peers {
		if p == nil {
			continue
		}
		for _, ch := range []chan struct{}{p.rs.answered, p.rs.ringAnswered} {
			if ch == nil {
				continue
			}
			select {
			case <-ch:
			case <-p.readerDone:
			case <-t.C:
				return
			}
		}
	}
}
