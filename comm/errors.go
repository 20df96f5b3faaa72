package comm

import (
	"errors"
	"fmt"
)

// Sentinel errors.
var (
	// ErrClosed is returned by operations on a closed communicator.
	ErrClosed = errors.New("comm: closed")
	// ErrPeerClosed is wrapped in a PeerError when the peer ended its part
	// of the job (called Close) and so will send or receive nothing more.
	ErrPeerClosed = errors.New("comm: peer closed its end")
	// ErrTruncated is returned when a message is longer than the receive buffer.
	ErrTruncated = errors.New("comm: message truncated")
	// ErrAborted is wrapped in an AbortError when a rank called Abort.
	ErrAborted = errors.New("comm: job aborted")
	// ErrHandshake is wrapped by every failed connection handshake.
	ErrHandshake = errors.New("comm: handshake failed")
)

// PeerError reports an operation that failed because of one peer: its
// connection was lost, refused, or the peer closed its end.
type PeerError struct {
	Op   string // "send", "recv", "connect", "probe"
	Rank int    // the peer's rank in the world communicator
	Addr string // the peer's mesh address
	Err  error
}

func (e *PeerError) Error() string {
	return fmt.Sprintf("comm: %s rank %d (%s): %v", e.Op, e.Rank, e.Addr, e.Err)
}

func (e *PeerError) Unwrap() error { return e.Err }

// AbortError reports that a rank called Abort.
type AbortError struct {
	Rank int // world rank that called Abort
	Code int
}

func (e *AbortError) Error() string {
	return fmt.Sprintf("comm: rank %d aborted the job with code %d", e.Rank, e.Code)
}

func (e *AbortError) Unwrap() error { return ErrAborted }

// withOp returns a copy of a PeerError with another Op, or err unchanged.
func withOp(err error, op string) error {
	var pe *PeerError
	if errors.As(err, &pe) && pe.Op != op {
		c := *pe
		c.Op = op
		return &c
	}
	return err
}
