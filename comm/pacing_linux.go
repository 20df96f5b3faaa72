package comm

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
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
	if list, free := allowedCongestion(); !free && (!slices.Contains(list, name) || !slices.Contains(list, other)) {
		return fmt.Errorf("congestion control %s or %s not in net.ipv4.tcp_allowed_congestion_control (%s)", name, other, strings.Join(list, " "))
	}
	if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, other); err != nil {
		return err
	}
	if err := unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, name); err != nil {
		return fmt.Errorf("back to %s (the connection now runs %s): %w", name, other, err)
	}
	return nil
}

// allowedCongestion returns the congestion controls this process may set
// (net.ipv4.tcp_allowed_congestion_control), read once, and whether it
// may set any (root). Collectives restart connections on every large
// call; the list changes only when an administrator changes it.
var allowedCongestion = sync.OnceValues(func() ([]string, bool) {
	if os.Geteuid() == 0 {
		return nil, true
	}
	b, err := os.ReadFile("/proc/sys/net/ipv4/tcp_allowed_congestion_control")
	if err != nil {
		return nil, false // nothing known to be allowed: leave sockets alone
	}
	return strings.Fields(string(b)), false
})

// setTrafficClass sets the traffic-class byte of the socket's packets
// (IP_TOS, or IPV6_TCLASS for IPv6): DSCP in its upper six bits. For
// TCP, Linux keeps the ECN bits its congestion control set.
func setTrafficClass(fd int, v6 bool, tc int) error {
	if v6 {
		return unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_TCLASS, tc)
	}
	return unix.SetsockoptInt(fd, unix.IPPROTO_IP, unix.IP_TOS, tc)
}
