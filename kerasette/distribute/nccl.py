"""NCCL between GPUs: one GPU per rank, MPI only to agree on the NCCL id.

``NCCLCommunicator(mpi)`` picks the GPU of this rank from its rank *on the node*
(``local_rank % number of GPUs``), makes it current, has rank 0 draw the NCCL
unique id and broadcasts it with MPI, then opens a ``cupy.cuda.nccl``
communicator. Array collectives (gradient buckets, the weights broadcast at the
start) run on NCCL on a dedicated stream, each ordered after the compute stream's
work queued before it, so that gradient buckets start during backward
(``start_allreduce``) and ``finish_allreduce`` waits once; Python objects and the small log
vectors go through the MPI communicator, whose arrival notices also name a rank
that does not arrive. A NCCL collective is bounded like an MPI one: the stream
is polled until the deadline, then the NCCL communicator is aborted and the
error names the ranks that had not arrived (from MPI's arrival notices).
"""
import time

import numpy as np

from .comm import CollectiveTimeoutError

__all__ = ["NCCLCommunicator", "pick_device"]


def pick_device(local_rank, n_devices):
    """The GPU of the rank with node-local rank ``local_rank``: one GPU per rank, round robin."""
    if n_devices < 1:
        raise RuntimeError("NCCLCommunicator: no CUDA device is visible to this rank "
                           "(CUDA_VISIBLE_DEVICES?)")
    return local_rank % n_devices


class NCCLCommunicator:
    """Array collectives on NCCL, everything else on the MPI communicator ``mpi``.

    Args:
        mpi: an ``MPICommunicator`` (rank, size, local rank, objects, timeouts).
        cupy: the CuPy module (a stand-in in tests); imported when None.
        nccl: the ``cupy.cuda.nccl`` module (a stand-in in tests); imported when None.
    """

    def __init__(self, mpi, cupy=None, nccl=None):
        if cupy is None:
            import cupy
        if nccl is None:
            from cupy.cuda import nccl
        self.mpi, self.cupy, self.nccl = mpi, cupy, nccl
        self.rank, self.size = mpi.rank, mpi.size
        self.local_rank, self.local_size = mpi.local_rank, mpi.local_size
        self.timeout = mpi.timeout
        self.device_id = pick_device(self.local_rank, cupy.cuda.runtime.getDeviceCount())
        cupy.cuda.Device(self.device_id).use()
        uid = nccl.get_unique_id() if self.rank == 0 else None
        uid = mpi.bcast_object(uid, what="NCCL unique id")
        self.comm = nccl.NcclCommunicator(self.size, uid, self.rank)
        self.stream = cupy.cuda.Stream(non_blocking=True)
        self._dtypes = {np.dtype("float32"): nccl.NCCL_FLOAT32, np.dtype("float64"): nccl.NCCL_FLOAT64,
                        np.dtype("float16"): nccl.NCCL_FLOAT16, np.dtype("int64"): nccl.NCCL_INT64,
                        np.dtype("int32"): nccl.NCCL_INT32, np.dtype("uint8"): nccl.NCCL_UINT8}

    def _device(self, a):
        """``a`` on this rank's GPU (host arrays are copied there and back by the caller)."""
        return a if isinstance(a, self.cupy.ndarray) else None

    def allreduce(self, buffers, what="allreduce"):
        """Sum each array over the ranks in place. CuPy arrays go through NCCL; NumPy
        arrays (the log vectors) through MPI.

        Args:
            buffers (list[array]): CuPy arrays (float16/32/64, int32/64, uint8) and NumPy
                arrays; the same shapes, dtypes and order on every rank.
            what (str): the collective's name in a ``CollectiveTimeoutError``.

        Returns:
            float: the seconds waited (MPI part plus NCCL part).

        Raises:
            CollectiveTimeoutError: not complete within the MPI communicator's timeout (the
                NCCL communicator is then aborted).
            TypeError: a CuPy array of a dtype NCCL cannot reduce.
        """
        return self.finish_allreduce(self.start_allreduce(buffers, what=what))

    def start_allreduce(self, buffers, pending=None, what="allreduce"):
        """Queue the sums of ``buffers`` on this rank's NCCL stream, after the work queued so far
        on the current stream, without waiting: the gradient buckets of ``DataParallel`` start
        during backward as each one is ready. NumPy arrays are summed over MPI at once.

        Args:
            buffers (list[array]): as for ``allreduce``; every rank adds the same buffers in
                the same order.
            pending (PendingNCCL | None): a collective started earlier to add them to; None
                enters a new one (one arrival notice).
            what (str): the collective's name in a ``CollectiveTimeoutError``.

        Returns:
            PendingNCCL: for ``finish_allreduce``.
        """
        if pending is None:
            pending = PendingNCCL(what)
        host = [b for b in buffers if self._device(b) is None]
        dev = [b for b in buffers if self._device(b) is not None]
        for b in dev:
            self._dtype(b)                       # refuse before anything is queued
        if host:
            pending.seconds += self.mpi.allreduce(host, what=what)
        if dev:
            if not pending.launched:
                self.mpi.arrive(what)
                pending.launched = True
            self._launch(lambda s: [self.comm.allReduce(b.data.ptr, b.data.ptr, b.size, self._dtype(b),
                                                        self.nccl.NCCL_SUM, s) for b in dev])
        return pending

    def progress(self, pending):
        """Nothing to do: NCCL moves its collectives along on the GPU by itself.

        Args:
            pending (PendingNCCL): from ``start_allreduce``.
        """

    def finish_allreduce(self, pending):
        """Wait (bounded by the timeout) until the collective is complete and make the current
        stream wait for it; returns the seconds waited.

        Args:
            pending (PendingNCCL): from ``start_allreduce``; its buffers hold the sums after.
        """
        return pending.seconds + (self._wait(pending.what) if pending.launched else 0.0)

    def bcast(self, buffers, root=0, what="broadcast"):
        """Overwrite each array with rank ``root``'s, in place: CuPy arrays over NCCL, NumPy
        arrays over MPI.

        Args:
            buffers (list[array]): the same shapes, dtypes and order on every rank.
            root (int): the sending rank (default 0).
            what (str): the collective's name in a ``CollectiveTimeoutError``.

        Returns:
            float: the seconds waited.
        """
        host = [b for b in buffers if self._device(b) is None]
        dev = [b for b in buffers if self._device(b) is not None]
        t = self.mpi.bcast(host, root=root, what=what) if host else 0.0
        if dev:
            t += self._run(what, lambda s: [self.comm.bcast(b.data.ptr, b.size, self._dtype(b), root, s)
                                            for b in dev])
        return t

    def bcast_object(self, obj, root=0, what="broadcast"):
        """Rank ``root``'s picklable ``obj`` on every rank, over MPI
        (``MPICommunicator.bcast_object``).

        Args:
            obj (object): only ``root``'s is used.
            root (int): the sending rank (default 0).
            what (str): the collective's name in a ``CollectiveTimeoutError``.
        """
        return self.mpi.bcast_object(obj, root=root, what=what)

    def allgather_object(self, obj, what="allgather"):
        """Every rank's picklable ``obj``, in rank order, over MPI
        (``MPICommunicator.allgather_object``).

        Args:
            obj (object): this rank's object.
            what (str): the collective's name in a ``CollectiveTimeoutError``.
        """
        return self.mpi.allgather_object(obj, what=what)

    def abort(self, code=1):
        """Abort the NCCL communicator, then every rank of the job (MPI_Abort).

        Args:
            code (int): the error code passed to MPI_Abort (default 1).
        """
        try:
            self.comm.abort()
        finally:
            self.mpi.abort(code)

    def _dtype(self, a):
        try:
            return self._dtypes[np.dtype(a.dtype)]
        except KeyError:
            raise TypeError(f"NCCLCommunicator: arrays of dtype {a.dtype} cannot be reduced; "
                            f"expected one of {sorted(str(d) for d in self._dtypes)}") from None

    def _run(self, what, launch):
        """A collective from start to end: the arrival notice, the NCCL calls, the wait."""
        self.mpi.arrive(what)
        self._launch(launch)
        return self._wait(what)

    def _launch(self, launch):
        """The NCCL calls of ``launch(stream_ptr)`` as one group on our stream, ordered after
        the work queued on the current (compute) stream so far."""
        ready = self.cupy.cuda.Event()
        ready.record(self.cupy.cuda.get_current_stream())
        self.stream.wait_event(ready)
        self.nccl.groupStart()
        try:
            launch(self.stream.ptr)
        finally:
            self.nccl.groupEnd()

    def _wait(self, what):
        """Poll until our stream's queued collectives are done (aborting and naming the
        missing rank after the timeout), then order the current stream after them."""
        cupy = self.cupy
        t0 = time.perf_counter()
        done = cupy.cuda.Event()
        done.record(self.stream)
        deadline = None if self.timeout is None else t0 + self.timeout
        while not done.done:
            if deadline is not None and time.perf_counter() > deadline:
                self.comm.abort()
                missing = self.mpi.missing(what)
                raise CollectiveTimeoutError(
                    f"kerasette.distribute: {missing} of {self.size} did not arrive at '{what}' (NCCL) "
                    f"within the timeout of {self.timeout:g} s")
            time.sleep(0.0001)
        cupy.cuda.get_current_stream().wait_event(done)
        return time.perf_counter() - t0


class PendingNCCL:
    """An allreduce started by ``NCCLCommunicator.start_allreduce``: its name, whether NCCL
    calls were queued (one arrival notice for all), and the seconds its MPI part took."""

    def __init__(self, what):
        self.what, self.launched, self.seconds = what, False, 0.0
