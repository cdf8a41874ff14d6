"""Callbacks: hooks into ``fit`` / ``evaluate`` / ``predict`` (History, the progress display,
early stopping, ...)."""
import math
import os
import sys

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "LearningRateScheduler", "TerminateOnNaN", "LambdaCallback", "ModelCheckpoint",
           "BackupAndRestore"]


class Callback:
    """Base class; override the ``on_*`` hooks you need. ``self.model`` is set by fit."""

    def __init__(self):
        self.model = None
        self.params = {}

    def set_model(self, model):
        """Attach the model being trained (``fit`` calls this).

        Args:
            model (Model): the model being trained.
        """
        self.model = model

    def set_params(self, params):
        """Receive ``fit``'s settings: ``epochs``, ``steps``, ``verbose``, ``batch_size``.

        Args:
            params (dict): ``epochs``, ``steps``, ``verbose``, ``batch_size``.
        """
        self.params = params

    # Hooks: ``logs`` holds the running loss and metrics (``val_*`` too at epoch end).
    def on_train_begin(self, logs=None):
        """Before the first epoch.

        Args:
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_train_end(self, logs=None):
        """After the last epoch (or an early stop).

        Args:
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_epoch_begin(self, epoch, logs=None):
        """Before epoch ``epoch`` (0-based).

        Args:
            epoch (int): the epoch's index, 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_epoch_end(self, epoch, logs=None):
        """After epoch ``epoch``; ``logs`` has the epoch's loss, metrics and ``val_*`` values.

        Args:
            epoch (int): the epoch's index, 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_train_batch_begin(self, batch, logs=None):
        """Before training step ``batch`` of the epoch.

        Args:
            batch (int): the step's index within the epoch (or pass), 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_train_batch_end(self, batch, logs=None):
        """After training step ``batch``; ``logs`` has the running loss and metrics.

        Args:
            batch (int): the step's index within the epoch (or pass), 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_test_begin(self, logs=None):
        """Before an evaluation pass.

        Args:
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_test_end(self, logs=None):
        """After an evaluation pass.

        Args:
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_test_batch_begin(self, batch, logs=None):
        """Before evaluation batch ``batch``.

        Args:
            batch (int): the step's index within the epoch (or pass), 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_test_batch_end(self, batch, logs=None):
        """After evaluation batch ``batch``.

        Args:
            batch (int): the step's index within the epoch (or pass), 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_predict_begin(self, logs=None):
        """Before ``predict``.

        Args:
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_predict_end(self, logs=None):
        """After ``predict``.

        Args:
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_predict_batch_begin(self, batch, logs=None):
        """Before prediction batch ``batch``.

        Args:
            batch (int): the step's index within the epoch (or pass), 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_predict_batch_end(self, batch, logs=None):
        """After prediction batch ``batch``.

        Args:
            batch (int): the step's index within the epoch (or pass), 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """


class CallbackList:
    """Calls each hook on every callback in order.

    Args:
        callbacks (list): ``Callback`` instances.
        model (Model): the model they observe (``set_model``).
        params (dict): the run's settings (``set_params``): ``epochs``, ``steps``, ``verbose``,
            ``batch_size``.
    """

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        strategy = getattr(model, "__dict__", {}).get("_distribute_strategy")
        if strategy is not None:          # kerasette.distribute: side effects on rank 0 only
            self.callbacks = strategy.callbacks(self.callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)
        indexed = "_batch_" in hook or "_epoch_" in hook        # hook(batch_or_epoch, logs)

        def call(*args, **kwargs):
            # every hook gets a logs dict, never None (as Keras 3): {} at the begin hooks,
            # the last epoch's logs at on_train_end
            args = list(args)
            pos = 1 if indexed else 0
            logs = kwargs.pop("logs", args[pos] if len(args) > pos else None)
            del args[pos:]
            if logs is None:
                logs = dict(self.__dict__.get("_last_epoch_logs") or {}) if hook == "on_train_end" else {}
            if hook == "on_epoch_end":
                self.__dict__["_last_epoch_logs"] = logs
            elif hook == "on_train_begin":
                self.__dict__["_last_epoch_logs"] = None
            for cb in self.callbacks:
                getattr(cb, hook)(*args, logs, **kwargs)
        return call


class History(Callback):
    """Records each epoch's logs: ``history.history["loss"]`` is a list per epoch."""

    def __init__(self):
        super().__init__()
        self.history = {}
        self.epoch = []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)


class ProgbarLogger(Callback):
    """Shows the progress of ``fit`` (one pass per epoch), ``evaluate`` and ``predict``.

    ``fit`` / ``evaluate`` / ``predict`` add one when ``verbose`` is not 0 (unless one is
    among ``callbacks``; pass your own to change its settings). How it draws depends on
    where the output goes:

    - a terminal (``verbose=1`` or ``"auto"``): a tqdm bar that fits the terminal's width,
      with the running loss and metrics; the numbers are never cut (the bar shrinks first);
    - Jupyter: tqdm's notebook bar;
    - a file or pipe, or when the ``CI`` environment variable is set: one line per epoch,
      plus a line every ``interval`` seconds while an epoch runs;
    - ``verbose=2``: one line per epoch, wherever the output goes.

    Args:
        verbose: 1 (bar or lines, see above), 2 (one line per epoch) or None to take
            ``fit``'s ``verbose`` (default None).
        interval: seconds between progress lines when the output is not a terminal
            (default: ``$KERASETTE_PROGRESS_INTERVAL`` or 30); 0 prints only each epoch's line.
        stream: file-like object to write to (default: ``sys.stdout`` at the start of each run).
        width: columns of the bar (default: ``$COLUMNS`` or the terminal's width).
        refresh: seconds between redraws of the bar (default 0.1).

    Example:
        >>> import io
        >>> cb = ProgbarLogger(verbose=2, stream=io.StringIO())
        >>> cb.verbose
        2
    """

    def __init__(self, verbose=None, interval=None, stream=None, width=None, refresh=0.1):
        super().__init__()
        self.verbose = verbose
        if interval is None:
            interval = _env_interval()
        if not isinstance(interval, (int, float)) or isinstance(interval, bool) or interval < 0:
            raise ValueError(f"ProgbarLogger: interval must be a number of seconds >= 0, got {interval!r}")
        self.interval, self.stream, self.width, self.refresh = interval, stream, width, refresh
        self.progress = None
        self._in_fit = False

    def _start(self, title, total):
        from .utils.progress import Progress, choose_mode
        verbose = self.verbose if self.verbose is not None else self.params.get("verbose", 1)
        if not verbose:
            return None
        stream = self.stream if self.stream is not None else sys.stdout
        mode = choose_mode(verbose, stream)
        return Progress(title, total, mode=mode, stream=stream, width=self.width,
                        interval=self.interval if verbose == 1 else 0, refresh=self.refresh)

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        epochs = self.params.get("epochs", 1)
        self.progress = self._start(f"Epoch {epoch + 1}/{epochs}", self.params.get("steps"))

    def on_train_batch_end(self, batch, logs=None):
        if self.progress is not None:
            self.progress.update(batch + 1, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.progress is not None:
            self.progress.close(logs)
            self.progress = None

    def on_test_begin(self, logs=None):
        if not self._in_fit:              # validation inside fit shows no bar of its own
            self.progress = self._start("Evaluate", self.params.get("steps"))

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit and self.progress is not None:
            self.progress.update(batch + 1, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit and self.progress is not None:
            self.progress.close(logs)
            self.progress = None

    def on_predict_begin(self, logs=None):
        self.progress = self._start("Predict", self.params.get("steps"))

    def on_predict_batch_end(self, batch, logs=None):
        if self.progress is not None:
            self.progress.update(batch + 1)

    def on_predict_end(self, logs=None):
        if self.progress is not None:
            self.progress.close()
            self.progress = None


def _env_interval():
    from .utils.progress import DEFAULT_INTERVAL
    raw = os.environ.get("KERASETTE_PROGRESS_INTERVAL")
    if raw is None or raw.strip() == "":
        return DEFAULT_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1
    if not value >= 0:
        raise ValueError(f"KERASETTE_PROGRESS_INTERVAL must be a number of seconds >= 0, got {raw!r}; "
                         f"unset it or set e.g. KERASETTE_PROGRESS_INTERVAL=60")
    return value


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs.

    Args:
        monitor (str): the logged value to watch (default ``"val_loss"``).
        min_delta (float): the smallest change that counts as an improvement (default 0).
        patience (int): epochs without improvement before stopping (default 0).
        verbose (int): 1 prints a line when training stops (default 0).
        mode (str): ``"min"``, ``"max"`` or ``"auto"`` (default; ``max`` for accuracies and AUC).
        baseline (float | None): a value to beat from the start (default None).
        restore_best_weights (bool): put back the weights of the best epoch when stopping
            (default False).
        start_from_epoch (int): epochs to wait before watching (default 0).

    Example:
        >>> import kerasette as keras
        >>> keras.callbacks.EarlyStopping(monitor="val_accuracy", patience=3).mode
        'max'
    """

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto",
                 baseline=None, restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.verbose, self.baseline = verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.mode = _resolve_mode(mode, monitor)

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0
        self.best = math.inf if self.mode == "min" else -math.inf
        if self.baseline is not None:
            self.best = self.baseline

    def on_epoch_end(self, epoch, logs=None):
        current = (logs or {}).get(self.monitor)
        if current is None or epoch < self.start_from_epoch:
            return
        better = (current < self.best - self.min_delta) if self.mode == "min" else (current > self.best + self.min_delta)
        if better:
            self.best, self.wait, self.best_epoch = current, 0, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            return
        self.wait += 1
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True
            if self.restore_best_weights and self.best_weights is not None:
                self.model.set_weights(self.best_weights)
            if self.verbose:
                print(f"Epoch {epoch + 1}: early stopping (best {self.monitor}={self.best:.4f} "
                      f"at epoch {self.best_epoch + 1})")


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start to ``schedule(epoch, lr)``.

    Args:
        schedule (callable): ``schedule(epoch, lr) -> new lr`` (or ``schedule(epoch)``); the
            epoch is 0-based.
        verbose (int): 1 prints the new rate at each epoch (default 0).
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        try:
            lr = self.schedule(epoch, opt.learning_rate)
        except TypeError:
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, int, np.floating, np.integer)):
            raise ValueError(f"LearningRateScheduler: the schedule must return a number, got {lr!r}")
        opt.learning_rate = float(lr)
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = self.model.optimizer.learning_rate


class TerminateOnNaN(Callback):
    """Stop training as soon as the batch loss is NaN or infinite."""

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            print(f"Batch {batch}: invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """Callback from plain functions: ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, **hooks):
        super().__init__()
        for name, fn in hooks.items():
            setattr(self, name, fn)


def _resolve_mode(mode, monitor):
    if mode in ("min", "max"):
        return mode
    return "max" if ("acc" in monitor or monitor.startswith("auc")) else "min"


def __getattr__(name):
    if name == "ModelCheckpoint":
        from .saving.checkpoint import ModelCheckpoint
        return ModelCheckpoint
    if name == "BackupAndRestore":
        from .saving.checkpoint import BackupAndRestore
        return BackupAndRestore
    raise AttributeError(name)
