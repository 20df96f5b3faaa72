// Package bufpool keeps byte buffers in pools by power-of-two size, so
// that loops of large messages and collectives do not allocate, zero and
// collect a buffer each time. Buffers are aligned for any element type.
package bufpool

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Min is the smallest size that is pooled; smaller buffers are allocated.
// Messages of a few hundred bytes that come before their receive are
// common (a loop of small broadcasts), and each was a heap allocation.
const Min = 256

var pools [48]sync.Pool // class c holds *[]uint64 of 2^c bytes

// Get returns n bytes, not zeroed when they come from the pool.
func Get(n int) []byte {
	if n < Min {
		return Alloc(n)
	}
	c := bits.Len(uint(n - 1))
	var w []uint64
	if p, ok := pools[c].Get().(*[]uint64); ok {
		w = *p
	} else {
		w = make([]uint64, (1<<c)/8)
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), 1<<c)[:n]
}

// Put gives b back. Only buffers whose capacity is a pooled size are kept;
// b must not be used afterwards.
func Put(b []byte) {
	if cap(b) < Min || cap(b)&(cap(b)-1) != 0 {
		return
	}
	c := bits.Len(uint(cap(b) - 1))
	w := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), cap(b)/8)
	pools[c].Put(&w)
}

// Alloc returns n zeroed bytes aligned for any element type (not pooled).
func Alloc(n int) []byte {
	if n == 0 {
		return []byte{}
	}
	w := make([]uint64, (n+7)/8)
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(w))), n)
}
