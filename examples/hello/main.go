// Command hello joins the job, waits for every rank at a barrier and
// prints one line per rank from the job's rank table: where each rank
// runs. It is the smallest spmd program and the one whose wall time
// measures a launcher (bench/launch-vs-openmpi.sh).
//
//	go run ./examples/hello
//	spmdrun -np 4 ./examples/hello
//	spmdrun --hostfile hosts --preload-binary ./examples/hello
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
)

func main() {
	ctx := context.Background()
	world, err := comm.Init(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
	if err := collectives.Barrier(ctx, world); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
	if world.Rank() == 0 {
		for r := 0; r < world.Size(); r++ {
			in := world.Info(r)
			host, region := in.Host, in.Region
			if host == "" {
				host = "(this machine)"
			}
			if region == "" {
				region = "-"
			}
			fmt.Printf("hello from rank %d of %d: host %s, region %s, local rank %d\n", r, world.Size(), host, region, in.LocalRank)
		}
	}
	if err := world.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "hello:", err)
		os.Exit(1)
	}
}
