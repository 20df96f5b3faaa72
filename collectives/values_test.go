package collectives_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/spmd-go/spmd/collectives"
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/comm/commtest"
)

type record struct {
	Name   string
	Rank   int
	Tags   map[string]int
	Floats []float64
}

func recordOf(r, to int) record {
	return record{Name: fmt.Sprintf("from %d to %d", r, to), Rank: r, Tags: map[string]int{"x": r * to}, Floats: make([]float64, r+1)}
}

func TestValues(t *testing.T) {
	const p = 4
	commtest.Run(t, p, func(ctx context.Context, c *comm.Comm) error {
		r := c.Rank()
		var v record
		if r == 2 {
			v = recordOf(2, -1)
		}
		if err := collectives.BcastValue(ctx, c, &v, 2); err != nil {
			return err
		}
		if !reflect.DeepEqual(v, recordOf(2, -1)) {
			return fmt.Errorf("BcastValue: %+v", v)
		}
		got, err := collectives.GatherValues(ctx, c, recordOf(r, -1), 1)
		if err != nil {
			return err
		}
		if r == 1 {
			for q := range p {
				if !reflect.DeepEqual(got[q], recordOf(q, -1)) {
					return fmt.Errorf("GatherValues[%d]: %+v", q, got[q])
				}
			}
		} else if got != nil {
			return fmt.Errorf("GatherValues off root: %v", got)
		}
		all, err := collectives.AllgatherValues(ctx, c, recordOf(r, -1))
		if err != nil {
			return err
		}
		for q := range p {
			if !reflect.DeepEqual(all[q], recordOf(q, -1)) {
				return fmt.Errorf("AllgatherValues[%d]: %+v", q, all[q])
			}
		}
		out := make([]record, p)
		for j := range out {
			out[j] = recordOf(r, j)
		}
		back, err := collectives.AlltoallValues(ctx, c, out)
		if err != nil {
			return err
		}
		for q := range p {
			if !reflect.DeepEqual(back[q], recordOf(q, r)) {
				return fmt.Errorf("AlltoallValues[%d]: %+v", q, back[q])
			}
		}
		return nil
	})
}
