package collectives

import (
	"fmt"
	"reflect"
	"unsafe"
)

func elemOf[T any]() (uint8, uint16) {
	t := reflect.TypeFor[T]()
	return uint8(t.Kind()), uint16(t.Size())
}

func elemName(kind uint8, size uint16) string {
	k := reflect.Kind(kind)
	if k == reflect.Struct {
		return fmt.Sprintf("Loc (%d bytes)", size)
	}
	return k.String()
}

// raw returns the memory of s as bytes, without copying. Only for element
// types without pointers (numbers and Loc).
func raw[T any](s []T) []byte {
	if len(s) == 0 {
		return []byte{}
	}
	var z T
	return unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(s))), len(s)*int(unsafe.Sizeof(z)))
}
