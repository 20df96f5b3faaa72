package comm

import (
	"crypto/hmac"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spmd-go/spmd/internal/wire"
)

// The handshake, on every mesh connection, before any frame is read:
//
//	dialer -> acceptor  hello: magic, version, byte order, job id, from, to, stream k, nonce D
//	acceptor -> dialer  nonce A, HMAC(secret, "acceptor", job, from, to, k, 0, D, A)
//	dialer -> acceptor  HMAC(secret, "dialer", job, from, to, k, S, D, A), S
//	acceptor -> dialer  one byte: 1 accepted
//
// k is the connection's index among the pair's streams (0 for the mesh's
// own connection) and S how many the dialer opens to this acceptor
// (streams.go): it chooses S from the round trip this very handshake
// timed, so S comes with its proof.
//
// The dialer does not wait for the last byte: having checked the
// acceptor's MAC, it may send frames right after its proof, and reads the
// verdict before the first frame (one round trip less for every
// connection; across an ocean that is the longest step of Init).
//
// Both sides prove knowledge of the secret over fresh nonces of both, so a
// recorded handshake cannot be replayed and neither MAC can be reflected.
// The whole exchange runs under a deadline. Each side also times one round
// trip (dialer: hello to reply; acceptor: reply to proof), the first
// measurement of the link, from which regions can be inferred.

const handshakeOK = 1

// session is what a successful handshake leaves: the round trip it timed
// and both nonces, from which an encrypted connection's keys are derived
// (crypt.go).
type session struct {
	rtt     time.Duration
	dn, an  [wire.NonceSize]byte // the dialer's and the acceptor's nonce
	stream  int                  // the connection's index among its pair's streams
	streams int                  // how many streams the dialer opens to the acceptor
}

// dialHandshake authenticates conn, stream k of the connections from
// rank from to rank to; streams gives, from the round trip the hello
// timed, how many streams the dialer opens to to (1: none beyond this).
func dialHandshake(conn net.Conn, secret []byte, jobID [wire.JobIDSize]byte, from, to, stream int, streams func(rtt time.Duration) int, timeout time.Duration) (session, error) {
	var no session
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return no, err
	}
	defer conn.SetDeadline(time.Time{})
	h := wire.Hello{JobID: jobID, From: uint32(from), To: uint32(to), Stream: uint16(stream)}
	if _, err := rand.Read(h.Nonce[:]); err != nil {
		return no, err
	}
	var hello [wire.HelloSize]byte
	h.Put(hello[:])
	sent := time.Now()
	if _, err := conn.Write(hello[:]); err != nil {
		return no, fmt.Errorf("%w: sending hello: %v", ErrHandshake, err)
	}
	var reply [wire.ReplySize]byte
	if _, err := io.ReadFull(conn, reply[:]); err != nil {
		return no, fmt.Errorf("%w: the peer closed the connection during authentication (wrong job or secret?): %w", ErrHandshake, &hungUp{err})
	}
	rtt := time.Since(sent)
	var an [wire.NonceSize]byte
	copy(an[:], reply[:wire.NonceSize])
	want := wire.MAC(secret, wire.RoleAcceptor, jobID, h.From, h.To, h.Stream, 0, h.Nonce, an)
	if !hmac.Equal(want[:], reply[wire.NonceSize:]) {
		return no, fmt.Errorf("%w: the peer could not prove it knows the job secret", ErrHandshake)
	}
	s := min(max(streams(rtt), stream+1), maxStreams)
	mine := wire.MAC(secret, wire.RoleDialer, jobID, h.From, h.To, h.Stream, uint16(s), h.Nonce, an)
	var fin [wire.FinishSize]byte
	copy(fin[:], mine[:])
	binary.LittleEndian.PutUint16(fin[wire.MACSize:], uint16(s))
	if _, err := conn.Write(fin[:]); err != nil {
		return no, fmt.Errorf("%w: sending proof: %v", ErrHandshake, err)
	}
	// The acceptor has proved itself: frames may follow the proof at once,
	// without waiting a round trip for its verdict, which the connection's
	// reader takes as the first byte (errRejected if it is not "accepted").
	return session{rtt: rtt, dn: h.Nonce, an: an, stream: stream, streams: s}, nil
}

// hungUp is a dialer's handshake ended by the acceptor before it answered
// the hello: it sheds its oldest pending handshakes when flooded (see
// acceptLoop), so the dialer tries again while the mesh may still form.
type hungUp struct{ err error }

func (e *hungUp) Error() string { return e.err.Error() }
func (e *hungUp) Unwrap() error { return e.err }

// errRejected is how a dialer learns, from its connection's first byte,
// that the acceptor refused its proof.
var errRejected = fmt.Errorf("%w: the peer rejected our proof (different job secret?)", ErrHandshake)

// acceptHandshake authenticates a connection accepted by rank self of a
// world of size ranks and returns the dialer's rank and the round trip
// it timed, with the nonces.
func acceptHandshake(conn net.Conn, secret []byte, jobID [wire.JobIDSize]byte, self, size int, timeout time.Duration) (int, session, error) {
	var no session
	if err := conn.SetDeadline(time.Now().Add(timeout)); err != nil {
		return -1, no, err
	}
	defer conn.SetDeadline(time.Time{})
	var hb [wire.HelloSize]byte
	if _, err := io.ReadFull(conn, hb[:]); err != nil {
		return -1, no, fmt.Errorf("%w: reading hello: %v", ErrHandshake, err)
	}
	h, err := wire.DecodeHello(hb[:])
	if err != nil {
		return -1, no, fmt.Errorf("%w: %v", ErrHandshake, err)
	}
	if h.JobID != jobID {
		return -1, no, fmt.Errorf("%w: hello for another job", ErrHandshake)
	}
	if int(h.To) != self || int(h.From) < 0 || int(h.From) >= size || int(h.From) == self {
		return -1, no, fmt.Errorf("%w: hello from rank %d to rank %d, but this is rank %d of %d", ErrHandshake, h.From, h.To, self, size)
	}
	if int(h.Stream) >= maxStreams {
		return -1, no, fmt.Errorf("%w: hello from rank %d for stream %d; at most %d streams per pair", ErrHandshake, h.From, h.Stream, maxStreams)
	}
	var an [wire.NonceSize]byte
	if _, err := rand.Read(an[:]); err != nil {
		return -1, no, err
	}
	mac := wire.MAC(secret, wire.RoleAcceptor, jobID, h.From, h.To, h.Stream, 0, h.Nonce, an)
	var reply [wire.ReplySize]byte
	copy(reply[:], an[:])
	copy(reply[wire.NonceSize:], mac[:])
	sent := time.Now()
	if _, err := conn.Write(reply[:]); err != nil {
		return -1, no, fmt.Errorf("%w: sending challenge: %v", ErrHandshake, err)
	}
	var fin [wire.FinishSize]byte
	if _, err := io.ReadFull(conn, fin[:]); err != nil {
		return -1, no, fmt.Errorf("%w: claimed rank %d gave no proof that it knows the job secret (it may have rejected ours): %v", ErrHandshake, h.From, err)
	}
	rtt := time.Since(sent)
	streams := binary.LittleEndian.Uint16(fin[wire.MACSize:])
	want := wire.MAC(secret, wire.RoleDialer, jobID, h.From, h.To, h.Stream, streams, h.Nonce, an)
	if !hmac.Equal(want[:], fin[:wire.MACSize]) {
		return -1, no, fmt.Errorf("%w: claimed rank %d does not know the job secret", ErrHandshake, h.From)
	}
	if streams == 0 || int(streams) > maxStreams || h.Stream >= streams {
		return -1, no, fmt.Errorf("%w: rank %d announced stream %d of %d; want 1 to %d streams", ErrHandshake, h.From, h.Stream, streams, maxStreams)
	}
	if _, err := conn.Write([]byte{handshakeOK}); err != nil {
		return -1, no, fmt.Errorf("%w: sending acceptance: %v", ErrHandshake, err)
	}
	return int(h.From), session{rtt: rtt, dn: h.Nonce, an: an, stream: int(h.Stream), streams: int(streams)}, nil
}
