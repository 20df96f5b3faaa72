package stats

import (
	"testing"
	"time"
)

func TestCollective(t *testing.T) {
	Enable()
	for _, d := range []time.Duration{5 * time.Microsecond, 2 * time.Millisecond, 2 * time.Millisecond, time.Minute} {
		Collective("TestOp", d)
	}
	for i := range 10 {
		Collective("TestMany", time.Duration(i)*time.Millisecond)
	}
	var got, many Op
	for _, o := range Snapshot() {
		switch o.Name {
		case "TestOp":
			got = o
		case "TestMany":
			many = o
		}
	}
	if got.Calls != 4 || got.Seconds < 60.004 || got.Seconds > 60.005 {
		t.Errorf("calls %d, seconds %v", got.Calls, got.Seconds)
	}
	// 5 us in the first bucket (<= 10 us), 2 ms twice in the <= 3 ms one,
	// a minute in the last.
	want := map[int]int64{0: 1, 5: 2, len(Bounds): 1}
	for i, n := range got.Buckets {
		if n != want[i] {
			t.Errorf("bucket %d: %d, want %d (%v)", i, n, want[i], got.Buckets)
		}
	}
	if len(many.Recent) != recentN || many.Recent[recentN-1] != 0.009 || many.Recent[0] != 0.002 {
		t.Errorf("recent: %v, want the last %d, oldest first", many.Recent, recentN)
	}
}
