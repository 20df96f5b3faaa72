package collectives

import (
	"context"

	"github.com/spmd-go/spmd/comm"
)

// Barrier blocks until every rank of c has called it. It uses the
// dissemination algorithm (ceil(log2 p) rounds), whose messages carry the
// argument check, so a rank that calls another collective at this point
// makes every rank's call fail with a *MismatchError. It first waits for
// the checks of earlier calls (see Options.Check), so a Barrier that
// returns nil means every earlier collective call on c agreed.
func Barrier(ctx context.Context, c *comm.Comm, opts ...Options) error {
	k := newCall(ctx, c, "Barrier", 1, nil, opts)
	if _, err := k.choose(kBarrier, func() Algorithm { return Dissemination }); err != nil {
		return err
	}
	if k.size == 1 {
		return nil
	}
	if err := k.st.harvest(ctx, 0); err != nil {
		return err
	}
	pc := newPendingCheck(k.seq)
	k.st.checker.start(k.seq, k.name, signature{kind: kBarrier, root: -1, count: -1}, pc)
	return k.st.checker.await(ctx, pc)
}
