package comm

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
)

// records seals msgs, one record each, and returns each record's bytes.
func records(s *sealer, msgs ...[]byte) [][]byte {
	var out [][]byte
	for _, m := range msgs {
		s.sealFrom([][]byte{m}, recordMax)
		out = append(out, append([]byte(nil), s.out...))
	}
	return out
}

// openAll feeds stream to an opener and returns the plaintext, or the
// first error.
func openAll(o *opener, stream []byte) ([]byte, error) {
	o.in, o.r, o.w = append([]byte(nil), stream...), 0, len(stream)
	var got []byte
	for {
		ok, err := o.next()
		if err != nil {
			return got, err
		}
		if !ok {
			return got, nil
		}
		got = append(got, o.plain...)
		o.plain = nil
	}
}

func TestRecords(t *testing.T) {
	var hs session
	hs.dn[0], hs.an[0] = 1, 2
	secret := []byte("0123456789abcdef0123456789abcdef")
	var job [16]byte
	key := deriveKey(secret, job, hs, 1, 0)
	recs := records(&sealer{aead: newGCM(key)}, []byte("first"), []byte("second"), []byte("third"))
	cat := func(order ...int) []byte {
		var b []byte
		for _, i := range order {
			b = append(b, recs[i]...)
		}
		return b
	}
	fresh := func() *opener { return &opener{aead: newGCM(key)} }

	if got, err := openAll(fresh(), cat(0, 1, 2)); err != nil || string(got) != "firstsecondthird" {
		t.Fatalf("in order: %q, %v", got, err)
	}
	// Empty buffers anywhere among those sealed together are skipped.
	s := &sealer{aead: newGCM(key)}
	if left := s.sealFrom([][]byte{[]byte("ab"), {}, []byte("cd"), {}}, recordMax); len(left) > 1 {
		t.Fatalf("left %d buffers", len(left))
	}
	if got, err := openAll(fresh(), s.out); err != nil || string(got) != "abcd" {
		t.Fatalf("with empty buffers: %q, %v", got, err)
	}
	// A partial record is waited for, not an error.
	if got, err := openAll(fresh(), cat(0, 1, 2)[:len(recs[0])+7]); err != nil || string(got) != "first" {
		t.Errorf("partial second record: %q, %v", got, err)
	}
	for name, stream := range map[string][]byte{
		"reordered": cat(0, 2, 1),
		"replayed":  cat(0, 0, 1),
		"dropped":   cat(0, 2),
	} {
		got, err := openAll(fresh(), stream)
		if !errors.Is(err, ErrTampered) || string(got) != "first" {
			t.Errorf("%s: %q, %v; want \"first\" then ErrTampered", name, got, err)
		}
	}
	// The other direction, another connection's nonces, another secret:
	// each key opens nothing of this one's.
	hs2 := hs
	hs2.an[1] = 9
	for name, k := range map[string][]byte{
		"other direction": deriveKey(secret, job, hs, 0, 1),
		"other nonces":    deriveKey(secret, job, hs2, 1, 0),
		"other secret":    deriveKey(append([]byte("x"), secret[1:]...), job, hs, 1, 0),
	} {
		if bytes.Equal(k, key) {
			t.Fatalf("%s: same key", name)
		}
		if _, err := openAll(&opener{aead: newGCM(k)}, cat(0)); !errors.Is(err, ErrTampered) {
			t.Errorf("%s: %v, want ErrTampered", name, err)
		}
	}
	// Impossible lengths are refused before any buffering.
	for _, n := range []uint32{0, tagSize, recordMax + tagSize + 1, 1 << 31} {
		var b [recordHdr]byte
		binary.BigEndian.PutUint32(b[:], n)
		if _, err := openAll(fresh(), b[:]); !errors.Is(err, ErrTampered) {
			t.Errorf("length %d: %v, want ErrTampered", n, err)
		}
	}
	// The verdict byte before the first record passes unopened.
	o := fresh()
	o.pass = 1
	if got, err := openAll(o, append([]byte{handshakeOK}, cat(0)...)); err != nil || string(got) != "\x01first" {
		t.Errorf("with a passed byte: %q, %v", got, err)
	}
}

// FuzzRecords feeds an opener a stream of records sealed under the
// connection's key, changed by the fuzzer (any byte, length, cut or
// addition): it must never panic, and what it lets through must be a
// prefix of what was sealed. A changed record fails with ErrTampered.
func FuzzRecords(f *testing.F) {
	var hs session
	secret := []byte("fuzzing secret, 32 bytes long!!!")
	key := deriveKey(secret, [16]byte{}, hs, 1, 0)
	plain := bytes.Repeat([]byte("0123456789"), 20)
	var stream []byte
	for _, r := range records(&sealer{aead: newGCM(key)}, plain[:50], plain[50:120], plain[120:]) {
		stream = append(stream, r...)
	}
	f.Add(stream)
	f.Add(stream[:len(stream)/2])
	f.Add(append(bytes.Clone(stream[:40]), 0xff, 0xff, 0xff, 0xff))
	f.Add([]byte{0, 0, 0, 17, 1})
	f.Fuzz(func(t *testing.T, in []byte) {
		got, err := openAll(&opener{aead: newGCM(key)}, in)
		if !bytes.HasPrefix(plain, got) {
			t.Fatalf("let through %q, not a prefix of what was sealed", got)
		}
		if err != nil && !errors.Is(err, ErrTampered) {
			t.Fatalf("error %v, want ErrTampered", err)
		}
		if bytes.Equal(in, stream) && (err != nil || !bytes.Equal(got, plain)) {
			t.Fatalf("the genuine stream: %q, %v", got, err)
		}
	})
}
