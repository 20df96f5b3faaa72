// Package mem holds memory helpers shared by comm and collectives.
package mem

import "unsafe"

// chunk is below the size from which Go's memmove on amd64 uses
// non-temporal stores (1 MiB, runtime/memmove_amd64.s): those bypass the
// caches, so the copy's destination is cold when it is read next, which
// in a collective is at once (it is sent, or reduced into). Copying in
// pieces of 512 KiB keeps it in cache. Measured with 4 ranks on 2 cores,
// Rabenseifner allreduce of 2 MiB (its first step copies src to dst):
// 2.00-2.20 ms with copy, 1.78-1.91 ms with Copy.
const chunk = 512 << 10

// Copy is the built-in copy for byte slices, done in pieces that keep the
// destination in the CPU's caches. It returns the number of bytes copied.
func Copy(dst, src []byte) int {
	n := min(len(dst), len(src))
	if n < chunk || overlap(dst[:n], src[:n]) {
		return copy(dst, src)
	}
	for off := 0; off < n; off += chunk {
		end := min(off+chunk, n)
		copy(dst[off:end], src[off:end])
	}
	return n
}

// overlap reports whether a and b (both non-empty) share memory.
func overlap(a, b []byte) bool {
	pa := uintptr(unsafe.Pointer(unsafe.SliceData(a)))
	pb := uintptr(unsafe.Pointer(unsafe.SliceData(b)))
	return pa < pb+uintptr(len(b)) && pb < pa+uintptr(len(a))
}
