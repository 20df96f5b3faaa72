// Package collectives will hold every collective operation (Barrier,
// Bcast, Reduce, Allreduce, ...), one algorithm per file, built on the
// point-to-point layer of package comm through Comm.Collective. It is
// filled in by the collectives issue; comm has no collective algorithms.
package collectives
