package collectives

import (
	"context"

	"github.com/spmd-go/spmd/comm"
)

// Barrier blocks until every rank of c has called it. It uses the
// dissemination algorithm (ceil(log2 p) rounds), whose messages carry the
// argument check, so a rank that calls another collective at this point
// makes every rank's call fail with a *MismatchError.
func Barrier(ctx context.Context, c *comm.Comm, opts ...Options) error {
	k := newCall(ctx, c, "Barrier", 1, nil, opts)
	if k.opts.Algorithm != Auto {
		if err := algorithmFor(kBarrier, k.opts.Algorithm); err != nil {
			return err
		}
	}
	if k.size == 1 {
		return nil
	}
	return k.check(ctx, signature{kind: kBarrier, root: -1, count: -1})
}
