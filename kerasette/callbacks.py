"""Callbacks: hooks into ``fit`` (History, the tqdm progress bar, early stopping, ...)."""
import math
import time

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
        """Attach the model being trained (``fit`` calls this)."""
        self.model = model

    def set_params(self, params):
        """Receive ``fit``'s settings: ``epochs``, ``steps``, ``verbose``, ``batch_size``."""
        self.params = params

    # Hooks: ``logs`` holds the running loss and metrics (``val_*`` too at epoch end).
    def on_train_begin(self, logs=None):
        """Before the first epoch."""

    def on_train_end(self, logs=None):
        """After the last epoch (or an early stop)."""

    def on_epoch_begin(self, epoch, logs=None):
        """Before epoch ``epoch`` (0-based)."""

    def on_epoch_end(self, epoch, logs=None):
        """After epoch ``epoch``; ``logs`` has the epoch's loss, metrics and ``val_*`` values."""

    def on_train_batch_begin(self, batch, logs=None):
        """Before training step ``batch`` of the epoch."""

    def on_train_batch_end(self, batch, logs=None):
        """After training step ``batch``; ``logs`` has the running loss and metrics."""

    def on_test_begin(self, logs=None):
        """Before an evaluation pass."""

    def on_test_end(self, logs=None):
        """After an evaluation pass."""

    def on_test_batch_begin(self, batch, logs=None):
        """Before evaluation batch ``batch``."""

    def on_test_batch_end(self, batch, logs=None):
        """After evaluation batch ``batch``."""

    def on_predict_begin(self, logs=None):
        """Before ``predict``."""

    def on_predict_end(self, logs=None):
        """After ``predict``."""

    def on_predict_batch_begin(self, batch, logs=None):
        """Before prediction batch ``batch``."""

    def on_predict_batch_end(self, batch, logs=None):
        """After prediction batch ``batch``."""


class CallbackList:
    """Calls each hook on every callback in order."""

    def __init__(self, callbacks, model, params):
        self.callbacks = list(callbacks)
        for cb in self.callbacks:
            cb.set_model(model)
            cb.set_params(params)

    def __getattr__(self, hook):
        if not hook.startswith("on_"):
            raise AttributeError(hook)

        def call(*args, **kwargs):
            for cb in self.callbacks:
                getattr(cb, hook)(*args, **kwargs)
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
    """A tqdm bar per epoch with live loss and metrics (verbose=1), or one line
    per epoch (verbose=2)."""

    def __init__(self, verbose=1, refresh=0.1):
        super().__init__()
        self.verbose = verbose
        self.refresh = refresh
        self.bar = None

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.perf_counter()
        self.epoch = epoch
        epochs = self.params.get("epochs", 1)
        if self.verbose == 1:
            from tqdm.auto import tqdm
            self.bar = tqdm(total=self.params.get("steps"), desc=f"Epoch {epoch + 1}/{epochs}",
                            unit="step", leave=True, dynamic_ncols=True)
            self.last = 0.0

    def on_train_batch_end(self, batch, logs=None):
        if self.bar is None:
            return
        self.bar.update(1)
        now = time.perf_counter()
        if now - self.last >= self.refresh:
            self.last = now
            self.bar.set_postfix_str(_fmt(logs), refresh=False)

    def on_epoch_end(self, epoch, logs=None):
        dt = time.perf_counter() - self.t0
        if self.bar is not None:
            self.bar.set_postfix_str(_fmt(logs), refresh=False)
            self.bar.close()
            self.bar = None
        elif self.verbose == 2:
            epochs = self.params.get("epochs", 1)
            print(f"Epoch {epoch + 1}/{epochs} - {dt:.1f}s - {_fmt(logs)}", flush=True)


def _fmt(logs):
    return " - ".join(f"{k}: {float(v):.4f}" for k, v in (logs or {}).items())


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by ``min_delta`` for ``patience`` epochs."""

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
    """Set the learning rate at each epoch start to ``schedule(epoch, lr)``."""

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
