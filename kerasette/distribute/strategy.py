"""DataParallel: the same model on every rank, each rank a shard of every batch.

The training loop asks the model's strategy (the one whose ``scope()`` was open
at ``compile``) for five things, and nothing else in the library knows about
ranks:

- ``callbacks(cbs)``: the callbacks this rank runs (side effects on rank 0 only);
- ``begin_fit(model, initial_epoch)``: rank 0's weights, optimizer state and
  starting epoch on every rank;
- ``batches(dataset, batch_size, shuffle, device)``: this rank's share of each
  global batch of one shuffled order;
- ``train_step(model, batch)``: the model's own ``train_step`` with its
  optimizer's gradients averaged over the ranks first, and the logs reduced;
- ``shard`` / ``reduce_eval`` / ``gather``: evaluate and predict on a
  contiguous slice per rank, then summed or gathered.
"""
import contextlib
import os
import time
import weakref

import numpy as np

from .. import backend, context, parallel
from ..autograd.engine import on_grad_ready
from ..models.data import Dataset, _to_device
from .buckets import Buckets
from .comm import MPICommunicator, SingleProcess, expected_size, install_abort_on_error, launched_by_mpi

__all__ = ["DataParallel", "get_strategy"]

# callbacks whose side effects (a terminal, files) belong to one rank: matched by class
# name so that ones defined elsewhere (saving, user subclasses) are recognised too
RANK_ZERO_CALLBACKS = frozenset({"ProgbarLogger", "ModelCheckpoint", "BackupAndRestore", "CSVLogger",
                                 "TensorBoard", "RemoteMonitor"})


def get_strategy():
    """The strategy whose ``scope()`` is open in this thread, or None.

    Examples:
        >>> from kerasette import distribute
        >>> distribute.get_strategy() is None
        True
        >>> strategy = distribute.DataParallel(communicator=distribute.SingleProcess())
        >>> with strategy.scope():          # one process: nothing to distribute
        ...     print(distribute.get_strategy())
        ...
        None
    """
    return getattr(context.current(), "distribute_strategy", None)


class DataParallel:
    """Synchronous data parallelism over MPI ranks (NCCL between GPUs).

    ``strategy = DataParallel()`` reads the rank and the number of ranks from MPI
    when the script runs under ``mpiexec`` / ``srun``; run as a plain ``python``
    process it is one rank and training is the ordinary one-process loop.
    Build and compile the model inside ``with strategy.scope():``; ``fit``,
    ``evaluate`` and ``predict`` then take ``batch_size`` as the *global* batch.

    Args:
        communicator: a communicator (``MPICommunicator``, ``NCCLCommunicator``,
            ``SingleProcess``); by default one is made from the environment.
        timeout: seconds any collective may wait for the slowest rank; the
            error names the rank(s) that did not arrive.
        bucket_mb: the largest gradient bucket, in MiB.
        abort_on_error: an uncaught exception on any rank ends every rank
            (``MPI_Abort``) after printing it, instead of leaving them waiting.
        overlap: start each gradient bucket's allreduce during the backward pass, as soon
            as its weights' gradients are final (default True; False: one allreduce after
            backward). Results are the same either way.

    Examples:
        >>> import kerasette as keras
        >>> from kerasette import distribute
        >>> strategy = distribute.DataParallel(communicator=distribute.SingleProcess())
        >>> with strategy.scope():
        ...     model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        ...     model.compile(optimizer="sgd", loss="mse")
        ...
        >>> len(model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=1, verbose=0).history["loss"])
        1
    """

    def __init__(self, communicator=None, timeout=300.0, bucket_mb=4.0, abort_on_error=True, overlap=True):
        if not isinstance(overlap, bool):
            raise ValueError(f"DataParallel: overlap must be True or False, got {overlap!r}")
        if not (isinstance(bucket_mb, (int, float)) and not isinstance(bucket_mb, bool) and bucket_mb > 0):
            raise ValueError(f"DataParallel: bucket_mb must be a positive number, got {bucket_mb!r}")
        if timeout is not None and not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
                                        and timeout > 0):
            raise ValueError(f"DataParallel: timeout must be a positive number of seconds or None, "
                             f"got {timeout!r}")
        if communicator is None:
            communicator = _from_environment(timeout)
        self.communicator = communicator
        self.bucket_bytes = int(bucket_mb * 2 ** 20)
        self.overlap = overlap
        self._overlap = None                  # the step's _Overlap while model.train_step runs
        self._buckets = None
        self._scale = 1.0
        self._synced = {}                     # id -> weak reference of models given rank 0's state
        self.stats = _Stats()
        if communicator.size > 1 and abort_on_error:
            install_abort_on_error(communicator)
        if communicator.size > 1:
            _share_the_node(communicator.local_size)

    @property
    def rank(self):
        """This process's rank (0 in a one-process run)."""
        return self.communicator.rank

    @property
    def num_replicas_in_sync(self):
        """How many ranks train together."""
        return self.communicator.size

    @property
    def is_chief(self):
        """True on rank 0, the rank that prints and writes files."""
        return self.communicator.rank == 0

    @contextlib.contextmanager
    def scope(self):
        """Models compiled inside train with this strategy. In a one-process run the
        scope changes nothing."""
        ctx = context.current()
        previous = getattr(ctx, "distribute_strategy", None)
        ctx.distribute_strategy = self if self.communicator.size > 1 else None
        try:
            yield self
        finally:
            ctx.distribute_strategy = previous

    # -- fit ----------------------------------------------------------------------------
    def callbacks(self, callbacks):
        """The callbacks this rank runs: all of them on rank 0; elsewhere none whose job is
        a side effect (progress bar, checkpoints, logs to files).

        Args:
            callbacks (list[Callback]): the callbacks of ``fit``. On ranks other than 0, those
                that are (or subclass a class named) ``ProgbarLogger``, ``ModelCheckpoint``,
                ``BackupAndRestore``, ``CSVLogger``, ``TensorBoard`` or ``RemoteMonitor`` are left out.

        Returns:
            list[Callback]: a new list.
        """
        if self.rank == 0:
            return list(callbacks)
        return [cb for cb in callbacks if not RANK_ZERO_CALLBACKS & {k.__name__ for k in type(cb).__mro__}]

    def begin_fit(self, model, initial_epoch):
        """After the callbacks' ``on_train_begin`` (which may restore a backup on rank 0):
        rank 0's weights, optimizer state and starting epoch on every rank.

        Ranks other than 0 also move their random stream apart (``jumped(rank)``), so that
        dropout masks differ between ranks.

        Args:
            model (Model): the model ``fit`` trains.
            initial_epoch (int): this rank's starting epoch; rank 0's is used.

        Returns:
            int: rank 0's ``initial_epoch``, on every rank.
        """
        self._synced.pop(id(model), None)    # re-sync: on_train_begin may have restored rank 0
        if self.rank != 0:
            # one seed, one stream per rank: dropout masks differ across ranks (rank 0 keeps the
            # stream a one-process run has; the shuffled order is rank 0's on every rank)
            bits = backend.random_generator().bit_generator
            bits.state = bits.jumped(self.rank).state
        if model.weights:
            self.sync_state(model)
        return self.communicator.bcast_object(initial_epoch, what="fit: initial epoch")

    def sync_state(self, model):
        """Overwrite every rank's weights and optimizer state with rank 0's.

        Args:
            model (Model): a built model; the same architecture and optimizer on every rank.

        Raises:
            ValueError: this rank's optimizer slots do not have rank 0's shapes.
        """
        comm = self.communicator
        t0 = time.perf_counter()
        _bcast_arrays(comm, [v.value for v in model.weights], "fit: weights from rank 0")
        opt = model.optimizer
        built = opt is not None and opt.built
        info = comm.bcast_object((built, opt.iterations if built else 0, _slot_shapes(opt) if built else {}),
                                 what="fit: optimizer state")
        if info[0]:
            if not opt.built:
                opt.build(model.trainable_weights)
            opt.iterations = int(info[1])
            if _slot_shapes(opt) != info[2]:
                raise ValueError(f"DataParallel: rank {self.rank}'s optimizer state {_slot_shapes(opt)} does not "
                                 f"match rank 0's {info[2]}; build and compile the same model and optimizer "
                                 f"on every rank")
            _bcast_arrays(comm, [a for name in sorted(info[2]) for a in opt.slots[name]], "fit: optimizer state")
        self._synced[id(model)] = weakref.ref(model)
        self.stats.sync_seconds += time.perf_counter() - t0

    def ensure_synced(self, model, data):
        """Before a model's first step (or evaluation) under this strategy: build it on
        ``data`` if it has no weights yet, then take rank 0's weights and optimizer state.
        Does nothing for a model already synced.

        Args:
            model (Model): the model about to run.
            data (Dataset): this rank's batch; its inputs build the model (a forward pass
                without a graph) when it has no weights.
        """
        ref = self._synced.get(id(model))
        if ref is not None and ref() is model:
            return
        if not model.weights:
            _build_on(model, data)
        self.sync_state(model)

    def train_on_batch(self, model, dataset):
        """``train_on_batch`` with the batch given to every rank as the global batch: one step
        on this rank's share, gradients averaged as in ``fit``.

        Args:
            model (Model): the compiled model.
            dataset (Dataset): the whole global batch (the same on every rank).

        Returns:
            dict: the logs of the global batch, as ``train_step``.
        """
        (batch,) = list(self.batches(dataset, max(len(dataset), 1), False, model._data_device()))
        return self.train_step(model, batch)

    def batches(self, dataset, batch_size, shuffle, device=None):
        """This rank's share of each global batch, in the order rank 0 drew.

        Each global batch (the same indices the one-process loop takes) is cut into
        ``size`` contiguous parts; a rank whose part is empty (a last batch smaller
        than the number of ranks) gets one sample to run with weight 0.

        Args:
            dataset (Dataset): the training data, the same number of samples on every rank.
            batch_size (int): the global batch size.
            shuffle (bool): draw a permutation per call (rank 0's is broadcast); False keeps
                the data's order.
            device (str | None): where the batch arrays go (``Model._data_device()``); None
                keeps them where they are.

        Yields:
            this rank's batch, with its sample count and the global batch's
            (``n_local``, ``n_global``) for ``train_step``.

        Raises:
            ValueError: the ranks were given different numbers of samples.
        """
        comm = self.communicator
        n = len(dataset)
        counts = comm.allgather_object(n, what="fit: number of samples")
        if len(set(counts)) > 1:
            raise ValueError(f"DataParallel: every rank must be given the same data; ranks have "
                             f"{dict(enumerate(counts))} samples")
        order = backend.random_generator().permutation(n) if shuffle else None   # drawn everywhere ...
        if order is not None:
            order = order.astype(np.int64)
            comm.bcast([order], what="fit: shuffled order")                       # ... rank 0's is used
        size, rank = comm.size, comm.rank
        for start in range(0, n, batch_size):
            idx = (np.sort(order[start:start + batch_size]) if order is not None
                   else np.arange(start, min(start + batch_size, n)))
            lo, hi = _part(len(idx), size, rank)
            mine = idx[lo:hi] if hi > lo else idx[:1]
            arrays = [_to_device(a[mine], is_x, device) for a, is_x in zip(dataset.arrays, dataset._is_x)]
            yield _LocalBatch(dataset._rebuild(arrays), hi - lo, len(idx))

    def train_step(self, model, batch):
        """Run ``model.train_step`` on this rank's share with the optimizer's gradients
        summed over the ranks (each weighted by its share of the global batch) before
        they are applied; returns the logs of the global batch.

        Args:
            model (Model): the compiled model (synced with rank 0 first if it is not yet).
            batch: one item of ``batches``: this rank's data and its share of the global
                batch. A rank with an empty share runs one borrowed sample whose metric
                updates are undone.

        Returns:
            dict: ``{name: float}``; metrics from the summed totals and counts of all ranks,
            other values (the loss) averaged over the ranks that had samples.
        """
        self.ensure_synced(model, batch.data)
        opt = model.optimizer
        self._scale = batch.n_local / batch.n_global
        saved = _metric_states(model) if batch.n_local == 0 else None
        t0 = time.perf_counter()
        comm_before = self.stats.allreduce_seconds
        opt.apply = _ReducingApply(self, opt)          # instance attribute: this step only
        self._overlap = _Overlap(self, model.trainable_weights) if self._can_overlap(model) else None
        try:
            with (on_grad_ready(self._overlap.ready) if self._overlap else contextlib.nullcontext()):
                logs = model.train_step(batch.data)
        finally:
            del opt.__dict__["apply"]
            if self._overlap is not None:
                self._overlap.close()                  # buckets started but never consumed
                self._overlap = None
        if saved is not None:
            _restore_metric_states(model, saved)       # the borrowed sample counts for nothing
        logs = self._reduce_logs(model, logs, batch.n_local > 0, "fit: losses and metrics")
        self.stats.steps += 1
        self.stats.compute_seconds += (time.perf_counter() - t0) - (self.stats.allreduce_seconds - comm_before)
        return logs

    def reduce_gradients(self, grads, variables):
        """Sum ``scale * grad`` over the ranks in a few float32 buckets; the global-batch mean.
        Buckets already started during the backward pass (``_Overlap``) are only waited for.

        Args:
            grads (list[array | None]): this rank's gradients, one per variable (``scale`` is
                this rank's share of the global batch, set by ``train_step``).
            variables (list[Variable]): the weights the gradients belong to, in the
                optimizer's order (the same on every rank).

        Returns:
            list: the summed gradients, in the order of ``variables``.
        """
        if self._overlap is not None:
            reduced = self._overlap.finish(grads, variables)
            if reduced is not None:
                return reduced
        buckets = self.buckets_for(variables)
        buckets.pack(grads, self._scale)
        t = self.communicator.allreduce(buckets.buffers, what="fit: gradient allreduce")
        self._count(t, buckets)
        return buckets.unpack()

    def buckets_for(self, variables):
        """The gradient buckets laid out for ``variables`` (kept while the layout holds).

        Args:
            variables (list[Variable]): the weights, in the optimizer's order.
        """
        xp = backend.get_array_module(variables[0].value) if variables else np
        if self._buckets is None or self._buckets.key() != _layout_key(variables):
            self._buckets = Buckets(variables, self.bucket_bytes, xp=xp)
        return self._buckets

    def _count(self, seconds, buckets, early=0):
        self.stats.allreduce_seconds += seconds
        self.stats.bytes_per_step = buckets.nbytes
        self.stats.buckets = len(buckets.buffers)
        self.stats.buckets_started_in_backward += early

    def _can_overlap(self, model):
        """Start bucket allreduces during backward: several ranks, a communicator that can
        start one without waiting, and weights to train."""
        return (self.overlap and self.communicator.size > 1 and bool(model.trainable_weights)
                and hasattr(self.communicator, "start_allreduce"))

    # -- evaluate / predict ----------------------------------------------------------------
    def shard(self, dataset, model):
        """A view of ``dataset`` whose ``batches(batch_size)`` yields this rank's share of
        each global batch (as ``fit`` cuts them, in order, no shuffle). A rank whose share
        is empty runs one borrowed sample whose metric updates are undone and whose
        predictions are dropped.

        Args:
            dataset (Dataset): the data given to ``evaluate`` / ``predict`` (the same on
                every rank).
            model (Model): the model; it is synced with rank 0 before its first batch.
        """
        return _Shard(self, dataset, model)

    def reduce_eval(self, model, data, logs):
        """The logs of the whole data from each rank's metrics over its shares.

        Args:
            model (Model): the evaluated model (its metrics' totals and counts are summed).
            data: the view ``shard`` returned, after the pass (it knows whether this rank
                had real samples).
            logs (dict): this rank's last logs.

        Returns:
            dict: ``{name: float}`` over the whole data.
        """
        return self._reduce_logs(model, logs, data.real_batches > 0, "evaluate: metrics")

    def gather(self, data, outs):
        """Every rank's predicted batches in the order of the data: global batch by global
        batch, rank 0's share first.

        Args:
            data: the view ``shard`` returned, after the pass (its borrowed steps are
                dropped).
            outs (list): this rank's outputs, one entry per batch (arrays or structures).

        Returns:
            list: every rank's real outputs, in the data's order, on every rank.
        """
        mine = [o for step, o in enumerate(outs) if step not in data.borrowed_steps]
        steps = [step for step in range(len(outs)) if step not in data.borrowed_steps]
        parts = self.communicator.allgather_object(list(zip(steps, mine)), what="predict: gather")
        merged = [(step, rank, o) for rank, part in enumerate(parts) for step, o in part]
        return [o for _, _, o in sorted(merged, key=lambda t: (t[0], t[1]))]

    # -- logs -------------------------------------------------------------------------------
    def _reduce_logs(self, model, logs, counts, what):
        """``{name: value}`` over all ranks: a metric's running total and count are summed
        (so the result is the global one); any other number in the logs is averaged
        over the ranks that ran a real batch."""
        logs = _plain(logs)
        metrics = {m.name: m for m in model.metrics if hasattr(m, "total") and hasattr(m, "count")}
        keys = list(logs)
        vec = np.zeros(2 * len(keys) + 1, dtype=np.float64)
        for i, k in enumerate(keys):
            m = metrics.get(k)
            if m is not None:
                vec[2 * i] = float(backend.to_numpy(m.total))
                vec[2 * i + 1] = float(backend.to_numpy(m.count))
            elif counts:
                vec[2 * i] = logs[k]
        vec[-1] = 1.0 if counts else 0.0
        self.communicator.allreduce([vec], what=what)
        out = {}
        for i, k in enumerate(keys):
            if k in metrics:
                out[k] = vec[2 * i] / max(vec[2 * i + 1], 1e-12)
            else:
                out[k] = vec[2 * i] / max(vec[-1], 1.0)
        return out


class _ReducingApply:
    """Stands in for ``optimizer.apply`` during one step: sums the gradients over the
    ranks, then calls the optimizer's own ``apply``."""

    def __init__(self, strategy, optimizer):
        self.strategy, self.optimizer = strategy, optimizer

    def __call__(self, grads, trainable_variables=None):
        opt = self.optimizer
        variables = list(trainable_variables if trainable_variables is not None else opt._vars)
        grads = self.strategy.reduce_gradients(list(grads), variables)
        return type(opt).apply(opt, grads, variables)


class _Overlap:
    """One training step's gradient allreduce, started bucket by bucket during the backward
    pass: when the last weight of a bucket has its final gradient (``on_grad_ready``), the
    bucket is packed and its nonblocking allreduce starts while backprop goes on through
    the earlier layers. Buckets start strictly in order (the same on every rank); the last
    one, which carries the presence flags, starts when the optimizer asks for the sums.

    The sums are used only if the optimizer is given exactly the gradients that were packed
    (``model.train_step`` and a custom step passing ``[v.grad for v in ...]``); a step that
    changes them first (clipping by hand, two optimizers) gets the collectives it started
    completed and discarded, then the ordinary allreduce of what it passed."""

    def __init__(self, strategy, variables):
        self.strategy = strategy
        self.variables = list(variables)
        self.buckets = strategy.buckets_for(self.variables)
        self.index = {id(v): i for i, v in enumerate(self.variables)}
        self.left = self.buckets.weights_per_bucket()
        self.packed = [False] * len(self.variables)
        self.sent = [None] * len(self.variables)
        self.started = 0                     # buckets whose allreduce has started
        self.pending = None
        self.done = False

    def ready(self, leaf):
        i = self.index.get(id(leaf))
        if i is None or self.done or self.packed[i]:
            return
        self.buckets.pack_one(i, leaf.grad, self.strategy._scale)
        self.packed[i], self.sent[i] = True, leaf.grad
        self.left[self.buckets.places[i][0]] -= 1
        self._start_ready(last=False)

    def finish(self, grads, variables):
        """The summed gradients when ``grads`` for ``variables`` are what was packed, else None
        (after completing what was started)."""
        if self.done:
            return None
        early = self.started
        grads = list(grads)
        same = (len(variables) == len(self.variables) and len(grads) == len(self.variables)
                and all(a is b for a, b in zip(variables, self.variables))
                and all(g is s for g, s, p in zip(grads, self.sent, self.packed) if p))
        if same:
            for i, g in enumerate(grads):
                if not self.packed[i]:       # no gradient reached it during backward
                    self.buckets.pack_one(i, g, self.strategy._scale)
        self._complete(early if same else 0)
        return self.buckets.unpack() if same else None

    def close(self):
        if not self.done:
            self._complete(0)

    def _start_ready(self, last):
        comm, n = self.strategy.communicator, len(self.buckets.buffers)
        stop = n if last else n - 1
        while self.started < stop and (last or self.left[self.started] == 0):
            self.pending = comm.start_allreduce([self.buckets.buffers[self.started]], self.pending,
                                                what="fit: gradient allreduce")
            self.started += 1
        if self.pending is not None and not last:
            comm.progress(self.pending)

    def _complete(self, early):
        self._start_ready(last=True)
        t = self.strategy.communicator.finish_allreduce(self.pending)
        self.strategy._count(t, self.buckets, early)
        self.done = True


class _Shard:
    """This rank's share of each global batch of a ``Dataset`` (see ``DataParallel.shard``)."""

    def __init__(self, strategy, dataset, model):
        self.strategy, self.dataset, self.model = strategy, dataset, model
        self.size, self.rank = strategy.communicator.size, strategy.communicator.rank
        self.borrowed_steps = set()
        self.real_batches = 0

    def __len__(self):
        return len(self.dataset)

    def batches(self, batch_size, shuffle=False, rng=None, device=None):
        ds = self.dataset
        for step, start in enumerate(range(0, len(ds), batch_size)):
            stop = min(start + batch_size, len(ds))
            lo, hi = _part(stop - start, self.size, self.rank)
            borrowed = hi <= lo
            idx = slice(start, start + 1) if borrowed else slice(start + lo, start + hi)
            arrays = [_to_device(a[idx], is_x, device) for a, is_x in zip(ds.arrays, ds._is_x)]
            if step == 0:
                self.strategy.ensure_synced(self.model, ds._rebuild(arrays))
            if borrowed:
                self.borrowed_steps.add(step)
                saved = _metric_states(self.model)
                yield ds._rebuild(arrays)
                _restore_metric_states(self.model, saved)   # the borrowed sample counts for nothing
            else:
                self.real_batches += 1
                yield ds._rebuild(arrays)


class _LocalBatch:
    __slots__ = ("data", "n_local", "n_global")

    def __init__(self, data, n_local, n_global):
        self.data, self.n_local, self.n_global = data, n_local, n_global


class _Stats:
    """What a strategy measured: steps, seconds in the gradient allreduce versus the rest
    of the step, bytes each rank contributes per step."""

    def __init__(self):
        self.steps = 0
        self.allreduce_seconds = 0.0
        self.compute_seconds = 0.0
        self.sync_seconds = 0.0
        self.bytes_per_step = 0
        self.buckets = 0
        self.buckets_started_in_backward = 0

    def as_dict(self):
        return dict(vars(self))


def _part(n, size, rank):
    """``[lo, hi)`` of rank ``rank`` when ``n`` items are cut into ``size`` contiguous parts
    as equal as possible (the first ``n % size`` parts one longer)."""
    base, extra = divmod(n, size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)


def _layout_key(variables):
    return (tuple(tuple(v.value.shape) for v in variables), tuple(str(v.value.dtype) for v in variables))


def _bcast_arrays(comm, arrays, what):
    """Broadcast rank 0's arrays: floating ones packed into one float32/float64 buffer per
    dtype, the rest one by one."""
    groups = {}
    for a in arrays:
        groups.setdefault(str(a.dtype), []).append(a)
    for dtype, group in groups.items():
        xp = backend.get_array_module(group[0])
        flat = xp.concatenate([a.reshape(-1) for a in group]) if group else None
        comm.bcast([flat], what=what)
        off = 0
        for a in group:
            a[...] = flat[off:off + a.size].reshape(a.shape)
            off += a.size


def _slot_shapes(opt):
    return {name: [tuple(a.shape) for a in arrays] for name, arrays in sorted(opt.slots.items())}


def _build_on(model, data):
    """Create a model's weights with a forward pass (no graph) on this rank's batch."""
    from ..autograd.function import no_grad
    from ..models.data import unpack_data
    x = unpack_data(data)[0]
    with no_grad():
        model(x, training=False)


def _metric_states(model):
    return [(m, m.total, m.count) for m in model.metrics if hasattr(m, "total") and hasattr(m, "count")]


def _restore_metric_states(model, saved):
    for m, total, count in saved:
        m.total, m.count = total, count


def _plain(logs):
    out = {}
    for k, v in dict(logs or {}).items():
        if isinstance(v, dict):
            out.update({kk: float(backend.to_numpy(getattr(vv, "value", vv))) for kk, vv in v.items()})
        else:
            out[k] = float(backend.to_numpy(getattr(v, "value", v)))
    return out


def _share_the_node(local_size):
    """Ranks on one machine split its cores: each gets ``cores // local_size`` intra-op and
    BLAS threads, unless the user chose (``KERASETTE_NUM_THREADS`` / ``OMP_NUM_THREADS``) or
    the launcher bound each rank to its own cores already."""
    if local_size <= 1 or os.environ.get("KERASETTE_NUM_THREADS") or os.environ.get("OMP_NUM_THREADS"):
        return
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    per = cores if cores < (os.cpu_count() or cores) else max(1, cores // local_size)
    parallel.set_num_threads(per)
    import threadpoolctl
    threadpoolctl.threadpool_limits(limits=per)


def _from_environment(timeout):
    """An MPI communicator when launched by ``mpiexec`` / ``srun`` (NCCL's when the device is
    a GPU), else the one-process one."""
    if not launched_by_mpi():
        return SingleProcess()
    try:
        import mpi4py  # noqa: F401
    except ImportError as e:
        raise ImportError("DataParallel: this process was started by an MPI launcher but mpi4py is not "
                          "installed; pip install 'kerasette[distributed]'") from e
    mpi = MPICommunicator(timeout=timeout)
    expected = expected_size()
    if mpi.size != expected:
        raise RuntimeError(f"DataParallel: the launcher started {expected} processes but MPI connects "
                           f"{mpi.size}: each would train alone. Under Slurm use srun --mpi=pmi2 (or pmix), "
                           f"and the mpiexec of the MPI that mpi4py was built with")
    if mpi.size > 1 and context.current().device == "gpu":
        from .nccl import NCCLCommunicator
        return NCCLCommunicator(mpi)
    return mpi
