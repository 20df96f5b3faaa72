package topology

import (
	"math"
	"time"
)

// MaxStreams caps Streams: past eight flows a pair of hosts gains little
// (the link, not the window, is then the limit) and every flow costs a
// socket, a reader goroutine and a handshake at start.
const MaxStreams = 8

// Streams returns how many TCP connections one pair of ranks needs so
// that together they can fill a link of bw bytes per second across a
// round trip of rtt, when one connection can keep at most window bytes
// in flight (the kernel's cap on a socket's buffers; see Window). One
// connection moves at most window bytes per round trip, so it takes
// ceil(bw rtt / window) of them; at least 1 and at most MaxStreams.
//
// On the default Linux buffers (tcp_rmem 6 MiB, tcp_wmem 4 MiB: a 2 MiB
// window) a 100 Mbit/s link needs one flow up to a 167 ms round trip and
// two beyond; 1 Gbit/s across 180 ms needs eight (capped; it would take
// eleven).
func Streams(bw float64, rtt time.Duration, window int) int {
	if bw <= 0 || rtt <= 0 || window <= 0 {
		return 1
	}
	bdp := bw * rtt.Seconds()
	s := int(math.Ceil(bdp / float64(window)))
	return min(max(s, 1), MaxStreams)
}

// Window is the most one TCP connection keeps in flight when the kernel
// autotunes its buffers up to rmem bytes on the receiving side and wmem
// on the sending side (net.ipv4.tcp_rmem and tcp_wmem's maxima): the
// kernel counts each packet's buffer overhead against those caps, so
// about half of each holds data.
func Window(rmem, wmem int) int {
	if rmem <= 0 || wmem <= 0 {
		return max(rmem, wmem) / 2
	}
	return min(rmem, wmem) / 2
}
