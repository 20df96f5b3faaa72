package collectives

import (
	"github.com/spmd-go/spmd/comm"

	"github.com/spmd-go/spmd/internal/mem"
)

// scanPipeline: a chain. Rank r receives the prefix of ranks 0..r-1 from
// r-1 segment by segment, adds its own data and passes the new prefix on,
// so all links work at once. p-1 + n/seg steps of one segment; each rank
// sends and receives n bytes. Rank order is kept. With exclusive, dst gets
// the prefix received (rank 0's dst is left as it was).
func scanPipeline(k *call, dst, src []byte, exclusive bool) error {
	p, r, n := k.size, k.rank, len(src)
	seg := k.opts.segment() / k.esize * k.esize
	if seg == 0 {
		seg = k.esize
	}
	nseg := max(1, (n+seg-1)/seg)
	part := func(b []byte, s int) []byte { return b[min(s*seg, n):min((s+1)*seg, n)] }
	in := k.alloc(n)
	var out []byte // the prefix including this rank, sent on
	switch {
	case r == p-1:
	case exclusive:
		out = k.alloc(n)
	default:
		out = dst
	}
	var recvs []*comm.Request
	if r > 0 {
		recvs = make([]*comm.Request, nseg)
		for s := range recvs {
			recvs[s] = k.irecv(part(in, s), r-1, 0)
		}
	}
	var sends []*comm.Request
	for s := 0; s < nseg; s++ {
		mine := part(src, s)
		if r > 0 {
			if err := k.wait(recvs[s], len(mine)); err != nil {
				return err
			}
		}
		got := part(in, s)
		if exclusive {
			if r > 0 {
				if out != nil {
					o := part(out, s)
					mem.Copy(o, mine)
					k.reduceRight(o, got)
				}
				mem.Copy(part(dst, s), got)
			} else if out != nil {
				mem.Copy(part(out, s), mine)
			}
		} else {
			d := part(dst, s)
			if !same(d, mine) {
				mem.Copy(d, mine)
			}
			if r > 0 {
				k.reduceRight(d, got)
			}
		}
		if out != nil {
			sends = append(sends, k.isend(part(out, s), r+1, 0))
		}
	}
	return k.waitSends(sends)
}
