package collectives_test

import (
	"context"
	"fmt"
	"sort"
	"sync"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// Each rank contributes a vector; every rank gets the element-wise sum.
func ExampleAllreduce() {
	var mu sync.Mutex
	var lines []string
	err := commtest.RunErr(context.Background(), 4, func(ctx context.Context, world *comm.Comm) error {
		local := []float64{float64(world.Rank()), 1}
		sum := make([]float64, 2)
		if err := collectives.Allreduce(ctx, world, sum, local, collectives.Sum); err != nil {
			return err
		}
		mu.Lock()
		lines = append(lines, fmt.Sprintf("rank %d: %v", world.Rank(), sum))
		mu.Unlock()
		return nil
	})
	if err != nil {
		fmt.Println(err)
	}
	sort.Strings(lines)
	for _, l := range lines {
		fmt.Println(l)
	}
	// Output:
	// rank 0: [6 4]
	// rank 1: [6 4]
	// rank 2: [6 4]
	// rank 3: [6 4]
}

// Ranks that disagree get an error naming who and how, instead of a hang.
func ExampleMismatchError() {
	var mu sync.Mutex
	var first string
	_ = commtest.RunErr(context.Background(), 3, func(ctx context.Context, world *comm.Comm) error {
		root := 0
		if world.Rank() == 2 {
			root = 1 // a bug
		}
		err := collectives.Bcast(ctx, world, make([]int32, 4), root, collectives.Options{Check: collectives.CheckSync})
		mu.Lock()
		if world.Rank() == 0 {
			first = err.Error()
		}
		mu.Unlock()
		return nil
	})
	fmt.Println(first)
	// Output:
	// collectives: Bcast (call 0 on this communicator): ranks disagree: rank 0 gave root 0, rank 2 gave 1
}

// Any value travels through gob.
func ExampleBcastValue() {
	type config struct {
		Name  string
		Steps int
	}
	var mu sync.Mutex
	var got []string
	_ = commtest.RunErr(context.Background(), 3, func(ctx context.Context, world *comm.Comm) error {
		var cfg config
		if world.Rank() == 0 {
			cfg = config{Name: "heat", Steps: 100}
		}
		if err := collectives.BcastValue(ctx, world, &cfg, 0); err != nil {
			return err
		}
		mu.Lock()
		got = append(got, fmt.Sprintf("%+v", cfg))
		mu.Unlock()
		return nil
	})
	fmt.Println(got)
	// Output:
	// [{Name:heat Steps:100} {Name:heat Steps:100} {Name:heat Steps:100}]
}
