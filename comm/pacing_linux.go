package comm

import "syscall"

// soMaxPacingRate is SO_MAX_PACING_RATE from Linux's asm-generic/socket.h.
const soMaxPacingRate = 47

func setMaxPacing(fd int, rate uint32) error {
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soMaxPacingRate, int(int32(rate)))
}

// tcpNotsentLowat is TCP_NOTSENT_LOWAT from Linux's uapi/linux/tcp.h.
const tcpNotsentLowat = 25

// setNotsentLowat sets the connection's limit on bytes written but not
// yet sent; 0 returns it to net.ipv4.tcp_notsent_lowat.
func setNotsentLowat(fd int, bytes int) error {
	return syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, tcpNotsentLowat, bytes)
}
