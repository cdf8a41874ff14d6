"""Callbacks that write checkpoints during ``fit``: ModelCheckpoint, BackupAndRestore.

``ModelCheckpoint`` saves the model (``.keras``) or its weights (``.weights.h5``)
at the end of each epoch or every ``save_freq`` batches, optionally only
when the monitored quantity improves; ``{epoch:02d}``-style fields in the
path are filled from the epoch number (1-based) and the logs.

``BackupAndRestore`` makes ``fit`` resumable: after each epoch it saves the
weights, the optimizer state, the epoch count and the state of the random
generator that shuffles the data, in one atomically written file. If ``fit``
is interrupted (an exception, a killed process) and run again with the same
callback, it restores all of that and continues with the next epoch, so the
final weights are the ones an uninterrupted run gives. When ``fit`` ends
normally the backup is deleted.

Every file is written through ``atomic_write``: a crash never leaves a
half-written checkpoint, the previous one stays readable.
"""
import json
import math
import os
import warnings

import numpy as np

from ..callbacks import Callback, _resolve_mode

__all__ = ["ModelCheckpoint", "BackupAndRestore"]


class ModelCheckpoint(Callback):
    """Save the model or its weights during training.

    Args:
        filepath: where to save; may contain ``{epoch}`` (1-based), ``{batch}`` and
            any log key with a format spec (``"ckpt-{epoch:02d}-{val_loss:.2f}.keras"``).
            Must end in ``.keras``, or in ``.weights.h5`` with ``save_weights_only``.
        monitor: the log key compared by ``save_best_only``.
        verbose: 1 prints a line per save decision.
        save_best_only: save only when ``monitor`` improves on the best so far.
        save_weights_only: ``model.save_weights`` instead of ``model.save``.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (max for accuracy-like names).
        save_freq: ``"epoch"``, or an int: save every that many batches.
        initial_value_threshold: the best value to beat before the first save.

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with tempfile.TemporaryDirectory() as d:
        ...     cb = keras.callbacks.ModelCheckpoint(os.path.join(d, "e{epoch}.weights.h5"), save_weights_only=True)
        ...     _ = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[cb])
        ...     print(sorted(os.listdir(d)))
        ...
        ['e1.weights.h5', 'e2.weights.h5']
    """

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False,
                 save_weights_only=False, mode="auto", save_freq="epoch",
                 initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("ModelCheckpoint: with save_weights_only=True the filepath must end in "
                             f"`.weights.h5`, got '{self.filepath}'")
        if not save_weights_only and not self.filepath.endswith(".keras"):
            raise ValueError("ModelCheckpoint: the filepath must end in `.keras` (or use "
                             f"save_weights_only=True with `.weights.h5`), got '{self.filepath}'")
        if mode not in ("auto", "min", "max"):
            warnings.warn(f"ModelCheckpoint mode '{mode}' is unknown, falling back to 'auto'.",
                          stacklevel=2)
            mode = "auto"
        self.mode = _resolve_mode(mode, monitor)
        if save_freq != "epoch" and not (isinstance(save_freq, int) and not isinstance(save_freq, bool)
                                         and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: save_freq must be 'epoch' or a positive integer, "
                             f"got {save_freq!r}")
        self.save_freq = save_freq
        self.initial_value_threshold = initial_value_threshold
        self.best = (initial_value_threshold if initial_value_threshold is not None
                     else (math.inf if self.mode == "min" else -math.inf))
        self._batches_since_save = 0
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _save(self, epoch, batch, logs):
        logs = {k: _scalar(v) for k, v in dict(logs or {}).items()}
        path = self._format_path(epoch, batch, logs)
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available, skipping. "
                              f"Logs have {sorted(logs)}.", stacklevel=2)
                return
            better = current < self.best if self.mode == "min" else current > self.best
            if not better:
                if self.verbose:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to "
                      f"{current:.5f}, saving model to {path}")
            self.best = current
        elif self.verbose:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        folder = os.path.dirname(os.path.abspath(path))
        os.makedirs(folder, exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)

    def _format_path(self, epoch, batch, logs):
        fields = dict(logs)
        fields["epoch"] = epoch + 1
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            return self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            raise ValueError(f"ModelCheckpoint: cannot fill in the filepath '{self.filepath}' "
                             f"({type(e).__name__}: {e}); available fields: {sorted(fields)}") from e


class BackupAndRestore(Callback):
    """Resume an interrupted ``fit`` where it stopped.

    Args:
        backup_dir: a folder for the backup (``latest.weights.h5``); created if needed.
            Use one folder per training run.
        save_freq: only ``"epoch"`` (resuming mid-epoch would need the loop to
            skip batches).
        double_checkpoint (bool): accepted for Keras compatibility and ignored: one backup
            is kept, and it is written atomically (a crash mid-write leaves the previous
            one intact), which is what Keras's second copy guards against.
        delete_checkpoint: delete the backup when ``fit`` finishes normally.

    Call ``fit`` again with the same arguments after an interruption; the
    epochs already done are skipped. The model must be compiled the same way.

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        >>> model.compile(optimizer="sgd", loss="mse")
        >>> with tempfile.TemporaryDirectory() as d:
        ...     cb = keras.callbacks.BackupAndRestore(backup_dir=d)
        ...     h = model.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[cb])
        ...     print(len(h.history["loss"]), os.listdir(d))
        ...
        2 []
    """

    WEIGHTS = "latest.weights.h5"
    _ATTR = "kerasette_training_state"

    def __init__(self, backup_dir, save_freq="epoch", double_checkpoint=False, delete_checkpoint=True):
        super().__init__()
        if not backup_dir:
            raise ValueError("BackupAndRestore: backup_dir must be a folder path")
        if save_freq != "epoch":
            raise ValueError(f"BackupAndRestore: only save_freq='epoch' is supported, got {save_freq!r}")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq, self.delete_checkpoint = save_freq, delete_checkpoint
        self._path = os.path.join(self.backup_dir, self.WEIGHTS)

    def on_train_begin(self, logs=None):
        if not os.path.exists(self._path):
            return
        from . import load_weights
        from .formats import open_h5
        with open_h5(self._path) as f:
            raw = f.attrs.get(self._ATTR)
        if raw is None:
            return
        state = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
        load_weights(self.model, self._path)
        rng_state = state.get("rng")
        if rng_state is not None:
            from .. import backend
            backend.random_generator().bit_generator.state = _from_json(rng_state)
        self.model._initial_epoch = int(state["epoch"])

    def on_epoch_end(self, epoch, logs=None):
        import h5py
        from .. import backend
        from .atomic import atomic_write
        from .h5_weights import write_weights
        os.makedirs(self.backup_dir, exist_ok=True)
        state = {"epoch": epoch + 1, "rng": _to_json(backend.random_generator().bit_generator.state)}
        with atomic_write(self._path) as tmp:
            with h5py.File(tmp, "w") as f:
                write_weights(f, self.model)
                f.attrs[self._ATTR] = json.dumps(state)

    def on_train_end(self, logs=None):
        self.model._initial_epoch = None
        if self.delete_checkpoint and os.path.exists(self._path):
            os.remove(self._path)


def _scalar(v):
    v = getattr(v, "value", v)
    try:
        return float(np.asarray(v))
    except (TypeError, ValueError):
        return v


def _to_json(obj):
    if isinstance(obj, dict):
        return {k: _to_json(v) for k, v in obj.items()}
    if isinstance(obj, np.ndarray):
        return {"__ndarray__": obj.tolist(), "dtype": str(obj.dtype)}
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _from_json(obj):
    if isinstance(obj, dict):
        if "__ndarray__" in obj:
            return np.asarray(obj["__ndarray__"], dtype=obj["dtype"])
        return {k: _from_json(v) for k, v in obj.items()}
    return obj
