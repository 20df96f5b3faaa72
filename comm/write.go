package comm

import "net"

// writeChunk is the most one write system call is given. A longer call
// (a 1 MiB copy into the socket takes about 100 us) lets Go's sysmon take
// the processor from the thread in the call and start another; on two
// cores that thread competes with the peer process. Measured with
// examples/pingpong on loopback (medians of 5 runs, this machine): 1 MiB
// 207 -> 149 us, 4 MiB 818 -> 582 us with 256 KiB writes, 256 KiB
// unchanged; 128 KiB writes helped less and slowed 256 KiB messages, and
// capping reads changed nothing.
const writeChunk = 256 << 10

// writeAll writes bufs, in order, as one stream, at most writeChunk bytes
// per system call.
func (p *peer) writeAll(bufs [][]byte) error {
	for len(bufs) > 0 {
		var now [][]byte
		now, bufs = split(bufs, writeChunk)
		nb := net.Buffers(now)
		if _, err := nb.WriteTo(p.conn); err != nil {
			return err
		}
	}
	return nil
}

// split returns the first n bytes of bufs and the rest, sharing their
// memory.
func split(bufs [][]byte, n int) (head, rest [][]byte) {
	for i, b := range bufs {
		if len(b) > n {
			head = append(bufs[:i:i], b[:n])
			rest = append([][]byte{b[n:]}, bufs[i+1:]...)
			return head, rest
		}
		n -= len(b)
	}
	return bufs, nil
}
