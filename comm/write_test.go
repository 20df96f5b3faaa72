package comm

import (
	"bytes"
	"testing"
)

// split cuts a message's buffers at any byte without losing, repeating or
// reordering one, and leaves the caller's buffers as they were.
func TestSplit(t *testing.T) {
	mk := func(sizes ...int) [][]byte {
		var out [][]byte
		v := byte(0)
		for _, n := range sizes {
			b := make([]byte, n)
			for i := range b {
				b[i] = v
				v++
			}
			out = append(out, b)
		}
		return out
	}
	for _, sizes := range [][]int{{16, 100}, {16, 0, 5, 7}, {3}, {16, 1 << 20}} {
		bufs := mk(sizes...)
		want := bytes.Join(bufs, nil)
		for n := 1; n <= len(want)+1; n += 1 + n/3 {
			orig := bytes.Join(bufs, nil)
			var got []byte
			rest := append([][]byte(nil), bufs...)
			for steps := 0; len(rest) > 0; steps++ {
				var head [][]byte
				head, rest = split(rest, n)
				h := bytes.Join(head, nil)
				if len(h) > n || (len(h) < n && len(rest) > 0 && len(bytes.Join(rest, nil)) > 0) {
					t.Fatalf("sizes %v, n %d: a piece of %d bytes", sizes, n, len(h))
				}
				got = append(got, h...)
				if steps > len(want)+2 {
					t.Fatalf("sizes %v, n %d: no progress", sizes, n)
				}
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("sizes %v, n %d: bytes differ", sizes, n)
			}
			if !bytes.Equal(bytes.Join(bufs, nil), orig) {
				t.Fatalf("sizes %v, n %d: the caller's buffers changed", sizes, n)
			}
		}
	}
}
