package comm

import (
	"io"
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
}

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
	err := c.raw.Read(func(fd uintptr) bool {
		for {
			n, serr = syscall.Read(int(fd), b)
			switch serr {
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
			default:
				return true
			}
			if c.spin <= 0 || c.w.waiting.Load() == 0 {
				return false
			}
			if spun == 0 {
				start = time.Now()
			} else if spun&31 == 0 && time.Since(start) > c.spin {
				return false
			}
			spun++
		}
	})
	if err != nil {
		return 0, err
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
