package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// pieces cuts a count-element vector into p-1 pieces, one per rank other
// than root (the j-th owned by rank (root+1+j) mod p), each cut into
// segments of the call's segment size. It serves bcastDirect and
// reduceDirect.
type pieces struct {
	segments
	nseg int // segments of the largest piece
	root int
	p    int
}

func (k *call) pieces(count, root int) pieces {
	off := blocks(count, max(k.size-1, 1), k.esize)
	pc := pieces{segments: segments{off: off, seg: k.segBytes(off[1]-off[0], 2, k.esize)}, root: root, p: k.size}
	pc.nseg = max(1, pc.count(0))
	return pc
}

// owner is the rank that owns piece j; index is the piece rank r owns.
func (pc pieces) owner(j int) int { return (pc.root + 1 + j) % pc.p }
func (pc pieces) index(r int) int { return (r - pc.root - 1 + pc.p) % pc.p }

// others lists the ranks 0..p-1 but me and skip (-1: none).
func others(p, me, skip int) []int {
	var rs []int
	for r := range p {
		if r != me && r != skip {
			rs = append(rs, r)
		}
	}
	return rs
}

// bcastDirect: the root sends each other rank its own piece (1/(p-1) of
// the message), segment by segment round the ranks; each rank forwards
// every segment of its piece to all ranks but the root as soon as it has
// it. Two latencies (root to owner, owner to the rest) whatever the
// layout; the root sends the message once, every other rank forwards
// (p-2)/(p-1) of it and receives all of it — what the bound assumes. The
// price: p-2 streams per rank and, across regions, about k_a k_b n/(p-1)
// bytes per region pair more than Lanes.
func bcastDirect(k *call, buf []byte, root int) error {
	k.oneStream = true // see call.on
	pc := k.pieces(len(buf)/k.esize, root)
	p := k.size
	if k.rank == root {
		defer k.paced(others(p, root, -1), even(p-1, pc.off[1]))()
	} else {
		defer k.paced(others(p, k.rank, root), even(p-2, pc.off[1]))()
	}
	var sends []*comm.Request
	if k.rank == root {
		for s := range pc.nseg {
			for j := range p - 1 {
				sends = append(sends, k.isend(pc.piece(buf, j, s), pc.owner(j), 1))
			}
		}
		return k.waitSends(sends)
	}
	mine := pc.index(k.rank)
	var recvs recvBatch
	for j := range p - 1 {
		if j == mine {
			continue
		}
		for s := range pc.nseg {
			recvs.irecv(k, pc.piece(buf, j, s), pc.owner(j), 2)
		}
	}
	for s := range pc.nseg {
		b := pc.piece(buf, mine, s)
		if err := k.recv(b, root, 1); err != nil {
			return err
		}
		for d := 1; d < p-1; d++ {
			sends = append(sends, k.isend(b, pc.owner((mine+d)%(p-1)), 2))
		}
	}
	if err := recvs.wait(k); err != nil {
		return err
	}
	return k.waitSends(sends)
}

// reduceDirect (also non-commutative ops): bcastDirect backwards. Every
// rank sends segment s of piece j of its vector to piece j's owner, which
// combines the p contributions in rank order as they arrive and sends the
// result segment to the root. The root sends its vector once and receives
// the result once.
func reduceDirect(k *call, dst, src []byte, root int) error {
	k.oneStream = true // see call.on
	pc := k.pieces(len(src)/k.esize, root)
	p := k.size
	if p == 1 {
		if !same(dst, src) {
			mem.Copy(dst, src)
		}
		return nil
	}
	if k.rank == root && sliceOverlap(dst, src) {
		src = k.clone(src) // results land in dst while src is still going out
	}
	defer k.paced(others(p, k.rank, -1), even(p-1, pc.off[1]))()
	var sends []*comm.Request
	mine := -1
	if k.rank != root {
		mine = pc.index(k.rank)
	}
	// Contributions to this rank's piece from every other rank, segment
	// by segment (segment s of rank r's into part[r][s]).
	var part [][][]byte
	var rs [][]*comm.Request
	if mine >= 0 {
		part = make([][][]byte, p)
		rs = make([][]*comm.Request, p)
		for r := range p {
			if r == k.rank {
				continue
			}
			part[r] = make([][]byte, pc.nseg)
			rs[r] = make([]*comm.Request, pc.nseg)
			for s := range pc.nseg {
				part[r][s] = k.alloc(len(pc.piece(src, mine, s)))
				rs[r][s] = k.irecv(part[r][s], r, 1)
			}
		}
	}
	var results recvBatch
	if k.rank == root {
		for j := range p - 1 {
			for s := range pc.nseg {
				results.irecv(k, pc.piece(dst, j, s), pc.owner(j), 2)
			}
		}
	}
	for s := range pc.nseg {
		for d := 1; d < p; d++ {
			j := (max(mine, 0) + d) % (p - 1)
			if j == mine {
				continue
			}
			if o := pc.owner(j); o != k.rank {
				sends = append(sends, k.isend(pc.piece(src, j, s), o, 1))
			}
		}
	}
	if mine >= 0 {
		for s := range pc.nseg {
			own := pc.piece(src, mine, s)
			var out []byte
			for r := range p {
				var c []byte
				if r == k.rank {
					c = own
				} else {
					if err := k.wait(rs[r][s], len(own)); err != nil {
						return err
					}
					c = part[r][s]
				}
				if out == nil {
					out = k.clone(c)
				} else {
					k.reduceLeft(out, c)
				}
			}
			sends = append(sends, k.isend(out, root, 2))
		}
	}
	if err := results.wait(k); err != nil {
		return err
	}
	return k.waitSends(sends)
}
