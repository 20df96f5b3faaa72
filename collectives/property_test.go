package collectives_test

import (
	"context"
	"fmt"
	"math/rand"
	"slices"
	"testing"
	"testing/quick"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// TestProperties: random operations, roots, counts and algorithms, drawn
// by testing/quick from the same seed on every rank so that they agree.
func TestProperties(t *testing.T) {
	for _, p := range []int{3, 6} {
		t.Run(fmt.Sprintf("p=%d", p), func(t *testing.T) {
			commtest.Run(t, p, func(ctx context.Context, c *comm.Comm) error {
				r := c.Rank()
				var failure error
				prop := func(which, root uint8, count uint16, seed int32, algPick uint8) bool {
					n := int(count) % 3000
					rt := int(root) % p
					s := int(seed)
					pick := func(op string) collectives.Options {
						algs := append([]collectives.Algorithm{collectives.Auto}, collectives.Algorithms(op)...)
						return collectives.Options{Algorithm: algs[int(algPick)%len(algs)], SegmentSize: 1 + int(count)%5000}
					}
					var err error
					switch which % 5 {
					case 0:
						buf := make([]int64, n)
						if r == rt {
							buf = in(s, rt, n)
						}
						if err = collectives.Bcast(ctx, c, buf, rt, pick("Bcast")); err == nil && !slices.Equal(buf, in(s, rt, n)) {
							err = fmt.Errorf("Bcast root %d n %d: wrong data", rt, n)
						}
					case 1:
						dst := make([]int64, n)
						if err = collectives.Reduce(ctx, c, dst, in(s, r, n), collectives.Sum, rt, pick("Reduce")); err == nil && r == rt && !slices.Equal(dst, sumOf(s, p, n, 0, p)) {
							err = fmt.Errorf("Reduce root %d n %d: wrong sum", rt, n)
						}
					case 2:
						dst := make([]int64, n)
						if err = collectives.Allreduce(ctx, c, dst, in(s, r, n), collectives.Sum, pick("Allreduce")); err == nil && !slices.Equal(dst, sumOf(s, p, n, 0, p)) {
							err = fmt.Errorf("Allreduce n %d: wrong sum", n)
						}
					case 3:
						var dst []int64
						if r == rt {
							dst = make([]int64, p*n)
						}
						if err = collectives.Gather(ctx, c, dst, in(s, r, n), rt, pick("Gather")); err == nil && r == rt {
							for q := 0; q < p; q++ {
								if !slices.Equal(dst[q*n:(q+1)*n], in(s, q, n)) {
									err = fmt.Errorf("Gather root %d n %d: block %d wrong", rt, n, q)
								}
							}
						}
					case 4:
						dst := make([]int64, n)
						if err = collectives.Scan(ctx, c, dst, in(s, r, n), collectives.Sum, pick("Scan")); err == nil && !slices.Equal(dst, sumOf(s, p, n, 0, r+1)) {
							err = fmt.Errorf("Scan n %d: wrong prefix", n)
						}
					}
					if err != nil && failure == nil {
						failure = err
					}
					return err == nil
				}
				cfg := &quick.Config{MaxCount: 60, Rand: rand.New(rand.NewSource(7))}
				if err := quick.Check(prop, cfg); err != nil {
					return fmt.Errorf("%v: %v", err, failure)
				}
				return nil
			})
		})
	}
}
