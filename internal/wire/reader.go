package wire

import (
	"errors"
	"fmt"
	"io"
)

// Reader reads messages frame by frame from a stream and checks that the
// frames form well-made messages: a first frame, continuation frames with
// the same context, tag and total, and lengths that add up to the total.
//
// Use Next to read the start of the next message, then Read (or Discard)
// until the message's payload is consumed. Read may be given the caller's
// own buffer, so large payloads land where they belong without a copy.
type Reader struct {
	r          io.Reader
	maxFrame   uint32
	maxMessage uint64
	hdr        [HeaderSize]byte
	hdrN       int // bytes of hdr read so far; kept across errors

	cur       Header // first header of the current message
	inFrame   uint32 // payload bytes left in the current frame
	left      uint64 // payload bytes left in the current message
	last      bool   // the current frame is the message's last
	inMessage bool
}

// NewReader returns a Reader of r with the given caps.
func NewReader(r io.Reader, maxFrame uint32, maxMessage uint64) *Reader {
	return &Reader{r: r, maxFrame: maxFrame, maxMessage: maxMessage}
}

// ErrBye is returned by Next when the peer sent a bye frame.
var ErrBye = errors.New("wire: bye")

// Next reads the first frame header of the next message. It returns ErrBye
// for a bye frame. The previous message must have been read to its end.
func (r *Reader) Next() (Header, error) {
	if r.inMessage {
		return Header{}, errors.New("wire: Next called before the previous message was read")
	}
	h, err := r.readHeader()
	if err != nil {
		return h, err
	}
	if h.Kind == KindBye {
		return h, ErrBye
	}
	if h.Flags&FlagFirst == 0 {
		return h, fmt.Errorf("%w: continuation frame where a message should start", ErrCorrupt)
	}
	if err := r.begin(h); err != nil {
		return h, err
	}
	r.cur = h
	r.left = h.Total
	r.inMessage = true
	r.maybeEnd()
	return h, nil
}

func (r *Reader) begin(h Header) error {
	last := h.Flags&FlagLast != 0
	rest := r.left
	if h.Flags&FlagFirst != 0 {
		rest = h.Total
	}
	if last && uint64(h.Length) != rest {
		return fmt.Errorf("%w: last frame carries %d bytes, message needs %d", ErrCorrupt, h.Length, rest)
	}
	if !last && (uint64(h.Length) >= rest || h.Length == 0) {
		return fmt.Errorf("%w: frame of %d bytes not last with %d bytes left", ErrCorrupt, h.Length, rest)
	}
	r.inFrame = h.Length
	r.last = last
	return nil
}

// maybeEnd closes the message once every byte has been consumed.
func (r *Reader) maybeEnd() {
	if r.left == 0 && r.inFrame == 0 && r.last {
		r.inMessage = false
	}
}

// readHeader reads a frame header. A read error (a timeout, say) keeps
// the bytes already read, so a later call resumes where this one stopped.
func (r *Reader) readHeader() (Header, error) {
	for r.hdrN < HeaderSize {
		n, err := r.r.Read(r.hdr[r.hdrN:])
		r.hdrN += n
		if r.hdrN == HeaderSize {
			break
		}
		if err != nil {
			if err == io.EOF && r.hdrN > 0 {
				err = io.ErrUnexpectedEOF
			}
			return Header{}, err
		}
	}
	r.hdrN = 0
	return Decode(r.hdr[:], r.maxFrame, r.maxMessage)
}

// Left reports how many payload bytes of the current message are unread.
func (r *Reader) Left() uint64 { return r.left }

// Read reads payload of the current message into p. It returns io.EOF once
// the message's payload has been read entirely. Short reads happen, as with
// any io.Reader; errors of the underlying stream are returned as they are,
// and a Read after a timeout error continues where it stopped.
func (r *Reader) Read(p []byte) (int, error) {
	if !r.inMessage {
		return 0, io.EOF
	}
	for r.inFrame == 0 {
		if r.last {
			r.maybeEnd()
			return 0, io.EOF
		}
		h, err := r.readHeader()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if h.Kind != KindData || h.Flags&FlagFirst != 0 || h.Context != r.cur.Context || h.Tag != r.cur.Tag || h.Total != r.cur.Total {
			return 0, fmt.Errorf("%w: frame does not continue the message in progress", ErrCorrupt)
		}
		if err := r.begin(h); err != nil {
			return 0, err
		}
	}
	if uint64(len(p)) > uint64(r.inFrame) {
		p = p[:r.inFrame]
	}
	n, err := r.r.Read(p)
	r.inFrame -= uint32(n)
	r.left -= uint64(n)
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	r.maybeEnd()
	return n, err
}

// ReadFull fills p with payload of the current message.
func (r *Reader) ReadFull(p []byte) error {
	for len(p) > 0 {
		n, err := r.Read(p)
		p = p[n:]
		if err != nil {
			if err == io.EOF && len(p) > 0 {
				return io.ErrUnexpectedEOF
			}
			if len(p) > 0 || err != io.EOF {
				return err
			}
		}
	}
	// Consume the trailing frame headers of an exhausted message so that
	// the stream is positioned at the next message.
	if r.inMessage && r.left == 0 {
		var none [0]byte
		if _, err := r.Read(none[:]); err != nil && err != io.EOF {
			return err
		}
	}
	return nil
}

// Discard reads and drops the rest of the current message's payload.
func (r *Reader) Discard(scratch []byte) error {
	for r.inMessage {
		_, err := r.Read(scratch)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return nil
}
