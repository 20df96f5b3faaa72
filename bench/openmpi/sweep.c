/* sweep.c: the Open MPI side of bench/sweep-vs-openmpi.sh, with the same
 * method, sizes and CSV columns as cmd/spmdbench: for each operation and
 * size, `reps` synchronized starts (rank 0 picks an instant T ahead and
 * broadcasts it, every rank sleeps until T by its own clock, runs the
 * operation once; the figure is the latest end minus T, redone with T
 * further ahead if T had passed on some rank), their median, and the
 * OSU-style mean per call as a second column. The bound column is left at
 * 0: spmdbench measured the network and `spmdbench combine` uses its.
 *
 * usage: sweep [-min B] [-max B] [-factor F] [-reps N] [-warmup N] op... */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops.h"

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* sleep until t (ns since the epoch): nanosleep to 2 ms before, then poll */
static void sleep_until(long long t) {
    long long d = t - now_ns() - 2000000;
    if (d > 0) {
        struct timespec ts = {d / 1000000000LL, d % 1000000000LL};
        nanosleep(&ts, NULL);
    }
    while (now_ns() < t) ;
}

static int cmp(const void *x, const void *y) {
    long long p = *(const long long *)x, q = *(const long long *)y;
    return p < q ? -1 : p > q;
}


int main(int argc, char **argv) {
    long min = 8, max = 4L << 20, factor = 4;
    int reps = 5, warmup = 1, i;
    MPI_Init(&argc, &argv);
    argv0 = "sweep";
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &np);
    for (i = 1; i < argc && argv[i][0] == '-'; i += 2) {
        if (i + 1 >= argc) break;
        if (!strcmp(argv[i], "-min")) min = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-max")) max = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-factor")) factor = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "-reps")) reps = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "-warmup")) warmup = atoi(argv[i + 1]);
        else { if (rank == 0) fprintf(stderr, "sweep: unknown flag %s\n", argv[i]); MPI_Abort(MPI_COMM_WORLD, 2); }
    }
    a = calloc((size_t)np * max + 8, 1);
    b = calloc((size_t)np * max + 8, 1);
    long long *times = calloc(reps, sizeof *times);
    if (rank == 0) {
        /* the header of bench.WriteCSV */
        printf("impl,op,alg,bytes,ranks,reps,median_ms,min_ms,max_ms,osu_ms,bound_ms,ratio\n");
    }
    for (; i < argc; i++) {
        const char *op = argv[i];
        long size = min;
        for (;;) {
            long s = strcmp(op, "barrier") ? size : 0;
            long long lead = 20000000; /* 20 ms, doubled when too short */
            int done = 0;
            while (done < reps + warmup) {
                long long t = 0, v[2], w[2];
                if (rank == 0) t = now_ns() + lead;
                MPI_Bcast(&t, 1, MPI_LONG_LONG, 0, MPI_COMM_WORLD);
                long long late = now_ns() - t;
                sleep_until(t);
                call(op, s);
                v[0] = now_ns() - t;
                v[1] = late;
                MPI_Allreduce(v, w, 2, MPI_LONG_LONG, MPI_MAX, MPI_COMM_WORLD);
                if (w[1] > 0) { lead *= 2; continue; }
                if (done >= warmup) times[done - warmup] = w[0];
                done++;
            }
            qsort(times, reps, sizeof *times, cmp);
            double median = reps % 2 ? times[reps / 2] : (times[reps / 2 - 1] + times[reps / 2]) / 2.0;
            /* the OSU column: as many calls as fit in about 0.5 s */
            long iters = (long)(5e8 / (median > 1000 ? median : 1000));
            if (iters < 3) iters = 3;
            if (iters > iterations(s)) iters = iterations(s);
            MPI_Barrier(MPI_COMM_WORLD);
            call(op, s);
            MPI_Barrier(MPI_COMM_WORLD);
            double t0 = MPI_Wtime();
            for (long k = 0; k < iters; k++) call(op, s);
            double per = (MPI_Wtime() - t0) / iters, worst;
            MPI_Reduce(&per, &worst, 1, MPI_DOUBLE, MPI_MAX, 0, MPI_COMM_WORLD);
            if (rank == 0) {
                printf("openmpi,%s,default,%ld,%d,%d,%.3f,%.3f,%.3f,%.3f,0.000,0.00\n", op, s, np, reps,
                       median / 1e6, times[0] / 1e6, times[reps - 1] / 1e6, worst * 1e3);
                fprintf(stderr, "sweep: %s %ld: %.3f ms\n", op, s, median / 1e6);
                fflush(stdout);
            }
            if (!strcmp(op, "barrier") || size >= max) break;
            size = size ? size * factor : 1;
            if (size > max) size = max;
        }
    }
    MPI_Finalize();
    return 0;
}
