"""The execution context: every mode flag, one copy per thread.

Grad mode (``no_grad``), the training flag and call depth of the layer call in
progress, the default device, the custom-object scope and the numerics check
are *modes*: a block of code turns them on and restores them on the way out.
Kept as module globals, one thread's ``predict`` (inside ``no_grad``) would
switch off gradient recording for another thread's training step. Here they
live in a ``threading.local``: each thread starts from the process defaults
and its changes are seen by it alone (as Chainer's ``chainer.config`` and
Keras's global state are per thread).

``current()`` is the only way in; it costs one attribute lookup on a
thread-local, cheap enough for every op call.
"""
import os
import threading
import weakref

__all__ = ["current", "Context", "set_default", "set_default_device", "default_device"]

# process-wide defaults a new thread starts from (read-mostly; written by
# backend.set_device at the top level only, never on a hot path)
def _env_device():
    """``$KERASETTE_DEVICE`` as ``"cpu"`` / ``"gpu"`` (``"cuda"``, ``"gpu:0"`` accepted); any other
    value is kept as written, and ``backend`` refuses it where the device is first used
    (never at import)."""
    raw = os.environ.get("KERASETTE_DEVICE", "").strip()
    dev = {"": "cpu", "cpu": "cpu", "gpu": "gpu", "cuda": "gpu"}.get(raw.lower().split(":")[0])
    return dev if dev is not None else raw


_DEFAULTS = {"device": _env_device(),
             "check_numerics": os.environ.get("KERASETTE_CHECK_NUMERICS", "") not in ("", "0"),
             "prefetch_batches": None,
             "cpu_kernels": os.environ.get("KERASETTE_CPU_KERNELS", "1").strip() != "0"}
_DEFAULTS_LOCK = threading.Lock()


class Context(threading.local):
    """The modes of one thread. Attributes:

    - ``grad_enabled``: ops record the graph (False inside ``no_grad()``).
    - ``training``: the training flag of the outermost layer call in progress (None outside).
    - ``depth``: how many layer calls are in progress (0: the next call is outermost).
    - ``device``: where new weights and batches go (``"cpu"``, ``"gpu"`` or a stand-in module).
    - ``custom_objects``: the names made resolvable by ``custom_object_scope`` (a dict).
    - ``safe_mode``: None, or the ``safe_mode`` of the deserialization in progress.
    - ``check_numerics``: every op's output is checked for NaN / inf (debug mode).
    - ``grad_ready_hook``: None, or a callback ``backward`` calls with each leaf whose
      gradient is final (``autograd.on_grad_ready``).
    - ``loss_holders``: the layers whose ``add_loss`` terms this thread added and no outermost
      call has cleared yet (weakly held: a dropped layer leaves); empty, the next outermost
      call skips the walk over its sublayers.
    - ``weight_budget``: None, or a one-item list holding the bytes of weights that layers may
      still create (set while a model is rebuilt from a file: a config cannot ask for more
      weights than the file can hold).
    - ``prefetch_batches``: None (automatic), or how many batches ``fit`` / ``evaluate`` /
      ``predict`` prepare ahead in a worker thread (``config.set_prefetch_batches``).
    - ``checked_embeddings``: the ids (``id()``) of the ``Embedding`` layers whose ids in the
      step running now came straight from data checked on the host; they skip their per-call
      range check (one device read each). Set by ``Model`` around a step, empty otherwise.
    - ``cpu_kernels``: fused CPU loops compiled by numba are used where numba is installed
      (``kerasette.cpu_kernels``; ``config.set_cpu_kernels``, ``KERASETTE_CPU_KERNELS=0``: off).
    - ``upload_stream``: None, or (in a prefetch worker) the copy stream host-to-device
      copies go through, from pinned memory (``models.prefetch``).
    """

    def __init__(self):
        self.grad_enabled = True
        self.training = None
        self.depth = 0
        self.device = _DEFAULTS["device"]
        self.custom_objects = {}
        self.safe_mode = None
        self.check_numerics = _DEFAULTS["check_numerics"]
        self.weight_budget = None
        self.grad_ready_hook = None
        self.loss_holders = weakref.WeakSet()
        self.prefetch_batches = _DEFAULTS["prefetch_batches"]
        self.upload_stream = None
        self.cpu_kernels = _DEFAULTS["cpu_kernels"]
        self.checked_embeddings = frozenset()


_CONTEXT = Context()


def current():
    """This thread's ``Context``."""
    return _CONTEXT


def default_device():
    """The device a new thread starts on."""
    return _DEFAULTS["device"]


def set_default_device(dev):
    """Make ``dev`` the device of this thread and of threads that start later."""
    set_default("device", dev)


def set_default(name, value):
    """Set mode ``name`` for this thread and for threads that start later
    (threads already running keep theirs)."""
    with _DEFAULTS_LOCK:
        _DEFAULTS[name] = value
    setattr(_CONTEXT, name, value)
