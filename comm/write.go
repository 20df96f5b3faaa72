package comm

import (
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
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
// ends it with os.ErrDeadlineExceeded. The connection has one writer at a
// time, so its state lives in the peer (p.ws) and the function given to
// raw.Write is made once: a closure over locals would put five of them on
// the heap per message.
func (p *peer) writeAll(bufs [][]byte) error {
	if p.raw == nil {
		return errNoFD
	}
	ws := &p.ws
	if ws.fn == nil {
		ws.fn = p.writeStep
	}
	ws.bufs, ws.err = bufs, nil
	err := p.raw.Write(ws.fn)
	if ws.blocked != nil {
		ws.blocked.end()
		ws.blocked = nil
	}
	clear(ws.iov) // drop the pointers into the caller's buffers
	ws.iov, ws.bufs = ws.iov[:0], nil
	if err != nil {
		return err
	}
	return ws.err
}

// writeState is writeAll's state while raw.Write calls writeStep.
type writeState struct {
	fn      func(fd uintptr) bool // p.writeStep, made once
	bufs    [][]byte              // what is left to write
	iov     []syscall.Iovec       // the system call's argument, kept
	err     error
	blocked *blockedWrite
}

// writeStep writes until bufs is empty (true), an error (true, ws.err) or
// a full socket (false: raw.Write waits for room and calls again).
func (p *peer) writeStep(fd uintptr) bool {
	ws := &p.ws
	for {
		for len(ws.bufs) > 0 && len(ws.bufs[0]) == 0 {
			ws.bufs = ws.bufs[1:]
		}
		if len(ws.bufs) == 0 {
			return true
		}
		iov := ws.iov[:0]
		room := writeChunk
		for _, b := range ws.bufs {
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
		ws.iov = iov
		n, _, e := syscall.RawSyscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(len(iov)))
		switch e {
		case 0:
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if ws.blocked == nil {
				// The peer may be waiting for us to read (hold.go).
				ws.blocked = p.writeBlocked()
			}
			return false
		default:
			ws.err = os.NewSyscallError("writev", e)
			return true
		}
		ws.bufs = consume(ws.bufs, int(n))
	}
}

// hasRoom reports whether the socket has room for more (poll's POLLOUT:
// for TCP, free space at least half of what is queued), so that an
// Isend written by its caller will not park it. The shared-memory ring
// (shm.go), when it carries the messages, has its own room. Called with
// smu held, so the function given to raw.Control and its answer live in
// the peer, made once: a closure here would cost two allocations per
// Isend.
func (p *peer) hasRoom() bool {
	if p.raw == nil || p.ringOut.Load() != nil {
		return true
	}
	if p.roomFn == nil {
		p.roomFn = func(fd uintptr) {
			fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLOUT}}
			n, err := unix.Poll(fds[:], 0)
			p.room = err != nil || n == 1 && fds[0].Revents&unix.POLLOUT != 0
		}
	}
	p.room = true
	_ = p.raw.Control(p.roomFn)
	return p.room
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
