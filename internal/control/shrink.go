package control

import (
	"fmt"
	"slices"
)

// Shrink agreement. Comm.Shrink must give every surviving member of a
// communicator the same set of survivors, even while more ranks fail;
// peers alone cannot agree on that (a rank that dies half way through an
// exchange leaves some survivors knowing more than others). The starter
// (spmdrun, or a host's proxy relaying to it; for in-process jobs, an
// object shared by the ranks) sees every rank's end for certain, so it
// decides: each survivor sends a TypeShrink with the communicator's key,
// its group (world ranks) and the members it found lost; once every
// member of the group has asked, ended, or been found lost by some asker,
// the starter answers every asker with the same set of failed members
// (TypeShrunk, Dead). An asker in that set (others lost it, say across a
// cut network) learns that it is excluded.

// Shrinks is the starter's record of shrink requests. Not safe for
// concurrent use.
type Shrinks struct {
	reqs     map[string]*shrinkReq
	answered []string // keys answered, oldest first (at most keepAnswered kept)
}

// keepAnswered is how many answered requests are kept for members that
// ask late (ones the others lost); a program that shrinks in a loop does
// not grow the launcher without bound.
const keepAnswered = 256

type shrinkReq struct {
	group  []int
	asked  []int // askers, in order of asking
	failed map[int]bool
	dead   []int // the answer, once given
	done   bool
}

// Reply is an answer to send to one rank.
type Reply struct {
	Rank int
	Msg  Msg
}

// Ask records m (a TypeShrink from world rank from) and returns the
// replies now due. ended reports whether a world rank has ended.
func (s *Shrinks) Ask(from int, m Msg, ended func(int) bool) []Reply {
	if s.reqs == nil {
		s.reqs = make(map[string]*shrinkReq)
	}
	r := s.reqs[m.Key]
	if r == nil {
		r = &shrinkReq{group: slices.Clone(m.Group), failed: make(map[int]bool)}
		s.reqs[m.Key] = r
	}
	if !slices.Equal(r.group, m.Group) || !slices.Contains(m.Group, from) {
		return []Reply{{from, Msg{Type: TypeShrunk, Key: m.Key, Reason: fmt.Sprintf("shrink %s: rank %d's group %v differs from another member's %v", m.Key, from, m.Group, r.group)}}}
	}
	if r.done {
		// A member found lost that asks after the answer (it was cut
		// off, not dead) gets the same answer, and so learns that it is
		// excluded.
		return []Reply{{from, Msg{Type: TypeShrunk, Key: m.Key, Dead: r.dead}}}
	}
	if !slices.Contains(r.asked, from) {
		r.asked = append(r.asked, from)
	}
	for _, d := range m.Dead {
		if slices.Contains(r.group, d) {
			r.failed[d] = true
		}
	}
	return s.due(m.Key, ended)
}

// Ended returns the replies due now that some rank has ended.
func (s *Shrinks) Ended(ended func(int) bool) []Reply {
	var out []Reply
	for key, r := range s.reqs {
		if !r.done {
			out = append(out, s.due(key, ended)...)
		}
	}
	return out
}

// due answers request key if every member has asked, ended or been found
// lost, and keeps the answer for members that ask later.
func (s *Shrinks) due(key string, ended func(int) bool) []Reply {
	r := s.reqs[key]
	var dead []int
	for _, g := range r.group {
		switch {
		case r.failed[g] || ended(g):
			dead = append(dead, g)
		case !slices.Contains(r.asked, g):
			return nil // still waiting for g
		}
	}
	r.done, r.dead = true, dead
	s.answered = append(s.answered, key)
	if len(s.answered) > keepAnswered {
		delete(s.reqs, s.answered[0])
		s.answered = s.answered[1:]
	}
	out := make([]Reply, 0, len(r.asked))
	for _, a := range r.asked {
		if ended(a) {
			continue
		}
		out = append(out, Reply{a, Msg{Type: TypeShrunk, Key: key, Dead: dead}})
	}
	return out
}
