package comm

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/spmd-go/spmd/internal/wire"
)

// Encrypted connections. After the handshake, a connection that
// w.encrypts carries records instead of the plain frame stream:
//
//	length (4 bytes, big endian: the sealed body's size) | sealed body
//
// where the body is up to recordMax bytes of the frame stream sealed with
// AES-256-GCM (16-byte tag), the length being the additional data, and
// the nonce a count of the records sent in that direction. Each direction
// has its own key, derived with HKDF-SHA256 from the job secret, salted
// with the job id and both handshake nonces (fresh on every connection),
// and labelled with the direction and both ranks; so no key and nonce are
// ever used twice, a record cannot be replayed, reordered, dropped,
// reflected or moved to another connection without failing to open, and
// a recorded job teaches nothing about another. A record that fails to
// open (tampering or corruption) loses the peer like a broken
// connection. The one byte the acceptor sends after checking the dialer's
// proof stays outside the records; the records authenticate everything
// after it (a forged "accepted" is followed by records that cannot open).
//
// Why records and AEAD keyed from the handshake rather than TLS: the
// handshake already authenticates both ends mutually with the job secret
// and gives fresh nonces from both, which is what key agreement needs
// here; TLS would add a per-job CA, certificates and a second handshake
// round trip per connection (two across an ocean), and crypto/tls
// copies through its own buffers, where this layer fits the transport's
// raw reads and vectored writes.
const (
	recordMax = 64 << 10 // plaintext bytes per record
	recordHdr = 4
	tagSize   = 16
	// sealChunk is the most plaintext sealed before one writeAll: large
	// enough that the system call's cost is spread, small enough that the
	// sealed copy stays in the cache until it is written. A message's
	// first chunk is one record, so that the receiver starts opening
	// early. Measured (ping-pong on loopback, 2 cores, EncryptAll): 64 KiB
	// chunks 203 us per 256 KiB round trip and 2.9 ms per 4 MiB one, 256
	// KiB chunks 296 us and 2.7 ms.
	sealChunk = 256 << 10
)

// ErrTampered is the cause of a lost peer (wrapped in its PeerError) when
// a record of an encrypted connection does not open or has an impossible
// length: the stream was changed on its way, or corrupted.
var ErrTampered = errors.New("comm: an encrypted record failed authentication (the stream was tampered with or corrupted)")

// encrypts reports whether the connection with world rank j is encrypted.
// Both ends decide alike, from what every rank of the job knows.
func (w *world) encrypts(j int) bool {
	switch w.cfg.Encrypt {
	case EncryptNone:
		return false
	case EncryptAll:
		return true
	}
	return w.acrossRegions(j)
}

// acrossRegions reports whether world rank j may be in another region:
// on another host, and not labelled with this rank's region.
func (w *world) acrossRegions(j int) bool {
	if w.sameHost(w.rank, j) {
		return false
	}
	return len(w.regions) != w.size || w.regions[j] == "" || w.regions[j] != w.regions[w.rank]
}

// sameHost reports whether world ranks i and j are known to run on one
// host: the launcher's table names the same host, or (without one) they
// listen on the same address.
func (w *world) sameHost(i, j int) bool {
	if len(w.hosts) == w.size {
		return w.hosts[i] == w.hosts[j]
	}
	if len(w.addrs) != w.size {
		return true // an in-process job (Local): every rank is here
	}
	hi, _, erri := net.SplitHostPort(w.addrs[i])
	hj, _, errj := net.SplitHostPort(w.addrs[j])
	return erri == nil && errj == nil && hi == hj
}

// deriveKey returns the key of one direction of a connection.
func deriveKey(secret []byte, job [wire.JobIDSize]byte, hs session, from, to int) []byte {
	salt := make([]byte, 0, len(job)+2*wire.NonceSize)
	salt = append(append(append(salt, job[:]...), hs.dn[:]...), hs.an[:]...)
	info := fmt.Sprintf("spmd record key v1: rank %d to rank %d", from, to)
	key, err := hkdf.Key(sha256.New, secret, salt, info, 32)
	if err != nil {
		panic(err) // only for lengths HKDF cannot give
	}
	return key
}

func newGCM(key []byte) cipher.AEAD {
	block, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // the key is always 32 bytes
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return aead
}

// encrypt switches p to records, with the keys of handshake hs; dialed
// says this rank dialed (and so reads the acceptor's verdict byte in
// plain before the first record). Called before the peer starts.
func (p *peer) encrypt(hs session, dialed bool) {
	w := p.w
	p.seal = &sealer{aead: newGCM(deriveKey(w.secret, w.jobID, hs, w.rank, p.rank))}
	p.open = &opener{aead: newGCM(deriveKey(w.secret, w.jobID, hs, p.rank, w.rank))}
	if dialed {
		p.open.pass = 1
	}
}

// sealer seals the frame stream of one direction.
type sealer struct {
	aead  cipher.AEAD
	seq   uint64
	nonce [12]byte
	out   []byte // sealed records of one chunk, reused
	one   [1][]byte
}

// sealFrom seals the first budget bytes (or fewer) of bufs into s.out, as
// records, and returns what is left of bufs.
func (s *sealer) sealFrom(bufs [][]byte, budget int) [][]byte {
	if s.out == nil {
		s.out = make([]byte, 0, sealChunk+(sealChunk/recordMax+1)*(recordHdr+tagSize))
	}
	out := s.out[:0]
	for budget > 0 && len(bufs) > 0 {
		n := 0
		for _, b := range bufs {
			n += len(b)
			if n >= recordMax {
				break
			}
		}
		n = min(n, recordMax, budget)
		if n == 0 {
			break
		}
		start := len(out)
		out = out[:start+recordHdr+n+tagSize]
		rec := out[start:]
		binary.BigEndian.PutUint32(rec, uint32(n+tagSize))
		plain := rec[recordHdr : recordHdr+n]
		for off := 0; off < n; {
			if len(bufs[0]) == 0 {
				bufs = bufs[1:]
				continue
			}
			c := copy(plain[off:], bufs[0])
			off += c
			bufs = consume(bufs, c)
		}
		binary.BigEndian.PutUint64(s.nonce[4:], s.seq)
		s.seq++
		s.aead.Seal(plain[:0], s.nonce[:], plain, rec[:recordHdr])
		budget -= n
	}
	s.out = out
	return bufs
}

// writeSealed is writeAll for an encrypted connection. bufs is changed.
func (p *peer) writeSealed(bufs [][]byte) error {
	s := p.seal
	budget := recordMax
	for {
		for len(bufs) > 0 && len(bufs[0]) == 0 {
			bufs = bufs[1:]
		}
		if len(bufs) == 0 {
			return nil
		}
		bufs = s.sealFrom(bufs, budget)
		budget = sealChunk
		s.one[0] = s.out
		if err := p.writeAll(s.one[:]); err != nil {
			return err
		}
	}
}

// writeOut writes bufs, as records when the connection is encrypted.
func (p *peer) writeOut(bufs [][]byte) error {
	if p.seal != nil {
		return p.writeSealed(bufs)
	}
	if rg := p.ringOut.Load(); rg != nil {
		return p.writeRing(rg, bufs)
	}
	return p.writeAll(bufs)
}

// opener opens the records of one direction; readBuffer uses it in place
// of its own buffering when the connection is encrypted.
type opener struct {
	aead  cipher.AEAD
	seq   uint64
	nonce [12]byte
	pass  int    // bytes to hand over unopened first (the verdict byte)
	in    []byte // bytes read from the socket; in[r:w] not yet opened
	r, w  int
	plain []byte // opened and not yet consumed (part of in)
	err   error  // met by tryFill, returned by the next Read
}

// openerBuf holds several records, so one read takes in a few.
const openerBuf = 4 * (recordHdr + recordMax + tagSize)

// next makes plaintext (or a passed byte) available from what was read,
// without reading: it reports whether it did, or the error of a record
// that does not open.
func (o *opener) next() (bool, error) {
	if len(o.plain) > 0 {
		return true, nil
	}
	if o.pass > 0 {
		if o.w > o.r {
			o.plain = o.in[o.r : o.r+1]
			o.r++
			o.pass--
			return true, nil
		}
		return false, nil
	}
	if o.w-o.r < recordHdr {
		return false, nil
	}
	n := int(binary.BigEndian.Uint32(o.in[o.r:]))
	if n <= tagSize || n > recordMax+tagSize { // no empty records are sent
		return false, fmt.Errorf("%w: record length %d", ErrTampered, n)
	}
	if o.w-o.r < recordHdr+n {
		return false, nil
	}
	binary.BigEndian.PutUint64(o.nonce[4:], o.seq)
	body := o.in[o.r+recordHdr : o.r+recordHdr+n]
	plain, err := o.aead.Open(body[:0], o.nonce[:], body, o.in[o.r:o.r+recordHdr])
	if err != nil {
		return false, ErrTampered
	}
	o.seq++
	o.r += recordHdr + n
	o.plain = plain
	return true, nil
}

// room makes space after o.w for a whole record; only called when no
// plaintext is pending (plain points into in).
func (o *opener) room() []byte {
	if o.in == nil {
		o.in = make([]byte, openerBuf)
	}
	if len(o.in)-o.w < recordHdr+recordMax+tagSize {
		o.w = copy(o.in, o.in[o.r:o.w])
		o.r = 0
	}
	return o.in[o.w:]
}

// read is readBuffer.Read for an encrypted connection.
func (o *opener) read(src *pollReader, p []byte) (int, error) {
	for {
		ok, err := o.next()
		if err != nil {
			return 0, err
		}
		if ok {
			break
		}
		if o.err != nil {
			err := o.err
			o.err = nil
			return 0, err
		}
		n, err := src.Read(o.room())
		if n <= 0 {
			return 0, err
		}
		o.w += n
	}
	n := copy(p, o.plain)
	o.plain = o.plain[n:]
	return n, nil
}

// tryFill is readBuffer.tryFill for an encrypted connection.
func (o *opener) tryFill(src *pollReader) bool {
	for {
		if o.err != nil {
			return true
		}
		ok, err := o.next()
		if err != nil {
			o.err = err
			return true
		}
		if ok {
			return true
		}
		n, done, err := src.tryRead(o.room())
		switch {
		case err != nil:
			o.err = err
			return true
		case !done:
			return false
		case n == 0:
			o.err = io.EOF
			return true
		}
		o.w += n
	}
}
