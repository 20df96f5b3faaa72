package wire

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"unsafe"
)

// Handshake sizes and constants.
const (
	NonceSize  = 32
	JobIDSize  = 16
	MACSize    = sha256.Size
	HelloSize  = 4 + 2 + 2 + JobIDSize + 4 + 4 + NonceSize + 2
	ReplySize  = NonceSize + MACSize
	FinishSize = MACSize + 2 // the dialer's MAC and its stream count
	Version    = 2
)

var magic = [4]byte{'S', 'P', 'M', 'D'}

// Hello is the first message on a connection, sent by the side that dialed.
type Hello struct {
	JobID [JobIDSize]byte
	From  uint32 // dialing rank
	To    uint32 // rank the dialer expects to reach
	Nonce [NonceSize]byte
	// Stream is the connection's index among the ranks' connections: 0
	// for the first (the mesh's), 1.. for the extra streams of a pair
	// far apart (comm/streams.go).
	Stream uint16
}

// nativeOrder is 0x0102 stored in this machine's byte order.
func nativeOrder() [2]byte {
	v := uint16(0x0102)
	return *(*[2]byte)(unsafe.Pointer(&v))
}

// Put encodes h into b (HelloSize bytes). The byte-order mark is written
// in native order so that the peer can compare it with its own.
func (h *Hello) Put(b []byte) {
	_ = b[HelloSize-1]
	copy(b[0:4], magic[:])
	binary.LittleEndian.PutUint16(b[4:], Version)
	bo := nativeOrder()
	b[6], b[7] = bo[0], bo[1]
	copy(b[8:8+JobIDSize], h.JobID[:])
	binary.LittleEndian.PutUint32(b[24:], h.From)
	binary.LittleEndian.PutUint32(b[28:], h.To)
	copy(b[32:32+NonceSize], h.Nonce[:])
	binary.LittleEndian.PutUint16(b[64:], h.Stream)
}

// DecodeHello parses a hello and checks magic, version and byte order.
func DecodeHello(b []byte) (Hello, error) {
	var h Hello
	if len(b) != HelloSize {
		return h, fmt.Errorf("wire: hello of %d bytes, want %d", len(b), HelloSize)
	}
	if [4]byte(b[0:4]) != magic {
		return h, fmt.Errorf("wire: not an spmd connection (magic %q)", b[0:4])
	}
	if v := binary.LittleEndian.Uint16(b[4:]); v != Version {
		return h, fmt.Errorf("wire: protocol version %d, want %d", v, Version)
	}
	if bo := nativeOrder(); b[6] != bo[0] || b[7] != bo[1] {
		return h, fmt.Errorf("wire: peer byte order differs from ours; mixed-endian jobs are not supported")
	}
	copy(h.JobID[:], b[8:8+JobIDSize])
	h.From = binary.LittleEndian.Uint32(b[24:])
	h.To = binary.LittleEndian.Uint32(b[28:])
	copy(h.Nonce[:], b[32:32+NonceSize])
	h.Stream = binary.LittleEndian.Uint16(b[64:])
	return h, nil
}

// Roles that label the two MACs, so neither can be reflected as the other.
const (
	RoleAcceptor = "spmd-v2 acceptor"
	RoleDialer   = "spmd-v2 dialer"
)

// MAC computes HMAC-SHA256 under secret over the role label, the job id,
// both ranks, the connection's stream index, the dialer's stream count
// (0 in the acceptor's MAC, which is sent before the count is known) and
// both nonces.
func MAC(secret []byte, role string, jobID [JobIDSize]byte, from, to uint32, stream, streams uint16, dialerNonce, acceptorNonce [NonceSize]byte) [MACSize]byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(role))
	m.Write(jobID[:])
	var r [12]byte
	binary.LittleEndian.PutUint32(r[0:], from)
	binary.LittleEndian.PutUint32(r[4:], to)
	binary.LittleEndian.PutUint16(r[8:], stream)
	binary.LittleEndian.PutUint16(r[10:], streams)
	m.Write(r[:])
	m.Write(dialerNonce[:])
	m.Write(acceptorNonce[:])
	var out [MACSize]byte
	copy(out[:], m.Sum(nil))
	return out
}
