/* pingpong.c: the Open MPI side of bench/pingpong-vs-openmpi.sh.
 * Same method as examples/pingpong: for each size, warm up while growing
 * the iteration count until it takes a tenth of the budget, then run ten
 * times that many round trips; print bytes, iterations, half round trip
 * (microseconds) and MB/s (10^6 bytes per second). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double bounce(char *buf, int size, int peer, int rank, long iters) {
    int go = 0;
    if (rank == 0)
        MPI_Send(&go, 0, MPI_INT, peer, 2, MPI_COMM_WORLD);
    else
        MPI_Recv(&go, 0, MPI_INT, peer, 2, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
    double t = MPI_Wtime();
    for (long i = 0; i < iters; i++) {
        if (rank == 0) {
            MPI_Send(buf, size, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
            MPI_Recv(buf, size, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
        } else {
            MPI_Recv(buf, size, MPI_BYTE, peer, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Send(buf, size, MPI_BYTE, peer, 0, MPI_COMM_WORLD);
        }
    }
    return MPI_Wtime() - t;
}

int main(int argc, char **argv) {
    long minSize = 1, maxSize = 4 << 20, factor = 4;
    double budget = 0.3;
    int csv = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-min") && i + 1 < argc) minSize = atol(argv[++i]);
        else if (!strcmp(argv[i], "-max") && i + 1 < argc) maxSize = atol(argv[++i]);
        else if (!strcmp(argv[i], "-factor") && i + 1 < argc) factor = atol(argv[++i]);
        else if (!strcmp(argv[i], "-csv")) csv = 1;
    }
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (size < 2) {
        fprintf(stderr, "pingpong: needs 2 ranks\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    char *buf = calloc(maxSize > 0 ? maxSize : 1, 1);
    int peer = 1 - rank;
    if (rank == 0) {
        if (csv) printf("bytes,iterations,half_rtt_us,mb_per_s\n");
        else printf("%10s %10s %14s %12s\n", "bytes", "iters", "half-RTT(us)", "MB/s");
    }
    if (rank <= 1) {
        for (long s = minSize; s <= maxSize; s = s ? s * factor : 1) {
            long iters = 10;
            for (;;) {
                double d = bounce(buf, (int)s, peer, rank, iters);
                /* both ranks must agree on when to stop growing */
                int more = d <= budget / 10 && iters < (1 << 20);
                MPI_Bcast(&more, 1, MPI_INT, 0, MPI_COMM_WORLD);
                if (!more) break;
                iters *= 4;
            }
            long n = iters * 10;
            double d = bounce(buf, (int)s, peer, rank, n);
            if (rank == 0) {
                double half = d / n / 2;
                if (csv) printf("%ld,%ld,%.3f,%.1f\n", s, n, half * 1e6, s / half / 1e6);
                else printf("%10ld %10ld %14.3f %12.1f\n", s, n, half * 1e6, s / half / 1e6);
                fflush(stdout);
            }
        }
    }
    free(buf);
    MPI_Finalize();
    return 0;
}
