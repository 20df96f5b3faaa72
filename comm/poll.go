package comm

import (
	"io"
	"sync/atomic"
	"syscall"
	"time"
)

// pollReader reads a connection's socket directly. While some goroutine
// of the process is blocked waiting for a message, it polls the socket
// (non-blocking reads) for up to Config.SpinWait before parking in Go's
// network poller, as MPI libraries poll in their blocking calls: waking a
// parked goroutine costs tens of microseconds, a poll a fraction of one.
// When nobody waits it parks at once and burns nothing.
type pollReader struct {
	raw  syscall.RawConn
	w    *world
	spin time.Duration
	stop *atomic.Bool // set with a read deadline that must interrupt reading

	// ring, once the peer switched its writes to a shared-memory ring
	// (shm.go; set under the read token); end is how the socket under it
	// ended.
	ring    *shmRing
	end     ringEnd
	drainFn func(uintptr) bool
	peekFn  func(uintptr) bool
	// peeking: the reader goroutine is parked on the socket for a
	// doorbell (parkRing, not holder); for the ring watchdog.
	peeking atomic.Bool
	// tookBell: a holder of the read token took doorbells from the
	// socket (unlockRead); guarded by the token.
	tookBell bool

	// one read's state (see Read)
	readFn func(uintptr) bool
	pollFn func(uintptr)
	buf    []byte
	n      int
	err    error
	done   bool
}

func newPollReader(raw syscall.RawConn, w *world, stop *atomic.Bool) *pollReader {
	c := &pollReader{raw: raw, w: w, spin: w.cfg.SpinWait, stop: stop}
	c.readFn = c.readOnce
	c.pollFn = func(fd uintptr) { c.done = c.readOnce(fd) }
	c.drainFn = c.drainOnce
	c.peekFn = c.peekOnce
	return c
}

// Read polls without the descriptor's read lock (raw.Control): the
// connection's reader goroutine holds that lock while it is parked in
// waitReadable, and a goroutine polling through raw.Read would block on
// it until the next data came, leaving its processor idle (measured, 1
// MiB ping-pong: 0.9 idle processors and two thread switches per round
// trip). Only to park does it go through raw.Read, which also notices a
// read deadline.
//
// Only one goroutine reads at a time (the peer's read token), so the
// state of a read lives in the pollReader and the functions given to the
// RawConn are made once (closures over locals would allocate per read).
func (c *pollReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	if c.ring != nil {
		return c.readRing(c.ring, b)
	}
	c.buf, c.n, c.err = b, 0, nil
	defer func() { c.buf = nil }()
	var s spinState
	for {
		if c.shouldPark(&s) {
			if err := c.raw.Read(c.readFn); err != nil {
				return 0, err
			}
			break
		}
		if err := c.raw.Control(c.pollFn); err != nil {
			return 0, err
		}
		if c.done {
			break
		}
		c.polled(&s)
	}
	if c.err != nil {
		return 0, &readError{c.err}
	}
	if c.n <= 0 {
		return 0, io.EOF
	}
	return c.n, nil
}

// spinState is one read's polling: how many polls found nothing, since when.
type spinState struct {
	start time.Time
	n     int
}

// shouldPark reports whether a read that found nothing parks now rather
// than polls again: polling is off, nobody waits for a message, a
// cancellation interrupts the read, or it has polled for SpinWait.
func (c *pollReader) shouldPark(s *spinState) bool {
	return c.spin <= 0 || c.w.waiting.Load() == 0 || c.stop.Load() ||
		(s.n > 0 && s.n&31 == 0 && time.Since(s.start) > c.spin)
}

// polled counts a poll that found nothing and, on a host with more ranks
// than cores, gives the processor away.
func (c *pollReader) polled(s *spinState) {
	if s.n == 0 {
		s.start = time.Now()
	}
	s.n++
	if c.w.cfg.SpinYield {
		yield()
	}
}

// readOnce reads into c.buf and reports whether it got something (bytes,
// an end or an error) rather than EAGAIN.
func (c *pollReader) readOnce(fd uintptr) bool {
	n, e := rawRead(fd, c.buf)
	if e == syscall.EAGAIN {
		return false
	}
	c.n = n
	if e != 0 {
		c.err = e
	}
	return true
}

type readError struct{ err error }

func (e *readError) Error() string { return "read: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// readBuffer is the connection's read buffer. Unlike bufio.Reader it can
// be topped up without blocking (tryFill), so a goroutine polling for a
// message pays one read system call per poll, not a peek and a read.
type readBuffer struct {
	src  *pollReader
	open *opener // an encrypted connection's records, read instead of buf
	buf  []byte
	r, w int
	err  error // an error met by tryFill, returned by the next Read
}

func newReadBuffer(src *pollReader, size int) *readBuffer {
	return &readBuffer{src: src, buf: make([]byte, size)}
}

// Buffered returns how many bytes can be read without touching the socket.
func (b *readBuffer) Buffered() int { return b.w - b.r }

func (b *readBuffer) Read(p []byte) (int, error) {
	if b.open != nil {
		return b.open.read(b.src, p)
	}
	if b.r == b.w {
		if b.err != nil {
			err := b.err
			b.err = nil
			return 0, err
		}
		if len(p) >= len(b.buf) {
			return b.src.Read(p) // large reads go straight to the caller's memory
		}
		b.r, b.w = 0, 0
		n, err := b.src.Read(b.buf)
		if n <= 0 {
			return 0, err
		}
		b.w = n
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// buffered reports whether bytes (or an error) wait in the buffer, to be
// read without the socket's becoming readable again.
func (b *readBuffer) buffered() bool {
	if b.open != nil {
		o := b.open
		return len(o.plain) > 0 || o.w > o.r || o.err != nil
	}
	return b.r < b.w || b.err != nil
}

// tryFill reads what the socket holds now, without blocking, and reports
// whether there is something to look at: bytes, an end or an error.
func (b *readBuffer) tryFill() bool {
	if b.open != nil {
		return b.open.tryFill(b.src)
	}
	if b.r < b.w || b.err != nil {
		return true
	}
	b.r, b.w = 0, 0
	n, done, err := b.src.tryRead(b.buf)
	switch {
	case err != nil:
		b.err = err
	case !done:
		return false
	case n == 0:
		b.err = io.EOF
	default:
		b.w = n
	}
	return true
}

// tryRead reads what the socket holds now into buf, without blocking:
// done is false when it holds nothing (EAGAIN); n == 0 with done is the
// end of the stream.
func (c *pollReader) tryRead(buf []byte) (n int, done bool, err error) {
	if c.ring != nil {
		return c.tryReadRing(c.ring, buf)
	}
	c.buf, c.n, c.err, c.done = buf, 0, nil, false
	err = c.raw.Control(c.pollFn)
	c.buf = nil
	switch {
	case err != nil:
		return 0, true, err
	case !c.done:
		return 0, false, nil
	case c.err != nil:
		return 0, true, &readError{c.err}
	}
	return c.n, true, nil
}

// yield gives the processor to another thread or process while spinning,
// as Open MPI's yield_when_idle does: when ranks outnumber cores, the peer
// we wait for may need this core to send.
func yield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
