package bufpool

import (
	"testing"
	"unsafe"
)

func TestGetPut(t *testing.T) {
	for _, n := range []int{0, 1, 100, Min - 1, Min, Min + 1, 1 << 20, 3<<20 + 5} {
		b := Get(n)
		if len(b) != n {
			t.Fatalf("Get(%d): len %d", n, len(b))
		}
		if n > 0 && uintptr(unsafe.Pointer(&b[0]))%8 != 0 {
			t.Fatalf("Get(%d) not 8-aligned", n)
		}
		if n >= Min && cap(b)&(cap(b)-1) != 0 {
			t.Fatalf("Get(%d): cap %d not a power of two", n, cap(b))
		}
		for i := range b {
			b[i] = 0xAB
		}
		Put(b)
	}
	Put(make([]byte, 5000)) // not a pooled size: ignored
}
