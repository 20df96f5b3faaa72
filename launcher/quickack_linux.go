package launcher

import (
	"net"
	"syscall"
)

// quickAckConn acknowledges every segment at once instead of after the
// delayed-ACK timer (Linux leaves quick-ACK mode by itself, so it is set
// again after each read). OpenSSH's sshd leaves Nagle's algorithm on for
// sessions without a terminal: after authentication it holds the session
// channel's confirmation until we acknowledge its hostkeys notice, and
// our delayed ACK made that wait 40 ms longer (docs/launch.md).
type quickAckConn struct {
	*net.TCPConn
	raw syscall.RawConn
}

func quickAck(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	raw, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	return quickAckConn{tc, raw}
}

func (c quickAckConn) Read(b []byte) (int, error) {
	n, err := c.TCPConn.Read(b)
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
	})
	return n, err
}
