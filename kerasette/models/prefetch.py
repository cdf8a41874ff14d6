"""Device batches prepared ahead of the step that uses them, in a background thread.

Before a step can run, its batch is gathered on the host (rows picked by the
shuffled order, or a generator's next batch), cast and copied over the host
link. Done in line, that time sits between two steps while the device idles.
``prefetched`` runs the batch generator in one worker thread, ``depth`` batches
ahead, so the next batch is on its way while the current step computes:

- on CuPy the worker copies on its own stream from page-locked (pinned) host
  memory, and waits for its copies before handing a batch over, so the training
  thread only ever sees finished arrays; two batches in flight is double
  buffering. The stream is a *blocking* one: its copies wait for the kernels the
  training thread queued before them on the default stream. A batch freed after
  its step goes back to CuPy's pool while those kernels may still be reading it;
  a non-blocking stream could refill that memory with the next batch under them.
  So the gather, the cast and the staging overlap the step, the copy itself is
  ordered after it;
- the order of batches is the generator's: one worker, a FIFO queue;
- an error in the worker (a bad batch from a generator) is raised in the
  training thread at the step that would have used that batch;
- ``close()`` (the loop ended, or broke early) stops the worker, and the batch
  generator is closed in the thread that ran it (which shuts a ``PyDataset``'s
  worker pool down).

The depth is ``config.prefetch_batches()``: by default 2 on an accelerator for
data that crosses the host link, 0 (no thread) on the CPU, where the gather is
a small fraction of a step and the cores are busy with the step itself.
"""
import contextlib
import queue
import threading

from .. import context

__all__ = ["prefetched", "default_depth"]

_END = object()


def prefetched(batches, device, depth):
    """``batches`` read ``depth`` items ahead by a worker thread (``depth`` 0: ``batches`` itself).

    Args:
        batches (generator): yields device batches; any random draws it needs (the
            shuffled order) must already be made, so that the worker draws nothing.
        device (module): the array module the batches go to (the worker's device).
        depth (int): how many batches may wait ready (one more may be in preparation, so
            at most ``depth + 1`` are read ahead of the step that runs).
    """
    if depth <= 0:
        return batches
    return _Prefetcher(batches, device, depth)


def default_depth(device, on_device=False):
    """How many batches to prepare ahead for ``device``: ``config.prefetch_batches()`` when set,
    else 2 for an accelerator and data that crosses the host link, 0 otherwise."""
    depth = context.current().prefetch_batches
    if depth is not None:
        return depth
    import numpy as np
    return 0 if device is None or device is np or on_device else 2


class _Failure:
    def __init__(self, error):
        self.error = error


class _Prefetcher:
    """The iterator ``prefetched`` returns; ``close()`` it (``closing``) when done."""

    def __init__(self, batches, device, depth):
        self._source = batches
        self._queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._gpu = _current_gpu(device)      # the worker copies to the GPU this thread uses
        parent = context.current()
        settings = {name: getattr(parent, name) for name in ("device", "safe_mode", "check_numerics")}
        self._thread = threading.Thread(target=self._run, args=(device, settings), daemon=True,
                                        name="kerasette-prefetch")
        self._thread.start()

    def __iter__(self):
        return self

    def __next__(self):
        if self._done:
            raise StopIteration
        item = self._queue.get()
        if item is _END:
            self._done = True
            self._thread.join()
            raise StopIteration
        if isinstance(item, _Failure):
            self._done = True
            self._thread.join()
            raise item.error
        return item

    def close(self):
        """Stop the worker and wait for it (it closes the batch generator on its way out)."""
        self._done = True
        self._stop.set()
        while self._thread.is_alive():
            try:                              # unblock a worker waiting to put a batch
                self._queue.get(timeout=0.01)
            except queue.Empty:
                pass
        self._thread.join()

    def _put(self, item):
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, device, settings):
        ctx = context.current()
        for name, value in settings.items():
            setattr(ctx, name, value)
        try:
            with self._gpu:
                stream = ctx.upload_stream = _upload_stream(device)
                with stream if stream is not None else contextlib.nullcontext():
                    for batch in self._source:
                        if stream is not None:
                            stream.synchronize()       # the copies are done: usable in any thread
                            stream.staging.clear()     # ... and the pinned buffers free again
                        if not self._put(batch) or self._stop.is_set():
                            return                     # closed: read nothing more
            self._put(_END)
        except BaseException as e:  # noqa: BLE001 - handed to the training thread
            self._put(_Failure(e))
        finally:
            ctx.upload_stream = None
            close = getattr(self._source, "close", None)
            if close is not None:
                close()


class _Stream:
    """The worker's copy stream on ``device`` and the pinned buffers its copies read."""

    def __init__(self, stream):
        self.stream = stream
        self.staging = []

    def synchronize(self):
        self.stream.synchronize()

    def __enter__(self):                      # device work in the worker (casts) runs on it too
        self.stream.__enter__()
        return self

    def __exit__(self, *exc):
        return self.stream.__exit__(*exc)


def _upload_stream(device):
    cuda = getattr(device, "cuda", None)
    make = getattr(cuda, "Stream", None)
    if make is None:
        return None
    return _Stream(make(non_blocking=False))     # ordered after the default stream's work (above)


def _current_gpu(device):
    """The calling thread's current CUDA device of ``device`` (CuPy's ``Device()``), as a context
    manager for the worker; a no-op for modules without one."""
    make = getattr(getattr(device, "cuda", None), "Device", None)
    return make() if make is not None else contextlib.nullcontext()
