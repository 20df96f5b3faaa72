package comm

import (
	"syscall"

	"golang.org/x/sys/unix"
)

// soMaxPacingRate is SO_MAX_PACING_RATE from Linux's asm-generic/socket.h.
const soMaxPacingRate = 47

func setMaxPacing(fd int, rate uint32) error {
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soMaxPacingRate, int(int32(rate)))
}

// restartCongestion switches the socket's congestion control to another
// algorithm and back, which makes Linux initialise it afresh.
func restartCongestion(fd int) error {
	name, err := unix.GetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION)
	if err != nil {
		return err
	}
	other := "reno"
	if name == other {
		other = "cubic"
	}
	if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, other); err != nil {
		return err
	}
	return unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, name)
}
