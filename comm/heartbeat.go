package comm

import (
	"net"
	"time"
)

// Heartbeats. A peer cut off without a word (its host lost power, a
// region partitioned, a firewall dropping packets) sends no FIN or RST,
// and TCP alone would notice only after about fifteen minutes of
// retransmissions, or never for an idle connection. So every mesh
// connection has the kernel probe its peer: after Heartbeat/4 without a
// segment from the peer, a keepalive probe every Heartbeat/8; and
// TCP_USER_TIMEOUT makes the kernel drop the connection once sent data
// (or, for an idle connection, probes) have gone unacknowledged for
// Heartbeat. The reader then sees ETIMEDOUT and the peer is lost as for
// any broken connection: every pending operation with it fails.
//
// The peer's kernel answers the probes, so a rank busy computing is not
// mistaken for a dead one (its reader goroutine keeps reading). A slow
// link is not silent: its acknowledgements keep coming. But data that
// waits on a zero window for Heartbeat does end the connection, probes
// answered or not (measured on Linux 6.18; docs/failure.md): a peer
// stopped in a debugger with data queued for it is lost. comm's readers
// hold a message in the socket for at most holdMax, so a running peer's
// window does not stay shut.

// setHeartbeat turns on the probing of conn's peer; d <= 0 leaves the
// kernel's defaults.
func setHeartbeat(conn *net.TCPConn, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	idle := max(d/4, time.Second)
	intvl := max(d/8, 250*time.Millisecond)
	if err := conn.SetKeepAliveConfig(net.KeepAliveConfig{
		Enable:   true,
		Idle:     idle,
		Interval: intvl,
		Count:    int(max((d-idle)/intvl, 1)) + 1,
	}); err != nil {
		return err
	}
	return sockopt(conn, func(fd int) error { return setUserTimeout(fd, d) })
}
