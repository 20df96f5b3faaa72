package collectives_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

type celsius float32 // a named type works like its underlying one

// typeCase checks Allreduce of every op that T has against a plain fold.
func typeCase[T comm.Number](ops []collectives.Op, fold func(op collectives.Op, a, b T) T) func(ctx context.Context, c *comm.Comm) error {
	return func(ctx context.Context, c *comm.Comm) error {
		p, r := c.Size(), c.Rank()
		val := func(r, i int) T { return fromInt[T]((r*7+i*3)%5 + 1) } // 1..5: products stay small
		const n = 41
		for _, op := range ops {
			src := make([]T, n)
			for i := range src {
				src[i] = val(r, i)
			}
			dst := make([]T, n)
			if err := collectives.Allreduce(ctx, c, dst, src, op); err != nil {
				return fmt.Errorf("%T %s: %w", src, op.Name(), err)
			}
			for i := range dst {
				want := val(0, i)
				for q := 1; q < p; q++ {
					want = fold(op, want, val(q, i))
				}
				if dst[i] != want {
					return fmt.Errorf("%T %s: element %d is %v, want %v", src, op.Name(), i, dst[i], want)
				}
			}
			// Bcast, Gather and Alltoall move the same types.
			if err := collectives.Bcast(ctx, c, dst, 0); err != nil {
				return err
			}
		}
		return nil
	}
}

func fromInt[T comm.Number](x int) T {
	var t T
	v := reflect.ValueOf(&t).Elem()
	switch {
	case v.CanInt():
		v.SetInt(int64(x))
	case v.CanUint():
		v.SetUint(uint64(x))
	case v.CanFloat():
		v.SetFloat(float64(x))
	default:
		v.SetComplex(complex(float64(x), float64(x%2)))
	}
	return t
}

func arith[T comm.Number](op collectives.Op, a, b T) T {
	switch op.Name() {
	case "Sum":
		return a + b
	case "Prod":
		return a * b
	}
	panic(op.Name())
}

func ordered[T collectives.Real](op collectives.Op, a, b T) T {
	switch op.Name() {
	case "Min":
		return min(a, b)
	case "Max":
		return max(a, b)
	}
	return arith(op, a, b)
}

type integer interface {
	~int8 | ~int16 | ~int32 | ~int64 | ~int | ~uint8 | ~uint16 | ~uint32 | ~uint64 | ~uint | ~uintptr
}

func bits[T integer](op collectives.Op, a, b T) T {
	switch op.Name() {
	case "BAnd":
		return a & b
	case "BOr":
		return a | b
	case "BXor":
		return a ^ b
	case "LAnd":
		if a != 0 && b != 0 {
			return 1
		}
		return 0
	case "LOr":
		if a != 0 || b != 0 {
			return 1
		}
		return 0
	}
	return ordered(op, a, b)
}

var (
	all     = []collectives.Op{collectives.Sum, collectives.Prod}
	ord     = append(all, collectives.Min, collectives.Max)
	intOps  = append(ord, collectives.BAnd, collectives.BOr, collectives.BXor, collectives.LAnd, collectives.LOr)
	numbers = []struct {
		name string
		f    func(ctx context.Context, c *comm.Comm) error
	}{
		{"int", typeCase[int](intOps, bits[int])},
		{"int8", typeCase[int8](intOps, bits[int8])},
		{"int16", typeCase[int16](intOps, bits[int16])},
		{"int32", typeCase[int32](intOps, bits[int32])},
		{"int64", typeCase[int64](intOps, bits[int64])},
		{"uint", typeCase[uint](intOps, bits[uint])},
		{"uint8", typeCase[uint8](intOps, bits[uint8])},
		{"uint16", typeCase[uint16](intOps, bits[uint16])},
		{"uint32", typeCase[uint32](intOps, bits[uint32])},
		{"uint64", typeCase[uint64](intOps, bits[uint64])},
		{"uintptr", typeCase[uintptr](intOps, bits[uintptr])},
		{"float32", typeCase[float32](ord, ordered[float32])},
		{"float64", typeCase[float64](ord, ordered[float64])},
		{"celsius", typeCase[celsius](ord, ordered[celsius])},
		{"complex64", typeCase[complex64](all, arith[complex64])},
		{"complex128", typeCase[complex128](all, arith[complex128])},
	}
)

// TestTypes: every number type with every op defined on it.
func TestTypes(t *testing.T) {
	for _, p := range []int{3, 4} {
		for _, tc := range numbers {
			t.Run(fmt.Sprintf("%s/p=%d", tc.name, p), func(t *testing.T) {
				commtest.Run(t, p, tc.f)
			})
		}
	}
}

// TestLoc: MinLoc and MaxLoc pick the extreme value and, on ties, the
// lowest index.
func TestLoc(t *testing.T) {
	commtest.Run(t, 5, func(ctx context.Context, c *comm.Comm) error {
		r := c.Rank()
		vals := []float64{float64(r % 3), -float64(r), math.Mod(float64(r)*1.5, 2)}
		src := make([]collectives.Loc[float64], len(vals))
		for i, v := range vals {
			src[i] = collectives.Loc[float64]{Val: v, Index: int64(r)}
		}
		mn := make([]collectives.Loc[float64], len(vals))
		mx := make([]collectives.Loc[float64], len(vals))
		if err := collectives.AllreduceLoc(ctx, c, mn, src, collectives.MinLoc); err != nil {
			return err
		}
		if err := collectives.ReduceLoc(ctx, c, mx, src, collectives.MaxLoc, 2); err != nil {
			return err
		}
		// rank values: col0 r%3 = 0,1,2,0,1; col1 -r; col2 (1.5r mod 2) = 0,1.5,1,0.5,0
		wantMin := []collectives.Loc[float64]{{0, 0}, {-4, 4}, {0, 0}}
		wantMax := []collectives.Loc[float64]{{2, 2}, {0, 0}, {1.5, 1}}
		if !slices.Equal(mn, wantMin) {
			return fmt.Errorf("MinLoc %v, want %v", mn, wantMin)
		}
		if r == 2 && !slices.Equal(mx, wantMax) {
			return fmt.Errorf("MaxLoc %v, want %v", mx, wantMax)
		}
		return nil
	})
}
