"""Communicators: the collectives a data-parallel strategy needs, bounded in time.

``MPICommunicator`` runs on ``mpi4py``: every collective is the non-blocking MPI
call (``Iallreduce``, ``Ibcast``, ...) polled with ``Test`` until a deadline, so
a rank that never arrives cannot hang the others. To name that rank, every
rank posts a tiny *arrival notice* (the collective's sequence number) to rank 0
as it enters a collective; when the deadline passes, rank 0 knows which ranks
have not arrived, tells the ranks that did, and every waiting rank raises
``CollectiveTimeoutError`` naming them. (If rank 0 itself is the one missing,
the others hear nothing and name rank 0.)

``SingleProcess`` is the one-rank communicator of a run not launched by
``mpiexec``: every collective is the identity.

Arrays may be NumPy or CuPy. MPI moves CuPy arrays through the host unless the
MPI library is CUDA-aware; between GPUs the NCCL communicator
(``kerasette.distribute.nccl``) does the array collectives instead.
"""
import atexit
import os
import pickle
import sys
import time
import traceback

import numpy as np

__all__ = ["CollectiveTimeoutError", "SingleProcess", "MPICommunicator", "launched_by_mpi",
           "expected_size", "install_abort_on_error"]

# environment variables that MPI launchers (MPICH/Hydra, Open MPI, PMIx, Slurm's PMI) set in each rank
_LAUNCHER_VARS = ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_SIZE", "MPI_LOCALNRANKS")
ABORT_GRACE_S = 0.5   # seconds between printing a fatal error and MPI_Abort (see install_abort_on_error)

_ARRIVE, _FAULT = 7301, 7302          # message tags of the arrival protocol


class CollectiveTimeoutError(RuntimeError):
    """A collective did not complete in time; the message names the rank(s) that did not arrive.

    Examples:
        >>> from kerasette import distribute
        >>> issubclass(distribute.CollectiveTimeoutError, RuntimeError)
        True
    """


def launched_by_mpi(environ=None):
    """True when this process was started by an MPI launcher (``mpiexec``, ``srun``): one of
    the launchers' rank variables (``PMI_RANK``, ``PMI_SIZE``, ``PMIX_RANK``,
    ``OMPI_COMM_WORLD_SIZE``, ``MPI_LOCALNRANKS``) is set, or ``expected_size`` is above 1.
    ``DataParallel()`` uses it to choose MPI or a one-process run without importing mpi4py.

    Args:
        environ (Mapping | None): the environment to read; None (default) reads ``os.environ``.

    Examples:
        >>> from kerasette import distribute
        >>> distribute.launched_by_mpi({}), distribute.launched_by_mpi({"PMI_RANK": "0"})
        (False, True)
    """
    env = os.environ if environ is None else environ
    return any(k in env for k in _LAUNCHER_VARS) or expected_size(env) > 1


def expected_size(environ=None):
    """How many processes the launcher started, from its environment (1 when it does not say):
    ``PMI_SIZE`` (MPICH, Slurm's PMI2), ``OMPI_COMM_WORLD_SIZE`` (Open MPI), or the task count of
    a Slurm job step (``srun``)."""
    env = os.environ if environ is None else environ
    for key in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):
        if env.get(key, "").isdigit():
            return int(env[key])
    if "SLURM_STEP_ID" in env and env.get("SLURM_STEP_NUM_TASKS", env.get("SLURM_NTASKS", "")).isdigit():
        return int(env.get("SLURM_STEP_NUM_TASKS", env.get("SLURM_NTASKS")))
    return 1


class SingleProcess:
    """The communicator of a one-process run: rank 0 of 1, every collective the identity.

    Examples:
        >>> from kerasette import distribute
        >>> comm = distribute.SingleProcess()
        >>> comm.rank, comm.size, comm.allreduce([np.ones(2)])
        (0, 1, 0.0)
    """

    rank, size, local_rank, local_size = 0, 1, 0, 1
    timeout = None

    def allreduce(self, buffers, what="allreduce"):
        """The sum over one rank: ``buffers`` are left as they are.

        Args:
            buffers (list[array]): arrays that would be summed in place.
            what (str): the collective's name (unused: nothing can time out).

        Returns:
            float: seconds waited, always 0.0.
        """
        return 0.0

    def bcast(self, buffers, root=0, what="broadcast"):
        """Broadcast from the only rank: ``buffers`` are left as they are.

        Args:
            buffers (list[array]): arrays that would be overwritten with ``root``'s.
            root (int): the sending rank (only 0 exists; not checked).
            what (str): the collective's name (unused).

        Returns:
            float: seconds waited, always 0.0.
        """
        return 0.0

    def bcast_object(self, obj, root=0, what="broadcast"):
        """``obj`` itself (the only rank is the root).

        Args:
            obj (object): any picklable object.
            root (int): the sending rank (only 0 exists; not checked).
            what (str): the collective's name (unused).

        Examples:
            >>> from kerasette import distribute
            >>> distribute.SingleProcess().bcast_object({"epoch": 3})
            {'epoch': 3}
        """
        return obj

    def allgather_object(self, obj, what="allgather"):
        """``[obj]``: the list of every rank's object, for one rank.

        Args:
            obj (object): this rank's object.
            what (str): the collective's name (unused).

        Examples:
            >>> from kerasette import distribute
            >>> distribute.SingleProcess().allgather_object("rank 0")
            ['rank 0']
        """
        return [obj]

    def abort(self, code=1):
        """End the process: raises ``SystemExit(code)``.

        Args:
            code (int): the exit status (default 1).
        """
        raise SystemExit(code)


class MPICommunicator:
    """Time-bounded collectives on an ``mpi4py`` communicator.

    Args:
        comm: an ``mpi4py.MPI.Comm`` (``MPI.COMM_WORLD`` by default).
        timeout: seconds a collective may wait for the slowest rank before
            ``CollectiveTimeoutError``; None waits forever.
        cuda_aware: pass CuPy arrays to MPI directly (True), stage them through
            the host (False), or ask the MPI library (None).
    """

    def __init__(self, comm=None, timeout=300.0, cuda_aware=None):
        from mpi4py import MPI
        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if comm is None else comm
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        node = self.comm.Split_type(MPI.COMM_TYPE_SHARED, key=self.rank)
        self.local_rank, self.local_size = node.Get_rank(), node.Get_size()
        node.Free()
        if timeout is not None and not (isinstance(timeout, (int, float)) and timeout > 0):
            raise ValueError(f"MPICommunicator: timeout must be a positive number of seconds or None, "
                             f"got {timeout!r}")
        self.timeout = timeout
        self.cuda_aware = _mpi_is_cuda_aware(MPI) if cuda_aware is None else bool(cuda_aware)
        self._seq = 0                         # collectives entered so far (the same on every rank)
        self._sent = []                       # (request, buffer) of arrival notices in flight
        if self.rank == 0:
            self._arrived = np.zeros(self.size, dtype=np.int64)
            self._arrive_buf = [np.zeros(1, dtype=np.int64) for _ in range(self.size)]
            self._arrive_req = {src: self.comm.Irecv(self._arrive_buf[src], source=src, tag=_ARRIVE)
                                for src in range(1, self.size)}
        else:
            self._fault_buf = bytearray(4096)
            self._fault_req = self.comm.Irecv(self._fault_buf, source=0, tag=_FAULT)
        atexit.register(self.close)

    def close(self):
        """Cancel the receives the arrival protocol keeps posted (before MPI finalizes)."""
        MPI = self.MPI
        if MPI.Is_finalized():
            return
        posted = list(self._arrive_req.values()) if self.rank == 0 else [self._fault_req]
        for req in posted:
            if req != MPI.REQUEST_NULL and not req.Test():
                req.Cancel()
                req.Wait()
        for req, _ in self._sent:
            req.Wait()
        self._sent = []
        if self.rank == 0:
            self._arrive_req = {}
        else:
            self._fault_req = MPI.REQUEST_NULL

    # -- array collectives (in place) ----------------------------------------------------
    def allreduce(self, buffers, what="allreduce"):
        """Sum each array of ``buffers`` over the ranks, in place; returns seconds waited.

        Args:
            buffers (list[array]): NumPy arrays, or CuPy arrays (staged through the host
                unless MPI is CUDA-aware); every rank passes the same shapes and dtypes in the
                same order.
            what (str): the collective's name in a ``CollectiveTimeoutError`` (default
                ``"allreduce"``).

        Returns:
            float: the seconds this rank waited for the collective.

        Raises:
            CollectiveTimeoutError: not complete within ``timeout``; names the missing ranks.
        """
        return self.finish_allreduce(self.start_allreduce(buffers, what=what))

    def start_allreduce(self, buffers, pending=None, what="allreduce"):
        """Start summing ``buffers`` in place without waiting; returns the pending collective,
        to which later calls may add buffers (``pending=``) before ``finish_allreduce``. Every
        rank must add the same buffers in the same order.

        Args:
            buffers (list[array]): float32 arrays (NumPy, or CuPy staged through the host when
                MPI is not CUDA-aware), summed in place.
            pending (PendingAllreduce | None): a collective started earlier to add them to;
                None enters a new collective (one arrival notice).
            what (str): the collective's name in timeout errors.
        """
        MPI = self.MPI
        if pending is None:
            pending = PendingAllreduce(what, self.arrive(what))
        for b in buffers:
            h = self._host(b)
            pending.pairs.append((b, h))
            pending.requests.append(self.comm.Iallreduce(MPI.IN_PLACE, h, op=MPI.SUM))
        return pending

    def progress(self, pending):
        """Let MPI move the pending collective along (MPICH progresses only inside MPI calls).

        Args:
            pending (PendingAllreduce): from ``start_allreduce``.
        """
        self.MPI.Request.Testall(pending.requests)

    def finish_allreduce(self, pending):
        """Wait (bounded by the timeout) until the pending collective is complete; returns the
        seconds waited.

        Args:
            pending (PendingAllreduce): from ``start_allreduce``; its buffers hold the sums after.
        """
        t = self._wait(pending.requests, pending.what, pending.seq)
        for b, h in pending.pairs:
            if h is not b:
                b.set(h) if hasattr(b, "set") else b.__setitem__(Ellipsis, h)
        return t

    def bcast(self, buffers, root=0, what="broadcast"):
        """Overwrite each array of ``buffers`` with rank ``root``'s, in place; returns seconds waited.

        Args:
            buffers (list[array]): NumPy or CuPy arrays of the same shapes and dtypes on every
                rank.
            root (int): the rank whose arrays are sent (default 0).
            what (str): the collective's name in a ``CollectiveTimeoutError``.

        Returns:
            float: the seconds this rank waited.

        Raises:
            CollectiveTimeoutError: not complete within ``timeout``.
        """
        staged = [self._host(b) for b in buffers]
        t = self._run(what, lambda: [self.comm.Ibcast(h, root=root) for h in staged])
        for b, h in zip(buffers, staged):
            if h is not b:
                b.set(h) if hasattr(b, "set") else b.__setitem__(Ellipsis, h)
        return t

    # -- Python objects (pickled) --------------------------------------------------------
    def bcast_object(self, obj, root=0, what="broadcast"):
        """Rank ``root``'s ``obj`` on every rank (pickled; two bounded broadcasts: size, bytes).

        Args:
            obj (object): a picklable object; only ``root``'s is used (others may pass None).
            root (int): the sending rank (default 0).
            what (str): the collective's name in a ``CollectiveTimeoutError``.

        Returns:
            object: ``root``'s object (``obj`` itself on ``root``, an unpickled copy elsewhere).
        """
        data = np.frombuffer(pickle.dumps(obj), dtype=np.uint8) if self.rank == root else None
        n = np.array([0 if data is None else data.size], dtype=np.int64)
        self._run(what, lambda: [self.comm.Ibcast(n, root=root)])
        buf = data.copy() if data is not None else np.empty(int(n[0]), dtype=np.uint8)
        self._run(what, lambda: [self.comm.Ibcast(buf, root=root)])
        return obj if self.rank == root else pickle.loads(buf.tobytes())

    def allgather_object(self, obj, what="allgather"):
        """``[obj of rank 0, obj of rank 1, ...]`` on every rank.

        Args:
            obj (object): this rank's picklable object.
            what (str): the collective's name in a ``CollectiveTimeoutError``.

        Returns:
            list: one object per rank, in rank order (unpickled copies, this rank's too).
        """
        mine = np.frombuffer(pickle.dumps(obj), dtype=np.uint8)
        sizes = np.zeros(self.size, dtype=np.int64)
        self._run(what, lambda: [self.comm.Iallgather(np.array([mine.size], dtype=np.int64), sizes)])
        out = np.empty(int(sizes.sum()), dtype=np.uint8)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self._run(what, lambda: [self.comm.Iallgatherv(mine, [out, sizes, offsets, self.MPI.BYTE])])
        return [pickle.loads(out[o:o + s].tobytes()) for o, s in zip(offsets, sizes)]

    def abort(self, code=1):
        """End every rank of the job now (MPI_Abort).

        Args:
            code (int): the error code MPI_Abort passes to the launcher (default 1).
        """
        self.comm.Abort(code)

    # -- the bounded wait ----------------------------------------------------------------
    def _host(self, a):
        if isinstance(a, np.ndarray) or self.cuda_aware:
            return a
        return a.get()                                   # CuPy array, MPI not CUDA-aware: via the host

    def _run(self, what, start):
        """Enter collective number ``seq``: post the arrival notice, start the requests,
        wait for them until the deadline. Returns the seconds spent waiting."""
        seq = self.arrive(what)
        return self._wait(start(), what, seq)

    def _wait(self, requests, what, seq):
        """Wait for ``requests`` of collective ``seq`` until the deadline, watching for faults."""
        t0 = time.perf_counter()
        deadline = None if self.timeout is None else t0 + self.timeout
        spins = 0
        while not self.MPI.Request.Testall(requests):
            if self.rank == 0:
                self._drain_arrivals()
            elif self._fault_req.Test():
                raise CollectiveTimeoutError(self._fault_text())
            now = time.perf_counter()
            if deadline is not None and now > deadline:
                self._timed_out(what, seq, now - t0)
            spins += 1
            if spins > 200:                      # past the fast path: stop burning the core
                time.sleep(0.0002)
        return time.perf_counter() - t0

    def arrive(self, what=""):
        """Count one more collective and tell rank 0 this rank has reached it; returns its number.

        Every collective calls it first, so that a timeout can name the ranks that never
        reached it (``missing``).

        Args:
            what (str): the collective's name; unused (the notice carries only the number).

        Returns:
            int: the collective's sequence number (the same on every rank).
        """
        self._seq += 1
        seq = self._seq
        if self.rank != 0:
            note = np.array([seq], dtype=np.int64)
            self._sent.append((self.comm.Isend(note, dest=0, tag=_ARRIVE), note))
            if len(self._sent) > 64:
                self._sent = [(r, b) for r, b in self._sent if not r.Test()]
        else:
            self._arrived[0] = seq
        return seq

    def missing(self, what=""):
        """Which ranks have not reached the latest collective, in words (known on rank 0).

        Args:
            what (str): the collective's name; unused (the latest collective is checked).

        Returns:
            str: e.g. ``"rank 2"``, ``"no rank"``; on ranks other than 0,
            ``"some rank (rank 0 names it)"``.
        """
        if self.rank != 0:
            return "some rank (rank 0 names it)"
        self._drain_arrivals()
        late = [r for r in range(1, self.size) if self._arrived[r] < self._seq]
        return _ranks(late) if late else "no rank"

    def _drain_arrivals(self):
        for src, req in self._arrive_req.items():
            while req.Test():
                self._arrived[src] = max(self._arrived[src], int(self._arrive_buf[src][0]))
                req = self._arrive_req[src] = self.comm.Irecv(self._arrive_buf[src], source=src, tag=_ARRIVE)

    def _timed_out(self, what, seq, waited):
        if self.rank == 0:
            self._drain_arrivals()
            missing = [r for r in range(1, self.size) if self._arrived[r] < seq]
            text = (f"kerasette.distribute: {_ranks(missing)} of {self.size} did not arrive at '{what}' "
                    f"(collective #{seq}) within the timeout of {self.timeout:g} s"
                    if missing else
                    f"kerasette.distribute: every rank arrived at '{what}' (collective #{seq}) but it did "
                    f"not complete within the timeout of {self.timeout:g} s (ranks in different collectives?)")
            payload = text.encode()[:4000]
            for r in range(1, self.size):
                if r not in missing:
                    self.comm.Isend(bytearray(payload), dest=r, tag=_FAULT)
            raise CollectiveTimeoutError(text)
        # not rank 0: give rank 0 (which checks arrivals) a grace period to say who is missing
        grace_end = time.perf_counter() + min(self.timeout, 5.0)
        while time.perf_counter() < grace_end:
            if self._fault_req.Test():
                raise CollectiveTimeoutError(self._fault_text())
            time.sleep(0.001)
        raise CollectiveTimeoutError(
            f"kerasette.distribute: rank 0 of {self.size} did not arrive at '{what}' (collective #{seq}) "
            f"within the timeout of {self.timeout:g} s (seen from rank {self.rank}, which waited {waited:.1f} s)")

    def _fault_text(self):
        text = bytes(self._fault_buf).rstrip(b"\0").decode(errors="replace")
        return f"{text} (seen from rank {self.rank})"


class PendingAllreduce:
    """An allreduce started by ``start_allreduce``: collective ``seq``, its requests and the
    (buffer, staged host copy) pairs written back when it finishes."""

    def __init__(self, what, seq):
        self.what, self.seq = what, seq
        self.requests, self.pairs = [], []


def _ranks(ranks):
    return f"rank {ranks[0]}" if len(ranks) == 1 else "ranks " + ", ".join(map(str, ranks))


def _mpi_is_cuda_aware(MPI):
    """``KERASETTE_CUDA_AWARE_MPI=1`` / ``0`` if set, else what the MPI library says (MPIX
    query, where mpi4py offers it), else False (device arrays staged through the host)."""
    env = os.environ.get("KERASETTE_CUDA_AWARE_MPI")
    if env is not None:
        return env.strip().lower() not in ("", "0", "false", "no")
    query = getattr(MPI, "Query_cuda_support", None)
    try:
        return bool(query()) if query is not None else False
    except Exception:                        # an MPI without the MPIX extension
        return False


def install_abort_on_error(communicator, stream=None):
    """Make an uncaught exception on any rank end the whole job: print it (prefixed with
    the rank) and call ``MPI_Abort``, so no other rank waits forever in a collective."""
    previous = sys.excepthook
    if getattr(previous, "_kerasette_abort", False):
        return previous                      # one hook per process is enough

    def hook(kind, value, tb):
        out = stream or sys.stderr
        text = "".join(traceback.format_exception(kind, value, tb))
        out.write(f"[kerasette.distribute rank {communicator.rank}/{communicator.size}] "
                  f"aborting every rank after an uncaught error:\n{text}")
        out.flush()
        if kind is KeyboardInterrupt:
            previous(kind, value, tb)
        # MPI_Abort makes the launcher kill every process at once; MPICH's hydra can exit
        # before it has forwarded what this rank just wrote (seen 1 run in 7), so the user
        # would get a bare non-zero exit. Give the launcher a moment to drain the pipe.
        time.sleep(ABORT_GRACE_S)
        communicator.abort(1)

    hook._kerasette_abort = True
    sys.excepthook = hook
    return previous
