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
}

// Read polls without the descriptor's read lock (raw.Control): the
// connection's reader goroutine holds that lock while it is parked in
// waitReadable, and a goroutine polling through raw.Read would block on
// it until the next data came, leaving its processor idle (measured, 1
// MiB ping-pong: 0.9 idle processors and two thread switches per round
// trip). Only to park does it go through raw.Read, which also notices a
// read deadline.
func (c *pollReader) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	var (
		n     int
		serr  error
		start time.Time
		spun  int
	)
	read := func(fd uintptr) bool {
		var e syscall.Errno
		n, e = rawRead(fd, b)
		if e == syscall.EAGAIN {
			return false
		}
		if e != 0 {
			serr = e
		}
		return true
	}
	for {
		if c.spin <= 0 || c.w.waiting.Load() == 0 || c.stop.Load() ||
			(spun > 0 && spun&31 == 0 && time.Since(start) > c.spin) {
			if err := c.raw.Read(read); err != nil {
				return 0, err
			}
			break
		}
		var done bool
		if err := c.raw.Control(func(fd uintptr) { done = read(fd) }); err != nil {
			return 0, err
		}
		if done {
			break
		}
		if spun == 0 {
			start = time.Now()
		}
		spun++
		if c.w.cfg.SpinYield {
			yield()
		}
	}
	if serr != nil {
		return 0, &readError{serr}
	}
	if n <= 0 {
		return 0, io.EOF
	}
	return n, nil
}

type readError struct{ err error }

func (e *readError) Error() string { return "read: " + e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// readBuffer is the connection's read buffer. Unlike bufio.Reader it can
// be topped up without blocking (tryFill), so a goroutine polling for a
// message pays one read system call per poll, not a peek and a read.
type readBuffer struct {
	src  *pollReader
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

// tryFill reads what the socket holds now, without blocking, and reports
// whether there is something to look at: bytes, an end or an error.
func (b *readBuffer) tryFill() bool {
	if b.r < b.w || b.err != nil {
		return true
	}
	b.r, b.w = 0, 0
	var (
		n int
		e error
	)
	if err := b.src.raw.Control(func(fd uintptr) {
		var errno syscall.Errno
		n, errno = rawRead(fd, b.buf)
		if errno != 0 {
			e = errno
		}
	}); err != nil {
		b.err = err
		return true
	}
	switch {
	case e == syscall.EAGAIN:
		return false
	case e != nil:
		b.err = &readError{e}
	case n == 0:
		b.err = io.EOF
	default:
		b.w = n
	}
	return true
}

// yield gives the processor to another thread or process while spinning,
// as Open MPI's yield_when_idle does: when ranks outnumber cores, the peer
// we wait for may need this core to send.
func yield() { syscall.RawSyscall(syscall.SYS_SCHED_YIELD, 0, 0, 0) }
