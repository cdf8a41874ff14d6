"""Callbacks: hooks into ``fit`` / ``evaluate`` / ``predict`` (History, the progress display,
early stopping, ...)."""
import csv
import json
import math
import os
import sys
import time
import warnings

import numpy as np

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "LearningRateScheduler", "TerminateOnNaN", "LambdaCallback", "ModelCheckpoint",
           "BackupAndRestore", "CSVLogger", "ReduceLROnPlateau", "RemoteMonitor", "TensorBoard"]


class Callback:
    """Base class; override the ``on_*`` hooks you need. ``self.model`` is set by fit.

    Examples:
        >>> import kerasette as keras
        >>> class Count(keras.callbacks.Callback):
        ...     def on_epoch_end(self, epoch, logs=None):
        ...         print("epoch", epoch, sorted(logs))
        ...
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[Count()])
        epoch 0 ['loss']
        epoch 1 ['loss']
    """

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

    def on_batch_begin(self, batch, logs=None):
        """Keras's older name for ``on_train_batch_begin``, which calls it by default.

        Args:
            batch (int): the step's index within the epoch, 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_batch_end(self, batch, logs=None):
        """Keras's older name for ``on_train_batch_end``, which calls it by default.

        Args:
            batch (int): the step's index within the epoch, 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """

    def on_train_batch_begin(self, batch, logs=None):
        """Before training step ``batch`` of the epoch (by default: ``on_batch_begin``).

        Args:
            batch (int): the step's index within the epoch (or pass), 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """
        self.on_batch_begin(batch, logs=logs)

    def on_train_batch_end(self, batch, logs=None):
        """After training step ``batch``; ``logs`` has the running loss and metrics (by
        default: ``on_batch_end``).

        Args:
            batch (int): the step's index within the epoch (or pass), 0-based.
            logs (dict | None): the running loss and metrics, ``{name: value}``.
        """
        self.on_batch_end(batch, logs=logs)

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

    Examples:
        >>> import kerasette as keras
        >>> seen = []
        >>> cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
        >>> callbacks = keras.callbacks.CallbackList([cb], model=None, params={"epochs": 1})
        >>> callbacks.on_epoch_end(0, {"loss": 1.0})
        >>> seen
        [0]
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
    """Records each epoch's logs: ``history.history["loss"]`` is a list per epoch.

    Examples:
        >>> import kerasette as keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> history = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0)
        >>> list(history.history), len(history.history["loss"]), history.epoch
        (['loss'], 3, [0, 1, 2])
    """

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

    Examples:
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

    As Keras 3: the first epoch watched sets the best value; with ``baseline``, an epoch
    only resets the patience count when it also beats the baseline; with
    ``restore_best_weights`` the best epoch's weights are put back when training ends
    (stopped early or not). A ``monitor`` missing from the logs warns and is skipped.

    Args:
        monitor (str): the logged value to watch (default ``"val_loss"``).
        min_delta (float): the smallest change that counts as an improvement (default 0).
        patience (int): epochs without improvement before stopping (default 0).
        verbose (int): 1 prints a line when training stops and when the best weights are
            restored (default 0).
        mode (str): ``"min"``, ``"max"`` or ``"auto"`` (default; ``max`` for accuracies and AUC).
        baseline (float | None): a value to beat: epochs that do not beat it count towards
            ``patience`` (default None).
        restore_best_weights (bool): put back the weights of the best epoch when training
            ends (default False).
        start_from_epoch (int): epochs to wait before watching (default 0).

    Examples:
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
        self.mode = _check_mode(mode, monitor, "EarlyStopping")
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = 0, 0, None, None, 0

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best, self.best_weights, self.best_epoch = 0, 0, None, None, 0

    def on_epoch_end(self, epoch, logs=None):
        current = _monitor_value(logs, self.monitor, "Early stopping")
        if current is None or epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or _improved(current, self.baseline, self.mode, self.min_delta):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


class LearningRateScheduler(Callback):
    """Set the learning rate at each epoch start to ``schedule(epoch, lr)``.

    The optimizer must have been created with a number as its learning rate: one built on
    a ``LearningRateSchedule`` (or another callable) raises ``TypeError``, as in Keras.
    The rate is logged as ``learning_rate`` at each epoch's end.

    Args:
        schedule (callable): ``schedule(epoch, lr) -> new lr`` (or ``schedule(epoch)``); the
            epoch is 0-based.
        verbose (int): 1 prints the new rate at each epoch (default 0).

    Examples:
        >>> import kerasette as keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> cb = keras.callbacks.LearningRateScheduler(lambda epoch, lr: 0.1 * 0.5 ** epoch)
        >>> h = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=3, verbose=0, callbacks=[cb])
        >>> [round(lr, 4) for lr in h.history["learning_rate"]]
        [0.1, 0.05, 0.025]
    """

    def __init__(self, schedule, verbose=0):
        super().__init__()
        if not callable(schedule):
            raise TypeError(f"LearningRateScheduler: schedule must be a callable, got {schedule!r}")
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        _check_settable_lr(opt, "LearningRateScheduler")
        try:
            lr = self.schedule(epoch, float(opt.learning_rate))
        except TypeError:
            lr = self.schedule(epoch)
        if isinstance(lr, bool) or not isinstance(lr, (float, int, np.floating, np.integer)):
            raise ValueError(f"The output of the `schedule` function should be a float. Got: {lr!r}")
        opt.learning_rate = float(lr)
        if self.verbose:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {float(lr)}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Reduce the learning rate when ``monitor`` has stopped improving.

    After ``patience`` epochs without an improvement of at least ``min_delta`` the rate
    becomes ``max(lr * factor, min_lr)``; then ``cooldown`` epochs pass before the count
    starts again. The current rate is logged as ``learning_rate`` at each epoch's end. The
    optimizer must have been created with a number as its learning rate (a
    ``LearningRateSchedule`` cannot be reduced: ``TypeError`` when training starts).

    Args:
        monitor (str): the logged value to watch (default ``"val_loss"``).
        factor (float): the rate is multiplied by it, ``0 <= factor < 1`` (default 0.1).
        patience (int): epochs without improvement before a reduction (default 10).
        verbose (int): 1 prints a line at each reduction (default 0).
        mode (str): ``"min"``, ``"max"`` or ``"auto"`` (default; ``max`` for accuracies and AUC).
        min_delta (float): the smallest change that counts as an improvement (default 1e-4).
        cooldown (int): epochs to wait after a reduction before counting again (default 0).
        min_lr (float): the rate never goes below it (default 0).

    Examples:
        >>> import kerasette as keras
        >>> keras.callbacks.ReduceLROnPlateau(factor=0.5, patience=2).factor
        0.5
    """

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto",
                 min_delta=1e-4, cooldown=0, min_lr=0.0):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Received factor={factor}")
        if factor < 0:
            raise ValueError(f"ReduceLROnPlateau: factor must be >= 0, got {factor}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.mode = _check_mode(mode, monitor, "ReduceLROnPlateau")
        self.min_delta, self.cooldown, self.min_lr = abs(min_delta), cooldown, min_lr
        self.best, self.wait, self.cooldown_counter = None, 0, 0

    def in_cooldown(self):
        """True while the epochs after a reduction are still waited out."""
        return self.cooldown_counter > 0

    def on_train_begin(self, logs=None):
        self.best, self.wait, self.cooldown_counter = None, 0, 0
        _check_settable_lr(self.model.optimizer, "ReduceLROnPlateau")

    def on_epoch_end(self, epoch, logs=None):
        opt = self.model.optimizer
        logs["learning_rate"] = float(opt.learning_rate)
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(f"Learning rate reduction is conditioned on metric `{self.monitor}` which is "
                          f"not available. Available metrics are: {','.join(logs)}.", stacklevel=2)
            return
        current = float(_to_float(current))
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if _improved(current, self.best, self.mode, self.min_delta):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.learning_rate)
                if old > np.float32(self.min_lr):
                    new = max(old * self.factor, self.min_lr)
                    opt.learning_rate = new
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class CSVLogger(Callback):
    """Write each epoch's logs as one row of a CSV file, as Keras does.

    The header is ``epoch`` and the first epoch's log keys in sorted order (``val_*``
    columns are added, filled with ``NA``, when the first epoch has no validation values);
    every row is flushed to disk as it is written, so the file is readable while training
    runs and complete up to the last finished epoch if training is interrupted.

    Args:
        filename (str | os.PathLike): the CSV file; its folder must exist.
        separator (str): the field separator (default ``","``).
        append (bool): add to an existing file (no second header) instead of overwriting it
            (default False).

    Examples:
        >>> import kerasette as keras
        >>> keras.callbacks.CSVLogger("training.log", separator=";").sep
        ';'
    """

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.sep = separator
        self.filename = os.fspath(filename)
        self.append = append
        self.keys, self.writer, self.csv_file, self.append_header = None, None, None, True

    def on_train_begin(self, logs=None):
        mode = "w"
        self.append_header = True
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename, encoding="utf-8") as f:
                    self.append_header = not f.readline()
            mode = "a"
        self._close()
        self.csv_file = open(self.filename, mode, newline="", encoding="utf-8")
        self.writer, self.keys = None, None

    def on_epoch_end(self, epoch, logs=None):
        logs = dict(logs or {})
        if self.keys is None:
            self.keys = sorted(logs)
            if self.keys and not any(k.startswith("val_") for k in self.keys):
                self.keys += [f"val_{k}" for k in self.keys]
        if self.writer is None:
            dialect = type("_Dialect", (csv.excel,), {"delimiter": self.sep})
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, dialect=dialect)
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, _csv_value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()
        os.fsync(self.csv_file.fileno())

    def on_train_end(self, logs=None):
        self._close()
        self.writer = None

    def _close(self):
        if self.csv_file is not None and not self.csv_file.closed:
            self.csv_file.close()


def _csv_value(v):
    if isinstance(v, str):
        return v
    v = getattr(v, "value", v)                       # a Tensor
    if hasattr(v, "get") and not isinstance(v, dict):   # a CuPy array
        v = v.get()
    if isinstance(v, np.ndarray) and v.ndim == 0 or isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple, np.ndarray)):
        return f'"[{", ".join(map(str, np.asarray(v).ravel().tolist()))}]"'
    return v


class RemoteMonitor(Callback):
    """POST each epoch's logs to a server (stdlib ``urllib``; no extra package).

    At each epoch's end the logs plus ``epoch`` (0-based) go to ``root + path``: as a form
    field ``field`` holding the JSON text, or as a JSON body with ``send_as_json``. A
    server that cannot be reached gives a warning; training goes on. Each request waits
    at most 10 seconds.

    Args:
        root (str): the server's address (default ``"http://localhost:9000"``).
        path (str): the path the events are sent to (default ``"/publish/epoch/end/"``).
        field (str): the form field holding the JSON text (default ``"data"``); not used
            with ``send_as_json``.
        headers (dict | None): extra HTTP headers (default None).
        send_as_json (bool): send the logs as an ``application/json`` body (default False).

    Examples:
        >>> import kerasette as keras
        >>> cb = keras.callbacks.RemoteMonitor(root="http://localhost:9000", send_as_json=True)
        >>> cb.root + cb.path
        'http://localhost:9000/publish/epoch/end/'
    """

    TIMEOUT = 10.0

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data",
                 headers=None, send_as_json=False):
        super().__init__()
        self.root, self.path, self.field = root, path, field
        self.headers, self.send_as_json = headers, send_as_json

    def on_epoch_end(self, epoch, logs=None):
        import urllib.error
        import urllib.parse
        import urllib.request
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            v = _csv_value(v)
            send[k] = v.strip('"') if isinstance(v, str) and v.startswith('"[') else v
        headers = dict(self.headers or {})
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.root + self.path, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.TIMEOUT) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError):
            warnings.warn("Could not reach RemoteMonitor root server at " + str(self.root), stacklevel=2)


class TerminateOnNaN(Callback):
    """Stop training as soon as the batch loss is NaN or infinite.

    Args:
        raise_error (bool): raise ``RuntimeError`` at once (the other callbacks'
            ``on_train_end`` does not run) instead of stopping gracefully (default False).

    Examples:
        >>> import kerasette as keras
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> h = model.fit(np.full((4, 2), np.nan), np.ones((4, 1)), epochs=5, verbose=0, check_finite=False,
        ...             callbacks=[keras.callbacks.TerminateOnNaN()])
        ...
        Batch 0: Invalid loss, terminating training
        >>> len(h.history["loss"])
        1
    """

    def __init__(self, raise_error=False):
        super().__init__()
        self.raise_error = raise_error

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is None:
            return
        loss = _to_float(loss)
        if not math.isfinite(loss):
            if self.raise_error:
                raise RuntimeError(f"NaN or Inf loss encountered at batch {batch}. Loss value: {loss}. "
                                   f"Terminating training immediately.")
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


_HOOKS = tuple(n for n in vars(Callback) if n.startswith("on_"))


class LambdaCallback(Callback):
    """Callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Each function is called as the hook of the same name (``epoch`` / ``batch`` first where
    the hook has one, then ``logs``). Any other hook (``on_test_end=...``,
    ``on_predict_batch_end=...``) may be given by name too; an unknown name raises
    ``TypeError``.

    Args:
        on_epoch_begin (callable | None): ``f(epoch, logs)``.
        on_epoch_end (callable | None): ``f(epoch, logs)``.
        on_train_begin (callable | None): ``f(logs)``.
        on_train_end (callable | None): ``f(logs)``.
        on_train_batch_begin (callable | None): ``f(batch, logs)``.
        on_train_batch_end (callable | None): ``f(batch, logs)``.

    Examples:
        >>> import kerasette as keras
        >>> cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: print("done", epoch))
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[cb])
        done 0
        done 1
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        hooks = dict(kwargs, on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end,
                     on_train_begin=on_train_begin, on_train_end=on_train_end,
                     on_train_batch_begin=on_train_batch_begin, on_train_batch_end=on_train_batch_end)
        for name, fn in hooks.items():
            if name not in _HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook '{name}'; the hooks are {', '.join(_HOOKS)}")
            if fn is None:
                continue
            if not callable(fn):
                raise TypeError(f"LambdaCallback: {name} must be a callable, got {fn!r}")
            setattr(self, name, fn)


class TensorBoard(Callback):
    """Write TensorBoard event files: the logs as scalars, weight histograms, the model graph.

    Needs an event-file writer: ``pip install tensorboardX`` (or
    ``pip install "kerasette[tensorboard]"``); without it the constructor raises
    ``ImportError``. View the logs with ``tensorboard --logdir logs``.

    As Keras 3 writes them: the training values go to ``log_dir/train`` as ``epoch_<name>``
    (with ``epoch_learning_rate``), the validation values to ``log_dir/validation`` as
    ``epoch_<name>`` without the ``val_`` prefix, at step ``epoch`` (0-based); with
    ``update_freq`` ``"batch"`` or ``N``, every ``N``-th training batch's logs as
    ``batch_<name>`` at the global batch count; ``evaluate(..., callbacks=[tensorboard])``
    writes ``evaluation_<name>_vs_iterations`` at the optimizer's step. The
    graph is Keras's conceptual graph (the model's JSON under the ``keras`` tag, which
    TensorBoard's Graphs tab draws), for Functional and Sequential models.

    Args:
        log_dir (str | os.PathLike): the folder for the event files (default ``"logs"``).
        histogram_freq (int): write a histogram of every weight (``<weight path>/histogram``)
            every that many epochs; 0 writes none (default 0).
        write_graph (bool): write the model's conceptual graph (default True).
        write_images (bool): Keras draws weights as images; not supported, True raises
            ``ValueError`` (default False).
        write_steps_per_second (bool): also log training steps per second, per epoch
            (``epoch_steps_per_second``) and per logged batch (default False).
        update_freq (str | int): ``"epoch"`` (default), ``"batch"`` or an int ``N``: also write
            the training logs every ``N`` batches.
        profile_batch (int | str | tuple): profiling needs the TensorFlow or JAX profiler;
            only 0 (no profiling, the default) is accepted.
        embeddings_freq (int): the Embedding projector is not supported; only 0 (default).
        embeddings_metadata (dict | str | None): only None (default; see ``embeddings_freq``).

    Examples:
        >>> import kerasette as keras
        >>> cb = keras.callbacks.TensorBoard(log_dir="logs", update_freq="epoch")
        >>> cb.log_dir, cb.update_freq
        ('logs', 'epoch')
    """

    def __init__(self, log_dir="logs", histogram_freq=0, write_graph=True, write_images=False,
                 write_steps_per_second=False, update_freq="epoch", profile_batch=0,
                 embeddings_freq=0, embeddings_metadata=None):
        super().__init__()
        _summary_writer_class()                       # fail now, naming the install
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ValueError(f"TensorBoard: histogram_freq must be an int >= 0, got {histogram_freq!r}")
        if update_freq == "batch":
            update_freq = 1
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ValueError(f"TensorBoard: update_freq must be 'epoch', 'batch' or a positive int, "
                             f"got {update_freq!r}")
        if write_images:
            raise ValueError("TensorBoard: write_images=True (weights drawn as images) is not supported "
                             "by kerasette; use histogram_freq for the weights' distributions")
        if profile_batch not in (0, "0", None):
            raise ValueError("Profiling is not available in kerasette (it needs the TensorFlow or JAX "
                             f"profiler). Received: profile_batch={profile_batch!r} (must be 0)")
        if embeddings_freq or embeddings_metadata is not None:
            raise ValueError("TensorBoard: the embeddings projector (embeddings_freq, embeddings_metadata) "
                             "is not supported by kerasette; leave them at 0 and None")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq, self.write_graph, self.write_images = histogram_freq, write_graph, write_images
        self.write_steps_per_second, self.update_freq = write_steps_per_second, update_freq
        self.profile_batch, self.embeddings_freq = 0, 0
        self.embeddings_metadata = None
        self._writers = {}
        self._graph_written_for = None
        self._global_train_batch = self._global_test_batch = 0
        self._batch_start_time = self._epoch_start_time = 0.0
        self._epoch_start_iterations = 0
        self._in_fit = False

    def set_model(self, model):
        super().set_model(model)
        if self.write_graph and self._graph_written_for is not model:
            self._graph_written_for = model
            self._write_model_graph()

    def _writer(self, which):
        writer = self._writers.get(which)
        if writer is None:
            writer = _summary_writer_class()(logdir=os.path.join(self.log_dir, which))
            self._writers[which] = writer
        return writer

    def _write_model_graph(self):
        if type(self.model).__name__ not in ("Functional", "Sequential"):
            return                                      # as Keras: subclassed models have no graph
        try:
            text = self.model.to_json()
        except Exception as e:                          # an unserializable layer must not stop training
            warnings.warn(f"Model failed to serialize as JSON. Ignoring... {e}", stacklevel=2)
            return
        from tensorboardX.proto.summary_pb2 import Summary, SummaryMetadata
        from tensorboardX.proto.tensor_pb2 import TensorProto
        from tensorboardX.proto.tensor_shape_pb2 import TensorShapeProto
        meta = SummaryMetadata(plugin_data=SummaryMetadata.PluginData(plugin_name="graph_keras_model",
                                                                      content=b"1"))
        tensor = TensorProto(dtype="DT_STRING", string_val=[text.encode("utf-8")],
                             tensor_shape=TensorShapeProto())
        writer = self._writer("train")
        writer._get_file_writer().add_summary(Summary(value=[Summary.Value(tag="keras", metadata=meta,
                                                                           tensor=tensor)]), 0)
        writer.flush()

    def on_train_batch_begin(self, batch, logs=None):
        self._global_train_batch += 1
        if self.write_steps_per_second:
            self._batch_start_time = time.time()

    def on_train_batch_end(self, batch, logs=None):
        if self.update_freq == "epoch" or self._global_train_batch % self.update_freq:
            return
        writer, step = self._writer("train"), self._global_train_batch
        if self.write_steps_per_second:
            seconds = time.time() - self._batch_start_time
            writer.add_scalar("batch_steps_per_second", 1.0 / max(seconds, 1e-9), step)
        for name, value in _scalars(logs):
            writer.add_scalar(f"batch_{name}", value, step)

    def on_epoch_begin(self, epoch, logs=None):
        if self.write_steps_per_second:
            self._epoch_start_time = time.time()
            self._epoch_start_iterations = self._iterations()

    def on_epoch_end(self, epoch, logs=None):
        train = {k: v for k, v in _scalars(logs) if not k.startswith("val_")}
        val = {k[4:]: v for k, v in _scalars(logs) if k.startswith("val_")}
        opt = getattr(self.model, "optimizer", None)
        if opt is not None and hasattr(opt, "learning_rate"):
            train["learning_rate"] = float(opt.learning_rate)
        if self.write_steps_per_second:
            seconds = max(time.time() - self._epoch_start_time, 1e-9)
            train["steps_per_second"] = (self._iterations() - self._epoch_start_iterations) / seconds
        for which, values in (("train", train), ("validation", val)):
            if values:
                writer = self._writer(which)
                for name, value in values.items():
                    writer.add_scalar(f"epoch_{name}", value, epoch)
        if self.histogram_freq and epoch % self.histogram_freq == 0:
            writer = self._writer("train")
            for layer in self.model.layers:
                for w in layer.weights:
                    values = np.asarray(_host(w))
                    if values.size:
                        writer.add_histogram(f"{w.path.replace(':', '_')}/histogram", values, epoch)
        for writer in self._writers.values():
            writer.flush()

    def on_test_begin(self, logs=None):
        self._global_test_batch = 0

    def on_test_batch_begin(self, batch, logs=None):
        self._global_test_batch += 1

    def on_test_end(self, logs=None):
        if getattr(self.model, "optimizer", None) is not None and logs:
            writer, step = self._writer("validation"), self._iterations()
            for name, value in _scalars(logs):
                writer.add_scalar(f"evaluation_{name}_vs_iterations", value, step)
            if not self._in_fit:                   # a lone evaluate: the events are on disk when it returns
                writer.close()
                del self._writers["validation"]

    def on_train_begin(self, logs=None):
        self._global_train_batch = 0
        self._in_fit = True

    def on_train_end(self, logs=None):
        for writer in self._writers.values():
            writer.close()
        self._writers = {}
        self._in_fit = False

    def _iterations(self):
        return int(getattr(getattr(self.model, "optimizer", None), "iterations", 0) or 0)


def _summary_writer_class():
    """tensorboardX's ``SummaryWriter``, or an ImportError naming the install."""
    try:
        from tensorboardX import SummaryWriter
    except ImportError as e:
        raise ImportError("keras.callbacks.TensorBoard needs the tensorboardX package to write event files: "
                          "pip install tensorboardX (or pip install \"kerasette[tensorboard]\")") from e
    return SummaryWriter


def _host(w):
    v = getattr(w, "value", w)
    return v.get() if hasattr(v, "get") and not isinstance(v, (dict, np.ndarray)) else v


def _scalars(logs):
    """``(name, float)`` for each log value that is one number (others are skipped)."""
    out = []
    for k, v in (logs or {}).items():
        try:
            out.append((k, _to_float(v)))
        except (TypeError, ValueError):
            continue
    return out


def _to_float(v):
    v = np.asarray(_host(v))
    if v.size != 1:
        raise ValueError("not a scalar")
    return float(v.reshape(()))


def _check_mode(mode, monitor, who):
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{who} mode '{mode}' is unknown, fallback to auto mode.", stacklevel=3)
        mode = "auto"
    return _resolve_mode(mode, monitor)


def _improved(current, reference, mode, min_delta):
    """Keras's test: ``current`` beats ``reference`` by more than ``min_delta`` (None: always)."""
    if reference is None:
        return True
    current = _to_float(current)
    return current + min_delta < reference if mode == "min" else current - min_delta > reference


def _monitor_value(logs, monitor, what):
    value = (logs or {}).get(monitor)
    if value is None:
        warnings.warn(f"{what} conditioned on metric `{monitor}` which is not available. "
                      f"Available metrics are: {','.join(logs or {})}", stacklevel=3)
        return None
    return _to_float(value)


_LR_NOT_SETTABLE = ("This optimizer was created with a `LearningRateSchedule` object as its `learning_rate` "
                    "constructor argument, hence its learning rate is not settable. If you need the learning "
                    "rate to be settable, you should instantiate the optimizer with a float `learning_rate` "
                    "argument.")


def _check_settable_lr(optimizer, who):
    if optimizer is None:
        raise ValueError(f"{who}: the model has no optimizer; compile it first")
    if callable(getattr(optimizer, "_learning_rate", None)):
        raise TypeError(f"{who}: {_LR_NOT_SETTABLE}")


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
    if name in _NOT_HERE:
        raise AttributeError(f"keras.callbacks.{name} is not available in kerasette: {_NOT_HERE[name]}")
    raise AttributeError(name)


# Keras 3 callbacks kerasette does not have, and why (named in the AttributeError)
_NOT_HERE = {
    "SwapEMAWeights": "it swaps in the optimizer's exponential moving average of the weights, and kerasette's "
                      "optimizers keep no such average (use_ema is not supported)",
    "OrbaxCheckpoint": "it writes JAX Orbax checkpoints; use ModelCheckpoint or BackupAndRestore",
}
