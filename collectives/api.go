package collectives

import (
	"fmt"

	"github.com/spmd-go/spmd/comm"
)

// choose validates an explicit algorithm or returns auto().
func (k *call) choose(kind uint8, auto func() Algorithm) (Algorithm, error) {
	a := k.opts.Algorithm
	if a == Auto {
		// The choice goes into the call's signature, so that ranks whose
		// Auto chose differently (SetBandwidth given on some ranks only)
		// get a MismatchError instead of a hang.
		k.opts.Algorithm = auto()
		return k.opts.Algorithm, nil
	}
	if err := k.permits(kind, a); err != nil {
		return 0, err
	}
	return a, nil
}

// permits reports whether algorithm a can run this call: the operation
// has it, and a non-commutative op keeps rank order with it.
func (k *call) permits(kind uint8, a Algorithm) error {
	if err := algorithmFor(kind, a); err != nil {
		return err
	}
	if k.op != nil && !k.op.commutative && (a == Ring || a == Rabenseifner || (a == Hierarchical || a == Lanes || a == Chain) && kind == kReduce) {
		return fmt.Errorf("collectives: %s: the %v algorithm needs a commutative op", k.name, a)
	}
	if k.op != nil && !k.op.commutative && (a == Hierarchical || a == Lanes || a == Lanes2 || a == Chain && kind == kAllreduce) && !k.topo().Contiguous {
		return fmt.Errorf("collectives: %s: the %v algorithm needs a commutative op or regions that are contiguous blocks of ranks", k.name, a)
	}
	return nil
}

func checkRoot(c *comm.Comm, root int, name string) {
	if root < 0 || root >= c.Size() {
		panic(fmt.Sprintf("collectives: %s: root %d out of range [0, %d)", name, root, c.Size()))
	}
}

func checkLen(name, what string, got, want int) {
	if got != want {
		panic(fmt.Sprintf("collectives: %s: len(%s) is %d, want %d", name, what, got, want))
	}
}

// offsets turns counts (elements) and displacements (elements, or nil
// for packed blocks) into byte offsets per rank: block r is
// buf[off[2r]:off[2r+1]]... returned as a dense off (len p+1) when displs
// is nil, otherwise as starts and ends.
type layout struct {
	start, end []int // byte offsets of rank r's block
}

func layoutOf(name, what string, counts, displs []int, p, esize, buflen int) layout {
	checkLen(name, "counts of "+what, len(counts), p)
	if displs != nil {
		checkLen(name, "displs of "+what, len(displs), p)
	}
	l := layout{start: make([]int, p), end: make([]int, p)}
	at := 0
	for r := 0; r < p; r++ {
		if counts[r] < 0 {
			panic(fmt.Sprintf("collectives: %s: negative count %d for rank %d", name, counts[r], r))
		}
		d := at
		if displs != nil {
			d = displs[r]
		}
		l.start[r], l.end[r] = d*esize, (d+counts[r])*esize
		if d < 0 || l.end[r] > buflen*esize {
			panic(fmt.Sprintf("collectives: %s: block of rank %d (%d elements at %d) outside %s of %d elements", name, r, counts[r], d, what, buflen))
		}
		at = d + counts[r]
	}
	return l
}

// packed reports whether the blocks lie one after another from 0, and if
// so returns their offsets in the form the algorithms take (len p+1).
func (l layout) packed() ([]int, bool) {
	off := make([]int, len(l.start)+1)
	for r := range l.start {
		if l.start[r] != off[r] {
			return nil, false
		}
		off[r+1] = l.end[r]
	}
	return off, true
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// packedLayout is the layout of p blocks of n bytes one after another.
func packedLayout(p, n int) layout {
	l := layout{start: make([]int, p), end: make([]int, p)}
	for r := 0; r < p; r++ {
		l.start[r], l.end[r] = r*n, (r+1)*n
	}
	return l
}
