package comm_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/spmd-go/spmd/comm/commtest"
)

// BenchmarkPingPong bounces a message between two ranks of one process
// over loopback TCP. It reports half the round-trip time (half-rtt-ns) and
// the bandwidth (MB/s). Two separate processes, as users run them, are
// measured by examples/pingpong and bench/pingpong-vs-openmpi.sh.
func BenchmarkPingPong(b *testing.B) {
	ctx := context.Background()
	comms := commtest.Start(b, 2)
	for size := 1; size <= 4<<20; size *= 4 {
		b.Run(fmt.Sprintf("%dB", size), func(b *testing.B) {
			bufs := [][]byte{make([]byte, size), make([]byte, size)}
			errs := make(chan error, 1)
			go func() {
				c := comms[1]
				for i := 0; i < b.N; i++ {
					if _, err := c.Recv(ctx, bufs[1], 0, 0); err != nil {
						errs <- err
						return
					}
					if err := c.Send(ctx, bufs[1], 0, 0); err != nil {
						errs <- err
						return
					}
				}
				errs <- nil
			}()
			b.SetBytes(int64(2 * size))
			b.ResetTimer()
			c := comms[0]
			for i := 0; i < b.N; i++ {
				if err := c.Send(ctx, bufs[0], 1, 0); err != nil {
					b.Fatal(err)
				}
				if _, err := c.Recv(ctx, bufs[0], 1, 0); err != nil {
					b.Fatal(err)
				}
			}
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/2, "half-rtt-ns")
		})
	}
}
