/* hello: MPI_Init, a barrier, one line from rank 0, MPI_Finalize — the
 * Open MPI side of bench/launch-vs-openmpi.sh (examples/hello in spmd). */
#include <mpi.h>
#include <stdio.h>

int main(int argc, char **argv) {
    int rank, size;
    MPI_Init(&argc, &argv);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    MPI_Barrier(MPI_COMM_WORLD);
    if (rank == 0)
        printf("hello from rank 0 of %d\n", size);
    MPI_Finalize();
    return 0;
}
