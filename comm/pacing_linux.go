package comm

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// soMaxPacingRate is SO_MAX_PACING_RATE from Linux's asm-generic/socket.h.
const soMaxPacingRate = 47

func setMaxPacing(fd int, rate uint32) error {
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soMaxPacingRate, int(int32(rate)))
}

// restartCongestion switches the socket's congestion control to another
// algorithm and back, which makes Linux initialise it afresh. It leaves
// the socket as it is unless both switches are allowed: without
// CAP_NET_ADMIN only the algorithms in
// net.ipv4.tcp_allowed_congestion_control may be set, and a socket left
// on reno would be worse off than one that kept its estimate.
func restartCongestion(fd int) error {
	name, err := unix.GetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION)
	if err != nil {
		return err
	}
	other := "reno"
	if name == other {
		other = "cubic"
	}
	if os.Geteuid() != 0 {
		allowed, err := os.ReadFile("/proc/sys/net/ipv4/tcp_allowed_congestion_control")
		if err != nil {
			return err
		}
		list := strings.Fields(string(allowed))
		if !slices.Contains(list, name) || !slices.Contains(list, other) {
			return fmt.Errorf("congestion control %s or %s not in net.ipv4.tcp_allowed_congestion_control (%s)", name, other, strings.Join(list, " "))
		}
	}
	if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, other); err != nil {
		return err
	}
	if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, name); err != nil {
		return fmt.Errorf("back to %s (the connection now runs %s): %w", name, other, err)
	}
	return nil
}
