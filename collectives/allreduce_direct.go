package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// allreduceDirect: a one-step reduce-scatter and a one-step allgather,
// pipelined in segments. Rank i owns piece i (1/p of the vector); every
// rank sends piece i of its vector to rank i, which combines the p
// contributions in rank order and sends the result to every rank. Each
// piece is cut into segments (Options.SegmentSize) and a segment goes out
// in the allgather as soon as it is reduced, so the two phases overlap.
//
// Every message goes straight between two ranks, so each phase costs one
// latency, the largest between two ranks, however the ranks are spread;
// a rank sends and receives 2(p-1)/p of the vector, the least any
// allreduce can (the bound's bandwidth term). The price: p-1 concurrent
// streams per rank and, across regions, more bytes on the WAN than Lanes
// (2 k_a k_b n/p each way per region pair against n) — the right trade
// when hosts' own links, not tunnels between regions, are the limit.
func allreduceDirect(k *call, acc []byte) error {
	k.oneStream = true // see call.on
	p, me := k.size, k.rank
	piece := blocks(len(acc)/k.esize, p, k.esize)
	seg := k.segBytes(piece[1]-piece[0], 2, k.esize)
	nseg := max(1, (piece[1]-piece[0]+seg-1)/seg) // piece 0 is the largest
	// segOf is segment s of b, a piece-sized buffer (possibly empty).
	segOf := func(b []byte, s int) []byte {
		lo := min(s*seg, len(b))
		return b[lo:min(lo+seg, len(b))]
	}
	pieceOf := func(i int) []byte { return acc[piece[i]:piece[i+1]] }
	mine := pieceOf(me)
	defer k.paced(others(p, me, -1), even(p-1, 2*len(mine)))()

	// Receives: the contributions to this rank's piece, one buffer per
	// sender; every other rank's result, into place.
	contrib := make([][]byte, p)
	rs := make([][]*comm.Request, p)
	ag := make([][]*comm.Request, p)
	for r := range p {
		if r == me {
			continue
		}
		contrib[r] = k.alloc(len(mine))
		rs[r] = make([]*comm.Request, nseg)
		ag[r] = make([]*comm.Request, nseg)
		for s := range nseg {
			rs[r][s] = k.irecv(segOf(contrib[r], s), r, 1)
			ag[r][s] = k.irecv(segOf(pieceOf(r), s), r, 2)
		}
	}
	// Sends of the reduce-scatter, segment by segment round the ranks
	// (starting after this one, so that not all ranks feed rank 0 first).
	var sends []*comm.Request
	for s := range nseg {
		for d := 1; d < p; d++ {
			r := (me + d) % p
			sends = append(sends, k.isend(segOf(pieceOf(r), s), r, 1))
		}
	}
	// Reduce each segment of this rank's piece in rank order as its
	// contributions arrive, and send it on at once.
	for s := range nseg {
		own := segOf(mine, s)
		out := own
		if me > 0 {
			// Ranks below this one come first: start from rank 0's.
			if err := k.wait(rs[0][s], len(own)); err != nil {
				return err
			}
			out = segOf(contrib[0], s)
		}
		for r := 1; r < p; r++ {
			var c []byte
			if r == me {
				c = own
			} else {
				if err := k.wait(rs[r][s], len(own)); err != nil {
					return err
				}
				c = segOf(contrib[r], s)
			}
			k.reduceLeft(out, c)
		}
		if me > 0 {
			mem.Copy(own, out)
		}
		for d := 1; d < p; d++ {
			sends = append(sends, k.isend(own, (me+d)%p, 2))
		}
	}
	for r := range p {
		for s, rq := range ag[r] {
			if err := k.wait(rq, len(segOf(pieceOf(r), s))); err != nil {
				return err
			}
		}
	}
	return k.waitSends(sends)
}
