package collectives_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

// TestConcurrentDups: collectives running at the same time on two Dup'ed
// communicators, while a user receive with AnySource and AnyTag waits on
// the parent, do not mix.
func TestConcurrentDups(t *testing.T) {
	const p, rounds = 4, 60
	commtest.Run(t, p, func(ctx context.Context, c *comm.Comm) error {
		a, err := c.Dup(ctx)
		if err != nil {
			return err
		}
		b, err := c.Dup(ctx)
		if err != nil {
			return err
		}
		defer a.Close()
		defer b.Close()
		// A wildcard receive on the parent must get only the user message.
		user := make([]byte, 16)
		var ureq *comm.Request
		if c.Rank() == 0 {
			ureq = c.Irecv(user, comm.AnySource, comm.AnyTag)
		}
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, cm := range []*comm.Comm{a, b} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < rounds; k++ {
					n := 1 + (k*37+i*1000)%3000
					buf := make([]int64, n)
					for j := range buf {
						buf[j] = int64(c.Rank()*(i+1) + j + k)
					}
					if err := collectives.Allreduce(ctx, cm, buf, buf, collectives.Sum); err != nil {
						errs[i] = err
						return
					}
					for j, v := range buf {
						want := int64((i+1)*p*(p-1)/2 + p*(j+k))
						if v != want {
							errs[i] = fmt.Errorf("comm %d round %d: element %d is %d, want %d", i, k, j, v, want)
							return
						}
					}
					bb := []int32{int32(k + i)}
					if err := collectives.Bcast(ctx, cm, bb, k%p); err != nil {
						errs[i] = err
						return
					}
				}
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		if c.Rank() == 0 {
			if done, _, _ := ureq.Test(); done {
				_, st, _ := ureq.Test()
				return fmt.Errorf("the wildcard receive took collective traffic: %+v %q", st, user)
			}
		}
		if err := collectives.Barrier(ctx, c); err != nil { // rank 0 has looked
			return err
		}
		if c.Rank() == 3 {
			if err := c.Send(ctx, []byte("user message"), 0, 5); err != nil {
				return err
			}
		}
		if c.Rank() == 0 {
			st, err := ureq.Wait(ctx)
			if err != nil {
				return err
			}
			if string(user[:st.Len]) != "user message" || st.Source != 3 {
				return fmt.Errorf("wildcard receive got %q from %d", user[:st.Len], st.Source)
			}
		}
		return nil
	})
}
