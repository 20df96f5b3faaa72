package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame kinds.
const (
	KindData byte = 1 // a frame of a point-to-point message
	KindBye  byte = 2 // the sender will send nothing more on this connection
)

// Frame flags.
const (
	FlagFirst byte = 1 << 0
	FlagLast  byte = 1 << 1
	// FlagCompressed, on the first frame of a message: its payload is the
	// uncompressed length (8 bytes) and a zstd frame (comm/compress.go).
	FlagCompressed byte = 1 << 2
	// FlagRemote, on a one-frame message: its payload is a descriptor
	// (address and length in the sender's memory) of a message the
	// receiver copies itself (comm/remote.go).
	FlagRemote byte = 1 << 3
)

// HeaderSize is the size in bytes of a frame header.
const HeaderSize = 24

// DefaultMaxFrame is the payload cap of one frame used by default.
const DefaultMaxFrame = 1 << 20

// Header is one decoded frame header.
type Header struct {
	Kind    byte
	Flags   byte
	Context uint32
	Tag     int32
	Length  uint32 // payload bytes in this frame
	Total   uint64 // payload bytes in the whole message
}

// ErrCorrupt is wrapped by every error about a malformed frame.
var ErrCorrupt = errors.New("wire: corrupt frame")

// Put writes h into b, which must hold HeaderSize bytes.
func (h *Header) Put(b []byte) {
	_ = b[HeaderSize-1]
	b[0] = h.Kind
	b[1] = h.Flags
	b[2], b[3] = 0, 0
	binary.LittleEndian.PutUint32(b[4:], h.Context)
	binary.LittleEndian.PutUint32(b[8:], uint32(h.Tag))
	binary.LittleEndian.PutUint32(b[12:], h.Length)
	binary.LittleEndian.PutUint64(b[16:], h.Total)
}

// Decode parses a frame header from b (HeaderSize bytes) and checks it
// against maxFrame (payload cap of one frame) and maxMessage (cap on the
// whole message). It does not look at message sequencing; Reader does.
func Decode(b []byte, maxFrame uint32, maxMessage uint64) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("%w: short header (%d bytes)", ErrCorrupt, len(b))
	}
	h := Header{
		Kind:    b[0],
		Flags:   b[1],
		Context: binary.LittleEndian.Uint32(b[4:]),
		Tag:     int32(binary.LittleEndian.Uint32(b[8:])),
		Length:  binary.LittleEndian.Uint32(b[12:]),
		Total:   binary.LittleEndian.Uint64(b[16:]),
	}
	if b[2] != 0 || b[3] != 0 {
		return h, fmt.Errorf("%w: reserved bytes set", ErrCorrupt)
	}
	switch h.Kind {
	case KindData:
		if h.Flags&^(FlagFirst|FlagLast|FlagCompressed|FlagRemote) != 0 {
			return h, fmt.Errorf("%w: unknown flags %#x", ErrCorrupt, h.Flags)
		}
		if h.Length > maxFrame {
			return h, fmt.Errorf("%w: frame of %d bytes exceeds the cap of %d", ErrCorrupt, h.Length, maxFrame)
		}
		if h.Total > maxMessage {
			return h, fmt.Errorf("%w: message of %d bytes exceeds the cap of %d", ErrCorrupt, h.Total, maxMessage)
		}
		if uint64(h.Length) > h.Total {
			return h, fmt.Errorf("%w: frame of %d bytes in a message of %d", ErrCorrupt, h.Length, h.Total)
		}
	case KindBye:
		if h.Flags != 0 || h.Context != 0 || h.Tag != 0 || h.Length != 0 || h.Total != 0 {
			return h, fmt.Errorf("%w: bye frame with fields set", ErrCorrupt)
		}
	default:
		return h, fmt.Errorf("%w: unknown kind %d", ErrCorrupt, h.Kind)
	}
	return h, nil
}

// Frames returns how many frames a message of n payload bytes takes with
// the given frame cap. An empty message takes one frame.
func Frames(n uint64, maxFrame uint32) int {
	if n == 0 {
		return 1
	}
	return int((n + uint64(maxFrame) - 1) / uint64(maxFrame))
}

// AppendMessage appends the frames of one message to bufs: a header buffer
// per frame followed by the matching slice of payload (which is not
// copied). hdrs must hold Frames(len(payload))*HeaderSize bytes and is used
// as the storage of the headers.
func AppendMessage(bufs [][]byte, hdrs []byte, context uint32, tag int32, payload []byte, maxFrame uint32) [][]byte {
	total := uint64(len(payload))
	n := Frames(total, maxFrame)
	off := 0
	for i := 0; i < n; i++ {
		end := off + int(maxFrame)
		if end > len(payload) {
			end = len(payload)
		}
		h := Header{Kind: KindData, Context: context, Tag: tag, Length: uint32(end - off), Total: total}
		if i == 0 {
			h.Flags |= FlagFirst
		}
		if i == n-1 {
			h.Flags |= FlagLast
		}
		hb := hdrs[i*HeaderSize : (i+1)*HeaderSize]
		h.Put(hb)
		bufs = append(bufs, hb)
		if end > off {
			bufs = append(bufs, payload[off:end])
		}
		off = end
	}
	return bufs
}

// ByeFrame returns the encoded bye frame.
func ByeFrame() []byte {
	b := make([]byte, HeaderSize)
	h := Header{Kind: KindBye}
	h.Put(b)
	return b
}
