package collectives

import "github.com/spmd-go/spmd/internal/mem"

// alltoallBruck: rotate so that local block i is meant for rank r+i; in
// round j send every block whose index has bit j set to rank r+2^j (packed
// in one message) and put what rank r-2^j sends in the same places; undo
// the rotation. ceil(log2 p) rounds of about n*p/2 bytes: fewer messages
// than pairwise, more bytes, so it suits small blocks (MPICH: up to 256
// bytes with 8 or more ranks).
func alltoallBruck(k *call, dst, src []byte, n int) error {
	p, r := k.size, k.rank
	tmp := k.alloc(p * n)
	for i := 0; i < p; i++ {
		d := (r + i) % p
		mem.Copy(tmp[i*n:(i+1)*n], src[d*n:(d+1)*n])
	}
	pack := k.alloc((p/2 + 1) * n)
	unpack := k.alloc((p/2 + 1) * n)
	step := 0
	for bit := 1; bit < p; bit, step = bit*2, step+1 {
		m := 0
		for i := 1; i < p; i++ {
			if i&bit != 0 {
				mem.Copy(pack[m*n:(m+1)*n], tmp[i*n:(i+1)*n])
				m++
			}
		}
		if err := k.sendrecv(pack[:m*n], (r+bit)%p, unpack[:m*n], (r-bit+p)%p, step); err != nil {
			return err
		}
		m = 0
		for i := 1; i < p; i++ {
			if i&bit != 0 {
				mem.Copy(tmp[i*n:(i+1)*n], unpack[m*n:(m+1)*n])
				m++
			}
		}
	}
	for i := 0; i < p; i++ { // tmp block i came from rank r-i
		s := (r - i + p) % p
		mem.Copy(dst[s*n:(s+1)*n], tmp[i*n:(i+1)*n])
	}
	return nil
}
