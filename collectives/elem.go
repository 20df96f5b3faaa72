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

// elemInfo is an element type's kind and size.
type elemInfo struct {
	kind  uint8
	esize uint16
}

func sigElem[T any]() elemInfo {
	k, s := elemOf[T]()
	return elemInfo{k, s}
}

func (e elemInfo) sig(k *call, kind uint8, root, count int) signature {
	s := signature{kind: kind, elem: e.kind, esize: e.esize, root: int32(root), count: int64(count), alg: uint8(k.opts.Algorithm), seg: int64(k.opts.SegmentSize)}
	if k.op != nil {
		s.op = k.op.id
	}
	return s
}
