package collectives

import "github.com/spmd-go/spmd/internal/mem"

// allgatherBruck: in round j (distance d = 2^j) each rank sends the first
// min(d, p-d) blocks it holds to rank r-d and appends what rank r+d sends,
// then rotates. ceil(log2 p) rounds for any p; (p-1)*n bytes received.
// Good for small blocks on non-power-of-two groups. Blocks of equal size n.
func allgatherBruck(k *call, dst []byte, n int) error {
	p, r := k.size, k.rank
	tmp := k.alloc(p * n)
	mem.Copy(tmp, dst[r*n:(r+1)*n])
	step := 0
	for d := 1; d < p; d, step = d*2, step+1 {
		cnt := min(d, p-d)
		if err := k.sendrecv(tmp[:cnt*n], (r-d+p)%p, tmp[d*n:(d+cnt)*n], (r+d)%p, step); err != nil {
			return err
		}
	}
	for i := 1; i < p; i++ { // tmp block i came from rank r+i
		s := (r + i) % p
		mem.Copy(dst[s*n:(s+1)*n], tmp[i*n:(i+1)*n])
	}
	return nil
}
