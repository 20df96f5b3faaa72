// Command p2p times rank 0 sending -bytes to rank 1 in -seg segments,
// segment i on stream i (comm.Comm.Stream), -reps times: the throughput
// of one pair of ranks over however many TCP streams spmdrun --streams
// gave them (see README.md beside it).
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"time"

	"github.com/spmd-go/spmd/comm"
)

func main() {
	total := flag.Int("bytes", 8<<20, "")
	seg := flag.Int("seg", 32<<10, "")
	reps := flag.Int("reps", 3, "")
	flag.Parse()
	ctx := context.Background()
	c, err := comm.Init(ctx)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	me := c.Rank()
	if me > 1 {
		return
	}
	peer := 1 - me
	buf := make([]byte, *total)
	n := *total / *seg
	if me == 0 {
		fmt.Printf("streams to %d: %d\n", peer, c.Streams(peer))
	}
	for rep := 0; rep < *reps; rep++ {
		start := time.Now()
		var reqs []*comm.Request
		for i := 0; i < n; i++ {
			b := buf[i**seg : (i+1)**seg]
			if me == 0 {
				reqs = append(reqs, c.Stream(i).Isend(b, peer, i))
			} else {
				reqs = append(reqs, c.Irecv(b, peer, i))
			}
		}
		if err := comm.WaitAll(ctx, reqs...); err != nil {
			log.Fatal(err)
		}
		if me == 1 {
			c.Send(ctx, nil, 0, 1<<20)
		} else {
			c.Recv(ctx, nil, 1, 1<<20)
			d := time.Since(start)
			fmt.Printf("rep %d: %d bytes in %v: %.1f Mbit/s\n", rep, *total, d, float64(*total)*8/d.Seconds()/1e6)
		}
	}
}
