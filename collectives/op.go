package collectives

import (
	"fmt"
	"hash/fnv"
	"reflect"
	"unsafe"

	"gonum.org/v1/gonum/floats"

	"github.com/spmd-go/spmd/comm"
)

// Op is a reduction: one of the predefined ones (Sum, Prod, Min, Max, the
// bitwise and logical ones for integers, MinLoc and MaxLoc for Loc
// values) or one made by NewOp.
type Op struct {
	id          uint32
	name        string
	commutative bool
	user        any // func(dst, src []T) for a NewOp op
}

// Predefined reductions. Sum and Prod apply to every number type; Min and
// Max to every type but the complex ones; BAnd, BOr, BXor (bitwise) and
// LAnd, LOr (logical: nonzero is true, the result is 0 or 1) to integers;
// MinLoc and MaxLoc to Loc values (AllreduceLoc, ReduceLoc).
var (
	Sum    = Op{id: 1, name: "Sum", commutative: true}
	Prod   = Op{id: 2, name: "Prod", commutative: true}
	Min    = Op{id: 3, name: "Min", commutative: true}
	Max    = Op{id: 4, name: "Max", commutative: true}
	BAnd   = Op{id: 5, name: "BAnd", commutative: true}
	BOr    = Op{id: 6, name: "BOr", commutative: true}
	BXor   = Op{id: 7, name: "BXor", commutative: true}
	LAnd   = Op{id: 8, name: "LAnd", commutative: true}
	LOr    = Op{id: 9, name: "LOr", commutative: true}
	MinLoc = Op{id: 10, name: "MinLoc", commutative: true}
	MaxLoc = Op{id: 11, name: "MaxLoc", commutative: true}
)

var builtinNames = map[uint32]string{}

func init() {
	for _, o := range []Op{Sum, Prod, Min, Max, BAnd, BOr, BXor, LAnd, LOr, MinLoc, MaxLoc} {
		builtinNames[o.id] = o.name
	}
}

func opName(id uint32) string {
	if n, ok := builtinNames[id]; ok {
		return n
	}
	return fmt.Sprintf("user op %#x", id)
}

// NewOp makes a reduction from f, which must set dst[i] = dst[i] ⊕ src[i]
// for every i, where dst holds the result of lower ranks than src. ⊕ must
// be associative. If it is not commutative, say so: the reduction is then
// done in rank order (rank 0 ⊕ rank 1 ⊕ ...), with algorithms that keep
// that order. Ranks agree on an op by its name, so give every distinct op
// a distinct name.
func NewOp[T comm.Number](name string, commutative bool, f func(dst, src []T)) Op {
	h := fnv.New32a()
	h.Write([]byte(name))
	id := h.Sum32() | 1<<31
	return Op{id: id, name: name, commutative: commutative, user: f}
}

// Name returns the op's name.
func (o Op) Name() string { return o.name }

// reducer is an Op bound to an element type, working on raw bytes.
type reducer struct {
	id          uint32
	commutative bool
	fn          func(dst, src []byte) // dst = dst ⊕ src
}

// view returns the memory of b as a []E. b's length is a multiple of E's
// size and b is aligned for E (the caller's slices, or alloc).
func view[E any](b []byte) []E {
	var z E
	n := len(b) / int(unsafe.Sizeof(z))
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*E)(unsafe.Pointer(unsafe.SliceData(b))), n)
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~int | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uint | ~uintptr
}

type number interface {
	Real | ~complex64 | ~complex128
}

func sumOf[E number](d, s []byte) {
	x, y := view[E](d), view[E](s)
	for i := range x {
		x[i] += y[i]
	}
}

func prodOf[E number](d, s []byte) {
	x, y := view[E](d), view[E](s)
	for i := range x {
		x[i] *= y[i]
	}
}

func minOf[E Real](d, s []byte) {
	x, y := view[E](d), view[E](s)
	for i := range x {
		if y[i] < x[i] {
			x[i] = y[i]
		}
	}
}

func maxOf[E Real](d, s []byte) {
	x, y := view[E](d), view[E](s)
	for i := range x {
		if y[i] > x[i] {
			x[i] = y[i]
		}
	}
}

func bandOf[E integer](d, s []byte) {
	x, y := view[E](d), view[E](s)
	for i := range x {
		x[i] &= y[i]
	}
}

func borOf[E integer](d, s []byte) {
	x, y := view[E](d), view[E](s)
	for i := range x {
		x[i] |= y[i]
	}
}

func bxorOf[E integer](d, s []byte) {
	x, y := view[E](d), view[E](s)
	for i := range x {
		x[i] ^= y[i]
	}
}

func landOf[E integer](d, s []byte) {
	x, y := view[E](d), view[E](s)
	for i := range x {
		if x[i] != 0 && y[i] != 0 {
			x[i] = 1
		} else {
			x[i] = 0
		}
	}
}

func lorOf[E integer](d, s []byte) {
	x, y := view[E](d), view[E](s)
	for i := range x {
		if x[i] != 0 || y[i] != 0 {
			x[i] = 1
		} else {
			x[i] = 0
		}
	}
}

// numberFns, orderedFns and intFns return op's function for element
// kind E, or nil; each adds the ops its kinds have to the previous one.
func numberFns[E number](id uint32) func(d, s []byte) {
	switch id {
	case Sum.id:
		return sumOf[E]
	case Prod.id:
		return prodOf[E]
	}
	return nil
}

func orderedFns[E Real](id uint32) func(d, s []byte) {
	switch id {
	case Min.id:
		return minOf[E]
	case Max.id:
		return maxOf[E]
	}
	return numberFns[E](id)
}

func intFns[E integer](id uint32) func(d, s []byte) {
	switch id {
	case BAnd.id:
		return bandOf[E]
	case BOr.id:
		return borOf[E]
	case BXor.id:
		return bxorOf[E]
	case LAnd.id:
		return landOf[E]
	case LOr.id:
		return lorOf[E]
	}
	return orderedFns[E](id)
}

// float64 sums and products go through gonum's assembly kernels.
func sumFloat64(d, s []byte) { floats.Add(view[float64](d), view[float64](s)) }
func prodFloat64(d, s []byte) {
	floats.Mul(view[float64](d), view[float64](s))
}

// bind returns op for element type T, or an error naming what does not fit.
func bind[T comm.Number](op Op, opname string) (*reducer, error) {
	if op.id == 0 {
		return nil, fmt.Errorf("collectives: %s: zero Op (use Sum, Max, ... or NewOp)", opname)
	}
	if op.user != nil {
		f, ok := op.user.(func(dst, src []T))
		if !ok {
			return nil, fmt.Errorf("collectives: %s: op %q is for %T, not []%v", opname, op.name, op.user, reflect.TypeFor[T]())
		}
		return &reducer{id: op.id, commutative: op.commutative, fn: func(d, s []byte) {
			f(view[T](d), view[T](s))
		}}, nil
	}
	var fn func(d, s []byte)
	switch reflect.TypeFor[T]().Kind() {
	case reflect.Int:
		fn = intFns[int](op.id)
	case reflect.Int8:
		fn = intFns[int8](op.id)
	case reflect.Int16:
		fn = intFns[int16](op.id)
	case reflect.Int32:
		fn = intFns[int32](op.id)
	case reflect.Int64:
		fn = intFns[int64](op.id)
	case reflect.Uint:
		fn = intFns[uint](op.id)
	case reflect.Uint8:
		fn = intFns[uint8](op.id)
	case reflect.Uint16:
		fn = intFns[uint16](op.id)
	case reflect.Uint32:
		fn = intFns[uint32](op.id)
	case reflect.Uint64:
		fn = intFns[uint64](op.id)
	case reflect.Uintptr:
		fn = intFns[uintptr](op.id)
	case reflect.Float32:
		fn = orderedFns[float32](op.id)
	case reflect.Float64:
		switch op.id {
		case Sum.id:
			fn = sumFloat64
		case Prod.id:
			fn = prodFloat64
		default:
			fn = orderedFns[float64](op.id)
		}
	case reflect.Complex64:
		fn = numberFns[complex64](op.id)
	case reflect.Complex128:
		fn = numberFns[complex128](op.id)
	}
	if fn == nil {
		return nil, fmt.Errorf("collectives: %s: %s is not defined for %v", opname, op.name, reflect.TypeFor[T]())
	}
	return &reducer{id: op.id, commutative: true, fn: fn}, nil
}

// Loc is a value with the index (often a rank) it came from, for MinLoc
// and MaxLoc: the result is the least (greatest) value and, among equal
// values, the least index.
type Loc[T Real] struct {
	Val   T
	Index int64
}

// Real is the set of ordered number types.
type Real interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~int |
		~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uint | ~uintptr |
		~float32 | ~float64
}

func bindLoc[T Real](op Op, opname string) (*reducer, error) {
	var fn func(d, s []byte)
	switch op.id {
	case MinLoc.id:
		fn = func(d, s []byte) {
			x, y := view[Loc[T]](d), view[Loc[T]](s)
			for i := range x {
				if y[i].Val < x[i].Val || y[i].Val == x[i].Val && y[i].Index < x[i].Index {
					x[i] = y[i]
				}
			}
		}
	case MaxLoc.id:
		fn = func(d, s []byte) {
			x, y := view[Loc[T]](d), view[Loc[T]](s)
			for i := range x {
				if y[i].Val > x[i].Val || y[i].Val == x[i].Val && y[i].Index < x[i].Index {
					x[i] = y[i]
				}
			}
		}
	default:
		return nil, fmt.Errorf("collectives: %s: %s is not MinLoc or MaxLoc", opname, op.name)
	}
	return &reducer{id: op.id, commutative: true, fn: fn}, nil
}
