package comm

import (
	"context"
	"encoding/binary"
	"fmt"
	"sort"
)

// Internal tags on the collective context. They are negative, so no
// AnyTag receive can take them.
const (
	tagSplitGather = -2
	tagSplitBcast  = -3
)

// Split partitions c: ranks that give the same color form a new
// communicator, ordered by key (ties by rank in c). A rank that gives
// Undefined gets nil. Every rank of c must call Split.
//
// The new communicator's context ids are agreed among its members so that
// they are unused by every member, even when Splits on other communicators
// run concurrently.
func (c *Comm) Split(ctx context.Context, color, key int) (*Comm, error) {
	if color < 0 && color != Undefined {
		panic(fmt.Sprintf("comm: Split: color %d must be >= 0 or Undefined", color))
	}
	if err := c.usable(); err != nil {
		return nil, err
	}
	cc := c.Collective()
	// 1. Everybody's color and key.
	all, err := cc.allgather64(ctx, []int64{int64(color), int64(key)})
	if err != nil {
		return nil, fmt.Errorf("comm: Split: %w", err)
	}
	n := c.Size()
	// 2. Agree on a context id free at every rank of c (also those of other
	// colors: simpler, and ids are plentiful).
	id, err := cc.agreeContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("comm: Split: %w", err)
	}
	if color == Undefined {
		c.w.mu.Lock()
		delete(c.w.used, id)
		c.w.mu.Unlock()
		return nil, nil
	}
	type member struct{ key, rank int }
	var ms []member
	for r := 0; r < n; r++ {
		if int(all[2*r]) == color {
			ms = append(ms, member{int(all[2*r+1]), r})
		}
	}
	sort.SliceStable(ms, func(i, j int) bool {
		if ms[i].key != ms[j].key {
			return ms[i].key < ms[j].key
		}
		return ms[i].rank < ms[j].rank
	})
	group := make([]int, len(ms))
	for i, m := range ms {
		group[i] = c.group[m.rank]
	}
	return newComm(c.w, id, group, false), nil
}

// Dup returns a new communicator with the same group and ranks as c and
// its own contexts. Every rank of c must call it.
func (c *Comm) Dup(ctx context.Context) (*Comm, error) {
	return c.Split(ctx, 0, c.Rank())
}

// agreeContext finds an even context id that is free at every rank of c
// and reserves it everywhere. Rounds: propose the lowest free id, take the
// maximum, check and reserve it, confirm; repeat above it if some rank had
// it taken meanwhile.
func (c *Comm) agreeContext(ctx context.Context) (uint32, error) {
	w := c.w
	cand := uint32(2)
	for attempt := 0; ; attempt++ {
		w.mu.Lock()
		f := cand
		for w.used[f] {
			f += 2
		}
		w.mu.Unlock()
		props, err := c.allgather64(ctx, []int64{int64(f)})
		if err != nil {
			return 0, err
		}
		m := uint32(0)
		for _, p := range props {
			if uint32(p) > m {
				m = uint32(p)
			}
		}
		w.mu.Lock()
		ok := !w.used[m]
		if ok {
			w.used[m] = true
		}
		w.mu.Unlock()
		okv := int64(0)
		if ok {
			okv = 1
		}
		oks, err := c.allgather64(ctx, []int64{okv})
		if err != nil {
			if ok {
				w.mu.Lock()
				delete(w.used, m)
				w.mu.Unlock()
			}
			return 0, err
		}
		all := true
		for _, v := range oks {
			all = all && v == 1
		}
		if all {
			return m, nil
		}
		if ok {
			w.mu.Lock()
			delete(w.used, m)
			w.mu.Unlock()
		}
		cand = m + 2
	}
}

// allgather64 gathers len(mine) int64 from every rank at rank 0 and sends
// the concatenation (in rank order) back to all. It is the small, linear
// exchange comm needs for itself; the collectives package has the real
// algorithms.
func (c *Comm) allgather64(ctx context.Context, mine []int64) ([]int64, error) {
	n, k := c.Size(), len(mine)
	enc := func(v []int64) []byte {
		b := make([]byte, 8*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint64(b[8*i:], uint64(x))
		}
		return b
	}
	all := make([]byte, 8*k*n)
	if c.rank == 0 {
		copy(all, enc(mine))
		reqs := make([]*Request, 0, n)
		for r := 1; r < n; r++ {
			reqs = append(reqs, c.irecv(all[8*k*r:8*k*(r+1)], r, tagSplitGather))
		}
		for _, rq := range reqs {
			st, err := rq.Wait(ctx)
			if err != nil {
				return nil, err
			}
			if st.Len != 8*k {
				return nil, fmt.Errorf("rank %d sent %d bytes, want %d (mismatched calls?)", st.Source, st.Len, 8*k)
			}
		}
		reqs = reqs[:0]
		for r := 1; r < n; r++ {
			reqs = append(reqs, c.isend(all, r, tagSplitBcast, false))
		}
		if err := WaitAll(ctx, reqs...); err != nil {
			return nil, err
		}
	} else {
		if _, err := c.isend(enc(mine), 0, tagSplitGather, true).Wait(ctx); err != nil {
			return nil, err
		}
		st, err := c.irecv(all, 0, tagSplitBcast).Wait(ctx)
		if err != nil {
			return nil, err
		}
		if st.Len != len(all) {
			return nil, fmt.Errorf("rank 0 sent %d bytes, want %d", st.Len, len(all))
		}
	}
	out := make([]int64, k*n)
	for i := range out {
		out[i] = int64(binary.LittleEndian.Uint64(all[8*i:]))
	}
	return out, nil
}
