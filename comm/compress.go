package comm

import (
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"sync"

	"github.com/klauspost/compress/zstd"

	"github.com/spmd-go/spmd/internal/bufpool"
)

// Compression of messages on slow links (Config.Compress). A message of
// compressMin bytes or more to a peer the mode covers is compressed with
// zstd at its fastest level (hundreds of MB/s per core: on a 100 Mbit/s
// link, 12.5 MB/s, the time it costs is a few percent of what it can
// save) and travels with wire.FlagCompressed as
//
//	uncompressed length (8 bytes, little endian) | one zstd frame
//
// It turns itself off for data that does not compress: a message of
// 4*compressSample bytes or more is first judged by a sample (its first
// compressSample bytes, a small cost next to sending the rest), and a
// message that saves less than an eighth is sent as it is. Smaller
// messages have no sample to spare: after a miss among them the
// connection skips the next 1, 2, 4, ... 64 of them before trying again,
// and one success resets that. The receiver decompresses into a buffer
// and delivers it as any message (one copy more than the plain path,
// which the slow link makes cheap).
const (
	compressMin    = 4 << 10
	compressSample = 64 << 10
	compressSkip   = 64
)

// CompressMode says which connections compress large messages.
type CompressMode int

const (
	// CompressNone compresses nothing (the default).
	CompressNone CompressMode = iota
	// CompressWAN compresses on connections between regions (as
	// EncryptWAN chooses them: between hosts not labelled with one
	// region).
	CompressWAN
	// CompressAll compresses on every connection (for tests; on a LAN or
	// loopback the CPU costs more than the bytes saved).
	CompressAll
)

func (m CompressMode) String() string {
	switch m {
	case CompressNone:
		return "none"
	case CompressWAN:
		return "wan"
	case CompressAll:
		return "all"
	}
	return fmt.Sprintf("CompressMode(%d)", int(m))
}

// ParseCompressMode parses "none", "wan" or "all".
func ParseCompressMode(s string) (CompressMode, error) {
	return parseMode(s, "compression", CompressNone, CompressWAN, CompressAll)
}

var (
	zstdOnce sync.Once
	zstdEnc  *zstd.Encoder
	zstdDec  *zstd.Decoder
)

// codecs returns the process's zstd encoder and decoder, made once; both
// are safe for concurrent EncodeAll and DecodeAll.
func codecs() (*zstd.Encoder, *zstd.Decoder) {
	zstdOnce.Do(func() {
		var err error
		// WithAllLitEntropyCompression: the fastest level otherwise sends
		// a block without matches raw, however skewed its bytes (values
		// 0..7 in every byte: 1.000 for a 64 KiB sample with it off,
		// 0.38 with it on), which made the sample of large messages
		// judge such data incompressible.
		zstdEnc, err = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithAllLitEntropyCompression(true),
			zstd.WithEncoderConcurrency(runtime.GOMAXPROCS(0)), zstd.WithZeroFrames(true))
		if err != nil {
			panic(err) // only for bad options
		}
		zstdDec, err = zstd.NewReader(nil, zstd.WithDecoderConcurrency(runtime.GOMAXPROCS(0)), zstd.IgnoreChecksum(false))
		if err != nil {
			panic(err)
		}
	})
	return zstdEnc, zstdDec
}

// compressor is one connection's sending side; used by its one writer.
type compressor struct {
	skip, backoff int
	// Counters for tests and statistics.
	tried, sent int
	raw, wire   int64
}

// compress returns the compressed form of payload (from bufpool; the
// caller puts it back), or nil when it is not worth it.
func (c *compressor) compress(payload []byte) []byte {
	if len(payload) < compressMin {
		return nil
	}
	sampled := len(payload) >= 4*compressSample
	if c.skip > 0 && !sampled {
		c.skip--
		return nil
	}
	c.tried++
	enc, _ := codecs()
	if sampled {
		s := payload[:compressSample]
		out := enc.EncodeAll(s, bufpool.Get(compressSample)[:0])
		poor := len(out) > len(s)-len(s)/8
		bufpool.Put(out[:cap(out)])
		if poor {
			return nil
		}
	}
	buf := bufpool.Get(8 + len(payload))
	binary.LittleEndian.PutUint64(buf, uint64(len(payload)))
	out := enc.EncodeAll(payload, buf[:8])
	if len(out) > len(payload)-len(payload)/8 {
		bufpool.Put(out[:cap(out)])
		if !sampled {
			c.miss()
		}
		return nil
	}
	c.backoff = 0
	c.sent++
	c.raw += int64(len(payload))
	c.wire += int64(len(out))
	return out
}

func (c *compressor) miss() {
	c.backoff = min(max(2*c.backoff, 1), compressSkip)
	c.skip = c.backoff
}

// errCompressed is a compressed message that does not decompress to what
// it announced.
var errCompressed = errors.New("comm: a compressed message is corrupt")

// decompress returns the message that comp (a compressed payload) holds,
// in a buffer from bufpool; max caps its announced size.
func decompress(comp []byte, max uint64) ([]byte, error) {
	if len(comp) < 8 {
		return nil, fmt.Errorf("%w: %d bytes", errCompressed, len(comp))
	}
	n := binary.LittleEndian.Uint64(comp)
	if n > max {
		return nil, fmt.Errorf("%w: announces %d bytes, above the cap of %d", errCompressed, n, max)
	}
	var hdr zstd.Header
	if err := hdr.Decode(comp[8:]); err != nil || !hdr.HasFCS || hdr.FrameContentSize != n {
		return nil, fmt.Errorf("%w: its frame does not hold the %d bytes announced (%v)", errCompressed, n, err)
	}
	_, dec := codecs()
	out, err := dec.DecodeAll(comp[8:], bufpool.Get(int(n))[:0])
	if err != nil || uint64(len(out)) != n {
		return nil, fmt.Errorf("%w: %v", errCompressed, err)
	}
	return out, nil
}
