package comm

import (
	"fmt"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// shmCreate makes an anonymous shared-memory file (memfd) of size bytes
// and maps it. The file has no name in any file system: it lives while
// this process holds fd or a mapping, so a crash leaves nothing behind.
func shmCreate(size int) (fd int, mem []byte, err error) {
	fd, err = unix.MemfdCreate("spmd-ring", unix.MFD_CLOEXEC)
	if err != nil {
		return -1, nil, fmt.Errorf("memfd_create: %w", err)
	}
	if err = unix.Ftruncate(fd, int64(size)); err == nil {
		mem, err = unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	}
	if err != nil {
		unix.Close(fd)
		return -1, nil, fmt.Errorf("sizing or mapping the ring: %w", err)
	}
	return fd, mem, nil
}

// shmOpen maps the shared-memory file that process pid holds as fd,
// through /proc/pid/fd, which the kernel opens only for a process that may
// ptrace pid (the rule process_vm_readv follows). The file must have size
// bytes, from min to max.
func shmOpen(pid, fd, min, max int) ([]byte, error) {
	path := fmt.Sprintf("/proc/%d/fd/%d", pid, fd)
	f, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	defer unix.Close(f)
	var st unix.Stat_t
	if err := unix.Fstat(f, &st); err != nil {
		return nil, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Size < int64(min) || st.Size > int64(max) {
		return nil, fmt.Errorf("%s has %d bytes, want %d to %d", path, st.Size, min, max)
	}
	mem, err := unix.Mmap(f, 0, int(st.Size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("mmap %s: %w", path, err)
	}
	return mem, nil
}

func shmCloseFD(fd int)                  { unix.Close(fd) }
func shmUnmap(mem []byte)                { unix.Munmap(mem) }
func shmSupported() bool                 { return true }
func futexAddr(a *atomic.Uint32) uintptr { return uintptr(unsafe.Pointer(a)) }

// The futex operations (linux/futex.h), without FUTEX_PRIVATE_FLAG: the
// word is shared between processes.
const (
	futexWaitOp = 0
	futexWakeOp = 1
)

// futexWait sleeps while *a == val, for at most d (or until futexWake).
// It is a blocking system call: the runtime hands this goroutine's P to
// another thread while it sleeps. The futex is not private, so a wake
// from another process that maps the same file reaches it.
func futexWait(a *atomic.Uint32, val uint32, d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	syscall.Syscall6(unix.SYS_FUTEX, futexAddr(a), futexWaitOp, uintptr(val), uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// futexWake wakes the sleepers on a.
func futexWake(a *atomic.Uint32) {
	syscall.RawSyscall6(unix.SYS_FUTEX, futexAddr(a), futexWakeOp, 1<<30, 0, 0, 0)
}
