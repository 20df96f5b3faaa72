package topology

// Topology is how a communicator's ranks fall into regions, from the
// region labels of the launcher's rank table.
type Topology struct {
	Names    []string // regions in order of their lowest rank
	RegionOf []int    // rank -> region index
	Members  [][]int  // region -> its ranks, ascending
	Leader   []int    // region -> its lowest rank
	// Contiguous is true when each region's ranks are consecutive (so
	// that reducing within regions, then across regions in order, keeps
	// rank order for non-commutative operations).
	Contiguous bool
}

// FromLabels groups ranks by label. Ranks without a label ("") form one
// region of their own, so a job with no labels at all is one region.
func FromLabels(labels []string) Topology {
	t := Topology{RegionOf: make([]int, len(labels)), Contiguous: true}
	idx := map[string]int{}
	for r, l := range labels {
		i, ok := idx[l]
		if !ok {
			i = len(t.Names)
			idx[l] = i
			t.Names = append(t.Names, l)
			t.Members = append(t.Members, nil)
			t.Leader = append(t.Leader, r)
		}
		if ok && t.Members[i][len(t.Members[i])-1] != r-1 {
			t.Contiguous = false
		}
		t.RegionOf[r] = i
		t.Members[i] = append(t.Members[i], r)
	}
	return t
}

// Regions is the number of regions.
func (t Topology) Regions() int { return len(t.Names) }

// Head is where a rooted operation enters or leaves region r: the root
// itself in its own region, the region's leader elsewhere.
func (t Topology) Head(r, root int) int {
	if t.RegionOf[root] == r {
		return root
	}
	return t.Leader[r]
}

// Index returns rank's position among its region's members.
func (t Topology) Index(rank int) int {
	for i, r := range t.Members[t.RegionOf[rank]] {
		if r == rank {
			return i
		}
	}
	return -1
}

// Lanes is the number of lanes: the size of the smallest region. Lane j
// is the j-th member of every region.
func (t Topology) Lanes() int {
	l := len(t.Members[0])
	for _, m := range t.Members[1:] {
		l = min(l, len(m))
	}
	return l
}

// Rotated returns region r's members starting from rank first when it is
// one of them (and in rank order otherwise), so that a root can take a
// leader's or lane 0's place in its own region.
func (t Topology) Rotated(r, first int) []int {
	m := t.Members[r]
	for i, x := range m {
		if x == first {
			return append(append(make([]int, 0, len(m)), m[i:]...), m[:i]...)
		}
	}
	return m
}
