package comm

import (
	"context"
	"unsafe"
)

// Number is the set of fixed-size numeric types that travel without
// encoding: a []T is sent as the bytes of its memory.
type Number interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~int |
		~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uint | ~uintptr |
		~float32 | ~float64 | ~complex64 | ~complex128
}

// Bytes returns the memory of s as a byte slice, without copying. The
// result aliases s.
func Bytes[T Number](s []T) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}

// SizeOf returns the size in bytes of one T.
func SizeOf[T Number]() int {
	var z T
	return int(unsafe.Sizeof(z))
}

// Count returns how many T a received message held.
func Count[T Number](st Status) int { return st.Len / SizeOf[T]() }

// SendSlice sends s to dst with tag.
func SendSlice[T Number](ctx context.Context, c *Comm, s []T, dst, tag int) error {
	return c.Send(ctx, Bytes(s), dst, tag)
}

// RecvSlice receives into s from src with tag; Count[T](status) tells how
// many elements arrived.
func RecvSlice[T Number](ctx context.Context, c *Comm, s []T, src, tag int) (Status, error) {
	return c.Recv(ctx, Bytes(s), src, tag)
}

// IsendSlice starts sending s; s must not change until the request completes.
func IsendSlice[T Number](c *Comm, s []T, dst, tag int) *Request {
	return c.Isend(Bytes(s), dst, tag)
}

// IrecvSlice starts a receive into s.
func IrecvSlice[T Number](c *Comm, s []T, src, tag int) *Request {
	return c.Irecv(Bytes(s), src, tag)
}
