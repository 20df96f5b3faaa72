package collectives

import (
	"github.com/spmd-go/spmd/internal/bufpool"

	"github.com/spmd-go/spmd/internal/mem"
)

// Temporary buffers of a call come from internal/bufpool, so that a loop
// of large collectives does not allocate, zero and collect megabytes per
// call. A call hands its buffers back only when it succeeded (a failed
// call may have left receives that still hold them).

// alloc returns n bytes for the call's own use (not zeroed), aligned for
// any element type; they go back to the pool when the call succeeds.
func (k *call) alloc(n int) []byte {
	b := bufpool.Get(n)
	if cap(b) >= bufpool.Min {
		k.bufs = append(k.bufs, b)
	}
	return b
}

// clone returns a copy of b in the call's own memory.
func (k *call) clone(b []byte) []byte {
	c := k.alloc(len(b))
	mem.Copy(c, b)
	return c
}

// release hands the call's buffers back.
func (k *call) release() {
	for _, b := range k.bufs {
		bufpool.Put(b)
	}
	k.bufs = nil
}
