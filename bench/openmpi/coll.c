/* coll.c: the Open MPI side of bench/coll-vs-openmpi.sh. Same method and
 * sizes as cmd/spmdbench (bench.OSU, bench.Iterations, bench.Call): a
 * barrier, warm-up calls, a barrier, then timed calls; the figure is the
 * mean time per call of the slowest rank. Prints op,bytes,iterations,avg_us. */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops.h"


/* next size of the ladder, ending with max even when it is not on it */
static long next(long size, long factor, long max) {
    long n = size ? size * factor : 1;
    return (n > max && size < max) ? max : n;
}

int main(int argc, char **argv) {
    long minSize = 8, maxSize = 4 << 20, factor = 4;
    int first = 1;
    MPI_Init(&argc, &argv);
    argv0 = "coll";
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (!strcmp(argv[first], "-min") && first + 1 < argc) minSize = atol(argv[++first]);
        else if (!strcmp(argv[first], "-max") && first + 1 < argc) maxSize = atol(argv[++first]);
        else if (!strcmp(argv[first], "-factor") && first + 1 < argc) factor = atol(argv[++first]);
    }
    size_t cap = (size_t)np * (maxSize > 8 ? maxSize : 8);
    a = calloc(cap, 1);
    b = calloc(cap, 1);
    if (rank == 0) printf("op,bytes,iterations,avg_us\n");
    for (int o = first; o < argc; o++) {
        for (long size = minSize; size <= maxSize; size = next(size, factor, maxSize)) {
            long iters = iterations(size), warm = iters / 10 + 2;
            MPI_Barrier(MPI_COMM_WORLD);
            for (long i = 0; i < warm; i++) call(argv[o], size);
            MPI_Barrier(MPI_COMM_WORLD);
            double t = MPI_Wtime();
            for (long i = 0; i < iters; i++) call(argv[o], size);
            double per = (MPI_Wtime() - t) / iters, worst;
            MPI_Reduce(&per, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
            if (rank == 0) printf("%s,%ld,%ld,%.3f\n", argv[o], size, iters, worst * 1e6);
            if (!strcmp(argv[o], "barrier")) break;
        }
    }
    free(a); free(b);
    MPI_Finalize();
    return 0;
}
