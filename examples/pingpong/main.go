// Command pingpong measures point-to-point latency and bandwidth between
// ranks 0 and 1: for each size, half the round-trip time of a message
// bounced between them, and the bandwidth that gives.
//
//	spmdrun -np 2 ./examples/pingpong [-min 1] [-max 4194304] [-csv]
//
// Output columns: bytes, iterations, half round trip in microseconds, and
// MB/s (10^6 bytes per second). bench/pingpong-vs-openmpi.sh runs it beside
// the same measurement made with Open MPI.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/spmd-go/spmd/comm"
)

func main() {
	minSize := flag.Int("min", 1, "smallest message in bytes")
	maxSize := flag.Int("max", 4<<20, "largest message in bytes")
	factor := flag.Int("factor", 4, "size step factor")
	budget := flag.Duration("time", 300*time.Millisecond, "time to spend per size (after warm-up)")
	csv := flag.Bool("csv", false, "print CSV instead of a table")
	flag.Parse()
	if err := run(*minSize, *maxSize, *factor, *budget, *csv); err != nil {
		fmt.Fprintln(os.Stderr, "pingpong:", err)
		os.Exit(1)
	}
}

func run(minSize, maxSize, factor int, budget time.Duration, csv bool) error {
	ctx := context.Background()
	c, err := comm.Init(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if c.Size() < 2 {
		return fmt.Errorf("needs at least 2 ranks (spmdrun -np 2)")
	}
	if minSize < 0 || maxSize < minSize || factor < 2 {
		return fmt.Errorf("bad sizes: -min %d -max %d -factor %d", minSize, maxSize, factor)
	}
	if c.Rank() > 1 {
		return nil
	}
	buf := make([]byte, maxSize)
	peer := 1 - c.Rank()
	if c.Rank() == 0 {
		if csv {
			fmt.Println("bytes,iterations,half_rtt_us,mb_per_s")
		} else {
			fmt.Printf("%10s %10s %14s %12s\n", "bytes", "iters", "half-RTT(us)", "MB/s")
		}
	}
	for size := minSize; size <= maxSize; size = next(size, factor) {
		b := buf[:size]
		// Warm up while growing the iteration count until one round takes
		// a tenth of the budget; rank 0 decides for both.
		iters := 10
		for {
			d, err := bounce(ctx, c, b, peer, iters)
			if err != nil {
				return err
			}
			more := []int64{0}
			if d <= budget/10 && iters < 1<<20 {
				more[0] = 1
			}
			if err := agree(ctx, c, more); err != nil {
				return err
			}
			if more[0] == 0 {
				break
			}
			iters *= 4
		}
		n := []int64{int64(iters * 10)}
		d, err := bounce(ctx, c, b, peer, int(n[0]))
		if err != nil {
			return err
		}
		if c.Rank() == 0 {
			half := d.Seconds() / float64(n[0]) / 2
			mbs := float64(size) / half / 1e6
			if csv {
				fmt.Printf("%d,%d,%.3f,%.1f\n", size, n[0], half*1e6, mbs)
			} else {
				fmt.Printf("%10d %10d %14.3f %12.1f\n", size, n[0], half*1e6, mbs)
			}
		}
	}
	return nil
}

// agree makes rank 1 take rank 0's values.
func agree(ctx context.Context, c *comm.Comm, v []int64) error {
	if c.Rank() == 0 {
		return comm.SendSlice(ctx, c, v, 1, 1)
	}
	_, err := comm.RecvSlice(ctx, c, v, 0, 1)
	return err
}

func next(size, factor int) int {
	if size == 0 {
		return 1
	}
	return size * factor
}

// bounce sends b back and forth iters times and returns the elapsed time.
func bounce(ctx context.Context, c *comm.Comm, b []byte, peer, iters int) (time.Duration, error) {
	// Both sides start together.
	if c.Rank() == 0 {
		if err := c.Send(ctx, nil, peer, 2); err != nil {
			return 0, err
		}
	} else if _, err := c.Recv(ctx, nil, peer, 2); err != nil {
		return 0, err
	}
	start := time.Now()
	for i := 0; i < iters; i++ {
		if c.Rank() == 0 {
			if err := c.Send(ctx, b, peer, 0); err != nil {
				return 0, err
			}
			if _, err := c.Recv(ctx, b, peer, 0); err != nil {
				return 0, err
			}
		} else {
			if _, err := c.Recv(ctx, b, peer, 0); err != nil {
				return 0, err
			}
			if err := c.Send(ctx, b, peer, 0); err != nil {
				return 0, err
			}
		}
	}
	return time.Since(start), nil
}
