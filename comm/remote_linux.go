package comm

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// remoteChunk is the most one process_vm_readv is given, for the reason
// writeChunk is (rawio.go): the call is raw, so it keeps its P.
const remoteChunk = 1 << 20

// readRemote copies len(dst) bytes at addr in process pid into dst.
func readRemote(pid int, addr uint64, dst []byte) error {
	for len(dst) > 0 {
		n := min(len(dst), remoteChunk)
		local := unix.Iovec{Base: &dst[0]}
		local.SetLen(n)
		remote := unix.RemoteIovec{Base: uintptr(addr), Len: n}
		got, _, e := syscall.RawSyscall6(unix.SYS_PROCESS_VM_READV, uintptr(pid),
			uintptr(unsafe.Pointer(&local)), 1, uintptr(unsafe.Pointer(&remote)), 1, 0)
		if e == syscall.EINTR {
			continue
		}
		if e != 0 {
			return e
		}
		if got == 0 {
			return syscall.EFAULT // the range ended in unmapped memory
		}
		dst = dst[got:]
		addr += uint64(got)
	}
	return nil
}
