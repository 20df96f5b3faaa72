package collectives

import (
	"slices"
	"testing"

	"github.com/spmd-go/spmd/topology"
)

// The chain: regions in the order given, the root first; in each other
// region the lane peer of the previous region's last rank first; a
// host's ranks one after another, its first rank's host first.
func TestChainOf(t *testing.T) {
	lab := topology.FromLabels([]string{"us", "us", "sg", "sg", "eu", "eu"})
	// 3 regions x 2 hosts x 2 slots, hosts' ranks consecutive.
	shared := topology.FromLabels([]string{"us", "us", "us", "us", "sg", "sg", "sg", "sg", "eu", "eu", "eu", "eu"})
	sharedHosts := func(r int) string {
		return []string{"u1", "u1", "u2", "u2", "s1", "s1", "s2", "s2", "e1", "e1", "e2", "e2"}[r]
	}
	// Interleaved regions and hosts: a: 0 2 4 (hosts x y x), b: 1 3 (z w).
	il := topology.FromLabels([]string{"a", "b", "a", "b", "a"})
	ilHosts := func(r int) string { return []string{"x", "z", "y", "w", "x"}[r] }
	none := func(int) string { return "" }
	for _, c := range []struct {
		name    string
		top     topology.Topology
		regions []int
		root    int
		host    func(int) string
		want    []int
	}{
		// us ends at 1 (index 1): sg starts at its member 1 (3), ends at
		// 2 (index 0); eu starts at its member 0.
		{"lab from 0", lab, []int{0, 1, 2}, 0, none, []int{0, 1, 3, 2, 4, 5}},
		{"lab from 1", lab, []int{0, 1, 2}, 1, none, []int{1, 0, 2, 3, 5, 4}},
		// From eu's member 1 (5): eu ends with 4 (index 0), so sg starts
		// at its member 0 (2) and ends at 3 (index 1), us at its member 1.
		{"lab from 5, eu sg us", lab, []int{2, 1, 0}, 5, none, []int{5, 4, 2, 3, 1, 0}},
		// The root's host-mate follows it; then the other host.
		{"shared from 1", shared, []int{0, 1, 2}, 1, sharedHosts, []int{1, 0, 2, 3, 7, 6, 4, 5, 9, 8, 10, 11}},
		// a: the root's host y, then x (0, 4); a ends at 4 (index 2), so
		// b starts at its member 2 mod 2 = 0 (1).
		{"interleaved from 2", il, []int{0, 1}, 2, ilHosts, []int{2, 0, 4, 1, 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := chainOf(c.top, c.regions, c.root, c.host)
			if !slices.Equal(got, c.want) {
				t.Fatalf("chain %v, want %v", got, c.want)
			}
			seen := slices.Sorted(slices.Values(got))
			for r, x := range seen {
				if r != x {
					t.Fatalf("chain %v is not every rank once", got)
				}
			}
		})
	}
}
