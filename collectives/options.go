package collectives

import "fmt"

// Options are per-call knobs. The zero value chooses everything
// automatically. Timeouts come from the context, not from here.
type Options struct {
	// Algorithm forces an algorithm; Auto (the zero value) selects one by
	// message size and communicator size (see select.go). An algorithm the
	// operation does not have is an error.
	Algorithm Algorithm
	// SegmentSize is the segment size in bytes for pipelined algorithms;
	// 0 lets the cost model choose it for the algorithms across regions
	// (Lanes, Lanes2, Direct, Chain: topology.Segment, from the part's size and
	// the host's bandwidth) and means 64 KiB for the flat Pipeline ones.
	SegmentSize int
	// Check chooses how the ranks' arguments are compared (see
	// MismatchError). The default, CheckAsync, costs no waiting. Every
	// rank must give the same Check for a call: a rank that skips the
	// check (CheckOff) while others run it leaves their checks waiting,
	// and after 1024 calls their collectives wait too.
	Check Check
}

// Check is a mode of the argument check. Every call compares its
// arguments across the ranks with ceil(log2 p) small messages per rank,
// sent beside the algorithm's own.
type Check uint8

const (
	// CheckAsync (the default) lets a call return as soon as its data has
	// moved; its check finishes in the background. A disagreement makes
	// the call fail on every rank whose data could not move, and every
	// later collective call on the communicator fail on every rank; a
	// Barrier waits for all earlier checks, so it is where every rank is
	// sure to have learnt. At most 1024 checks are outstanding per
	// communicator.
	CheckAsync Check = iota
	// CheckSync makes the call return only when its check is done: a
	// disagreement fails this very call on every rank, and no buffer is
	// left half written. Costs about a barrier's latency per call.
	CheckSync
	// CheckOff skips the check: ranks that disagree may hang until ctx
	// ends or corrupt buffers, as in MPI.
	CheckOff
)

const defaultSegment = 64 << 10

func (o Options) segment() int {
	if o.SegmentSize > 0 {
		return o.SegmentSize
	}
	return defaultSegment
}

// Algorithm names a collective algorithm. docs/algorithms.md gives the
// steps and bytes of each.
type Algorithm uint8

// Algorithms. Which operations have which is in the table of each
// operation's documentation.
const (
	Auto              Algorithm = iota
	Binomial                    // tree: Bcast, Reduce, Gather, Scatter; Reduce+Scatterv for ReduceScatter
	ScatterAllgather            // Bcast: binomial scatter then ring allgather (van de Geijn)
	Pipeline                    // Bcast, Scan, Exscan: segmented chain
	RecursiveDoubling           // Allreduce, Allgather, Scan, Exscan
	Ring                        // Allreduce, Allgather(v), ReduceScatter
	Rabenseifner                // Allreduce, Reduce: recursive halving reduce-scatter then doubling allgather (or gather)
	Bruck                       // Allgather, Alltoall
	Pairwise                    // Alltoall(v)
	Linear                      // Gather(v), Scatter(v), Alltoall(v): every pair directly
	Dissemination               // Barrier
	Hierarchical                // Bcast, Reduce, Allreduce, Allgather, Gather, Scatter, Alltoall: trees inside regions, one flat exchange among region leaders
	Lanes                       // Allreduce, Bcast, Reduce, Allgather: long messages across regions in one stream per lane (the j-th member of every region)
	Direct                      // Allreduce, Bcast, Reduce: pieces straight between every two ranks, in segments that overlap the phases (one latency per phase)
	Lanes2                      // Allreduce: Lanes with the exchange between regions in two rounds (reduce-scatter, allgather): fewer WAN bytes on three or more regions, one more crossing
	Chain                       // Bcast, Reduce: one pipelined chain through the regions in the order of least latency, each host's link carrying the message once each way; Allreduce: Lanes with the exchange between regions along a chain of regions (a lane host sends its part across at most twice)
	numAlgorithms
)

var algNames = [...]string{"Auto", "Binomial", "ScatterAllgather", "Pipeline", "RecursiveDoubling", "Ring", "Rabenseifner", "Bruck", "Pairwise", "Linear", "Dissemination", "Hierarchical", "Lanes", "Direct", "Lanes2", "Chain"}

func (a Algorithm) String() string {
	if int(a) < len(algNames) {
		return algNames[a]
	}
	return fmt.Sprintf("Algorithm(%d)", a)
}

// ParseAlgorithm returns the algorithm with the given name (as String
// prints it, case-insensitive).
func ParseAlgorithm(s string) (Algorithm, error) {
	for i, n := range algNames {
		if equalFold(n, s) {
			return Algorithm(i), nil
		}
	}
	return 0, fmt.Errorf("collectives: unknown algorithm %q", s)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}

// Operation kinds, for the argument check and errors.
const (
	kBarrier = iota + 1
	kBcast
	kReduce
	kAllreduce
	kGather
	kGatherv
	kScatter
	kScatterv
	kAllgather
	kAllgatherv
	kAlltoall
	kAlltoallv
	kReduceScatter
	kReduceScatterBlock
	kScan
	kExscan
	kMeasureBandwidth
)

var kindNames = map[uint8]string{
	kBarrier: "Barrier", kBcast: "Bcast", kReduce: "Reduce", kAllreduce: "Allreduce",
	kGather: "Gather", kGatherv: "Gatherv", kScatter: "Scatter", kScatterv: "Scatterv",
	kAllgather: "Allgather", kAllgatherv: "Allgatherv", kAlltoall: "Alltoall", kAlltoallv: "Alltoallv",
	kReduceScatter: "ReduceScatter", kReduceScatterBlock: "ReduceScatterBlock", kScan: "Scan", kExscan: "Exscan",
	kMeasureBandwidth: "MeasureBandwidth",
}

func kindName(k uint8) string {
	if n, ok := kindNames[k]; ok {
		return n
	}
	return fmt.Sprintf("operation %d", k)
}

// Algorithms returns the algorithms an operation (by name, as "Allreduce")
// offers besides Auto.
func Algorithms(operation string) []Algorithm {
	for k, n := range kindNames {
		if n == operation {
			return append([]Algorithm(nil), algorithmsOf[k]...)
		}
	}
	return nil
}

var algorithmsOf = map[uint8][]Algorithm{
	kBarrier:            {Dissemination},
	kBcast:              {Binomial, ScatterAllgather, Pipeline, Hierarchical, Lanes, Direct, Chain},
	kReduce:             {Binomial, Rabenseifner, Hierarchical, Lanes, Direct, Chain},
	kAllreduce:          {RecursiveDoubling, Ring, Rabenseifner, Hierarchical, Lanes, Direct, Lanes2, Chain},
	kGather:             {Binomial, Linear, Hierarchical, Lanes},
	kGatherv:            {Linear},
	kScatter:            {Binomial, Linear, Hierarchical, Lanes},
	kScatterv:           {Linear},
	kAllgather:          {RecursiveDoubling, Ring, Bruck, Hierarchical, Lanes},
	kAllgatherv:         {Ring, Linear},
	kAlltoall:           {Bruck, Pairwise, Linear, Hierarchical},
	kAlltoallv:          {Pairwise, Linear},
	kReduceScatter:      {Ring, Binomial},
	kReduceScatterBlock: {Ring, Binomial},
	kScan:               {RecursiveDoubling, Pipeline},
	kExscan:             {RecursiveDoubling, Pipeline},
}

// algorithmFor validates an explicit choice for kind.
func algorithmFor(kind uint8, a Algorithm) error {
	for _, x := range algorithmsOf[kind] {
		if x == a {
			return nil
		}
	}
	return fmt.Errorf("collectives: %s has no %v algorithm (it has %v)", kindName(kind), a, algorithmsOf[kind])
}
