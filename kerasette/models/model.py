"""Model: a Layer that trains (compile / fit / evaluate / predict).

``Model(inputs, outputs)`` builds a functional model (see ``functional.py``);
subclassing ``Model`` and writing ``call`` gives a subclassed model. Both use
the training loop here, which never knows which backend it runs on: batches
come from ``Dataset`` already on the device, and metrics stay on the device
until a log is read.
"""
import functools
import threading
import warnings

from .. import backend, context, losses as losses_mod, metrics as metrics_mod, optimizers, parallel
from ..autograd.engine import backward
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor
from ..callbacks import CallbackList, History, ProgbarLogger
from ..layers.layer import Layer, first_weight as _first_weight
from ..layers.symbolic import flatten_structure, map_structure
from .data import Dataset, _to_device, unpack_data
from .data_adapters import BatchSource, _leaf_to_host, closing, is_batch_source, ran_out_warning
from .checked_ids import check_x, embedding_inputs, trusting
from .prefetch import default_depth, prefetched
from ..utils import allocator

__all__ = ["Model"]



def _functional_arguments(args, kwargs):
    """True for ``(inputs, outputs)`` of symbolic tensors, by position or keyword."""
    from ..layers.symbolic import KerasTensor
    inputs = args[0] if args else kwargs.get("inputs")
    outputs = args[1] if len(args) > 1 else kwargs.get("outputs")
    return (inputs is not None and outputs is not None
            and all(isinstance(t, KerasTensor) for t in flatten_structure((inputs, outputs))))


def _functional_variant(cls):
    """``cls`` with ``Functional`` behind it in the MRO: the subclass's own methods win, the
    graph's ``call``, ``get_config`` and shapes come from ``Functional``. Made once per class
    (kept in the class's own ``__dict__``, so a subclass of ``cls`` gets its own)."""
    from .functional import Functional
    if issubclass(cls, Functional):
        return cls
    variant = cls.__dict__.get("_functional_variant_")
    if variant is None:
        variant = type(cls.__name__, (cls, Functional), {
            "__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__})
        setattr(cls, "_functional_variant_", variant)
    return variant


def _holding_run_lock(method):
    """Run a Model loop while holding the model's ``_run_lock`` (see there), with the
    allocator's steady thresholds (``utils.allocator.settle``: a ``train_on_batch`` loop)."""
    @functools.wraps(method)
    def locked(self, *args, **kwargs):
        allocator.settle()
        with self._run_lock():
            return method(self, *args, **kwargs)
    return locked


def _holding_freed_memory(method):
    """Run a Model loop with glibc keeping freed blocks for the next batch (no page
    faults on each batch's fresh arrays; ``utils.allocator.hold_freed_memory``)."""
    @functools.wraps(method)
    def held(self, *args, **kwargs):
        with allocator.hold_freed_memory():
            return method(self, *args, **kwargs)
    return held


class Model(Layer):
    """A trainable stack of layers.

    Functional: ``Model(inputs=x_in, outputs=y_out)``. Subclassing: define
    layers in ``__init__`` and the forward pass in ``call(inputs, training=None)``.

    Args:
        *args: ``inputs, outputs`` for a functional model (see ``kerasette.models``).
        name (str | None): the model's name (default ``model``, ``functional``, ...).
        trainable (bool): whether training updates its weights (default True).
        dtype (str | None): the weights' dtype (default ``"float32"``).
        **kwargs: ``inputs`` / ``outputs`` by keyword for a functional model.

    Examples:
        >>> import kerasette as keras
        >>> class TwoLayers(keras.Model):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = keras.layers.Dense(4, activation="relu")
        ...         self.out = keras.layers.Dense(1)
        ...     def call(self, inputs, training=None):
        ...         return self.out(self.hidden(inputs))
        ...
        >>> model = TwoLayers()
        >>> model(np.ones((3, 2))).shape, model.count_params()
        ((3, 1), 17)
    """

    # a model's layers cast their own inputs (autocast); the model passes Tensors through
    _casts_tensor_inputs = False

    def __new__(cls, *args, **kwargs):
        if cls is Model and (len(args) >= 2 or "outputs" in kwargs or "inputs" in kwargs):
            from .functional import Functional
            return Layer.__new__(Functional)
        if _functional_arguments(args, kwargs):
            # ``MyModel(inputs, outputs)``: a functional model that keeps MyModel's methods
            # (train_step, ...), as Keras 3 makes it
            return Layer.__new__(_functional_variant(cls))
        return Layer.__new__(cls)

    def __init__(self, *args, name=None, trainable=True, dtype=None, **kwargs):
        Layer.__init__(self, name=name, trainable=trainable, dtype=dtype, **kwargs)
        self.optimizer = None
        self.stop_training = False
        self.history = None
        self._compiled = None

    def _build_for(self, inputs):
        # a subclassed model builds its sublayers on the first real call
        self._build_shapes = map_structure(lambda t: tuple(t.shape), inputs)
        self.built = True

    def build(self, input_shape=None):
        """Create the weights by running the model once on zeros of ``input_shape``.

        Examples:
            >>> import kerasette as keras
            >>> model = keras.Sequential([keras.layers.Dense(2)])
            >>> model.build((None, 3))
            >>> model.count_params()
            8
        """
        if input_shape is None or self.built:
            self.built = True
            return
        from ..layers.layer import _infer_by_running
        self.built = True
        self._build_shapes = input_shape
        _infer_by_running(self, input_shape)

    # -- compile --------------------------------------------------------------
    def compile(self, optimizer="rmsprop", loss=None, loss_weights=None, metrics=None,
                weighted_metrics=None, run_eagerly=False, steps_per_execution=1, jit_compile="auto",
                auto_scale_loss=True):
        """Set the optimizer, loss(es) and metrics.

        ``loss`` / ``metrics`` / ``loss_weights`` may be single values, lists (one
        per output) or dicts keyed by output name.

        Args:
            optimizer (str | Optimizer): by name (``"adam"``, ``"sgd"``, ``"rmsprop"``,
                ``"adamw"``, ``"adagrad"``; Keras's default settings) or an instance such as
                ``keras.optimizers.Adam(1e-3)``. Default ``"rmsprop"``.
            loss (str | Loss | callable | list | dict | None): the loss to minimise, by name
                (``"sparse_categorical_crossentropy"``, ``"mse"``, ...), an instance, a function
                ``f(y_true, y_pred)``, or one per output (list in output order, or dict by output
                name). Required for the built-in ``train_step``.
            loss_weights (list | dict | None): a number per output scaling its loss in the
                total (default: 1 for each).
            metrics (list | dict | None): metrics to report, by name (``"accuracy"`` picks the
                accuracy that fits the loss and the output shape) or as instances; a list for
                all outputs, or per output as a list of lists or a dict.
            weighted_metrics (list | dict | None): metrics that take the batch's
                ``sample_weight`` (or ``class_weight``) into account, given as ``metrics`` is;
                the plain ``metrics`` ignore the weights, as in Keras. A weighted metric whose
                name a plain one already has is reported as ``weighted_<name>``.
            run_eagerly (bool): accepted for Keras compatibility; kerasette always runs eagerly.
            steps_per_execution (int): accepted for Keras compatibility; one step per call.
            jit_compile (bool | str): accepted for Keras compatibility; nothing is compiled.
            auto_scale_loss (bool): accepted for Keras compatibility (no mixed precision).

        Examples:
            >>> import kerasette as keras
            >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
            >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
            >>> type(model.optimizer).__name__
            'Adam'
        """
        self.optimizer = optimizers.get(optimizer)
        _check_spec("loss", loss, losses_mod.get)
        _check_spec("metrics", metrics, lambda m: m in ("accuracy", "acc") or metrics_mod.get(m))
        _check_spec("weighted_metrics", weighted_metrics, lambda m: m in ("accuracy", "acc") or metrics_mod.get(m))
        for w in flatten_structure(loss_weights):
            if w is not None and not isinstance(w, (int, float)) or isinstance(w, bool):
                raise TypeError(f"compile: loss_weights must be numbers (one per output), got {w!r}; "
                                f"pass metrics by keyword: compile(..., metrics=[...])")
        self._compiled = {"loss": loss, "loss_weights": loss_weights, "metrics": metrics,
                          "weighted_metrics": weighted_metrics, "resolved": None}
        self._loss_tracker = metrics_mod.Mean(name="loss")
        self.stop_training = False
        # the distribution strategy whose scope() is open (kerasette.distribute), if any
        self._distribute_strategy = getattr(context.current(), "distribute_strategy", None)

    @property
    def compiled(self):
        return self._compiled is not None

    def _assert_compiled(self, what):
        if self._compiled is None:
            raise ValueError(f"Model '{self.name}': you must call `compile()` before `{what}()`")

    @property
    def output_names(self):
        outs = getattr(self, "outputs", None)
        if outs:
            return [t.node.layer.name if t.node is not None else f"output_{i}" for i, t in enumerate(outs)]
        return None

    def _resolve_compile(self, y_pred):
        """Pair each output with its loss, weight and metrics (once, on the first batch)."""
        spec = self._compiled
        if spec["resolved"] is not None:
            return spec["resolved"]
        preds = flatten_structure(y_pred)
        names = self.output_names or ([f"output_{i}" for i in range(len(preds))] if len(preds) > 1 else ["output"])
        if isinstance(y_pred, dict):
            names = list(y_pred)
        per_out = []
        seen = {}               # log names so far: a repeated one becomes name_1, name_2, ... (Keras)
        for i, (name, p) in enumerate(zip(names, preds)):
            loss = _pick(spec["loss"], i, name, len(preds), "loss")
            weight = _pick(spec["loss_weights"], i, name, len(preds), "loss_weights")
            mets = _pick(spec["metrics"], i, name, len(preds), "metrics", broadcast_list=False)
            loss_obj = losses_mod.get(loss) if loss is not None else None
            wmets = _pick(spec["weighted_metrics"], i, name, len(preds), "weighted_metrics", broadcast_list=False)
            prefix = f"{name}_" if len(preds) > 1 else ""
            metric_objs, weighted_objs = [], []
            for objs, given in ((metric_objs, mets), (weighted_objs, wmets)):
                for m in given if isinstance(given, (list, tuple)) else ([given] if given is not None else []):
                    obj = metrics_mod.resolve(m, loss_obj, tuple(p.shape))
                    if objs is weighted_objs and any(o.name == obj.name for o in metric_objs):
                        obj.name = "weighted_" + obj.name          # Keras's name for the twin
                    obj.name = _unique_name(prefix + obj.name, seen)
                    objs.append(obj)
            tracker = metrics_mod.Mean(name=f"{name}_loss") if len(preds) > 1 and loss_obj else None
            per_out.append({"name": name, "loss": loss_obj, "weight": 1.0 if weight is None else weight,
                            "metrics": metric_objs, "weighted_metrics": weighted_objs, "tracker": tracker})
        spec["resolved"] = per_out
        return per_out

    # -- losses and metrics ------------------------------------------------------
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        """The total (weighted) loss of ``y_pred`` against ``y``, a scalar Tensor.

        Args:
            x (Tensor | list | dict | None): the batch's inputs (unused by the built-in losses).
            y (Tensor | list | dict): the batch's targets, one per output.
            y_pred (Tensor | list | dict): the model's outputs for the batch.
            sample_weight (Tensor | None): ``(batch,)`` weights of each sample's loss.
            training (bool): True inside ``train_step`` (default True).

        Examples:
            >>> import kerasette as keras
            >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> x, y = np.ones((4, 2)), np.zeros((4, 1))
            >>> loss = model.compute_loss(x, y, model(x))
            >>> bool(float(loss.numpy()) >= 0.0)
            True
        """
        outs = self._resolve_compile(y_pred)
        ys = _align_targets(y, outs, y_pred)
        preds = flatten_structure(y_pred)
        total = None
        self._last_output_losses = []
        for o, yt, yp in zip(outs, ys, preds):
            if o["loss"] is None or yt is None:
                continue
            value = o["loss"](yt, yp, sample_weight)
            self._last_output_losses.append((o, value))
            value = value if o["weight"] == 1.0 else value * o["weight"]
            total = value if total is None else total + value
        penalties = self.losses                 # add_loss terms and weight regularizers, as Keras
        if total is None and not penalties:
            if all(o["loss"] is None for o in outs):
                raise ValueError(f"Model '{self.name}': compile() got no loss and the model adds none "
                                 f"(add_loss); pass `loss=` to compile")
            raise ValueError(f"Model '{self.name}': no targets were given for the model's outputs")
        for penalty in penalties:
            total = penalty if total is None else total + penalty
        return total

    @property
    def metrics(self):
        """The loss tracker followed by the compiled metrics (after the first batch)."""
        if self._compiled is None:
            return []
        out = [self._loss_tracker]
        for o in self._compiled["resolved"] or []:
            if o["tracker"] is not None:
                out.append(o["tracker"])
            out.extend(o["metrics"])
            out.extend(o["weighted_metrics"])
        return out

    @property
    def metrics_names(self):
        return [m.name for m in self.metrics]

    def reset_metrics(self):
        """Reset the loss tracker and every compiled metric (done at each epoch start)."""
        for m in self.metrics:
            m.reset_state()

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        """Update the compiled metrics with a batch and return the logs.

        Args:
            x (Tensor | list | dict): the batch's inputs (unused by the built-in metrics).
            y (Tensor | list | dict): the batch's targets.
            y_pred (Tensor | list | dict): the model's outputs.
            sample_weight (Tensor | None): ``(batch,)`` weights, seen by the
                ``weighted_metrics`` only (as in Keras).
        """
        outs = self._resolve_compile(y_pred)
        for o, yt, yp in zip(outs, _align_targets(y, outs, y_pred), flatten_structure(y_pred)):
            if yt is None:
                continue
            for m in o["metrics"]:
                m.update_state(yt, yp)
            for m in o["weighted_metrics"]:
                m.update_state(yt, yp, sample_weight)
        return _LiveLogs(self.metrics)

    def get_metrics_result(self):
        """``{name: value}`` of the loss tracker and metrics as Python floats."""
        return {m.name: m.result() for m in self.metrics}

    # -- steps --------------------------------------------------------------------
    def train_step(self, data):
        """One optimisation step on a batch ``(x, y[, sample_weight])``; returns the logs.

        Args:
            data (tuple): the batch as ``fit`` passes it: ``(x,)``, ``(x, y)`` or
                ``(x, y, sample_weight)``, arrays on the model's device.
        """
        x, y, sw = unpack_data(data)
        y_pred = self(x, training=True)
        loss = self.compute_loss(x, y, y_pred, sw)
        self._update_loss_trackers(loss, x)
        variables = self.trainable_weights
        if variables:
            for v in variables:
                v.grad = None
            backward(loss)
            self.optimizer.apply([v.grad for v in variables], variables)
        else:                                   # nothing to train: report loss and metrics (Keras)
            warnings.warn("The model does not have any trainable weights.", stacklevel=2)
        return self.compute_metrics(x, y, y_pred, sw)

    def test_step(self, data):
        """Loss and metrics on a batch, no graph recorded.

        Args:
            data (tuple): ``(x,)``, ``(x, y)`` or ``(x, y, sample_weight)``.
        """
        x, y, sw = unpack_data(data)
        y_pred = self(x, training=False)
        loss = self.compute_loss(x, y, y_pred, sw)
        self._update_loss_trackers(loss, x)
        return self.compute_metrics(x, y, y_pred, sw)

    def predict_step(self, data):
        """The model's output for one batch ``x`` (override to post-process predictions).

        Args:
            data (tuple | Tensor): the batch, ``(x,)`` as ``predict`` passes it.
        """
        x, _, _ = unpack_data(data)
        return self(x, training=False)

    def _update_loss_trackers(self, loss, x=None):
        # weight each batch's mean loss by its size (as Keras), so an epoch's loss is the
        # per-sample mean whatever the batch size and however short the last batch is
        leaves = flatten_structure(x) if x is not None else []
        n = len(leaves[0]) if leaves and hasattr(leaves[0], "shape") else None
        self._loss_tracker.update_state(loss.value, sample_weight=n)
        for o, value in self._last_output_losses:
            if o["tracker"] is not None:
                o["tracker"].update_state(value.value, sample_weight=n)

    def zero_grad(self):
        """Clear ``.grad`` of every weight (for custom ``train_step``s)."""
        for v in self.weights:
            v.grad = None

    # -- loops -----------------------------------------------------------------------
    def _run_lock(self):
        """This model's lock around the loops that update its metric and loss trackers
        (fit, evaluate, train/test_on_batch): re-entrant, so validation inside fit and
        callbacks calling evaluate work; another thread's evaluate waits for the fit.
        ``predict`` reads weights only and does not take it."""
        lock = self.__dict__.get("_run_lock_")
        if lock is None:
            lock = self.__dict__.setdefault("_run_lock_", threading.RLock())   # atomic in CPython
        return lock

    @_holding_run_lock
    @_holding_freed_memory
    def fit(self, x=None, y=None, batch_size=None, epochs=1, verbose="auto", callbacks=None,
            validation_split=0.0, validation_data=None, shuffle=True, class_weight=None,
            sample_weight=None, initial_epoch=0, steps_per_epoch=None, validation_steps=None,
            validation_batch_size=None, validation_freq=1, check_finite=True):
        """Train for ``epochs`` epochs; returns a ``History``.

        Every argument is checked (shapes against the model, labels against the loss,
        NaN / inf) before the first step, so a mistake leaves the weights as they were.

        Args:
            x (array | list | dict | PyDataset | generator | iterable): inputs, ``(samples, ...)``
                NumPy (or CuPy) arrays; a list (in input order) or a dict (by input name) of arrays
                for several inputs. Or data that yields batches ``(x,)``, ``(x, y)`` or ``(x, y,
                sample_weight)``: a ``keras.utils.PyDataset``, a generator or iterator, an object
                with ``__len__`` / ``__getitem__``, or a re-iterable such as a PyTorch
                ``DataLoader`` (then ``y``, ``sample_weight`` and ``validation_split`` are refused
                and ``batch_size`` is the source's own).
            y (array | list | dict | None): targets with the same number of samples; one array
                per output for several outputs. None when a custom ``train_step`` needs none, or
                when ``x`` yields batches.
            batch_size (int | None): samples per step (default 32).
            epochs (int): index of the last epoch: training runs epochs ``initial_epoch`` ..
                ``epochs - 1`` (default 1).
            verbose (int | str): ``"auto"`` or 1: a progress bar per epoch in a terminal, one
                line per epoch (and one every 30 s) in a log; 2: one line per epoch; 0: silent.
                See ``callbacks.ProgbarLogger``.
            callbacks (list | None): ``Callback`` instances called during training (and their
                ``on_test_*`` hooks during each epoch's validation, as Keras 3); a
                ``ProgbarLogger`` among them replaces the default one.
            validation_split (float): fraction in ``(0, 1)`` of the samples, taken from the end
                before shuffling, held out and evaluated after each epoch (default 0: none).
            validation_data (tuple | PyDataset | generator | iterable | None): ``(x_val, y_val)``
                or ``(x_val, y_val, sample_weight)`` arrays, or data that yields such batches,
                evaluated after each epoch; overrides ``validation_split``.
            shuffle (bool): shuffle the samples at each epoch (default True).
            class_weight (dict | None): ``{class id: weight}`` scaling each sample's loss by
                its class (single-output models).
            sample_weight (array | None): ``(samples,)`` weights scaling each sample's loss.
            initial_epoch (int): epoch to start from, to resume a run (default 0).
            steps_per_epoch (int | None): stop each epoch after this many steps (default: one
                pass over the data; for a generator, until it is exhausted, and training stops
                with a warning once it has nothing left).
            validation_steps (int | None): evaluate only this many validation batches
                (default: all).
            validation_batch_size (int | None): batch size of the validation pass (default:
                ``batch_size``).
            validation_freq (int): validate every this many epochs (default 1).
            check_finite (bool): kerasette only: refuse NaN or inf in ``x``, ``y`` and
                ``sample_weight`` before the first step (default True); False skips the check.

        Returns:
            History: ``history.history[name]`` holds one value per epoch for the loss, each
            metric and their ``val_`` versions.

        Examples:
            >>> import kerasette as keras, numpy as np
            >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> h = model.fit(np.ones((8, 4)), np.ones((8, 1)), epochs=2, verbose=0)
            >>> len(h.history["loss"])
            2
        """
        self._assert_compiled("fit")
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose, "fit")
        for arg, value, low in (("epochs", epochs, 0), ("initial_epoch", initial_epoch, 0),
                                ("validation_freq", validation_freq, 1)):
            if isinstance(value, bool) or not hasattr(value, "__index__") or value < low:
                raise ValueError(f"fit: `{arg}` must be an integer >= {low}, got {value!r}"
                                 + (f"; e.g. {arg}={max(low, int(value))}" if isinstance(value, float) else ""))
        for arg, value in (("steps_per_epoch", steps_per_epoch), ("validation_steps", validation_steps)):
            if value is not None and (isinstance(value, bool) or not hasattr(value, "__index__") or value < 1):
                raise ValueError(f"fit: `{arg}` must be a positive integer or None, got {value!r}")
        if validation_data is not None and not is_batch_source(validation_data):
            _check_validation_data(validation_data)
        if x is None:
            raise ValueError(f"Model '{self.name}': fit() needs training data `x`")
        source = is_batch_source(x)
        if source:                                 # a PyDataset, generator, DataLoader, ...
            self._refuse_with_source("fit", x, y=y, sample_weight=sample_weight,
                                     validation_split=validation_split or None)
            train = BatchSource(x, class_weight=class_weight)
        else:
            if class_weight is not None and sample_weight is None and y is not None:
                sample_weight = _class_weights_to_sample_weights(class_weight, y)
            train = Dataset(x, y, sample_weight)
            self._check_inputs(train, "fit")
            if check_finite:
                train.check_finite("fit")
        trusted = self._ids_checked_on_host(train, "train_step", "fit")
        val = None
        if validation_data is not None and is_batch_source(validation_data):
            self._refuse_with_source("fit", validation_data)
            val = BatchSource(validation_data, where="validation_data")
        elif validation_data is not None:
            val = Dataset(*unpack_data(tuple(validation_data)), where="validation_data")
        elif validation_split:
            if not 0 < validation_split < 1:
                raise ValueError(f"fit: validation_split must be in (0, 1), got {validation_split}")
            val = train.split(validation_split)
        val_trusted = (frozenset() if val is None else
                       self._ids_checked_on_host(val, "test_step", "fit: validation data"))
        if source:
            steps = train.steps(None if steps_per_epoch is None else int(steps_per_epoch))
        else:
            self._check_targets(train, y)
            steps = -(-len(train) // batch_size)
            if steps_per_epoch is not None:
                steps = min(steps, int(steps_per_epoch))
        if self.__dict__.get("_distribute_strategy") is None:
            # on a GPU, a dataset that fits in a quarter of the free memory goes there once
            for data in (train, val):
                if isinstance(data, Dataset):
                    data.keep_on_device(self._data_device())
        history = History()
        cbs = _with_progbar(callbacks, verbose)
        cbs.append(history)
        cb = CallbackList(cbs, self, {"epochs": epochs, "steps": steps, "verbose": verbose,
                                      "batch_size": batch_size})
        self.stop_training = False
        self.history = history
        cb.on_train_begin()
        initial_epoch = getattr(self, "_initial_epoch", None) or initial_epoch  # BackupAndRestore
        strategy = self.__dict__.get("_distribute_strategy")
        if strategy is not None:                   # rank 0's weights, optimizer state and epoch
            initial_epoch = strategy.begin_fit(self, initial_epoch)
        for epoch in range(initial_epoch, epochs):
            self.reset_metrics()
            cb.on_epoch_begin(epoch)
            logs = {}
            batches = (_pass_batches(train, batch_size, self._data_device(), steps, bool(shuffle), epoch=True)
                       if strategy is None else   # this rank's share of each global batch
                       strategy.batches(train, batch_size, bool(shuffle), self._data_device()))
            no_batch = logs
            # ops split their batch over the cores; a source's worker pool ends with the pass
            with parallel.region(self._splits_batch_inside()), closing(batches):
                for step, batch in enumerate(batches):
                    if step == steps:
                        break
                    cb.on_train_batch_begin(step)
                    with trusting(trusted):
                        logs = self.train_step(batch) if strategy is None else strategy.train_step(self, batch)
                    cb.on_train_batch_end(step, logs)
                    if self.stop_training:
                        break
            if source and train.ran_out:            # a generator ended before steps_per_epoch * epochs
                ran_out_warning("fit")
                self.stop_training = True
                if logs is no_batch:
                    break
            epoch_logs = _materialize(logs)
            if val is not None and (epoch + 1) % validation_freq == 0:
                # as Keras 3: the validation pass drives the same callbacks' on_test_* hooks
                cb.on_test_begin()
                val_logs = self._run_eval(val, validation_batch_size or batch_size, cb=cb,
                                          steps=validation_steps, trusted=val_trusted)
                cb.on_test_end(val_logs)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            cb.on_epoch_end(epoch, epoch_logs)
            if self.stop_training:
                break
        cb.on_train_end()
        return history

    @_holding_run_lock
    @_holding_freed_memory
    def evaluate(self, x=None, y=None, batch_size=None, verbose="auto", sample_weight=None,
                 steps=None, callbacks=None, return_dict=False):
        """Loss and metrics over the data, in batches, without recording a graph.

        Args:
            x (array | list | dict | PyDataset | generator | iterable): inputs, or batches, as
                for ``fit``.
            y (array | list | dict | None): targets, as for ``fit``.
            batch_size (int | None): samples per batch (default 32).
            verbose (int | str): ``"auto"`` or 1: a progress bar in a terminal, one line in a
                log; 2: one line; 0: silent.
            sample_weight (array | None): ``(samples,)`` weights of each sample's loss.
            steps (int | None): evaluate only this many batches (default: all).
            callbacks (list | None): ``Callback`` instances; their ``on_test_*`` hooks run.
            return_dict (bool): return ``{name: value}`` instead of a list (default False).

        Returns:
            float | list | dict: the loss alone when no metrics were compiled, else
            ``[loss, *metrics]`` (or a dict with ``return_dict=True``).

        Examples:
            >>> import kerasette as keras, numpy as np
            >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            >>> model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
            >>> sorted(model.evaluate(np.ones((8, 4)), np.ones((8, 1)), verbose=0, return_dict=True))
            ['loss', 'mae']
        """
        self._assert_compiled("evaluate")
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose, "evaluate")
        if is_batch_source(x):                    # a PyDataset, generator, DataLoader, ...
            self._refuse_with_source("evaluate", x, y=y, sample_weight=sample_weight)
            data = BatchSource(x)
            n_steps = data.steps(_valid_steps(steps))
        else:
            data = Dataset(x, y, sample_weight)
            self._check_inputs(data, "evaluate")
            self._check_targets(data, y)
            n_steps = _n_steps(len(data), batch_size, steps)
        cb = CallbackList(_with_progbar(callbacks, verbose), self,
                          {"epochs": 1, "steps": n_steps, "verbose": verbose, "batch_size": batch_size})
        trusted = self._ids_checked_on_host(data, "test_step", "evaluate")
        cb.on_test_begin()
        logs = self._run_eval(data, batch_size, cb=cb, steps=n_steps, trusted=trusted)
        cb.on_test_end(logs)
        if return_dict:
            return logs
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    def _run_eval(self, data, batch_size, cb=None, steps=None, trusted=frozenset()):
        strategy = self.__dict__.get("_distribute_strategy")
        if strategy is not None:
            data = strategy.shard(data, self)      # this rank's share of each batch
        self.reset_metrics()
        logs = {}
        batches = _pass_batches(data, batch_size, self._data_device(), steps)
        with no_grad(), parallel.region(self._splits_batch_inside()), closing(batches):
            for step, batch in enumerate(batches):
                if step == steps:
                    break
                if cb is not None:
                    cb.on_test_batch_begin(step)
                with trusting(trusted):
                    logs = self.test_step(batch)
                if cb is not None:
                    cb.on_test_batch_end(step, logs)
        return _materialize(logs) if strategy is None else strategy.reduce_eval(self, data, logs)

    def predict(self, x, batch_size=None, verbose="auto", steps=None, callbacks=None):
        """Outputs for ``x`` as NumPy arrays, computed in batches without a graph.

        Args:
            x (array | list | dict | PyDataset | generator | iterable): inputs with a batch
                axis, as for ``fit``; one sample ``s`` is passed as ``s[None]``. Batches ``(x,)``
                (or ``(x, y)``, ``y`` ignored) from a source as ``fit`` takes.
            batch_size (int | None): samples per batch (default 32).
            verbose (int | str): ``"auto"`` or 1: a progress bar in a terminal, one line in a
                log; 2: one line; 0: silent.
            steps (int | None): predict only this many batches (default: all).
            callbacks (list | None): ``Callback`` instances; their ``on_predict_*`` hooks run.

        Returns:
            numpy.ndarray | list | dict: ``(samples, ...)`` per output, in the structure of
            the model's outputs.

        Examples:
            >>> import kerasette as keras, numpy as np
            >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
            >>> model.predict(np.ones((5, 4)), verbose=0).shape
            (5, 3)
        """
        import numpy as np
        batch_size = _check_batch_size(batch_size)
        verbose = _check_verbose(verbose, "predict")
        if verbose == 0 and not callbacks and (steps is None or steps >= 1):
            quick = self._predict_one_batch(x, batch_size)
            if quick is not None:
                return quick
        if is_batch_source(x):                    # a PyDataset, generator, DataLoader, ...
            self._refuse_with_source("predict", x)
            data = BatchSource(x)
            n_steps = data.steps(_valid_steps(steps))
        else:
            data = Dataset(x)
            self._check_inputs(data, "predict")
            n_steps = _n_steps(len(data), batch_size, steps)
        trusted = self._ids_checked_on_host(data, "predict_step", "predict")
        strategy = self.__dict__.get("_distribute_strategy")
        if (strategy is None and verbose == 0 and not callbacks and isinstance(data, Dataset)
                and 0 < len(data) <= batch_size and (steps is None or steps >= 1)):
            # one batch and nothing to report: no loop, hooks or worker (lists and dicts of
            # arrays, Embedding ids; one plain array took _predict_one_batch above)
            (batch,) = data.batches(len(data), device=self._data_device())
            with no_grad(), trusting(trusted):
                y = self.predict_step(batch)
            return _host_copies(y)
        if strategy is not None:
            data = strategy.shard(data, self)      # this rank's share of each batch
        cb = CallbackList(_with_progbar(callbacks, verbose), self,
                          {"epochs": 1, "steps": n_steps, "verbose": verbose, "batch_size": batch_size})
        cb.on_predict_begin()
        outs = []
        batches = _pass_batches(data, batch_size, self._data_device(), n_steps)
        # one sample has no batch to split: no region (its threadpoolctl switch costs ~20 us)
        split = not (isinstance(data, Dataset) and len(data) < 2) and self._splits_batch_inside()
        with no_grad(), parallel.region(split), allocator.hold_freed_memory(), closing(batches):
            for step, batch in enumerate(batches):
                if step == n_steps:
                    break
                cb.on_predict_batch_begin(step)
                with trusting(trusted):
                    y = self.predict_step(batch)
                outs.append(map_structure(lambda t: backend.to_numpy(getattr(t, "value", t)), y))
                cb.on_predict_batch_end(step, {"outputs": outs[-1]})
        cb.on_predict_end()
        if strategy is not None:
            outs = strategy.gather(data, outs)     # every rank's outputs, in the data's order
        if not outs:
            raise ValueError(f"Model '{self.name}': predict() got no samples")
        first = outs[0]
        if isinstance(first, (list, tuple)):
            return [np.concatenate([o[i] for o in outs]) for i in range(len(first))]
        if isinstance(first, dict):
            return {k: np.concatenate([o[k] for o in outs]) for k in first}
        return np.concatenate(outs)

    def _predict_one_batch(self, x, batch_size):
        """``predict``'s shortcut for the serving case: one plain NumPy array that fits in one
        batch, a model with one input and the built-in ``predict_step``, nothing to report.
        The same checks and casts as the general path, without its data adapter, batch loop
        or callback list, and the model called on a Tensor, its fast path (MNIST MLP, one
        sample: 262 -> 165 us in alternating runs here). None when it does not apply."""
        import numpy as np
        if (type(x) is not np.ndarray or x.dtype.kind not in "fiub" or x.ndim == 0
                or not 0 < x.shape[0] <= batch_size or type(self).predict_step is not Model.predict_step
                or len(getattr(self, "inputs", None) or ()) != 1 or "_distribute_strategy" in self.__dict__):
            return None
        self._check_input_arrays([x], "predict")
        if embedding_inputs(self, "predict_step"):
            return None                           # ids to check on the host: the general path does it
        batch = _to_device(x, True, self._data_device())
        dtype = self._input_float_dtype()
        if batch.dtype.kind == "f" and batch.dtype != dtype:
            batch = batch.astype(dtype)           # as the layer call would cast it
        with no_grad():
            y = self(Tensor(batch), training=False)   # a Tensor: the call's fast path
        return _host_copies(y)

    @_holding_run_lock
    def train_on_batch(self, x, y=None, sample_weight=None, class_weight=None, return_dict=False):
        """One training step on exactly this batch; returns loss (and metrics).

        Args:
            x (array | list | dict): the batch's inputs.
            y (array | list | dict | None): its targets.
            sample_weight (array | None): ``(batch,)`` weights.
            class_weight (dict | None): ``{class id: weight}`` scaling each sample's loss by its
                class, as in ``fit``.
            return_dict (bool): return ``{name: value}`` (default False: loss or a list).

        Examples:
            >>> import kerasette as keras
            >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> loss = model.train_on_batch(np.ones((4, 2)), np.ones((4, 1)))
            >>> isinstance(loss, float)
            True
            >>> sorted(model.train_on_batch(np.ones((4, 2)), np.ones((4, 1)), return_dict=True))
            ['loss']
        """
        self._assert_compiled("train_on_batch")
        if class_weight is not None and sample_weight is None and y is not None:
            sample_weight = _class_weights_to_sample_weights(class_weight, y)
        data = Dataset(x, y, sample_weight)
        self._check_inputs(data, "train_on_batch")
        data.check_finite("train_on_batch")
        self._check_targets(data, y)
        self.reset_metrics()
        strategy = self.__dict__.get("_distribute_strategy")
        if strategy is not None:                   # this rank's share, gradients averaged
            return _format(strategy.train_on_batch(self, data), return_dict)
        (batch,) = list(data.batches(len(data), device=self._data_device()))
        return _format(_materialize(self.train_step(batch)), return_dict)

    @_holding_run_lock
    def test_on_batch(self, x, y=None, sample_weight=None, return_dict=False):
        """Loss (and metrics) on exactly this batch, without training.

        Args:
            x (array | list | dict): the batch's inputs.
            y (array | list | dict | None): its targets.
            sample_weight (array | None): ``(batch,)`` weights.
            return_dict (bool): return ``{name: value}`` (default False).

        Examples:
            >>> import kerasette as keras
            >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> sorted(model.test_on_batch(np.ones((4, 2)), np.ones((4, 1)), return_dict=True))
            ['loss']
        """
        self._assert_compiled("test_on_batch")
        data = Dataset(x, y, sample_weight)
        self._check_targets(data, y)
        return _format(self._run_eval(data, len(data)), return_dict)

    def predict_on_batch(self, x):
        """Outputs for exactly this batch, as NumPy arrays.

        Args:
            x (array | list | dict): the batch's inputs, with the batch axis.

        Examples:
            >>> import kerasette as keras
            >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> model.predict_on_batch(np.ones((4, 2))).shape
            (4, 1)
        """
        return self.predict(x, batch_size=max(1, len(Dataset(x))), verbose=0)

    def _refuse_with_source(self, where, data, **args):
        """Arguments that do not go with data given as batches (as Keras refuses them)."""
        for name, value in args.items():
            if value is not None:
                what = ("hold out data with validation_data=" if name == "validation_split"
                        else f"include the {name} in each batch: (x, y, sample_weight)")
                raise ValueError(f"{where}: `{name}` cannot be passed with data given as a "
                                 f"{type(data).__name__} that yields batches; {what}")
        if self.__dict__.get("_distribute_strategy") is not None:
            raise ValueError(f"{where}: under a distribution strategy, pass NumPy arrays (each rank "
                             f"takes its share of every batch); got a {type(data).__name__}")

    def _check_inputs(self, data, where):
        """Compare each input's rank with the model's ``Input`` (when the model has one), so
        that one sample passed without its batch axis is named with the shape the user gave."""
        self._check_input_arrays(data.x_arrays(), where)

    def _check_input_arrays(self, xs, where):
        """``_check_inputs`` for the input arrays ``xs`` themselves (in input order)."""
        inputs = getattr(self, "inputs", None)
        if not inputs:
            return
        if len(xs) != len(inputs):
            return                          # the functional model's own check names the mismatch
        for i, (a, t) in enumerate(zip(xs, inputs)):
            expected = tuple(t.shape)
            got = tuple(a.shape)
            if a.dtype.kind in "OUSV":
                continue                    # Dataset's dtype check names these
            label = "x" if len(inputs) == 1 else f"x[{i}]"
            fits = lambda dims, want: len(dims) == len(want) and all(  # noqa: E731
                w is None or w == d for w, d in zip(want, dims))
            if fits(got, expected[1:]):
                raise ValueError(
                    f"{where}: {label} has shape {got}, which is one sample of the model '{self.name}' "
                    f"input {_shape_text(expected)} without its batch axis; pass a batch: "
                    f"{label}[None] or np.expand_dims({label}, 0) (shape {(1,) + got})")
            if len(expected) >= 3 and expected[-1] == 1:
                if fits(got[1:], expected[1:-1]):
                    raise ValueError(
                        f"{where}: {label} has shape {got} but the model '{self.name}' input is "
                        f"{_shape_text(expected)}: the channel axis is missing; add it: {label}[..., None] "
                        f"or np.expand_dims({label}, -1) (shape {got + (1,)})")
                if fits(got, expected[1:-1]):
                    raise ValueError(
                        f"{where}: {label} has shape {got}, which is one sample of the model "
                        f"'{self.name}' input {_shape_text(expected)} without its batch and channel "
                        f"axes; pass {label}[None, ..., None] (shape {(1,) + got + (1,)})")

    def _ids_checked_on_host(self, data, step, where):
        """Check, on the host, the ids that go from the data straight into Embedding layers
        (``checked_ids``): arrays now, a batch source's batches as they are read. Returns the
        layers (``id()``s) that may skip their per-call check during ``step``."""
        pairs = embedding_inputs(self, step)
        if not pairs:
            return frozenset()
        if isinstance(data, BatchSource):
            data.x_check = lambda x: check_x(self, pairs, x, where, to_host=_leaf_to_host)
            return frozenset(id(layer) for _, layer in pairs)
        return check_x(self, pairs, data.x_structure(), where)

    def _check_targets(self, data, y):
        """Validate labels against the loss and the output shape before any weight changes."""
        if y is None or type(self).train_step is not Model.train_step:
            return
        shapes = self._output_shapes(data)
        outs = self._compiled["resolved"]
        if outs is None:
            return
        ys = _align_targets(y, outs, None)
        for o, yt, shape in zip(outs, ys, shapes):
            if o["loss"] is not None and yt is not None:
                o["loss"].validate(yt, shape, where=f"y[{o['name']}]" if len(outs) > 1 else "y")

    def _output_shapes(self, data):
        """Output shapes, from the graph or from a forward pass on one sample."""
        if getattr(self, "outputs", None):
            y_pred_like = self._outputs_struct
            shapes = [t.shape for t in flatten_structure(y_pred_like)]
            self._resolve_compile(map_structure(lambda t: _ShapeOnly(t.shape), y_pred_like))
            return shapes
        sample = next(data.batches(1, device=self._data_device()))
        x = unpack_data(sample)[0]
        with no_grad():
            y_pred = self(x, training=False)
        self._resolve_compile(y_pred)
        return [(None,) + tuple(t.shape[1:]) for t in flatten_structure(y_pred)]

    # -- weights files (kerasette.saving does the work) -------------------------------
    def save_weights(self, filepath, overwrite=True):
        """Write the weights to an HDF5 file (Keras 3 ``.weights.h5`` layout).

        Args:
            filepath (str | os.PathLike): the target; must end in ``.weights.h5`` (as Keras 3).
            overwrite (bool): replace an existing file (default True); False raises instead.

        Examples:
            >>> import kerasette as keras
            >>> import os, tempfile
            >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> with tempfile.TemporaryDirectory() as d:
            ...     model.save_weights(os.path.join(d, "model.weights.h5"))
            ...     print(os.listdir(d))
            ...
            ['model.weights.h5']
        """
        from ..saving import save_weights
        save_weights(self, filepath, overwrite=overwrite)

    def load_weights(self, filepath, skip_mismatch=False, by_name=False, **kwargs):
        """Read weights from a Keras 3 ``.weights.h5``, a legacy Keras 2 ``.h5`` or a ``.keras`` file.

        Args:
            filepath (str | os.PathLike): the file to read.
            skip_mismatch (bool): skip layers whose weight shapes differ instead of raising
                (default False).
            by_name (bool): match layers by name instead of position (legacy ``.h5``; default
                False).
            **kwargs: passed to ``kerasette.saving.load_weights``.

        Examples:
            >>> import kerasette as keras
            >>> import os, tempfile
            >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> other = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            >>> with tempfile.TemporaryDirectory() as d:
            ...     model.save_weights(os.path.join(d, "model.weights.h5"))
            ...     other.load_weights(os.path.join(d, "model.weights.h5"))
            ...
            >>> np.array_equal(other.get_weights()[0], model.get_weights()[0])
            True
        """
        from ..saving import load_weights
        load_weights(self, filepath, skip_mismatch=skip_mismatch, by_name=by_name, **kwargs)

    def save(self, filepath, overwrite=True, **kwargs):
        """Save architecture, weights and optimizer state to a ``.keras`` zip file.

        Args:
            filepath (str | os.PathLike): the target, ending in ``.keras`` (or ``.h5`` for the
                legacy Keras 2 layout).
            overwrite (bool): replace an existing file (default True).
            **kwargs: passed to ``kerasette.saving.save_model``.

        Examples:
            >>> import kerasette as keras
            >>> import os, tempfile
            >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> with tempfile.TemporaryDirectory() as d:
            ...     model.save(os.path.join(d, "model.keras"))
            ...     print(keras.models.load_model(os.path.join(d, "model.keras")).count_params())
            ...
            3
        """
        from ..saving import save_model
        save_model(self, filepath, overwrite=overwrite, **kwargs)

    def to_json(self, **kwargs):
        """The model's config as a JSON string (``models.model_from_json`` reads it)."""
        import json
        from ..layers.serialization import serialize
        return json.dumps(serialize(self), **kwargs)

    def summary(self, line_length=None, positions=None, print_fn=None, expand_nested=False,
                show_trainable=False, layer_range=None):
        """Print a table of layers, output shapes and parameter counts.

        Args:
            line_length (int | None): the table's width in columns (default 80); every line
                fits it, long cells wrap.
            positions (list | None): where each column ends, as fractions of the line (all
                <= 1) or as columns; 3 entries, 4 with ``show_trainable`` (default: 45 %,
                78 %, the rest).
            print_fn (callable | None): called with the whole table as one string (default
                ``print``).
            expand_nested (bool): also list the layers inside nested models, indented under
                their model's row.
            show_trainable (bool): add a "Trainable" column: ``Y`` / ``N`` for layers with
                weights, ``-`` for the others.
            layer_range (list | tuple | None): two layer-name patterns (``re.match``): show the
                layers from the first match of the first to the last match of the second, both
                included (default: all).

        Examples:
            >>> import kerasette as keras
            >>> lines = []
            >>> keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).summary(print_fn=lines.append)
            >>> any("Total params: 3" in line for line in lines)
            True
        """
        from .summary import summary_text
        text = summary_text(self, line_length, positions, expand_nested=bool(expand_nested),
                            show_trainable=bool(show_trainable), layer_range=layer_range)
        (print_fn or print)(text)

    def _assert_built(self, what):
        if not self.built or (not self.weights and any(not l.built for l in self._sublayers())):
            raise ValueError(f"Model '{self.name}' has not yet been built, so `{what}()` cannot know its "
                             f"shapes. Build it first by calling `model.build(input_shape)` or by calling "
                             f"the model on a batch of data.")

    def count_params(self):
        """Number of scalars in all weights (the model must be built)."""
        self._assert_built("count_params")
        return super().count_params()

    def get_layer(self, name=None, index=None):
        """A layer by ``name`` or by ``index`` in ``model.layers``.

        Args:
            name (str | None): the layer's name.
            index (int | None): its position in ``model.layers`` (negative counts from the end).

        Examples:
            >>> import kerasette as keras
            >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, name="out")])
            >>> model.compile(optimizer="sgd", loss="mse")
            >>> model.get_layer("out").units, model.get_layer(index=0).name
            (1, 'out')
        """
        layers = self.layers
        if index is not None:
            if not -len(layers) <= index < len(layers):
                raise ValueError(f"Model '{self.name}': layer index {index} out of range "
                                 f"({len(layers)} layers)")
            return layers[index]
        for layer in layers:
            if layer.name == name:
                return layer
        raise ValueError(f"Model '{self.name}': no layer named '{name}'. "
                         f"Layers: {[l.name for l in layers]}")

    def _data_device(self):
        """Where batches go: the array module of the weights (so a model moved with
        ``to()`` gets its data there), or the default device before any weight exists."""
        first = _first_weight(self)
        return backend.get_array_module(first.value) if first is not None else None

    def to(self, device):
        """Move weights and optimizer state to ``"cpu"`` or ``"gpu"``; returns the model.

        Args:
            device (str): ``"cpu"`` or ``"gpu"``.

        Examples:
            >>> import kerasette as keras
            >>> model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
            >>> model.to("cpu") is model
            True
        """
        for v in self.weights:
            v.value = backend.to_device(v.value, device)
        if self.optimizer is not None:
            for name, arrays in self.optimizer.slots.items():
                self.optimizer.slots[name] = [backend.to_device(a, device) for a in arrays]
            self.optimizer._flat = None            # the old device's packed buffers go now
        return self

    def get_config(self):
        return {"name": self.name, "trainable": self.trainable}

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        if "layers" in config and "input_layers" in config:
            from .functional import Functional
            # a subclass saved as a functional model comes back as that subclass (as Keras 3)
            target = Functional if cls is Model else _functional_variant(cls)
            return Functional.from_config.__func__(target, config, custom_objects=custom_objects,
                                                   safe_mode=safe_mode)
        return cls(**config)


class _ShapeOnly:
    def __init__(self, shape):
        self.shape = shape


class _LiveLogs(dict):
    """Logs whose values are read from the metrics only when looked at (no device sync
    per batch unless a callback actually reads them)."""

    def __init__(self, metrics):
        super().__init__()
        self._metrics = metrics

    def _fill(self):
        if not dict.__len__(self) and self._metrics:
            for m in self._metrics:
                dict.__setitem__(self, m.name, m.result())
            self._metrics = None

    def __getitem__(self, k):
        self._fill()
        return dict.__getitem__(self, k)

    def get(self, k, default=None):
        self._fill()
        return dict.get(self, k, default)

    def items(self):
        self._fill()
        return dict.items(self)

    def keys(self):
        self._fill()
        return dict.keys(self)

    def values(self):
        self._fill()
        return dict.values(self)

    def __iter__(self):
        self._fill()
        return dict.__iter__(self)

    def __len__(self):
        self._fill()
        return dict.__len__(self)

    def __contains__(self, k):
        self._fill()
        return dict.__contains__(self, k)


def _host_copies(outputs):
    """NumPy copies of a model's outputs (Tensors or arrays, in their structure): what
    ``predict`` returns, never a view of an array the model or the caller still holds."""
    import numpy as np
    return map_structure(lambda t: np.array(backend.to_numpy(getattr(t, "value", t))), outputs)


def _materialize(logs):
    """Plain ``{name: float}`` from a train/test step's logs (metric dicts flattened); a
    metric with one value per class or threshold (``F1Score()``) stays a NumPy array."""
    out = {}
    for k, v in (logs or {}).items():
        if isinstance(v, dict):
            out.update({kk: _host_value(vv) for kk, vv in v.items()})
        else:
            out[k] = _host_value(v)
    return out


def _host_value(v):
    a = backend.to_numpy(getattr(v, "value", v))
    return float(a) if getattr(a, "ndim", 0) == 0 else a.copy()


def _pass_batches(data, batch_size, device, steps, shuffle=False, epoch=False):
    """One pass of device batches: a ``BatchSource`` yields at most ``steps`` (reading no
    more from a generator), arrays are cut into ``batch_size`` slices; on an accelerator a
    worker thread prepares them ahead (``prefetch``)."""
    if isinstance(data, BatchSource):
        batches = data.batches(batch_size, shuffle=shuffle, device=device, steps=steps, epoch=epoch)
    elif isinstance(data, Dataset):
        batches = data.batches(batch_size, shuffle=shuffle, device=device)
    else:                      # a DataParallel shard: its first batch runs a collective, here
        return data.batches(batch_size, shuffle=shuffle, device=device)
    mod = backend.xp(device)
    return prefetched(batches, mod, default_depth(mod, on_device=getattr(data, "_device", None) is not None))


def _format(logs, return_dict):
    if return_dict:
        return logs
    values = list(logs.values())
    return values[0] if len(values) == 1 else values


def _class_weights_to_sample_weights(class_weight, y):
    """Per-sample weights ``class_weight[label]`` (integer labels, or one-hot rows)."""
    import numpy as np
    if not isinstance(class_weight, dict):
        raise TypeError(f"fit: class_weight must be a dict {{class id: weight}}, got {type(class_weight).__name__}")
    if isinstance(y, (list, tuple, dict)):
        raise ValueError("fit: class_weight is only supported for models with a single output")
    labels = np.asarray(backend.to_numpy(y))
    if labels.ndim > 1 and labels.shape[-1] > 1:
        labels = labels.argmax(axis=-1)
    labels = labels.reshape(len(labels), -1)[:, 0].astype(np.int64)
    missing = sorted(set(np.unique(labels).tolist()) - set(class_weight))
    if missing:
        raise ValueError(f"fit: class_weight has no entry for class(es) {missing}")
    table = np.zeros(max(max(class_weight), labels.max()) + 1, dtype="float32")
    for k, w in class_weight.items():
        table[int(k)] = w
    return table[labels]


def _with_progbar(callbacks, verbose):
    """The user's callbacks plus a ``ProgbarLogger`` when ``verbose`` asks for one and the
    user passed none of their own (as Keras)."""
    cbs = list(callbacks or [])
    if verbose and not any(isinstance(c, ProgbarLogger) for c in cbs):
        cbs.append(ProgbarLogger())
    return cbs


def _unique_name(name, seen):
    """``name``, or ``name_1``, ``name_2``, ... when it is already in ``seen`` (which counts)."""
    if name not in seen:
        seen[name] = 1
        return name
    seen[name] += 1
    return f"{name}_{seen[name] - 1}"


def _check_validation_data(data):
    """``(x_val, y_val)`` or ``(x_val, y_val, sample_weight)``; a list of two is taken as a
    tuple (a common slip that Keras 2 silently misread)."""
    if isinstance(data, (tuple, list)) and len(data) in (2, 3):
        return
    what = (f"an array of shape {tuple(data.shape)}" if hasattr(data, "shape")
            else f"a {type(data).__name__} of {len(data)} items" if isinstance(data, (tuple, list, dict))
            else f"a {type(data).__name__}")
    raise ValueError(f"fit: `validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
                     f"sample_weight), got {what}; to hold out part of x instead, pass "
                     f"validation_split=0.2")


def _check_verbose(verbose, where):
    if verbose == "auto":
        return 1
    if isinstance(verbose, bool):
        return int(verbose)
    if isinstance(verbose, bool) or not isinstance(verbose, int) or verbose not in (0, 1, 2):
        raise ValueError(f"{where}: verbose must be 0 (silent), 1 (progress bar), 2 (one line per epoch) "
                         f"or \"auto\", got {verbose!r}")
    return verbose


def _n_steps(n, batch_size, steps):
    total = -(-n // batch_size)
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0:
            raise ValueError(f"steps must be a positive integer or None, got {steps!r}")
        total = min(total, steps)
    return total


def _valid_steps(steps):
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps <= 0):
        raise ValueError(f"steps must be a positive integer or None, got {steps!r}")
    return steps


def _shape_text(shape):
    return "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _check_batch_size(batch_size):
    if batch_size is None:
        return 32
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    return batch_size


def _check_spec(what, spec, getter):
    for item in flatten_structure(spec):
        if item is not None:
            getter(item)


def _pick(spec, i, name, n, what, broadcast_list=True):
    """The entry of a per-output spec (single value, list or dict) for output ``i``."""
    if isinstance(spec, dict):
        if n == 1 and name not in spec and len(spec) == 1:
            return next(iter(spec.values()))
        return spec.get(name)
    if isinstance(spec, (list, tuple)) and n > 1:
        if not broadcast_list and spec and not isinstance(spec[0], (list, tuple, dict)) and len(spec) != n:
            return list(spec)
        if len(spec) != n:
            raise ValueError(f"compile: `{what}` has {len(spec)} entries but the model has {n} outputs")
        return spec[i]
    if broadcast_list and n == 1 and isinstance(spec, (list, tuple)):
        if len(spec) != 1:
            raise ValueError(f"compile: `{what}` has {len(spec)} entries but the model has 1 output")
        return spec[0]                  # `loss=["mse"]` for a one-output model, as Keras 3
    return spec


def _align_targets(y, outs, y_pred):
    """Targets as a list in output order (from a single array, list or dict)."""
    if y is None:
        return [None] * len(outs)
    if isinstance(y, dict):
        missing = [k for k in y if k not in {o["name"] for o in outs}]
        if missing:
            raise ValueError(f"Targets given for unknown outputs {missing}; outputs are "
                             f"{[o['name'] for o in outs]}")
        return [y.get(o["name"]) for o in outs]
    if isinstance(y, (list, tuple)) and len(outs) > 1:
        if len(y) != len(outs):
            raise ValueError(f"Expected targets for {len(outs)} outputs, got {len(y)}")
        return list(y)
    if isinstance(y, (list, tuple)) and len(y) == 1 and not isinstance(y_pred, (list, tuple)):
        return [y[0]]                   # `y=[labels]` for a one-output model, as Keras 3
    return [y]
