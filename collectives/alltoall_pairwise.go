package collectives

import "github.com/spmd-go/spmd/internal/mem"

// alltoallPairwise: in step i (1..p-1) each rank sends its block for
// rank r+i and receives the block from rank r-i. p-1 steps, one exchange
// in flight per rank: MPICH's choice for large blocks. Also Alltoallv:
// blocks are at sl (send) and rl (receive).
func alltoallPairwise(k *call, dst, src []byte, sl, rl layout) error {
	p, r := k.size, k.rank
	mem.Copy(dst[rl.start[r]:rl.end[r]], src[sl.start[r]:sl.end[r]])
	for i := 1; i < p; i++ {
		to, from := (r+i)%p, (r-i+p)%p
		if err := k.sendrecv(src[sl.start[to]:sl.end[to]], to, dst[rl.start[from]:rl.end[from]], from, i); err != nil {
			return err
		}
	}
	return nil
}
