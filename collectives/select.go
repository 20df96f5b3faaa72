package collectives

// Automatic selection, following MPICH's published defaults (the
// MPIR_CVAR_*_MSG_SIZE thresholds of MPICH 3.x/4.x, for a LAN). Sizes are
// in bytes per rank unless noted. Every choice depends only on arguments
// all ranks agree on, so all ranks choose alike.
const (
	bcastShort       = 12288  // MPIR_CVAR_BCAST_SHORT_MSG_SIZE
	bcastMinProcs    = 8      // MPIR_CVAR_BCAST_MIN_PROCS
	reduceShort      = 2048   // MPIR_CVAR_REDUCE_SHORT_MSG_SIZE
	allreduceShort   = 2048   // MPIR_CVAR_ALLREDUCE_SHORT_MSG_SIZE
	allgatherShort   = 81920  // MPIR_CVAR_ALLGATHER_SHORT_MSG_SIZE (total)
	allgatherLong    = 524288 // MPIR_CVAR_ALLGATHER_LONG_MSG_SIZE (total)
	alltoallShort    = 256    // MPIR_CVAR_ALLTOALL_SHORT_MSG_SIZE (per block)
	alltoallMedium   = 32768  // MPIR_CVAR_ALLTOALL_MEDIUM_MSG_SIZE (per block)
	alltoallMinProcs = 8
	scanLong         = 256 << 10 // ours: above it the chain moves n bytes per rank, not n*log2(p)
)

func isPow2(n int) bool { return n&(n-1) == 0 }

func selectBcast(p, nbytes int) Algorithm {
	if nbytes < bcastShort || p < bcastMinProcs {
		return Binomial
	}
	return ScatterAllgather
}

// selectReduction serves Reduce and Allreduce: Rabenseifner for long
// vectors of a commutative op with at least one element per block.
func selectReduction(p, count, nbytes int, commutative bool, short int, small Algorithm) Algorithm {
	if commutative && nbytes > short && count >= pof2(p) {
		return Rabenseifner
	}
	return small
}

func selectAllgather(p, total int) Algorithm {
	switch {
	case total < allgatherLong && isPow2(p):
		return RecursiveDoubling
	case total < allgatherShort:
		return Bruck
	}
	return Ring
}

func selectAlltoall(p, block int) Algorithm {
	switch {
	case block <= alltoallShort && p >= alltoallMinProcs:
		return Bruck
	case block <= alltoallMedium:
		return Linear
	}
	return Pairwise
}

func selectScan(nbytes int) Algorithm {
	if nbytes >= scanLong {
		return Pipeline
	}
	return RecursiveDoubling
}
