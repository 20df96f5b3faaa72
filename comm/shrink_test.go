package comm_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/spmd-go/spmd/comm"
)

// A rank dies (its connections dropped without a goodbye); the others
// see a PeerError, Shrink to the survivors, and go on there with
// AnySource receives and a ring. Rank 1 has not used its link to the dead
// rank: what rank 0 lost decides for it too.
func TestShrink(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	comms, err := comm.Local(ctx, 4, comm.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	const dead = 2
	comm.Crash(comms[dead])
	errs := make([]error, 4)
	groups := make([][]int, 4)
	var wg sync.WaitGroup
	for r, c := range comms {
		if r == dead {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[r] = func() error {
				if r == 0 {
					// AnySource fails: the communicator holds a lost rank.
					_, err := c.Recv(ctx, make([]byte, 8), comm.AnySource, 0)
					var pe *comm.PeerError
					if !errors.As(err, &pe) || pe.Rank != dead {
						return fmt.Errorf("AnySource receive with rank %d dead: %v, want its PeerError", dead, err)
					}
				}
				s, err := c.Shrink(ctx)
				if err != nil {
					return err
				}
				defer s.Close()
				for i := range s.Size() {
					groups[r] = append(groups[r], s.WorldRank(i))
				}
				// A ring on the survivors, then every rank sends to rank 0,
				// which takes them by AnySource.
				n := s.Size()
				buf := make([]byte, 1)
				if _, err := s.Sendrecv(ctx, []byte{byte(s.Rank())}, (s.Rank()+1)%n, 7, buf, (s.Rank()+n-1)%n, 7); err != nil {
					return err
				}
				if int(buf[0]) != (s.Rank()+n-1)%n {
					return fmt.Errorf("ring: got %d", buf[0])
				}
				if s.Rank() != 0 {
					return s.Send(ctx, []byte{byte(s.Rank())}, 0, 8)
				}
				seen := map[int]bool{}
				for range n - 1 {
					st, err := s.Recv(ctx, buf, comm.AnySource, 8)
					if err != nil {
						return err
					}
					seen[st.Source] = true
				}
				if len(seen) != n-1 {
					return fmt.Errorf("rank 0 heard from %v", seen)
				}
				return nil
			}()
		}()
	}
	wg.Wait()
	for r, c := range comms {
		if r != dead {
			c.Close()
		}
	}
	comms[dead].Close()
	for r, err := range errs {
		if err != nil {
			t.Errorf("rank %d: %v", r, err)
		}
	}
	for _, r := range []int{0, 1, 3} {
		if !slices.Equal(groups[r], []int{0, 1, 3}) {
			t.Errorf("rank %d's shrunk group: %v, want [0 1 3]", r, groups[r])
		}
	}
}
