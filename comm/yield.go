package comm

import "net"

// dscpLE is the lower-effort code point (RFC 8622, DSCP 1) in the IP
// header's traffic-class byte: the six DSCP bits above the two ECN bits.
const dscpLE = 1 << 2

// WANFirst reports Config.WANFirst: whether this job's hosts send other
// packets before those marked lower-effort (see SetYield).
func (c *Comm) WANFirst() bool { return c.w.cfg.WANFirst }

// SetYield marks every connection to c's rank r lower-effort (DSCP LE,
// RFC 8622) when yield is set, and unmarked again when it is not. A
// host whose egress queue serves marked packets after the others
// (Config.WANFirst; docs/walkthrough.md, "Tuning") then sends them only
// when nothing else waits: package collectives marks a rank's
// connections inside its region for the length of a call in which the
// WAN sends should go first. The mark is in every packet of the
// connection (the peer's acknowledgements keep their own), so routers
// on the way may read it too; elsewhere it changes nothing. This rank
// itself is left alone; on systems without the option nothing happens.
// It returns the error of the socket option, if any.
func (c *Comm) SetYield(r int, yield bool) error {
	p := c.remotePeer(r, "SetYield")
	if p == nil {
		return nil
	}
	tc := 0
	if yield {
		tc = dscpLE
	}
	return p.sockoptEach(func(conn *net.TCPConn, fd int) error {
		// IP_TOS also marks an IPv6 socket's IPv4-mapped traffic.
		a, _ := conn.LocalAddr().(*net.TCPAddr)
		return setTrafficClass(fd, a != nil && a.IP.To4() == nil, tc)
	})
}
