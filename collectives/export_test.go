package collectives

import (
	"context"
	"time"

	"github.com/spmd-go/spmd/comm"
)

// SetLatency sets the one-way latency between regions that c's cost
// model uses (topology.Net.Lat), as if measured: tests on one host have
// none to measure.
func SetLatency(c *comm.Comm, lat [][]time.Duration) {
	st := stateOf(c)
	st.netMu.Lock()
	st.net.Lat = lat
	st.netMu.Unlock()
}

// Lanes2Tail reports what a Lanes2 exchange of n segments of a vector
// of bytes (k members per region, L lanes) does with its last segments.
func Lanes2Tail(c *comm.Comm, n, bytes, k, L int) (center, tail int) {
	return newCall(context.Background(), c, "Lanes2Tail", 1, nil, nil).lanes2Tail(n, bytes, k, L)
}
