package wire

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"testing"
)

func encode(t testing.TB, msgs [][]byte, maxFrame uint32) []byte {
	t.Helper()
	var out bytes.Buffer
	for i, p := range msgs {
		hdrs := make([]byte, Frames(uint64(len(p)), maxFrame)*HeaderSize)
		bufs := net.Buffers(AppendMessage(nil, hdrs, uint32(i), int32(i*7), p, maxFrame))
		if _, err := bufs.WriteTo(&out); err != nil {
			t.Fatal(err)
		}
	}
	out.Write(ByeFrame())
	return out.Bytes()
}

func TestRoundTrip(t *testing.T) {
	for _, maxFrame := range []uint32{1, 3, 16, 1 << 20} {
		var msgs [][]byte
		for _, n := range []int{0, 1, 2, 15, 16, 17, 100, 4096} {
			p := make([]byte, n)
			for i := range p {
				p[i] = byte(rand.IntN(256))
			}
			msgs = append(msgs, p)
		}
		stream := encode(t, msgs, maxFrame)
		r := NewReader(bytes.NewReader(stream), maxFrame, 1<<30)
		for i, want := range msgs {
			h, err := r.Next()
			if err != nil {
				t.Fatalf("frame %d msg %d: %v", maxFrame, i, err)
			}
			if h.Context != uint32(i) || h.Tag != int32(i*7) || h.Total != uint64(len(want)) {
				t.Fatalf("msg %d: header %+v", i, h)
			}
			got := make([]byte, len(want))
			if err := r.ReadFull(got); err != nil {
				t.Fatalf("msg %d: %v", i, err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("msg %d: payload differs", i)
			}
		}
		if _, err := r.Next(); !errors.Is(err, ErrBye) {
			t.Fatalf("want bye, got %v", err)
		}
	}
}

func TestRejects(t *testing.T) {
	good := func() []byte {
		b := make([]byte, HeaderSize)
		h := Header{Kind: KindData, Flags: FlagFirst | FlagLast, Length: 4, Total: 4}
		h.Put(b)
		return append(b, 1, 2, 3, 4)
	}
	cases := []struct {
		name string
		mod  func(b []byte)
	}{
		{"kind", func(b []byte) { b[0] = 9 }},
		{"reserved", func(b []byte) { b[2] = 1 }},
		{"flags", func(b []byte) { b[1] = 0x80 | FlagFirst | FlagLast }},
		{"continuation first", func(b []byte) { b[1] = FlagLast }},
		{"frame too big", func(b []byte) { b[12] = 200; b[16] = 200 }},
		{"message too big", func(b []byte) { b[23] = 1 }},
		{"length over total", func(b []byte) { b[16] = 2 }},
		{"last short", func(b []byte) { b[16] = 8 }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := good()
			c.mod(b)
			r := NewReader(bytes.NewReader(b), 100, 1000)
			_, err := r.Next()
			if err == nil {
				err = r.ReadFull(make([]byte, r.Left()))
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("want ErrCorrupt, got %v", err)
			}
		})
	}
	// Sanity: the unmodified frame is accepted.
	r := NewReader(bytes.NewReader(good()), 100, 1000)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
}

func TestTruncatedStream(t *testing.T) {
	stream := encode(t, [][]byte{bytes.Repeat([]byte{7}, 100)}, 10)
	r := NewReader(bytes.NewReader(stream[:60]), 10, 1000)
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	err := r.ReadFull(make([]byte, 100))
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("want unexpected EOF, got %v", err)
	}
}

func TestHello(t *testing.T) {
	h := Hello{From: 3, To: 1, Stream: 2}
	h.JobID[0] = 9
	h.Nonce[31] = 5
	b := make([]byte, HelloSize)
	h.Put(b)
	got, err := DecodeHello(b)
	if err != nil || got != h {
		t.Fatalf("got %+v, %v", got, err)
	}
	b[0] = 'X'
	if _, err := DecodeHello(b); err == nil {
		t.Fatal("bad magic accepted")
	}
	var n1, n2 [NonceSize]byte
	n2[0] = 1
	a := MAC([]byte("s"), RoleAcceptor, h.JobID, 1, 2, 0, 0, n1, n2)
	d := MAC([]byte("s"), RoleDialer, h.JobID, 1, 2, 0, 0, n1, n2)
	if a == d {
		t.Fatal("roles give the same MAC")
	}
	if a == MAC([]byte("t"), RoleAcceptor, h.JobID, 1, 2, 0, 0, n1, n2) {
		t.Fatal("secret does not change the MAC")
	}
	// A stream's index and the dialer's stream count are proved too: a
	// proof for one connection of a pair does not pass for another.
	if d == MAC([]byte("s"), RoleDialer, h.JobID, 1, 2, 1, 0, n1, n2) {
		t.Fatal("the stream index does not change the MAC")
	}
	if d == MAC([]byte("s"), RoleDialer, h.JobID, 1, 2, 0, 3, n1, n2) {
		t.Fatal("the stream count does not change the MAC")
	}
}

// FuzzReader feeds arbitrary bytes to the frame reader: it must never
// panic, never hand out more bytes than the header announced, and never
// accept a message above the cap.
func FuzzReader(f *testing.F) {
	f.Add(encode(f, [][]byte{[]byte("hello"), nil, bytes.Repeat([]byte{1}, 40)}, 16))
	f.Add(ByeFrame())
	f.Add([]byte{1, 3, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxMsg = 1 << 16
		r := NewReader(bytes.NewReader(data), 64, maxMsg)
		scratch := make([]byte, 37)
		for {
			h, err := r.Next()
			if err != nil {
				return
			}
			if h.Total > maxMsg {
				t.Fatalf("accepted a message of %d bytes", h.Total)
			}
			var got uint64
			for {
				n, err := r.Read(scratch)
				got += uint64(n)
				if err == io.EOF {
					break
				}
				if err != nil {
					return
				}
			}
			if got != h.Total {
				t.Fatalf("read %d bytes of a %d-byte message", got, h.Total)
			}
		}
	})
}
