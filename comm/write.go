package comm

import (
	"errors"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// writeChunk is the most one write system call is given: a 1 MiB copy
// into a socket takes about 100 us, during which the goroutine keeps its
// P (the call is raw, see rawio.go) and cannot be preempted. With
// Syscall-made writes a smaller chunk (256 KiB) was better, because each
// long call let sysmon hand the P away; with raw calls, measured with 4
// ranks on 2 cores (Rabenseifner allreduce of 2 MiB, alternating runs),
// 64 KiB chunks took 2.6-2.7 ms, 256 KiB 2.15-2.27, 1 MiB 1.85-2.04, and
// 4 MiB was within the noise of 1 MiB.
const writeChunk = 1 << 20

// maxIovec bounds the buffers one writev is given (Linux's IOV_MAX).
const maxIovec = 1024

// writeAll writes bufs, in order, as one stream on the peer's socket, at
// most writeChunk bytes per system call, parking in Go's poller while the
// socket's buffer is full. A write deadline (the cancellation of a send)
// ends it with os.ErrDeadlineExceeded.
func (p *peer) writeAll(bufs [][]byte) error {
	if p.raw == nil {
		return errors.New("connection has no file descriptor")
	}
	var (
		iov     []syscall.Iovec
		werr    error
		blocked *blockedWrite
	)
	defer func() {
		if blocked != nil {
			blocked.end()
		}
	}()
	err := p.raw.Write(func(fd uintptr) bool {
		for {
			for len(bufs) > 0 && len(bufs[0]) == 0 {
				bufs = bufs[1:]
			}
			if len(bufs) == 0 {
				return true
			}
			iov = iov[:0]
			room := writeChunk
			for _, b := range bufs {
				if room == 0 || len(iov) == maxIovec {
					break
				}
				if len(b) == 0 {
					continue
				}
				n := min(len(b), room)
				v := syscall.Iovec{Base: &b[0]}
				v.SetLen(n)
				iov = append(iov, v)
				room -= n
			}
			n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
			switch e {
			case 0:
			case syscall.EINTR:
				continue
			case syscall.EAGAIN:
				if blocked == nil {
					// The peer may be waiting for us to read (hold.go).
					blocked = p.writeBlocked()
				}
				return false
			default:
				werr = os.NewSyscallError("writev", e)
				return true
			}
			bufs = consume(bufs, int(n))
		}
	})
	runtime.KeepAlive(iov)
	if err != nil {
		return err
	}
	return werr
}

// consume drops the first n bytes of bufs (changing bufs[0] in place).
func consume(bufs [][]byte, n int) [][]byte {
	for n > 0 && len(bufs) > 0 {
		if n < len(bufs[0]) {
			bufs[0] = bufs[0][n:]
			return bufs
		}
		n -= len(bufs[0])
		bufs = bufs[1:]
	}
	return bufs
}
