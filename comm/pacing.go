package comm

import (
	"net"
)

// SetMaxPacing caps the rate at which this rank sends to c's rank r at
// bytesPerSec (0 or less removes the cap), through the kernel's pacing of
// the connection (SO_MAX_PACING_RATE; on systems without it, nothing
// happens). Algorithms that send to many ranks at once use it so that
// their streams together do not overrun the host's link: on a policed
// link (a VPS plan) the excess is dropped, and every drop costs a WAN
// round trip. With several streams to r (Streams) each gets the cap, so
// that messages that all take one stream are not slowed, and lifting it
// returns them to their share of the pair's rate. It returns the error
// of the socket option, if any.
func (c *Comm) SetMaxPacing(r int, bytesPerSec float64) error {
	p := c.remotePeer(r, "SetMaxPacing")
	if p == nil {
		return nil
	}
	// Each of the pair's streams gets the cap (a caller's messages to one
	// rank may all take one stream); without one they go back to their
	// share of the pair's rate (streams.go).
	rate := bytesPerSec
	if bytesPerSec <= 0 && p.group != nil {
		rate = p.group.pace
	}
	for _, s := range p.conns() {
		if err := s.setPacing(rate); err != nil {
			return err
		}
	}
	return nil
}

// remotePeer returns the connection to c's rank r (op names the caller
// in the panic for a rank out of range), or nil for this rank itself
// and a rank it has no connection to.
func (c *Comm) remotePeer(r int, op string) *peer {
	c.checkRank(r, op)
	wr := c.group[r]
	if wr == c.w.rank {
		return nil
	}
	return c.w.peers[wr]
}

// RestartCongestion makes each connection to c's rank r forget what its
// congestion control has learnt of the path (BBR's bandwidth estimate
// and mode, CUBIC's growth curve), as a new connection would, but keep
// its window. Linux starts an algorithm afresh when a socket changes to
// it (TCP_CONGESTION), so this changes to reno and back (to cubic and
// back on a connection that runs reno); both are allowed to every user
// by default (net.ipv4.tcp_allowed_congestion_control). A rank of this
// host or this rank itself is left as it is; on systems without the
// option nothing happens. It returns the error of the socket option, if
// any.
//
// Why: BBR paces at the bandwidth it has seen, and raises its estimate
// by a quarter at most once per eight round trips. A connection that
// shared its host's link with others in one collective keeps that share
// into the next one, in which it may have the link to itself.
func (c *Comm) RestartCongestion(r int) error {
	p := c.remotePeer(r, "RestartCongestion")
	if p == nil {
		return nil
	}
	return p.sockoptEach(func(_ *net.TCPConn, fd int) error { return restartCongestion(fd) })
}

// sockoptEach calls set with each of p's connections (its streams too)
// and its descriptor, and returns the first error.
func (p *peer) sockoptEach(set func(conn *net.TCPConn, fd int) error) error {
	for _, s := range p.conns() {
		if s.conn == nil {
			continue
		}
		if err := sockopt(s.conn, func(fd int) error { return set(s.conn, fd) }); err != nil {
			return err
		}
	}
	return nil
}

// sockopt calls set with conn's descriptor and returns its error, or the
// error of reaching the descriptor.
func sockopt(conn *net.TCPConn, set func(fd int) error) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) { serr = set(int(fd)) }); err != nil {
		return err
	}
	return serr
}
