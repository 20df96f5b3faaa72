package collectives

import (
	"github.com/spmd-go/spmd/comm"
	"github.com/spmd-go/spmd/internal/mem"
	"github.com/spmd-go/spmd/topology"
)

// Region-aware algorithms for small messages (Hierarchical): inside each
// region a binomial tree over the region's ranks, between regions one
// flat exchange among the region leaders (each leader sends straight to
// every other), so a call crosses the WAN once, in parallel, instead of
// once per tree level. Costs are in docs/algorithms.md.

// topo returns the communicator's regions (computed once per
// communicator from the launcher's rank table).
func (k *call) topo() topology.Topology {
	k.st.topoOnce.Do(func() {
		labels := make([]string, k.size)
		for r := range labels {
			labels[r] = k.c.Info(r).Region
		}
		k.st.topo = topology.FromLabels(labels)
	})
	return k.st.topo
}

// multiRegion reports whether the communicator spans regions, and so
// whether Auto should consider Hierarchical.
func (k *call) multiRegion() bool { return k.topo().Regions() > 1 }

func indexOf(members []int, rank int) int {
	for i, r := range members {
		if r == rank {
			return i
		}
	}
	return -1
}

// treeBcast broadcasts buf over members (ranks of the communicator) from
// members[root] with a binomial tree, as step.
func treeBcast(k *call, buf []byte, members []int, root, step int) error {
	p := len(members)
	me := indexOf(members, k.rank)
	if me < 0 || p == 1 {
		return nil
	}
	rel := (me - root + p) % p
	mask := 1
	for mask < p {
		if rel&mask != 0 {
			if err := k.recv(buf, members[(rel-mask+root)%p], step); err != nil {
				return err
			}
			break
		}
		mask <<= 1
	}
	var sends []*comm.Request
	for mask >>= 1; mask > 0; mask >>= 1 {
		if rel+mask < p {
			sends = append(sends, k.isend(buf, members[(rel+mask+root)%p], step))
		}
	}
	return k.waitSends(sends)
}

// treeReduce reduces acc over members into members[0]'s acc with a
// binomial tree that keeps member order (lower members on the left), as
// step. tmp is scratch of len(acc).
func treeReduce(k *call, acc, tmp []byte, members []int, step int) error {
	p := len(members)
	me := indexOf(members, k.rank)
	for mask := 1; mask < p; mask <<= 1 {
		if me&mask != 0 {
			return k.send(acc, members[me-mask], step)
		}
		if me+mask < p {
			if err := k.recv(tmp, members[me+mask], step); err != nil {
				return err
			}
			if len(acc) > 0 {
				k.reduceLeft(acc, tmp)
			}
		}
	}
	return nil
}

// exchange sends mine to peers[r] for every region r but this rank's own
// and returns what each sent (parts[r]; parts[own] is mine), as step.
// peers are the region leaders, or one lane's members.
func exchange(k *call, peers []int, own int, mine []byte, partLen func(r int) int, step int) ([][]byte, error) {
	parts := make([][]byte, len(peers))
	recvs := make([]*comm.Request, len(peers))
	var sends []*comm.Request
	for r, peer := range peers {
		if r == own {
			parts[r] = mine
			continue
		}
		parts[r] = k.alloc(partLen(r))
		recvs[r] = k.irecv(parts[r], peer, step)
		sends = append(sends, k.isend(mine, peer, step))
	}
	for r, rq := range recvs {
		if rq != nil {
			if err := k.wait(rq, len(parts[r])); err != nil {
				return nil, err
			}
		}
	}
	return parts, k.waitSends(sends)
}

// bcastHier: the root sends to every other region's leader (its own
// region starts from the root), then a tree inside each region.
func bcastHier(k *call, buf []byte, root int) error {
	t := k.topo()
	rootRegion := t.RegionOf[root]
	own := t.RegionOf[k.rank]
	sub := t.Head(own, root)
	var sends []*comm.Request
	switch {
	case k.rank == root:
		for r := range t.Members {
			if r != rootRegion {
				sends = append(sends, k.isend(buf, t.Leader[r], 1))
			}
		}
	case k.rank == sub:
		if err := k.recv(buf, root, 1); err != nil {
			return err
		}
	}
	members := t.Members[own]
	if err := treeBcast(k, buf, members, indexOf(members, sub), 2); err != nil {
		return err
	}
	return k.waitSends(sends)
}

// allreduceHier: reduce inside each region to its leader, the leaders
// exchange their partial results and each combines them in region order
// (so every leader computes the same bits), then a tree inside each
// region. Keeps rank order when regions are contiguous blocks of ranks.
func allreduceHier(k *call, acc []byte) error {
	t := k.topo()
	own := t.RegionOf[k.rank]
	members := t.Members[own]
	tmp := k.alloc(len(acc))
	if err := treeReduce(k, acc, tmp, members, 1); err != nil {
		return err
	}
	if k.rank == t.Leader[own] && t.Regions() > 1 {
		parts, err := exchange(k, t.Leader, own, k.clone(acc), func(int) int { return len(acc) }, 2)
		if err != nil {
			return err
		}
		mem.Copy(acc, parts[0])
		for r := 1; r < len(parts); r++ {
			k.reduceLeft(acc, parts[r])
		}
	}
	return treeBcast(k, acc, members, 0, 3)
}

// reduceHier (commutative ops): reduce inside each region to its leader
// (the root in the root's region), the leaders send their partial result
// straight to the root, which combines them.
func reduceHier(k *call, dst, src []byte, root int) error {
	t := k.topo()
	own := t.RegionOf[k.rank]
	sub := t.Head(own, root)
	order := t.Rotated(own, sub) // the sub-root first
	acc := k.clone(src)
	tmp := k.alloc(len(src))
	if err := treeReduce(k, acc, tmp, order, 1); err != nil {
		return err
	}
	switch {
	case k.rank == root:
		for r := range t.Members {
			if r == own {
				continue
			}
			if err := k.recv(tmp, t.Leader[r], 2); err != nil {
				return err
			}
			k.reduceLeft(acc, tmp)
		}
		mem.Copy(dst, acc)
	case k.rank == sub:
		return k.send(acc, root, 2)
	}
	return nil
}

// allgatherHier: each region's blocks are gathered at its leader, the
// leaders exchange their regions' blocks, and each leader sends the whole
// result down a tree inside its region. n is the block size in bytes.
func allgatherHier(k *call, dst []byte, n int) error {
	t := k.topo()
	own := t.RegionOf[k.rank]
	members := t.Members[own]
	leader := t.Leader[own]
	block := func(r int) []byte { return dst[r*n : (r+1)*n] }
	if k.rank != leader {
		if err := k.send(block(k.rank), leader, 1); err != nil {
			return err
		}
	} else {
		recvs := make([]*comm.Request, len(members))
		for i, r := range members {
			if r != k.rank {
				recvs[i] = k.irecv(block(r), r, 1)
			}
		}
		for _, rq := range recvs {
			if rq != nil {
				if err := k.wait(rq, n); err != nil {
					return err
				}
			}
		}
		if t.Regions() > 1 {
			// This region's blocks, packed in member order.
			mine := k.alloc(len(members) * n)
			for i, r := range members {
				mem.Copy(mine[i*n:], block(r))
			}
			parts, err := exchange(k, t.Leader, own, mine, func(r int) int { return len(t.Members[r]) * n }, 2)
			if err != nil {
				return err
			}
			for reg, part := range parts {
				if reg == own {
					continue
				}
				for i, r := range t.Members[reg] {
					mem.Copy(block(r), part[i*n:(i+1)*n])
				}
			}
		}
	}
	return treeBcast(k, dst, members, indexOf(members, leader), 3)
}
