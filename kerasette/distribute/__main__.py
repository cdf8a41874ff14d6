"""Check an MPI setup: ``mpiexec -n 2 python -m kerasette.distribute``.

Every rank prints its rank, its machine, its rank on that machine and its device,
then all ranks sum one bucket of ones; the command fails unless the sum is the
number of ranks everywhere.
"""
import socket
import sys

import numpy as np

from .. import backend
from .strategy import DataParallel


def main():
    strategy = DataParallel(timeout=60.0)
    comm = strategy.communicator
    ones = backend.xp().ones(1000, dtype=np.float32)
    comm.allreduce([ones], what="check: allreduce")
    total = float(backend.to_numpy(ones).min())
    ok = total == comm.size
    print(f"rank {comm.rank} of {comm.size} on {socket.gethostname()} (local rank {comm.local_rank} of "
          f"{comm.local_size}), device {backend.device()}, {type(comm).__name__}: allreduce "
          f"{'ok' if ok else f'WRONG ({total} instead of {comm.size})'}", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
