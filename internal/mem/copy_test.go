package mem

import (
	"bytes"
	"testing"
)

func fill(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*131 + i>>9)
	}
	return b
}

// Copy does what copy does, for short, long, unequal and overlapping
// slices (overlapping both ways, which the chunked loop must not do).
func TestCopy(t *testing.T) {
	for _, n := range []int{0, 1, chunk - 1, chunk, chunk + 1, 3*chunk + 17} {
		for _, m := range []int{n, n / 2, n + 5} {
			src := fill(n)
			want := make([]byte, m)
			got := make([]byte, m)
			wn := copy(want, src)
			if gn := Copy(got, src); gn != wn || !bytes.Equal(got, want) {
				t.Fatalf("len(dst) %d, len(src) %d: copied %d bytes, want %d; equal: %v", m, n, gn, wn, bytes.Equal(got, want))
			}
		}
	}
	for _, shift := range []int{1, 4096, chunk + 3} {
		n := 3*chunk + 100
		for _, up := range []bool{true, false} {
			a, b := fill(n+shift), fill(n+shift)
			if up {
				copy(a[shift:], a[:n])
				Copy(b[shift:], b[:n])
			} else {
				copy(a[:n], a[shift:])
				Copy(b[:n], b[shift:])
			}
			if !bytes.Equal(a, b) {
				t.Fatalf("overlap shift %d up %v: differs from copy", shift, up)
			}
		}
	}
}
