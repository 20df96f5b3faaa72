//go:build !linux

package comm

import "syscall"

// readRemote is Linux's process_vm_readv; elsewhere single-copy transfers
// are never offered.
func readRemote(pid int, addr uint64, dst []byte) error { return syscall.ENOSYS }
