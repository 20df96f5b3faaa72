package collectives

import (
	"bytes"
	"context"
	"encoding/gob"
	"fmt"

	"github.com/spmd-go/spmd/comm"
)

// Values of any type (structs, maps, strings) travel through encoding/gob:
// the helpers below encode, move the lengths and then the bytes with the
// numeric collectives, and decode. They cost two collectives each.

func encode[V any](v *V) ([]byte, error) {
	var b bytes.Buffer
	if err := gob.NewEncoder(&b).Encode(v); err != nil {
		return nil, fmt.Errorf("collectives: encoding %T: %w", v, err)
	}
	return b.Bytes(), nil
}

func decode[V any](b []byte, v *V, from int) error {
	if err := gob.NewDecoder(bytes.NewReader(b)).Decode(v); err != nil {
		return fmt.Errorf("collectives: decoding the %T from rank %d: %w", v, from, err)
	}
	return nil
}

// BcastValue sets *v on every rank to root's *v.
func BcastValue[V any](ctx context.Context, c *comm.Comm, v *V, root int) error {
	var b []byte
	if c.Rank() == root {
		var err error
		if b, err = encode(v); err != nil {
			return err
		}
	}
	n := []int64{int64(len(b))}
	if err := Bcast(ctx, c, n, root); err != nil {
		return err
	}
	if c.Rank() != root {
		b = make([]byte, n[0])
	}
	if err := Bcast(ctx, c, b, root); err != nil {
		return err
	}
	if c.Rank() == root {
		return nil
	}
	var fresh V
	if err := decode(b, &fresh, root); err != nil {
		return err
	}
	*v = fresh
	return nil
}

// GatherValues returns, on root, every rank's v in rank order (nil
// elsewhere).
func GatherValues[V any](ctx context.Context, c *comm.Comm, v V, root int) ([]V, error) {
	b, err := encode(&v)
	if err != nil {
		return nil, err
	}
	p := c.Size()
	var lens []int64
	if c.Rank() == root {
		lens = make([]int64, p)
	}
	if err := Gather(ctx, c, lens, []int64{int64(len(b))}, root); err != nil {
		return nil, err
	}
	var all []byte
	var counts []int
	if c.Rank() == root {
		counts = ints(lens)
		all = make([]byte, sum(counts))
	}
	if err := Gatherv(ctx, c, all, counts, nil, b, root); err != nil {
		return nil, err
	}
	if c.Rank() != root {
		return nil, nil
	}
	return decodeAll[V](all, counts)
}

// AllgatherValues returns every rank's v in rank order, on every rank.
func AllgatherValues[V any](ctx context.Context, c *comm.Comm, v V) ([]V, error) {
	b, err := encode(&v)
	if err != nil {
		return nil, err
	}
	lens := make([]int64, c.Size())
	if err := Allgather(ctx, c, lens, []int64{int64(len(b))}); err != nil {
		return nil, err
	}
	counts := ints(lens)
	all := make([]byte, sum(counts))
	if err := Allgatherv(ctx, c, all, counts, nil, b); err != nil {
		return nil, err
	}
	return decodeAll[V](all, counts)
}

// AlltoallValues sends vs[j] to rank j and returns what every rank sent
// this one, in rank order. len(vs) == Size().
func AlltoallValues[V any](ctx context.Context, c *comm.Comm, vs []V) ([]V, error) {
	p := c.Size()
	checkLen("AlltoallValues", "vs", len(vs), p)
	var out []byte
	scounts := make([]int, p)
	slens := make([]int64, p)
	for j := range vs {
		b, err := encode(&vs[j])
		if err != nil {
			return nil, err
		}
		out = append(out, b...)
		scounts[j], slens[j] = len(b), int64(len(b))
	}
	rlens := make([]int64, p)
	if err := Alltoall(ctx, c, rlens, slens); err != nil {
		return nil, err
	}
	rcounts := ints(rlens)
	in := make([]byte, sum(rcounts))
	if err := Alltoallv(ctx, c, in, rcounts, nil, out, scounts, nil); err != nil {
		return nil, err
	}
	return decodeAll[V](in, rcounts)
}

func ints(xs []int64) []int {
	out := make([]int, len(xs))
	for i, x := range xs {
		out[i] = int(x)
	}
	return out
}

func decodeAll[V any](all []byte, counts []int) ([]V, error) {
	vs := make([]V, len(counts))
	at := 0
	for r, n := range counts {
		if err := decode(all[at:at+n], &vs[r], r); err != nil {
			return nil, err
		}
		at += n
	}
	return vs, nil
}
