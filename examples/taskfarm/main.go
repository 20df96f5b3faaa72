// Command taskfarm is a master and workers that survive losing workers:
// rank 0 hands out tasks (sum the primes in a block of integers), the
// workers compute and send back results, and when a worker dies its task
// goes to another, so the job still produces the full, correct result.
// The master checks the total against a serial computation.
//
//	spmdrun -np 4 --on-failure continue ./examples/taskfarm
//	spmdrun -np 4 --on-failure continue ./examples/taskfarm -crash-rank 2 -crash-after 5
//
// Without --on-failure continue, spmdrun ends the job when a rank dies,
// as MPI does. With it, the survivors are told, and the master recovers:
// it tells every live worker to stop and acknowledge (collecting results
// sent before the acknowledgement), then all of them call comm.Shrink,
// which gives the survivors a communicator without the dead, and the
// work goes on there. -crash-rank makes a worker SIGKILL itself after
// receiving its -crash-after'th task, before answering it.
package main

import (
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"syscall"
	"time"

	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/examples/internal/primes"
)

// Tags of the protocol.
const (
	tagTask   = 1 // master -> worker: [task]
	tagStop   = 2 // master -> worker: no more work
	tagResult = 3 // worker -> master: [task, sum]
	tagShrink = 4 // master -> worker: acknowledge, then Shrink
	tagAck    = 5 // worker -> master: nothing more comes on this communicator
)

var (
	tasks      = flag.Int("tasks", 200, "number of tasks")
	block      = flag.Int64("block", 20000, "integers per task")
	taskMS     = flag.Int("task-ms", 0, "extra milliseconds each task takes (to make runs longer)")
	crashRank  = flag.Int("crash-rank", -1, "world rank of a worker that SIGKILLs itself")
	crashAfter = flag.Int("crash-after", 3, "on receiving this many tasks")
)

// work is task t: the sum of the primes in [t*block, (t+1)*block).
func work(t int64) int64 { return primes.Sum(t**block, (t+1)**block) }

func enc(v ...int64) []byte {
	b := make([]byte, 8*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
	}
	return b
}

func dec(b []byte, i int) int64 { return int64(binary.LittleEndian.Uint64(b[8*i:])) }

func main() {
	flag.Parse()
	ctx := context.Background()
	world, err := comm.Init(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "taskfarm:", err)
		os.Exit(1)
	}
	if world.Size() < 2 {
		fmt.Fprintln(os.Stderr, "taskfarm: needs a master and at least one worker: spmdrun -np 4 --on-failure continue ./examples/taskfarm")
		os.Exit(2)
	}
	if world.Rank() == 0 {
		err = master(ctx, world)
	} else {
		err = worker(ctx, world)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "taskfarm: rank %d: %v\n", world.Rank(), err)
		os.Exit(1)
	}
	world.Close()
}

func worker(ctx context.Context, c *comm.Comm) error {
	me := c.WorldRank(c.Rank())
	buf := make([]byte, 8)
	received := 0
	for {
		st, err := c.Recv(ctx, buf, 0, comm.AnyTag) // the master is rank 0 of every communicator
		if err != nil {
			return fmt.Errorf("waiting for the master: %w", err)
		}
		switch st.Tag {
		case tagTask:
			received++
			if me == *crashRank && received == *crashAfter {
				syscall.Kill(os.Getpid(), syscall.SIGKILL)
			}
			t := dec(buf, 0)
			s := work(t)
			time.Sleep(time.Duration(*taskMS) * time.Millisecond)
			if err := c.Send(ctx, enc(t, s), 0, tagResult); err != nil {
				return err
			}
		case tagShrink:
			if err := c.Send(ctx, nil, 0, tagAck); err != nil {
				return err
			}
			if c, err = c.Shrink(ctx); err != nil {
				return err
			}
		case tagStop:
			return nil
		}
	}
}

// farm is the master's state.
type farm struct {
	c          *comm.Comm
	pending    []int64       // tasks not handed out
	busy       map[int]int64 // world rank -> its task
	sums       []int64
	have       []bool
	done       int
	lost       []int // world ranks of dead workers
	reassigned int
	perWorker  map[int]int
}

func master(ctx context.Context, world *comm.Comm) error {
	start := time.Now()
	f := &farm{c: world, busy: map[int]int64{}, sums: make([]int64, *tasks), have: make([]bool, *tasks), perWorker: map[int]int{}}
	for t := range *tasks {
		f.pending = append(f.pending, int64(t))
	}
	for r := 1; r < world.Size(); r++ {
		if err := f.assign(ctx, r); err != nil {
			if err := f.recover(ctx, err); err != nil {
				return err
			}
		}
	}
	buf := make([]byte, 16)
	for f.done < *tasks {
		st, err := f.c.Recv(ctx, buf, comm.AnySource, tagResult)
		if err == nil {
			f.record(f.c.WorldRank(st.Source), buf)
			err = f.assign(ctx, st.Source)
		}
		if err != nil {
			if err := f.recover(ctx, err); err != nil {
				return err
			}
		}
	}
	elapsed := time.Since(start)
	for r := 1; r < f.c.Size(); r++ {
		_ = f.c.Send(ctx, nil, r, tagStop)
	}
	var total, serial int64
	for _, s := range f.sums {
		total += s
	}
	t0 := time.Now()
	for t := range *tasks {
		serial += work(int64(t))
	}
	check := "ok"
	if total != serial {
		check = fmt.Sprintf("MISMATCH (serial %d)", serial)
	}
	fmt.Printf("taskfarm: %d tasks, sum of primes below %d = %d; serial check: %s\n", *tasks, int64(*tasks)**block, total, check)
	fmt.Printf("taskfarm: %d workers, lost workers: %v, tasks reassigned: %d\n", world.Size()-1, f.lost, f.reassigned)
	fmt.Printf("taskfarm: %.2f s with the farm, %.2f s serially on rank 0\n", elapsed.Seconds(), time.Since(t0).Seconds())
	for r := 1; r < world.Size(); r++ {
		fmt.Printf("  worker %d: %d tasks\n", r, f.perWorker[r])
	}
	if total != serial {
		return errors.New("the farm's total differs from the serial one")
	}
	return nil
}

func (f *farm) record(wr int, buf []byte) {
	t, s := dec(buf, 0), dec(buf, 1)
	if bt, ok := f.busy[wr]; ok && bt == t {
		delete(f.busy, wr)
	}
	if !f.have[t] {
		f.sums[t], f.have[t] = s, true
		f.done++
		f.perWorker[wr]++
	}
}

// assign gives the next task, if any, to rank r of the current
// communicator.
func (f *farm) assign(ctx context.Context, r int) error {
	if len(f.pending) == 0 {
		return nil
	}
	t := f.pending[0]
	f.pending = f.pending[1:]
	f.busy[f.c.WorldRank(r)] = t
	return f.c.Send(ctx, enc(t), r, tagTask)
}

// lose marks world rank wr dead and puts its task back.
func (f *farm) lose(wr int) {
	if slices.Contains(f.lost, wr) {
		return
	}
	f.lost = append(f.lost, wr)
	if t, ok := f.busy[wr]; ok {
		delete(f.busy, wr)
		f.pending = append([]int64{t}, f.pending...)
		f.reassigned++
	}
}

// recover handles err, an operation that failed because a worker died:
// every live worker acknowledges (after its last result), all Shrink,
// and every survivor gets a task again.
func (f *farm) recover(ctx context.Context, err error) error {
	var pe *comm.PeerError
	if !errors.As(err, &pe) || pe.Rank == 0 {
		return err
	}
	f.lose(pe.Rank)
	fmt.Fprintf(os.Stderr, "taskfarm: lost worker %d (%v); reassigning its task\n", pe.Rank, pe.Err)
	var live []int
	for r := 1; r < f.c.Size(); r++ {
		if wr := f.c.WorldRank(r); !slices.Contains(f.lost, wr) {
			if err := f.c.Send(ctx, nil, r, tagShrink); err != nil {
				f.lose(wr)
				continue
			}
			live = append(live, r)
		}
	}
	buf := make([]byte, 16)
	for _, r := range live {
		for {
			st, err := f.c.Recv(ctx, buf, r, comm.AnyTag)
			if err != nil {
				f.lose(f.c.WorldRank(r))
				break
			}
			if st.Tag == tagAck {
				break
			}
			f.record(f.c.WorldRank(r), buf)
		}
	}
	c, err := f.c.Shrink(ctx)
	if err != nil {
		return err
	}
	f.c = c
	for r := 1; r < c.Size(); r++ {
		if err := f.assign(ctx, r); err != nil {
			return f.recover(ctx, err)
		}
	}
	return nil
}
