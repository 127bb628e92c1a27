#!/usr/bin/env bash
# Scaling of the MPI example over 1, 2 and 4 ranks ON ONE MACHINE (2 cores here: 4 ranks
# oversubscribe), 2 epochs each, plus the fused all-reduce's bandwidth. Needs a build with
# MPI (scripts/test.sh). Prints one line per rank count, and one for 2 ranks with --overlap
# (the bucketed all-reduce started during backward).
set -euo pipefail
cd "$(dirname "$0")/.."
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cmake --build build --target mpi_data_parallel mpi_allreduce
for np in 1 2 4; do
  line=$(mpirun -n "$np" --oversubscribe build/examples/mpi_data_parallel --epochs 2 | grep '^result')
  echo "ranks $np (global batch $((32 * np))): $line"
done
line=$(mpirun -n 2 --oversubscribe build/examples/mpi_data_parallel --epochs 2 --overlap | grep -E '^(buckets|result)' | paste -sd ' ')
echo "ranks 2 with --overlap (64 KiB buckets, MPI_Iallreduce): $line"
for np in 2 4; do mpirun -n "$np" --oversubscribe build/benchmarks/mpi_allreduce; done
