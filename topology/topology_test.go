package topology

import (
	"reflect"
	"testing"
)

func TestFromLabels(t *testing.T) {
	top := FromLabels([]string{"us", "us", "sg", "eu", "eu", "sg"})
	if !reflect.DeepEqual(top.Names, []string{"us", "sg", "eu"}) || !reflect.DeepEqual(top.RegionOf, []int{0, 0, 1, 2, 2, 1}) {
		t.Fatalf("%+v", top)
	}
	if !reflect.DeepEqual(top.Members, [][]int{{0, 1}, {2, 5}, {3, 4}}) || !reflect.DeepEqual(top.Leader, []int{0, 2, 3}) {
		t.Fatalf("%+v", top)
	}
	if top.Contiguous || top.Index(5) != 1 || top.Regions() != 3 {
		t.Fatalf("contiguous %v, index %d", top.Contiguous, top.Index(5))
	}
	if top.Lanes() != 2 || !reflect.DeepEqual(top.Rotated(1, 5), []int{5, 2}) || !reflect.DeepEqual(top.Rotated(0, 5), []int{0, 1}) {
		t.Errorf("lanes %d, rotated %v %v", top.Lanes(), top.Rotated(1, 5), top.Rotated(0, 5))
	}
	if h := []int{top.Head(0, 5), top.Head(1, 5), top.Head(2, 5)}; !reflect.DeepEqual(h, []int{0, 5, 3}) {
		t.Errorf("heads for root 5: %v, want the leaders but the root in its own region", h)
	}
	if c := FromLabels([]string{"a", "a", "b", "c", "c"}); !c.Contiguous {
		t.Error("a a b c c is contiguous")
	}
	if u := FromLabels([]string{"", "", ""}); u.Regions() != 1 || !u.Contiguous {
		t.Errorf("unlabelled: %+v", u)
	}
}
