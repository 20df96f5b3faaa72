// Package collectives holds MPI's collective operations over a
// communicator of package comm: Barrier, Bcast, Reduce, Allreduce, Gather,
// Gatherv, Scatter, Scatterv, Allgather, Allgatherv, Alltoall, Alltoallv,
// ReduceScatter, ReduceScatterBlock, Scan and Exscan, generic over Go's
// fixed-size number types, with BcastValue, GatherValues, AllgatherValues
// and AlltoallValues for any value (through encoding/gob).
//
//	sum := make([]float64, n)
//	err := collectives.Allreduce(ctx, world, sum, local, collectives.Sum)
//
// Every rank of the communicator calls the same collectives in the same
// order. Each operation has several algorithms (one file each; steps and
// bytes in docs/algorithms.md); Auto picks one by message and communicator
// size, following MPICH's published switch points, and Options.Algorithm
// forces one.
//
// # Reductions
//
// Sum, Prod, Min, Max apply to numbers (Min and Max not to complex ones),
// BAnd, BOr, BXor, LAnd, LOr to integers, MinLoc and MaxLoc to Loc values;
// NewOp makes one from a function. A non-commutative op is reduced in rank
// order (rank 0 ⊕ rank 1 ⊕ ...), by algorithms that keep it. Every rank of
// an Allreduce gets the same bits. float64 sums and products use gonum.
//
// # Buffers
//
// dst comes before src. dst may be src itself (in place) for Allreduce,
// Reduce (at the root), Scan and Exscan and Alltoall; for Gather and
// Allgather src may be the rank's own block of dst, for Scatter dst may be
// the root's own block of src. Other overlaps are not allowed. Buffers
// belong to the call until it returns. A slice of the wrong length is a
// programmer error and panics.
//
// # Traffic
//
// Collectives use the communicator's collective context (comm.Comm's
// Collective), so a user's Recv(AnySource, AnyTag) never takes their
// messages, and collectives on different communicators (Split, Dup) never
// mix, even when they run at the same time from different goroutines.
// Calls on one communicator must not overlap.
//
// # Failure
//
// The ranks' arguments are compared beside every call; ranks that disagree
// get a *MismatchError naming two of them and the difference, not a hang
// or a corrupt buffer (see Options.Check for when). A lost peer or an ended
// context fails the call with that error; receives it posted are withdrawn
// first. docs/failure.md has the details.
package collectives
