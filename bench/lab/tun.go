//go:build linux

package lab

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

const (
	iffTUN    = 0x0001
	iffNoPI   = 0x1000
	tunSetIff = 0x400454ca // _IOW('T', 202, int)
)

// OpenTUN attaches to the TUN device name in the calling process's network
// namespace (creating it if it does not exist), without packet
// information headers: each Read returns one IP packet and each Write
// sends one. The file is non-blocking underneath and goes through Go's
// poller, so Close ends a blocked Read.
func OpenTUN(name string) (*os.File, error) {
	if len(name) >= syscall.IFNAMSIZ {
		return nil, fmt.Errorf("lab: TUN name %q: longer than %d bytes", name, syscall.IFNAMSIZ-1)
	}
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("lab: open /dev/net/tun: %w (is the tun module there, and are we root?)", err)
	}
	var ifr [40]byte // struct ifreq: name, then a short of flags
	copy(ifr[:], name)
	*(*uint16)(unsafe.Pointer(&ifr[syscall.IFNAMSIZ])) = iffTUN | iffNoPI
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tunSetIff, uintptr(unsafe.Pointer(&ifr[0]))); errno != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("lab: attach to TUN device %s: %w", name, errno)
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}
