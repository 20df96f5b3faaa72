package comm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/spmd-go/spmd/internal/control"
)

// ErrRankFailed is the cause (in a PeerError) of operations with a rank
// that the launcher reported ended, or that a Shrink agreed had failed.
var ErrRankFailed = errors.New("the rank has failed")

// ErrExcluded is Shrink's error on a rank that the other members lost
// (across a cut network, say) and left out of the new communicator.
var ErrExcluded = errors.New("comm: Shrink: the other members lost this rank and left it out")

// Shrink returns a new communicator of the members of c that have not
// failed, in the same order, with contexts of its own: the idea of MPI's
// MPI_Comm_shrink (ULFM). Every surviving member of c must call it; they
// all get the same group, even if more ranks fail meanwhile (the launcher
// decides, see internal/control's shrink.go). A rank the others lost (a
// network cut, not a crash) gets ErrExcluded.
//
// A rank's failure reaches the survivors as a *PeerError from every
// operation that involves it (a receive from it or from AnySource on a
// communicator that contains it, a send to it, a collective over it). By
// default spmdrun then ends the whole job; with `spmdrun --on-failure
// continue` the survivors go on, and Shrink gives them a communicator
// they can use, AnySource and collectives included.
//
// Under spmdrun Shrink asks the launcher (which knows for certain which
// ranks ended); in an in-process job (Local) the ranks share that role;
// a rank started alone has nobody to lose. Under another launcher
// (mpirun, srun) there is nobody to decide, and Shrink fails.
func (c *Comm) Shrink(ctx context.Context) (*Comm, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	w := c.w
	key := fmt.Sprintf("%d/%d", c.context&^1, c.shrinks.Add(1))
	var lost []int
	w.mu.Lock()
	for _, g := range c.group {
		if g != w.rank && w.peers[g] != nil && w.peers[g].recvErr != nil {
			lost = append(lost, g)
		}
	}
	w.mu.Unlock()
	ans, err := w.askShrink(ctx, control.Msg{Type: control.TypeShrink, Rank: w.rank, Key: key, Group: c.group, Dead: lost})
	if err != nil {
		return nil, fmt.Errorf("comm: Shrink: %w", err)
	}
	if ans.Reason != "" {
		return nil, fmt.Errorf("comm: Shrink: %s", ans.Reason)
	}
	if slices.Contains(ans.Dead, w.rank) {
		return nil, ErrExcluded
	}
	for _, d := range ans.Dead {
		w.failedRank(d, "agreed failed by Shrink")
	}
	var group []int
	for _, g := range c.group {
		if !slices.Contains(ans.Dead, g) {
			group = append(group, g)
		}
	}
	// Fresh contexts, agreed among the survivors over c's collective
	// context (with c's group reduced to them).
	tmp := newComm(w, c.context&^1, group, false)
	id, err := tmp.Collective().agreeContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("comm: Shrink: %w", err)
	}
	return newComm(w, id, group, false), nil
}

// askShrink gets the answer to a shrink request: from the launcher, from
// the job's shared coordinator (Local), or at once (a world of one).
func (w *world) askShrink(ctx context.Context, m control.Msg) (control.Msg, error) {
	ch := make(chan control.Msg, 1)
	w.shrinkMu.Lock()
	if w.shrinkWait == nil {
		w.shrinkWait = make(map[string]chan control.Msg)
	}
	w.shrinkWait[m.Key] = ch
	w.shrinkMu.Unlock()
	defer func() {
		w.shrinkMu.Lock()
		delete(w.shrinkWait, m.Key)
		w.shrinkMu.Unlock()
	}()
	switch {
	case w.ctl != nil:
		if err := w.ctl.Send(m); err != nil {
			return control.Msg{}, fmt.Errorf("asking the launcher: %w", err)
		}
	case w.local != nil:
		w.local.ask(w.rank, m)
	case w.size == 1:
		return control.Msg{Type: control.TypeShrunk, Key: m.Key}, nil // nobody to lose
	default:
		return control.Msg{}, errors.New("nobody can decide who survived: Shrink needs spmdrun (with --on-failure continue) or an in-process job, and this job was started by another launcher")
	}
	select {
	case ans := <-ch:
		return ans, nil
	case <-ctx.Done():
		return control.Msg{}, ctx.Err()
	}
}

// shrunk delivers an answer to the Shrink waiting for it.
func (w *world) shrunk(m control.Msg) {
	w.shrinkMu.Lock()
	ch := w.shrinkWait[m.Key]
	w.shrinkMu.Unlock()
	if ch != nil {
		select {
		case ch <- m:
		default:
		}
	}
}

// failedRank fails every operation with world rank r (ErrRankFailed),
// unless its connection is already known lost or closed.
func (w *world) failedRank(r int, why string) {
	if r < 0 || r >= len(w.peers) || w.peers[r] == nil {
		return
	}
	p := w.peers[r]
	w.mu.Lock()
	known := p.recvErr != nil
	w.mu.Unlock()
	if !known {
		p.fail(p.peerErr("recv", fmt.Errorf("%w (%s)", ErrRankFailed, why)))
	}
}

// localShrinks is the shrink coordinator of an in-process job: ranks do
// not end there, so only what askers report lost counts.
type localShrinks struct {
	mu     sync.Mutex
	s      control.Shrinks
	worlds []*world
}

func (l *localShrinks) ask(from int, m control.Msg) {
	l.mu.Lock()
	replies := l.s.Ask(from, m, func(r int) bool {
		w := l.worlds[r]
		w.mu.Lock()
		defer w.mu.Unlock()
		return w.closing
	})
	l.mu.Unlock()
	for _, r := range replies {
		l.worlds[r.Rank].shrunk(r.Msg)
	}
}
