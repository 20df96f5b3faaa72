//go:build !linux

package comm

import (
	"sync/atomic"
	"syscall"
	"time"
)

// Shared-memory rings need memfd and /proc/pid/fd (Linux); elsewhere they
// are never offered.
func shmCreate(size int) (int, []byte, error)                 { return -1, nil, syscall.ENOSYS }
func shmOpen(pid, fd, min, max int) ([]byte, error)           { return nil, syscall.ENOSYS }
func shmCloseFD(fd int)                                       {}
func shmUnmap(mem []byte)                                     {}
func shmSupported() bool                                      { return false }
func futexWait(a *atomic.Uint32, val uint32, d time.Duration) { time.Sleep(d) }
func futexWake(a *atomic.Uint32)                              {}
