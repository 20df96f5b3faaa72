package collectives_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// Permutations of four items packed two bits each in a uint8; composing
// them is associative and far from commutative (24 elements, S4).
func compose(a, b uint8) uint8 { // a then b
	var out uint8
	for i := 0; i < 4; i++ {
		x := a >> (2 * i) & 3
		out |= (b >> (2 * x) & 3) << (2 * i)
	}
	return out
}

var perms = func() []uint8 {
	var ps []uint8
	for a := 0; a < 4; a++ {
		for b := 0; b < 4; b++ {
			for c := 0; c < 4; c++ {
				for d := 0; d < 4; d++ {
					if a != b && a != c && a != d && b != c && b != d && c != d {
						ps = append(ps, uint8(a|b<<2|c<<4|d<<6))
					}
				}
			}
		}
	}
	return ps
}()

var composeOp = collectives.NewOp("compose", false, func(dst, src []uint8) {
	for i := range dst {
		dst[i] = compose(dst[i], src[i])
	}
})

func permIn(seed, r, n int) []uint8 {
	out := make([]uint8, n)
	for i, v := range in(seed, r, n) {
		out[i] = perms[(v+500)%24]
	}
	return out
}

func permFold(seed, n, from, to int) []uint8 {
	acc := permIn(seed, from, n)
	for r := from + 1; r < to; r++ {
		for i, v := range permIn(seed, r, n) {
			acc[i] = compose(acc[i], v)
		}
	}
	return acc
}

// TestNonCommutative: a non-commutative op is reduced in rank order by
// every operation and algorithm that accepts it.
func TestNonCommutative(t *testing.T) {
	if compose(perms[1], perms[2]) == compose(perms[2], perms[1]) {
		t.Fatal("test op is commutative on its sample")
	}
	for _, p := range []int{2, 3, 5, 6, 8} {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			commtest.Run(t, p, func(ctx context.Context, c *comm.Comm) error {
				r := c.Rank()
				for seed, n := range []int{1, 33, 5000, 100000} {
					for root := 0; root < p; root++ {
						for _, alg := range []collectives.Algorithm{collectives.Auto, collectives.Binomial} {
							dst := make([]uint8, n)
							if err := collectives.Reduce(ctx, c, dst, permIn(seed, r, n), composeOp, root, collectives.Options{Algorithm: alg}); err != nil {
								return err
							}
							if want := permFold(seed, n, 0, p); r == root && !slices.Equal(dst, want) {
								return fmt.Errorf("Reduce root %d n %d: wrong order", root, n)
							}
						}
					}
					for _, alg := range []collectives.Algorithm{collectives.Auto, collectives.RecursiveDoubling} {
						dst := make([]uint8, n)
						if err := collectives.Allreduce(ctx, c, dst, permIn(seed, r, n), composeOp, collectives.Options{Algorithm: alg}); err != nil {
							return err
						}
						if want := permFold(seed, n, 0, p); !slices.Equal(dst, want) {
							return fmt.Errorf("Allreduce %v n %d: wrong order", alg, n)
						}
					}
					for _, alg := range []collectives.Algorithm{collectives.RecursiveDoubling, collectives.Pipeline} {
						dst := make([]uint8, n)
						o := collectives.Options{Algorithm: alg, SegmentSize: 1000}
						if err := collectives.Scan(ctx, c, dst, permIn(seed, r, n), composeOp, o); err != nil {
							return err
						}
						if want := permFold(seed, n, 0, r+1); !slices.Equal(dst, want) {
							return fmt.Errorf("Scan %v n %d: wrong order", alg, n)
						}
						if err := collectives.Exscan(ctx, c, dst, permIn(seed, r, n), composeOp, o); err != nil {
							return err
						}
						if want := permFold(seed, n, 0, r); r > 0 && !slices.Equal(dst, want) {
							return fmt.Errorf("Exscan %v n %d: wrong order", alg, n)
						}
					}
					dst := make([]uint8, n)
					if err := collectives.ReduceScatterBlock(ctx, c, dst, permIn(seed, r, p*n), composeOp); err != nil {
						return err
					}
					if want := permFold(seed, p*n, 0, p)[r*n : (r+1)*n]; !slices.Equal(dst, want) {
						return fmt.Errorf("ReduceScatterBlock n %d: wrong order", n)
					}
				}
				return nil
			})
		})
	}
}
