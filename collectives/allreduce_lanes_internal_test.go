package collectives

import (
	"slices"
	"testing"
	"time"
)

// The regions a lane sends to, farthest first, and whether their
// latencies differ enough for the order to matter.
func TestFarthestFirst(t *testing.T) {
	ms := time.Millisecond
	lab := [][]time.Duration{ // one-way 40/70/90 ms
		{0, 40 * ms, 70 * ms},
		{40 * ms, 0, 90 * ms},
		{70 * ms, 90 * ms, 0},
	}
	same := [][]time.Duration{{0, 50 * ms, 50 * ms}, {50 * ms, 0, 50 * ms}, {50 * ms, 50 * ms, 0}}
	four := [][]time.Duration{
		{0, 10 * ms, 30 * ms, 30 * ms},
		{10 * ms, 0, 20 * ms, 5 * ms},
		{30 * ms, 20 * ms, 0, 1 * ms},
		{30 * ms, 5 * ms, 1 * ms, 0},
	}
	for _, c := range []struct {
		name    string
		lat     [][]time.Duration
		own     int
		want    []int
		ordered bool
	}{
		{"lab from 0", lab, 0, []int{2, 1}, true},
		{"lab from 1", lab, 1, []int{2, 0}, true},
		{"lab from 2", lab, 2, []int{1, 0}, true},
		{"equal latencies", same, 1, []int{0, 2}, false},
		{"two regions", [][]time.Duration{{0, ms}, {ms, 0}}, 1, []int{0}, false},
		{"ties keep region order", four, 0, []int{2, 3, 1}, true},
		{"four from 3", four, 3, []int{0, 1, 2}, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, ordered := farthestFirst(c.lat, c.own)
			if !slices.Equal(got, c.want) || ordered != c.ordered {
				t.Fatalf("farthestFirst = %v, %v; want %v, %v", got, ordered, c.want, c.ordered)
			}
		})
	}
}
