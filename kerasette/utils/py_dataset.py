"""``PyDataset``: batches by index, optionally prepared by worker threads or processes.

``fit`` / ``evaluate`` / ``predict`` read a ``PyDataset`` one batch per step. With
``workers > 1`` (or ``use_multiprocessing=True``) the batches of an epoch are requested
ahead, in order, from a pool of threads (or processes), at most ``max_queue_size`` at a
time, while the model trains on the earlier ones. Each pool lives for one pass over the
data and is shut down when the pass ends, however it ends (exception, ``KeyboardInterrupt``,
``steps_per_epoch`` reached).
"""
import collections
import concurrent.futures
import itertools
import multiprocessing

__all__ = ["PyDataset", "Sequence", "ordered_batches"]


class PyDataset:
    """Base class for a dataset of batches read by index (``keras.utils.PyDataset``).

    Subclass it, call ``super().__init__(**kwargs)``, and implement ``__len__`` (the number
    of batches per epoch) and ``__getitem__(index)`` returning one batch: ``(x,)``,
    ``(x, y)`` or ``(x, y, sample_weight)`` of NumPy arrays (or lists / dicts of them for
    several inputs or outputs). ``on_epoch_begin`` / ``on_epoch_end`` run around every
    training epoch (reshuffle there). Define the ``num_batches`` property returning None
    instead of ``__len__`` for an endless dataset (then pass ``steps_per_epoch``).

    Args:
        workers (int): how many threads (or processes) prepare batches in parallel while the
            model trains; 1 (default) reads each batch in the training thread when it is needed.
        use_multiprocessing (bool): use processes instead of threads (for Python-heavy
            ``__getitem__`` code that holds the GIL); the dataset is copied into each worker
            process, so state changed there is not seen by the model's process. Default False.
        max_queue_size (int): most batches prepared ahead of the model (default 10).

    Examples:
        >>> import numpy as np, kerasette as keras
        >>> class Squares(keras.utils.PyDataset):
        ...     def __init__(self, n, batch_size, **kwargs):
        ...         super().__init__(**kwargs)
        ...         self.x = np.arange(n, dtype="float32")[:, None]
        ...         self.batch_size = batch_size
        ...     def __len__(self):
        ...         return -(-len(self.x) // self.batch_size)
        ...     def __getitem__(self, i):
        ...         x = self.x[i * self.batch_size:(i + 1) * self.batch_size]
        ...         return x, x ** 2
        >>> model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> h = model.fit(Squares(10, 4, workers=2), epochs=2, verbose=0)
        >>> len(h.history["loss"])
        2
    """

    def __init__(self, workers=1, use_multiprocessing=False, max_queue_size=10):
        self._workers = workers
        self._use_multiprocessing = use_multiprocessing
        self._max_queue_size = max_queue_size

    def _settings(self):
        if "_workers" not in self.__dict__:
            raise ValueError(f"{type(self).__name__}: call super().__init__(**kwargs) in __init__ "
                             f"(PyDataset keeps workers / use_multiprocessing / max_queue_size there)")
        workers, mp, queue = self._workers, self._use_multiprocessing, self._max_queue_size
        if isinstance(workers, bool) or not isinstance(workers, int) or workers < 0:
            raise ValueError(f"{type(self).__name__}: workers must be an integer >= 0, got {workers!r}")
        if isinstance(queue, bool) or not isinstance(queue, int) or queue < 1:
            raise ValueError(f"{type(self).__name__}: max_queue_size must be an integer >= 1, got {queue!r}")
        return workers, bool(mp), queue

    @property
    def workers(self):
        """Number of parallel workers preparing batches."""
        return self._workers

    @workers.setter
    def workers(self, value):
        self._workers = value

    @property
    def use_multiprocessing(self):
        """Whether the workers are processes."""
        return self._use_multiprocessing

    @use_multiprocessing.setter
    def use_multiprocessing(self, value):
        self._use_multiprocessing = value

    @property
    def max_queue_size(self):
        """Most batches prepared ahead."""
        return self._max_queue_size

    @max_queue_size.setter
    def max_queue_size(self, value):
        self._max_queue_size = value

    def __getitem__(self, index):
        """The batch at position ``index``.

        Args:
            index (int): the batch's position, ``0 <= index < len(self)``.
        """
        raise NotImplementedError(f"{type(self).__name__}.__getitem__ is not implemented")

    @property
    def num_batches(self):
        """Batches per epoch: ``len(self)``, or None for an endless dataset."""
        if hasattr(self, "__len__"):
            return len(self)
        raise NotImplementedError(f"{type(self).__name__}: implement __len__, or a num_batches property "
                                  f"(None for an endless dataset)")

    def __iter__(self):
        n = self.num_batches
        for i in (range(n) if n is not None else itertools.count()):
            yield self[i]

    def on_epoch_begin(self):
        """Called at the beginning of every training epoch."""

    def on_epoch_end(self):
        """Called at the end of every training epoch (e.g. to reshuffle)."""


Sequence = PyDataset      # the Keras 2 name


# Each worker process receives the dataset once (the pool's initializer keeps it on that
# process's own ``current_process()`` object), not with every batch request.
def _init_worker_process(dataset):
    multiprocessing.current_process().kerasette_dataset = dataset


def _process_getitem(index):
    return multiprocessing.current_process().kerasette_dataset[index]


def ordered_batches(dataset, indices, workers, use_multiprocessing=False, max_queue_size=10):
    """Yield ``dataset[i]`` for each ``i`` of ``indices``, in order, computed ahead by a pool of
    ``workers`` threads (or processes) with at most ``max_queue_size`` batches in flight.

    The pool is created when iteration starts and shut down (pending work cancelled) when the
    generator finishes or is closed, so no thread or process outlives the pass.

    Args:
        dataset: an object with ``__getitem__``.
        indices (iterable): batch indices, possibly endless.
        workers (int): pool size (at least 1).
        use_multiprocessing (bool): processes instead of threads.
        max_queue_size (int): most batches requested ahead of the consumer.
    """
    workers = max(1, int(workers))
    if use_multiprocessing:
        pool = concurrent.futures.ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context(),
            initializer=_init_worker_process, initargs=(dataset,))
        submit = lambda i: pool.submit(_process_getitem, i)           # noqa: E731
    else:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers,
                                                     thread_name_prefix="kerasette-data")
        submit = lambda i: pool.submit(dataset.__getitem__, i)        # noqa: E731
    pending = collections.deque()
    it = iter(indices)
    try:
        for i in itertools.islice(it, max(1, max_queue_size)):
            pending.append(submit(i))
        while pending:
            batch = pending.popleft().result()
            for i in itertools.islice(it, 1):
                pending.append(submit(i))
            yield batch
    finally:
        for f in pending:
            f.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
