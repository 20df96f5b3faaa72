package comm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// Shared-memory rings between ranks of one host (Config.SharedMemory).
//
// Through a loopback socket every message costs its sender a system call
// that runs the receiver's side of TCP too (about 4 us of CPU here for
// 8 bytes), and most of a small collective's time on a host with more
// ranks than cores went there. Between ranks of one host each direction of
// a connection can instead be a ring in memory both processes map: the
// sender copies frames into it and moves its tail, the receiver copies
// them out and moves its head, and neither enters the kernel while the
// other is awake. The frames are the socket's frames, read by the same
// reader (pollReader), so holding, single-copy descriptors, control frames
// and the goodbye work as they do on the socket.
//
// The socket stays: it carries the doorbell and the end. A reader about to
// sleep sets the ring's rsleep word and looks at the ring once more; a
// writer that moves the tail and finds rsleep set clears it and writes one
// byte (ringDoorbell) on the socket, which wakes the reader parked in Go's
// poller. A goroutine that polls the ring (Request.Wait's spin) clears
// rsleep while it polls and sets it, then looks once more, when it stops
// (or has the read token's holder look as it lets go), so a polled ring
// costs no system call per message. A goroutine that parks in the middle
// of a message, holding the read token, takes the doorbells from the
// socket, the reader goroutine's among them: it sets rsleep and looks once
// more as it lets go of the token. The ring watchdog (watchRings) reads a
// ring nobody will, should this protocol ever lose a doorbell. A writer that finds
// the ring full sets wsleep, looks again, and sleeps on it as a futex
// (shared between the processes); a reader that frees room and finds
// wsleep set clears it and wakes it. The peer's death still ends the
// connection: the kernel closes its socket, and the reader, finding the
// ring drained, sees the end of the stream there.
//
// Setting up rides on the single-copy offer (remote.go): the writer of a
// direction makes the ring (a memfd, nameless, freed when the last mapping
// goes) and sends its descriptor number with the offer (tagRing). The peer,
// which has just checked that it may read the writer's memory, opens
// /proc/<pid>/fd/<n> (the kernel allows it under the same ptrace rule),
// checks the ring's magic and the writer's token in its header, and
// answers (tagRingAnswer). On a yes the writer sends tagSwitch on the
// socket and from then on writes every frame into the ring; the reader,
// having read tagSwitch, reads the ring. Everything after tagSwitch on the
// socket is doorbells.
//
// The peer can write the ring's header, so the reader and writer check
// every head and tail they read; a bad one is a corrupt stream. (Whoever
// may map the ring may read and write all of this process's memory anyway:
// the same ptrace rule.)

const (
	ringMinSize  = 256 << 10 // bytes of frames in one direction, at least
	ringHdr      = 4096      // header page: magic, token, and the words below
	ringMagic    = "spmdring"
	ringDoorbell = 0xDB

	// offsets of the header's words, a cache line each
	ringTailOff   = 64
	ringHeadOff   = 128
	ringRSleepOff = 192
	ringWSleepOff = 256
	ringRangOff   = 320

	ringChunk = 64 << 10 // the most a writer copies before it moves the tail
	roomWait  = 10 * time.Millisecond
)

// shmRing is one direction's ring, as mapped by this process.
type shmRing struct {
	mem    []byte // the whole mapping
	data   []byte // mem[ringHdr:]
	tail   *atomic.Uint64
	head   *atomic.Uint64
	rsleep *atomic.Uint32 // the reader sleeps: ring the doorbell
	wsleep *atomic.Uint32 // the writer waits for room: wake it
	// rang is the tail up to which the writer has decided on the
	// doorbell (rung or found no sleeper): a tail beyond it is the
	// writer's, between its store and the bell, not a lost doorbell.
	// Only the writer stores it; the ring watchdog reads it.
	rang *atomic.Uint64
	fd   int    // the maker's memfd until the peer has answered, else -1
	size uint64 // len(data)
	// hb orders a writer's copies before what its reader does once it
	// has seen them, for the race detector, which does not see atomics
	// on memory outside Go's heap. In-process jobs share the ring object
	// (ownRings), so this is one word for both; across processes it
	// orders nothing and costs an uncontended store.
	hb atomic.Uint64
}

func newShmRing(mem []byte, fd int) *shmRing {
	r := &shmRing{
		mem:    mem,
		data:   mem[ringHdr:],
		size:   uint64(len(mem) - ringHdr),
		tail:   (*atomic.Uint64)(unsafe.Pointer(&mem[ringTailOff])),
		head:   (*atomic.Uint64)(unsafe.Pointer(&mem[ringHeadOff])),
		rsleep: (*atomic.Uint32)(unsafe.Pointer(&mem[ringRSleepOff])),
		wsleep: (*atomic.Uint32)(unsafe.Pointer(&mem[ringWSleepOff])),
		rang:   (*atomic.Uint64)(unsafe.Pointer(&mem[ringRangOff])),
		fd:     fd,
	}
	// Unmapped when nothing refers to the ring any more: a goroutine that
	// may still touch it (a reader, a polling Wait) keeps it alive.
	runtime.AddCleanup(r, shmUnmap, mem)
	return r
}

// makeRing makes this process's ring for one direction, with tok in its
// header for the peer to check.
func makeRing(tok *[tokenSize]byte, size int) (*shmRing, error) {
	fd, mem, err := shmCreate(ringHdr + size)
	if err != nil {
		return nil, err
	}
	copy(mem, ringMagic)
	copy(mem[len(ringMagic):], tok[:])
	r := newShmRing(mem, fd)
	// The reader sleeps until it has read tagSwitch on the socket: the
	// first frame written into the ring rings the doorbell that wakes it.
	r.rsleep.Store(1)
	ownRings.Lock()
	ownRings.m[fd] = r
	ownRings.Unlock()
	return r, nil
}

// ownRings are this process's rings whose memfd is still open, by
// descriptor. A peer in this process (an in-process job, comm.Local) uses
// the maker's mapping rather than a second one: the race detector orders
// memory by address, and through two mappings of one page it saw the
// writer's copy and the reader's as unordered.
var ownRings = struct {
	sync.Mutex
	m map[int]*shmRing
}{m: map[int]*shmRing{}}

// openRing maps the peer's ring (its process pid, its memfd fd) and checks
// that its header carries tok.
func openRing(pid, fd int, tok []byte) (*shmRing, error) {
	if pid == os.Getpid() {
		ownRings.Lock()
		r := ownRings.m[fd]
		ownRings.Unlock()
		if r == nil {
			return nil, errors.New("no ring of this process has that descriptor")
		}
		return r, nil
	}
	mem, err := shmOpen(pid, fd, ringHdr+ringMinSize, ringHdr+ringMaxSize)
	if err != nil {
		return nil, err
	}
	if string(mem[:len(ringMagic)]) != ringMagic || !bytes.Equal(mem[len(ringMagic):len(ringMagic)+tokenSize], tok) {
		shmUnmap(mem)
		return nil, errors.New("the ring's header does not carry the offer's token")
	}
	return newShmRing(mem, -1), nil
}

// closeFD closes the maker's memfd once the peer has mapped the ring (or
// will not).
func (r *shmRing) closeFD() {
	if r.fd >= 0 {
		ownRings.Lock()
		delete(ownRings.m, r.fd)
		ownRings.Unlock()
		shmCloseFD(r.fd)
		r.fd = -1
	}
}

var errRingCorrupt = errors.New("shared-memory ring: head and tail out of order")

// used returns the bytes in the ring between head and tail.
func (r *shmRing) used() (head, tail, n uint64, err error) {
	head, tail = r.head.Load(), r.tail.Load()
	n = tail - head
	if n > r.size {
		return 0, 0, 0, errRingCorrupt
	}
	return head, tail, n, nil
}

// readable reports whether the ring holds bytes.
func (r *shmRing) readable() bool {
	_, _, n, err := r.used()
	return n > 0 || err != nil
}

// read copies what the ring holds, up to len(b), and frees its room,
// waking a writer that waits for it. Only the connection's reader (the
// read token) calls it.
func (r *shmRing) read(b []byte) (int, error) {
	head, _, n, err := r.used()
	if err != nil || n == 0 {
		return 0, err
	}
	r.hb.Load()
	n = min(n, uint64(len(b)))
	off := head % r.size
	k := copy(b[:n], r.data[off:])
	copy(b[k:n], r.data)
	r.head.Store(head + n)
	if r.wsleep.Load() != 0 && r.wsleep.CompareAndSwap(1, 0) {
		futexWake(r.wsleep)
	}
	return int(n), nil
}

// ---- the writer's side ----

// Why a blocked ring write stopped (peer.ringStop).
const (
	ringRunning = iota
	ringCancelled
	ringClosed
)

// writeRing writes bufs into the connection's ring, as writeAll does into
// the socket. Only the connection's one writer calls it.
func (p *peer) writeRing(rg *shmRing, bufs [][]byte) error {
	var blocked *blockedWrite
	defer func() {
		if blocked != nil {
			blocked.end()
		}
	}()
	if err := p.ringStopped(); err != nil {
		return err
	}
	for _, b := range bufs {
		for len(b) > 0 {
			_, tail, used, err := rg.used()
			if err != nil {
				return err
			}
			room := rg.size - used
			if room == 0 {
				if err := p.ringBell(rg); err != nil {
					return err
				}
				if blocked == nil {
					blocked = p.writeBlocked() // as a full socket (hold.go)
				}
				if err := p.waitRoom(rg); err != nil {
					return err
				}
				continue
			}
			n := min(uint64(len(b)), room, ringChunk)
			off := tail % rg.size
			k := copy(rg.data[off:], b[:n])
			copy(rg.data, b[k:n])
			rg.hb.Store(tail + n) // before the tail: a reader that sees the tail sees this
			rg.tail.Store(tail + n)
			b = b[n:]
			if err := p.ringBell(rg); err != nil {
				return err
			}
			rg.rang.Store(tail + n)
		}
	}
	return nil
}

var doorbell = []byte{ringDoorbell}

// ringBell wakes the peer's reader if it sleeps.
func (p *peer) ringBell(rg *shmRing) error {
	if rg.rsleep.Load() == 0 || !rg.rsleep.CompareAndSwap(1, 0) {
		return nil
	}
	if p.bellsLost.Load() > 0 && p.bellsLost.Add(-1) >= 0 {
		return nil
	}
	p.bell[0] = doorbell
	return p.writeAll(p.bell[:])
}

// waitRoom sleeps until the reader frees room in the ring, the send is
// cancelled or the connection fails.
func (p *peer) waitRoom(rg *shmRing) error {
	for {
		if err := p.ringStopped(); err != nil {
			return err
		}
		rg.wsleep.Store(1)
		if _, _, used, err := rg.used(); err != nil || used < rg.size {
			return err
		}
		futexWait(rg.wsleep, 1, roomWait)
	}
}

// ringStopped returns the error a write into the ring stopped by
// stopRing meets.
func (p *peer) ringStopped() error {
	switch p.ringStop.Load() {
	case ringCancelled:
		return os.ErrDeadlineExceeded
	case ringClosed:
		return net.ErrClosed
	}
	return nil
}

// stopRing ends a write that waits for room (why: ringCancelled or
// ringClosed).
func (p *peer) stopRing(why int32) {
	p.ringStop.CompareAndSwap(ringRunning, why)
	if rg := p.ringOut.Load(); rg != nil {
		rg.wsleep.Store(0)
		futexWake(rg.wsleep)
	}
}

// ---- the reader's side ----

// ringEnd records how the socket under a ring ended (io.EOF or an error),
// for the reader to report once the ring is drained. Set by whichever
// goroutine drains the doorbells.
type ringEnd struct{ err atomic.Pointer[error] }

func (e *ringEnd) set(err error) { e.err.CompareAndSwap(nil, &err) }

func (e *ringEnd) get() error {
	if p := e.err.Load(); p != nil {
		return *p
	}
	return nil
}

// drainOnce reads the doorbells the socket holds (fd), recording its end;
// false when it holds nothing (EAGAIN: park).
func (c *pollReader) drainOnce(fd uintptr) bool {
	var b [64]byte
	n, e := rawRead(fd, b[:])
	switch {
	case e == syscall.EAGAIN:
		return false
	case e != 0:
		c.end.set(&readError{e})
	case n == 0:
		c.end.set(io.EOF)
	default:
		c.tookBell = true
	}
	return true
}

// peekOnce reports whether the socket (fd) has doorbells, an end or an
// error, consuming nothing but an error (recorded).
func (c *pollReader) peekOnce(fd uintptr) bool {
	e := rawPeek(fd)
	if e == syscall.EAGAIN {
		return false
	}
	if e != 0 {
		c.end.set(&readError{e})
	}
	return true
}

// drainRing consumes the doorbells the socket holds now, recording its
// end. The caller holds the read token.
func (c *pollReader) drainRing() {
	_ = c.raw.Control(func(fd uintptr) {
		for c.end.get() == nil && c.drainOnce(fd) {
		}
	})
}

// parkRing sleeps until a doorbell, the socket's end or error, or a read
// deadline (returned). The ring's rsleep is set and the ring looked at
// once more first.
//
// Only a goroutine that holds the read token (holder) consumes doorbells.
// The reader goroutine waiting for the token's next use (waitReadable)
// only peeks, as on a socket: had it taken the doorbell meant for a
// holder parked in the middle of a message, it would then wait for that
// holder's token, and the holder for a doorbell that had come.
//
// rsleep is set by whoever is about to park, and cleared by the writer
// that rings (and by a polling Request.spin, which sets it again and
// looks once more when it stops). A goroutine that wakes leaves it set:
// cleared then, it could silence the doorbell of another that set it and
// is about to park (the reader goroutine, set and waiting for the
// socket's read lock while a holder drains; a hang seen across processes).
func (c *pollReader) parkRing(rg *shmRing, holder bool) error {
	rg.rsleep.Store(1)
	if rg.readable() || c.end.get() != nil {
		return nil
	}
	fn := c.peekFn
	if holder {
		fn = c.drainFn
	}
	if !holder {
		c.peeking.Store(true)
	}
	err := c.raw.Read(fn)
	if !holder {
		c.peeking.Store(false)
	}
	if err != nil && !isTimeout(err) {
		c.end.set(&readError{err})
		return nil
	}
	return err
}

// readRing is Read on a ring: what it holds, else polling as Read polls
// the socket, else parking until a doorbell.
func (c *pollReader) readRing(rg *shmRing, b []byte) (int, error) {
	var s spinState
	for {
		n, err := rg.read(b)
		if err != nil {
			return 0, err
		}
		if n > 0 {
			return n, nil
		}
		if err := c.end.get(); err != nil {
			return 0, err
		}
		if c.shouldPark(&s) {
			if err := c.parkRing(rg, true); err != nil {
				return 0, err
			}
			continue
		}
		c.polled(&s)
	}
}

// tryReadRing is tryRead on a ring.
func (c *pollReader) tryReadRing(rg *shmRing, b []byte) (n int, done bool, err error) {
	n, err = rg.read(b)
	switch {
	case err != nil:
		return 0, true, err
	case n > 0:
		return n, true, nil
	}
	if err := c.end.get(); err != nil {
		if err == io.EOF {
			return 0, true, nil
		}
		return 0, true, err
	}
	return 0, false, nil
}

// SharedMemory reports whether this rank's messages to rank r go through
// a shared-memory ring (Config.SharedMemory; ranks of one host whose memory
// this rank may map) rather than the socket.
func (c *Comm) SharedMemory(r int) bool {
	c.checkRank(r, "SharedMemory")
	wr := c.group[r]
	return wr != c.w.rank && wr < len(c.w.peers) && c.w.peers[wr] != nil && c.w.peers[wr].ringOut.Load() != nil
}

// ringControl handles the ring's control frames (see the top of this
// file). rmu is held.
func (p *peer) ringControl(tag int32, payload []byte) error {
	rs := &p.rs
	switch tag {
	case tagRing:
		if len(payload) != 8 {
			return fmt.Errorf("%w: ring offer of %d bytes", errControl, len(payload))
		}
		fd := binary.LittleEndian.Uint64(payload)
		ok := rs.readable && p.w.cfg.SharedMemory && shmSupported() && fd <= math.MaxInt32
		if ok {
			rg, err := openRing(rs.pid, int(fd), rs.peerTok[:])
			if err != nil {
				ok = false
				p.w.log.Debug("comm: cannot map this peer's ring; its messages come through the socket",
					"rank", p.w.rank, "peer", p.rank, "pid", rs.pid, "fd", fd, "err", err)
			} else {
				rs.ringPeer = rg
			}
		}
		p.queueCtrl(func(rs *remoteState) { rs.ringAnswerDue, rs.ringAnswerOK = true, ok })
	case tagRingAnswer:
		if len(payload) != 1 || payload[0] > 1 || rs.ringMine == nil || rs.ringMine.fd < 0 {
			return fmt.Errorf("%w: ring answer of %d bytes, or to no ring", errControl, len(payload))
		}
		rs.ringMine.closeFD() // the peer has mapped it, or will not
		if payload[0] == 1 {
			p.queueCtrl(func(rs *remoteState) { rs.switchDue = true })
		} else {
			close(rs.ringAnswered)
		}
	case tagSwitch:
		rg := rs.ringPeer
		if rg == nil || len(payload) != 0 {
			return fmt.Errorf("%w: switch to no ring", errControl)
		}
		rs.ringPeer = nil
		src := p.br.src
		src.ring = rg
		// What the socket holds after the switch is doorbells, and its end.
		p.br.r = p.br.w
		if p.br.err != nil {
			src.end.set(p.br.err)
			p.br.err = nil
		}
		p.ringIn.Store(rg)
	}
	return nil
}

// ringMaxSize bounds a ring; ringBudget is what this rank's rings to all
// its peers on the host may take together.
const (
	ringMaxSize = 4 << 20
	ringBudget  = 8 << 20
)

// ringSize is the size of each ring this rank makes: ringBudget shared by
// its peers on this host, a power of two from ringMinSize to ringMaxSize
// (SPMD_SHM_RING overrides it, for measurements). connect computes it
// once for all the peers.
func (w *world) ringSize() int {
	if s, err := strconv.Atoi(os.Getenv("SPMD_SHM_RING")); err == nil && s >= ringMinSize && s <= ringMaxSize {
		return s
	}
	local := 0
	for r := range w.size {
		if r != w.rank && w.sameHost(w.rank, r) {
			local++
		}
	}
	size := ringMaxSize
	for size > ringMinSize && size*max(local, 1) > ringBudget {
		size /= 2
	}
	return size
}

// ringWatchEvery is how often watchRings looks at the rings.
const ringWatchEvery = 50 * time.Millisecond

// watchRings is a safety net under the doorbell protocol. A ring whose
// unread bytes of one look are still unread, and nothing read, at the
// next, while nothing will read them, is read by this goroutine itself,
// and the first such rescue per peer is logged as the bug it is: a lost
// doorbell then costs a period or two instead of hanging a job.
//
// "Nothing will read them" is precise, for unread bytes alone are not a
// lost doorbell: a held message's payload waits there by design, and on
// a busy host (the race detector's 70 runnable goroutines on 2 cores) a
// goroutine can wait a whole period for a CPU: a reader that was rung, a
// polling Wait, a writer between its tail and its doorbell. So the ring is
// read only when the reader goroutine is parked on the socket, no
// doorbell or end is in the socket, nobody polls the ring, no message is
// held, the writer has decided on the doorbell for every byte it wrote
// (rang), and, under the read token, nothing was read since.
// It ends when every connection's reader has.
func (w *world) watchRings() {
	t := time.NewTicker(ringWatchEvery)
	defer t.Stop()
	lastHead := make([]uint64, len(w.peers))
	lastTail := make([]uint64, len(w.peers)) // unread then: [lastHead, lastTail)
	warned := make([]bool, len(w.peers))
	for range t.C {
		live := false
		for i, p := range w.peers {
			if p == nil {
				continue
			}
			select {
			case <-p.readerDone:
				continue
			default:
				live = true
			}
			rg := p.ringIn.Load()
			if rg == nil {
				continue
			}
			h := rg.head.Load()
			if h == lastHead[i] && h < lastTail[i] && p.ringForgotten(rg, h) {
				w.ringRescues.Add(1)
				if !warned[i] {
					warned[i] = true
					w.log.Warn("comm: a shared-memory ring had unread bytes and no reader awake; read them (a lost doorbell: please report)",
						"rank", w.rank, "peer", p.rank)
				}
			}
			lastHead[i], lastTail[i] = rg.head.Load(), rg.tail.Load()
		}
		if !live {
			return
		}
	}
}

// ringForgotten reads p's ring rg, whose head was h a period ago too, if
// nothing will (see watchRings), and reports whether it did.
func (p *peer) ringForgotten(rg *shmRing, h uint64) bool {
	if !p.br.src.peeking.Load() || p.pollers.Load() != 0 || p.holding.Load() ||
		rg.rang.Load() != rg.tail.Load() || p.bellPending() || !p.rmu.TryLock() {
		return false
	}
	read := false
	if !p.held && rg.head.Load() == h {
		// The lost doorbell's rsleep is clear: set, the next write
		// rings again.
		rg.rsleep.Store(1)
		p.pump()
		read = rg.head.Load() != h
	}
	p.unlockRead()
	return read
}

// bellPending reports whether p's socket holds a doorbell (or its end),
// which will wake the reader.
func (p *peer) bellPending() bool {
	pending := true
	_ = p.raw.Control(func(fd uintptr) { pending = rawPeek(fd) != syscall.EAGAIN })
	return pending
}
