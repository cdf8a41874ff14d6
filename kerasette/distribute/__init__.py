"""Data-parallel training on many processes and machines: MPI through ``mpi4py``,
NCCL (through CuPy) between GPUs.

    strategy = keras.distribute.DataParallel()
    with strategy.scope():
        model = build_model()
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.fit(x, y, batch_size=256)            # the global batch, cut across the ranks

Run it with ``mpiexec -n 4 python train.py`` (or ``srun``); as a plain
``python train.py`` it is the ordinary one-process run. See the guide
``docs/guides/distributed.md``.
"""
from .comm import CollectiveTimeoutError, MPICommunicator, SingleProcess, launched_by_mpi
from .strategy import DataParallel, get_strategy

__all__ = ["DataParallel", "get_strategy", "MPICommunicator", "NCCLCommunicator", "SingleProcess",
           "CollectiveTimeoutError", "launched_by_mpi"]


def __getattr__(name):
    if name == "NCCLCommunicator":          # imports CuPy only when asked for
        from .nccl import NCCLCommunicator
        return NCCLCommunicator
    raise AttributeError(name)
