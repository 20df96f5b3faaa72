package comm

import (
	"errors"
	"syscall"
	"unsafe"
)

// The mesh's sockets are non-blocking, so a read or write on them never
// waits: it copies what fits and returns (EAGAIN when nothing does).
// They are therefore made with RawSyscall, which does not tell Go's
// scheduler that the thread is in a system call. With Syscall, a copy
// that takes more than 20 us (256 KiB into a loopback socket takes ~50)
// lets sysmon hand the goroutine's P to another thread, which must be
// woken (a futex), and the thread leaving the call must then sleep until
// a P frees up: on a host with more ranks than cores that is two context
// switches per large read or write, and the ranks' threads migrate
// between cores. Measured with 4 ranks on 2 cores (Rabenseifner
// allreduce, 2 MiB; docs/algorithms.md, "Point-to-point framing"), raw
// calls cut context switches per call from 212 to 58 and the time from
// 3.3 to 2.2 ms.

// errNoFD: the connection gave no descriptor (it was closed already).
var errNoFD = errors.New("connection has no file descriptor")

// rawRead reads from fd into b (len(b) > 0) without leaving the P.
func rawRead(fd uintptr, b []byte) (int, syscall.Errno) {
	for {
		n, _, e := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)))
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return 0, e
		}
		return int(n), 0
	}
}

// rawPeek looks whether fd has a byte (or an end, or an error) to read,
// without consuming it or waiting.
func rawPeek(fd uintptr) syscall.Errno {
	var b [1]byte
	for {
		_, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&b[0])), 1,
			syscall.MSG_PEEK|syscall.MSG_DONTWAIT, 0, 0)
		if e != syscall.EINTR {
			return e
		}
	}
}
