package comm

import "syscall"

// soMaxPacingRate is SO_MAX_PACING_RATE from Linux's asm-generic/socket.h.
const soMaxPacingRate = 47

func setMaxPacing(fd int, rate uint32) error {
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soMaxPacingRate, int(int32(rate)))
}
