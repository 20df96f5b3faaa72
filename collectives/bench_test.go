package collectives_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/spmd-go/spmd/bench"
	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm/commtest"
)

// benchCollective times op at 4 ranks in this process over loopback, for
// a ladder of sizes (8 B to 2 MiB by x4, then 4 MiB). Rank 0's loop is timed; the other
// ranks run the same number of calls. Processes started by spmdrun, as
// users run them, are measured by cmd/spmdbench and
// bench/coll-vs-openmpi.sh.
func benchCollective(b *testing.B, op string, o collectives.Options) {
	const p = 4
	ctx := context.Background()
	comms := commtest.Start(b, p)
	sizes := []int{}
	for size := 8; size <= 4<<20; size *= 4 {
		sizes = append(sizes, size)
	}
	sizes = append(sizes, 4<<20) // 8 B x4 ends at 2 MiB
	for _, size := range sizes {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			calls := make([]func(context.Context) error, p)
			for r, c := range comms {
				var err error
				if calls[r], err = bench.Call(op, c, size, o); err != nil {
					b.Fatal(err)
				}
			}
			errs := make(chan error, p)
			var wg sync.WaitGroup
			for r := 1; r < p; r++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; i < b.N; i++ {
						if err := calls[r](ctx); err != nil {
							errs <- err
							return
						}
					}
				}()
			}
			b.SetBytes(int64(size))
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := calls[0](ctx); err != nil {
					b.Fatal(err)
				}
			}
			wg.Wait()
			b.StopTimer()
			// A barrier so that no rank's checks trail into the next size.
			var bw sync.WaitGroup
			for _, c := range comms {
				bw.Add(1)
				go func() { defer bw.Done(); _ = collectives.Barrier(ctx, c) }()
			}
			bw.Wait()
			select {
			case err := <-errs:
				b.Fatal(err)
			default:
			}
		})
	}
}

func BenchmarkAllreduce(b *testing.B) { benchCollective(b, "allreduce", collectives.Options{}) }
func BenchmarkBcast(b *testing.B)     { benchCollective(b, "bcast", collectives.Options{}) }
func BenchmarkAllgather(b *testing.B) { benchCollective(b, "allgather", collectives.Options{}) }
