package split

import "testing"

func TestBlock(t *testing.T) {
	for _, c := range []struct{ n, p int }{{10, 3}, {3, 4}, {0, 2}, {98, 3}, {7, 7}} {
		next := 0
		for r := range c.p {
			first, k := Block(c.n, r, c.p)
			if first != next || k < c.n/c.p || k > c.n/c.p+1 {
				t.Errorf("Block(%d, %d, %d) = %d, %d; want first %d and %d or %d items", c.n, r, c.p, first, k, next, c.n/c.p, c.n/c.p+1)
			}
			next += k
		}
		if next != c.n {
			t.Errorf("n %d p %d: blocks cover %d items", c.n, c.p, next)
		}
	}
	counts, displs := Layout(98, 3, 60, 1)
	if counts[0] != 33*60 || displs[0] != 60 || displs[1] != 34*60 || counts[2] != 32*60 {
		t.Errorf("Layout: %v %v", counts, displs)
	}
}
