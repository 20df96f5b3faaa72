package collectives

import (
	"math/bits"
	"sync"
	"unsafe"
)

// Temporary buffers of a call come from pools by power-of-two size, so
// that a loop of large collectives does not allocate, zero and collect
// megabytes per call. A call hands its buffers back only when it succeeded
// (a failed call may have left receives that still hold them).

const minPooled = 4 << 10

var pools [48]sync.Pool // class c holds *[]uint64 of 2^c bytes

func getBuf(n int) []byte {
	if n < minPooled {
		return alloc(n)
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

func putBuf(b []byte) {
	if cap(b) < minPooled || cap(b)&(cap(b)-1) != 0 {
		return
	}
	c := bits.Len(uint(cap(b) - 1))
	w := unsafe.Slice((*uint64)(unsafe.Pointer(unsafe.SliceData(b))), cap(b)/8)
	pools[c].Put(&w)
}

// alloc returns n bytes for the call's own use (not zeroed), aligned for
// any element type; they go back to the pool when the call succeeds.
func (k *call) alloc(n int) []byte {
	b := getBuf(n)
	if cap(b) >= minPooled {
		k.bufs = append(k.bufs, b)
	}
	return b
}

// clone returns a copy of b in the call's own memory.
func (k *call) clone(b []byte) []byte {
	c := k.alloc(len(b))
	copy(c, b)
	return c
}

// release hands the call's buffers back.
func (k *call) release() {
	for _, b := range k.bufs {
		putBuf(b)
	}
	k.bufs = nil
}
