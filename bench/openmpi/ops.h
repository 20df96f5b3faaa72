/* ops.h: the operations of bench.Call and the iteration rule of
 * bench.Iterations in C, shared by coll.c and sweep.c (included once by
 * each; not a library). */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

static long iterations(long size) {
    long n = (64L << 20) / (size > 1 ? size : 1);
    if (n < 20) n = 20;
    if (n > 1000) n = 1000;
    return n;
}

static int rank, np;
static const char *argv0 = "bench";
static char *a, *b;

static void call(const char *op, long size) {
    long n = size / 8 > 0 ? size / 8 : 1;
    if (!strcmp(op, "barrier")) MPI_Barrier(MPI_COMM_WORLD);
    else if (!strcmp(op, "bcast")) MPI_Bcast(a, size, MPI_BYTE, 0, MPI_COMM_WORLD);
    else if (!strcmp(op, "reduce")) MPI_Reduce(a, b, n, MPI_DOUBLE, MPI_SUM, 0, MPI_COMM_WORLD);
    else if (!strcmp(op, "allreduce")) MPI_Allreduce(a, b, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    else if (!strcmp(op, "gather")) MPI_Gather(a, size, MPI_BYTE, b, size, MPI_BYTE, 0, MPI_COMM_WORLD);
    else if (!strcmp(op, "scatter")) MPI_Scatter(a, size, MPI_BYTE, b, size, MPI_BYTE, 0, MPI_COMM_WORLD);
    else if (!strcmp(op, "allgather")) MPI_Allgather(a, size, MPI_BYTE, b, size, MPI_BYTE, MPI_COMM_WORLD);
    else if (!strcmp(op, "alltoall")) MPI_Alltoall(a, size, MPI_BYTE, b, size, MPI_BYTE, MPI_COMM_WORLD);
    else if (!strcmp(op, "reducescatter")) MPI_Reduce_scatter_block(a, b, n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    else { if (rank == 0) fprintf(stderr, "%s: unknown op %s\n", argv0, op); MPI_Abort(MPI_COMM_WORLD, 2); }
}
