//go:build linux

package lab

import (
	"fmt"
	"os"
	"syscall"
	"unsafe"
)

const (
	iffTUN        = 0x0001
	iffNoPI       = 0x1000
	iffVnetHdr    = 0x4000
	tunSetIff     = 0x400454ca // _IOW('T', 202, int)
	tunSetOffload = 0x400454d0 // _IOW('T', 208, unsigned int)
	tunFCsum      = 0x01
	tunFTSO4      = 0x02
	tunFTSO6      = 0x04

	// VnetHdrLen is the size of the virtio_net_hdr before each packet
	// on a TUN device opened with offloads.
	VnetHdrLen = 10
)

// OpenTUN attaches to the TUN device name in the calling process's network
// namespace (creating it if it does not exist), without packet
// information headers: each Read returns one IP packet and each Write
// sends one. The file is non-blocking underneath and goes through Go's
// poller, so Close ends a blocked Read.
//
// With offload, the device takes and gives TCP segmentation offload
// (GSO) packets of up to 64 KiB, each after a virtio_net_hdr of
// VnetHdrLen bytes that the reader passes back unchanged: the kernel
// then forwards a whole TCP burst as one packet, which cuts the
// emulator's per-packet cost several times over.
func OpenTUN(name string, offload bool) (*os.File, error) {
	if len(name) >= syscall.IFNAMSIZ {
		return nil, fmt.Errorf("lab: TUN name %q: longer than %d bytes", name, syscall.IFNAMSIZ-1)
	}
	fd, err := syscall.Open("/dev/net/tun", syscall.O_RDWR|syscall.O_CLOEXEC|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("lab: open /dev/net/tun: %w (is the tun module there, and are we root?)", err)
	}
	var ifr [40]byte // struct ifreq: name, then a short of flags
	copy(ifr[:], name)
	flags := uint16(iffTUN | iffNoPI)
	if offload {
		flags |= iffVnetHdr
	}
	*(*uint16)(unsafe.Pointer(&ifr[syscall.IFNAMSIZ])) = flags
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tunSetIff, uintptr(unsafe.Pointer(&ifr[0]))); errno != 0 {
		syscall.Close(fd)
		return nil, fmt.Errorf("lab: attach to TUN device %s: %w", name, errno)
	}
	if offload {
		if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), tunSetOffload, tunFCsum|tunFTSO4|tunFTSO6); errno != 0 {
			syscall.Close(fd)
			return nil, fmt.Errorf("lab: offloads on TUN device %s: %w", name, errno)
		}
	}
	return os.NewFile(uintptr(fd), "/dev/net/tun:"+name), nil
}
