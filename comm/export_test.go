package comm

import (
	"context"
	"net"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Crash drops every connection of c's process without a goodbye, as a
// killed process would.
func Crash(c *Comm) {
	for _, p := range c.w.peers {
		if p != nil {
			p.conn.SetLinger(0)
			p.conn.Close()
		}
	}
}

// MaxPacingOf reads back the pacing cap of c's connection to rank r.
func MaxPacingOf(c *Comm, r int) (int, error) {
	return sockoptInt(c, r, soMaxPacingRate)
}

// sockoptInt reads a SOL_SOCKET option of c's connection to rank r.
func sockoptInt(c *Comm, r, opt int) (v int, err error) {
	err = connFD(c, r, func(fd int) error {
		v, err = syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, opt)
		return err
	})
	return v, err
}

// BytesAcked is how many bytes the kernel reports acknowledged on c's
// connection to rank r (TCP_INFO), headers and frames included.
func BytesAcked(c *Comm, r int) (uint64, error) {
	info, err := tcpInfo(c, r)
	if err != nil {
		return 0, err
	}
	return info.Bytes_acked, nil
}

// BytesAckedSettled is BytesAcked once everything sent so far on the
// connection has been acknowledged (waiting up to 5 s), so that a count
// taken before and after an operation is not moved by an earlier send's
// late acknowledgement.
func BytesAckedSettled(c *Comm, r int) (uint64, error) {
	deadline := time.Now().Add(5 * time.Second)
	for {
		info, err := tcpInfo(c, r)
		if err != nil {
			return 0, err
		}
		if info.Bytes_acked >= info.Bytes_sent || time.Now().After(deadline) {
			return info.Bytes_acked, nil
		}
		time.Sleep(time.Millisecond)
	}
}

func tcpInfo(c *Comm, r int) (*unix.TCPInfo, error) {
	return connTCPInfo(c.w.peers[c.group[r]].conn)
}

// connTCPInfo is the kernel's TCP_INFO of conn.
func connTCPInfo(conn *net.TCPConn) (*unix.TCPInfo, error) {
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	var info *unix.TCPInfo
	var gerr error
	if err := raw.Control(func(fd uintptr) { info, gerr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO) }); err != nil {
		return nil, err
	}
	return info, gerr
}

// HoldStats reports how many held messages of c's process were read
// straight into a later receive, into a buffer after all, and of those
// how many because they had been held for holdMax.
func HoldStats(c *Comm) (direct, buffered, expired int64) {
	s := &c.w.holdStats
	return s.direct.Load(), s.buffered.Load(), s.expired.Load()
}

// SetHoldMax changes how long a message may be held and returns a
// function that restores it.
func SetHoldMax(d time.Duration) func() {
	old := holdMax.Swap(int64(d))
	return func() { holdMax.Store(old) }
}

// LocalTapped is Local with tap called once, before any rank connects,
// with the table of every rank's address, which it may change (to put a
// proxy in front of a rank).
func LocalTapped(ctx context.Context, n int, cfg Config, tap func(addrs []string)) ([]*Comm, error) {
	var once sync.Once
	return localGated(ctx, n, cfg, func(_ int, addrs []string) {
		once.Do(func() { tap(addrs) })
	})
}

// Heartbeat reads back the keepalive idle time and the user timeout of
// c's connection to rank r.
func Heartbeat(c *Comm, r int) (idle, user time.Duration, err error) {
	raw, err := c.w.peers[c.group[r]].conn.SyscallConn()
	if err != nil {
		return 0, 0, err
	}
	var gerr error
	var i, u int
	if err := raw.Control(func(fd uintptr) {
		i, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_KEEPIDLE)
		if gerr == nil {
			u, gerr = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, unix.TCP_USER_TIMEOUT)
		}
	}); err != nil {
		return 0, 0, err
	}
	return time.Duration(i) * time.Second, time.Duration(u) * time.Millisecond, gerr
}

// SendBufferOf reads back SO_SNDBUF of c's connection to rank r.
func SendBufferOf(c *Comm, r int) (int, error) {
	return sockoptInt(c, r, syscall.SO_SNDBUF)
}

const LocalSendBuffer = localSendBuffer

// LoseDoorbell waits (up to 10 s) until c reads a ring from rank r and
// its reader goroutine has parked for a doorbell, then makes rank r's
// next doorbell to c be lost: from is rank r's Comm. False when that
// never happened.
func LoseDoorbell(c, from *Comm, r int) bool {
	p := c.w.peers[c.group[r]]
	for end := time.Now().Add(10 * time.Second); p.ringIn.Load() == nil || !p.br.src.peeking.Load(); {
		if time.Now().After(end) {
			return false
		}
		time.Sleep(time.Millisecond)
	}
	from.w.peers[c.w.rank].bellsLost.Store(1)
	return true
}

// WritesWaiting reports how many of c's writes to rank r wait for it to
// read (a full socket or ring).
func WritesWaiting(c *Comm, r int) int32 { return c.w.peers[c.group[r]].writeWaits.Load() }

// RingRescues reports how often c's ring watchdog read a ring nobody woke for.
func RingRescues(c *Comm) int64 { return c.w.ringRescues.Load() }

// oneStream is a dialHandshake's stream count for tests: one connection.
func oneStream(time.Duration) int { return 1 }

// StreamBytesAcked is BytesAcked of stream k of the connections to c's
// rank r, as the kernel counts it.
func StreamBytesAcked(c *Comm, r, k int) (uint64, error) {
	info, err := connTCPInfo(c.w.peers[c.group[r]].conns()[k].conn)
	if err != nil {
		return 0, err
	}
	return info.Bytes_acked, nil
}

// ResetStream ends stream k of the connections to c's rank r with a
// reset, as a middlebox that drops one flow would.
func ResetStream(c *Comm, r, k int) error {
	conn := c.w.peers[c.group[r]].conns()[k].conn
	if err := conn.SetLinger(0); err != nil {
		return err
	}
	return conn.Close()
}

// Holding reports whether the reader of c's rank r holds a message
// (hold.go).
func Holding(c *Comm, r int) bool {
	for _, p := range c.w.peers[c.group[r]].conns() {
		if p.holding.Load() {
			return true
		}
	}
	return false
}

// connFD runs f with the descriptor of c's connection to rank r.
func connFD(c *Comm, r int, f func(fd int) error) error {
	raw, err := c.w.peers[c.group[r]].conn.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := raw.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// Congestion is the congestion control of c's connection to rank r.
func Congestion(c *Comm, r int) (name string, err error) {
	err = connFD(c, r, func(fd int) error {
		name, err = unix.GetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION)
		return err
	})
	return name, err
}

// SetCongestion sets the congestion control of c's connection to rank r.
func SetCongestion(c *Comm, r int, name string) error {
	return connFD(c, r, func(fd int) error {
		return unix.SetsockoptString(fd, unix.IPPROTO_TCP, unix.TCP_CONGESTION, name)
	})
}

// BBRBandwidth is BBR's bandwidth estimate, in bytes per second, on c's
// connection to rank r (TCP_CC_INFO), which must run BBR.
func BBRBandwidth(c *Comm, r int) (uint64, error) {
	var info unix.TCPBBRInfo
	err := connFD(c, r, func(fd int) error {
		n := uint32(unsafe.Sizeof(info))
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.IPPROTO_TCP, unix.TCP_CC_INFO,
			uintptr(unsafe.Pointer(&info)), uintptr(unsafe.Pointer(&n)), 0)
		if e != 0 {
			return e
		}
		return nil
	})
	return uint64(info.Bw_hi)<<32 | uint64(info.Bw_lo), err
}

// TrafficClassOf reads the traffic-class byte (IP_TOS) of c's
// connection to rank r, an IPv4 connection, without its ECN bits.
func TrafficClassOf(c *Comm, r int) (v int, err error) {
	err = connFD(c, r, func(fd int) error {
		v, err = syscall.GetsockoptInt(fd, syscall.IPPROTO_IP, syscall.IP_TOS)
		return err
	})
	return v &^ 3, err
}
