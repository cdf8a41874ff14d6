"""Layer: the unit models are made of (Keras's contract).

A layer creates its weights lazily in ``build(input_shape)`` on its first
call, computes in ``call(inputs, training=None)``, and describes itself with
``get_config``. Attributes that are layers (or lists / dicts of layers) and
``Variable``s are tracked without registration calls. Layers never touch
the tape: they call ops, and the ops record the graph.
"""
import inspect
import math

import numpy as np

from .. import backend, constraints, context, initializers, ops, regularizers
from ..naming import to_snake_case
from ..autograd.function import no_grad
from ..autograd.tensor import Tensor, Variable
from .input_spec import check_input_spec
from .symbolic import KerasTensor, Node, flatten_structure, is_symbolic, map_structure

__all__ = ["Layer", "unique_name", "reset_uids"]



def unique_name(prefix):
    """Keras-style auto names: ``dense``, ``dense_1``, ``dense_2``, ..."""
    n = backend.get_uid(prefix) - 1
    return prefix if n == 0 else f"{prefix}_{n}"


def reset_uids():
    """Forget auto-name counters (``keras.backend.clear_session``)."""
    backend.clear_session()


class Layer:
    """Base class of all layers.

    Args:
        name (str | None): unique name; defaults to the snake_case class name (``dense_1``).
        trainable (bool): whether its weights are updated by training (default True).
        dtype (str | None): weight dtype (default ``backend.floatx()``, ``"float32"``).
        input_shape (tuple | None): Keras's convenience for the first layer of a Sequential
            (shape without the batch axis).
        batch_input_shape (tuple | None): the same with the batch axis first (Keras 2 form).
        input_dim (int | None): shorthand for ``input_shape=(input_dim,)``.
        batch_size (int | None): fixed batch size that goes with ``input_shape``.
        autocast (bool): cast float tensors passed to a call (positional or keyword) to the
            layer's float dtype, as Keras does: a float32 tensor into a ``dtype="float64"``
            layer computes in float64, differentiably (default True). With False they pass
            as they are, and an op refuses a float32 / float64 mix.

    Subclass and override ``build(input_shape)`` (create weights with
    ``add_weight``), ``call(inputs, training=None)`` and ``get_config()``.

    Examples:
        >>> import kerasette as keras
        >>> class Scale(keras.layers.Layer):
        ...     def build(self, input_shape):
        ...         self.w = self.add_weight(shape=(input_shape[-1],), initializer="ones")
        ...     def call(self, x):
        ...         return x * self.w
        ...
        >>> Scale()(np.full((2, 3), 2.0)).numpy().tolist()
        [[2.0, 2.0, 2.0], [2.0, 2.0, 2.0]]
    """

    # True on layers whose ops are heavy in elementwise passes and split their batch
    # over kerasette.parallel's intra-op threads (conv, pooling, recurrent): a model
    # holding one trains inside parallel.region(); GEMM-only models keep the BLAS's threads
    _splits_batch = False
    # whether a call casts float Tensors to the layer's dtype (``autocast``); a Model leaves
    # that to its layers, as Keras's functional models do
    _casts_tensor_inputs = True

    def __new__(cls, *args, **kwargs):
        obj = super().__new__(cls)
        # tracking state exists before a subclass's __init__ assigns attributes
        obj.__dict__.update(_trainable_variables=[], _non_trainable_variables=[], _weight_regularizers=[],
                            _added_losses=[],
                            built=False, _inbound_nodes=[], _trainable=True, autocast=True,
                            _call_signature=None, supports_masking=False, _build_shapes=None,
                            input_spec=None)
        return obj

    def __init__(self, name=None, trainable=True, dtype=None, input_shape=None,
                 batch_input_shape=None, input_dim=None, batch_size=None, autocast=True, **kwargs):
        if kwargs:
            raise TypeError(f"{type(self).__name__}: unexpected keyword argument(s) {sorted(kwargs)}")
        if not isinstance(autocast, bool):
            raise TypeError(f"{type(self).__name__}: `autocast` must be True or False, got {autocast!r}")
        self.autocast = autocast
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        self._trainable = trainable
        self.dtype = dtype or backend.floatx()
        if input_dim is not None and input_shape is None:
            input_shape = (input_dim,)
        if batch_input_shape is not None:
            self._batch_input_shape = tuple(batch_input_shape)
        elif input_shape is not None:
            self._batch_input_shape = (batch_size,) + tuple(input_shape)

    # -- the contract --------------------------------------------------------
    def build(self, input_shape):
        """Create weights for inputs of ``input_shape`` (batch axis first, may be None).

        Args:
            input_shape (tuple | list): the shape of the first call's input (a list of
                shapes for several inputs); runs once, before the first ``call``.

        Examples:
            >>> import kerasette as keras
            >>> layer = keras.layers.Dense(3)
            >>> layer.built
            False
            >>> layer.build((None, 4))
            >>> layer.built, layer.kernel.shape
            (True, (4, 3))
        """
        self.built = True

    def call(self, inputs, *args, **kwargs):
        """The forward computation on Tensors; override in subclasses.

        Args:
            inputs (Tensor | list | dict): the input(s); arrays are converted to Tensors.

        Examples:
            >>> import kerasette as keras
            >>> class Double(keras.layers.Layer):
            ...     def call(self, inputs):
            ...         return inputs * 2.0
            ...
            >>> Double()(np.array([[1.0, 2.0]])).numpy().tolist()
            [[2.0, 4.0]]
        """
        raise NotImplementedError(f"{type(self).__name__}.call is not implemented")

    def compute_output_shape(self, input_shape):
        """Output shape for an input shape; by default found by running the layer on zeros.

        Args:
            input_shape (tuple | list): shape with the batch axis first (None where unknown).

        Examples:
            >>> import kerasette as keras
            >>> keras.layers.Dense(3).compute_output_shape((None, 4))
            (None, 3)
        """
        return _infer_by_running(self, input_shape)

    @property
    def compute_dtype(self):
        """The dtype the layer computes in: its ``dtype`` (Keras 3's name; kerasette has no
        mixed-precision policies, so it is also ``variable_dtype`` and ``input_dtype``)."""
        return self.dtype

    @property
    def variable_dtype(self):
        """The dtype of the layer's weights: its ``dtype``."""
        return self.dtype

    @property
    def input_dtype(self):
        """The dtype float inputs are cast to when ``autocast`` is on: its ``dtype``."""
        return self.dtype

    def compute_mask(self, inputs, mask=None):
        """The mask the output carries: the input's if ``supports_masking``, else None.

        Args:
            inputs (Tensor): the call's input.
            mask (Tensor | None): the input's mask, ``(batch, time)`` bool.

        Examples:
            >>> import kerasette as keras
            >>> keras.layers.Dense(3).compute_mask(np.ones((2, 4))) is None
            True
        """
        return mask if self.supports_masking else None

    def get_config(self):
        """The constructor arguments as a JSON-able dict."""
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if getattr(self, "_batch_input_shape", None) is not None:
            config["batch_input_shape"] = list(self._batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        """Rebuild a layer from ``get_config()``."""
        config = dict(config)
        if isinstance(config.get("dtype"), dict):       # Keras 3 dtype policy
            config["dtype"] = config["dtype"].get("config", {}).get("name", backend.floatx())
        return cls(**config)

    # -- weights --------------------------------------------------------------
    def add_weight(self, shape=None, initializer=None, dtype=None, trainable=True, name=None,
                   regularizer=None, constraint=None, **kwargs):
        """Create a Variable of ``shape`` on the default device and track it.

        Args:
            shape (tuple[int, ...]): the weight's shape.
            initializer (str | Initializer | callable | None): name, Initializer or callable
                ``(shape, dtype) -> array``; ``glorot_uniform`` by default.
            dtype (str | None): default the layer's dtype.
            trainable (bool): False for state the optimizer must not touch (default True).
            name (str | None): the weight's name (``kernel``, ``bias``).
            regularizer (str | Regularizer | None): penalty on the weight added to the loss.
            constraint (str | Constraint | None): projection applied after each optimizer step.
            **kwargs: Keras 3's ``autocast``, ``aggregation``, ``synchronization`` and
                ``overwrite_with_gradient``, kept on the Variable; anything else is refused.

        Examples:
            >>> import kerasette as keras
            >>> layer = keras.layers.Layer()
            >>> w = layer.add_weight(shape=(2, 3), initializer="ones", name="w")
            >>> w.shape, len(layer.trainable_weights)
            ((2, 3), 1)
        """
        if isinstance(shape, str):      # Keras 2 order: add_weight("kernel", shape=...)
            name, shape = shape, kwargs.pop("shape", None)
        shape = tuple(int(n) for n in (shape or ()))
        dtype = dtype or self.dtype
        if initializer is None:         # Keras: glorot_uniform for floats, zeros otherwise
            initializer = "glorot_uniform" if "float" in str(dtype) else "zeros"
        init = initializers.get(initializer)
        _charge_weight_budget(self, name, shape, dtype)
        value = init(shape, dtype=dtype)
        value = backend.to_device(backend.to_numpy(value) if isinstance(value, Tensor) else value,
                                  dtype=dtype)
        var = Variable(value, name=name or "variable", trainable=trainable and self._trainable)
        var._trainable = trainable          # the variable's own flag; requires_grad follows the layer
        var.path = f"{self.name}/{var.name}"
        if regularizer is not None:
            self._weight_regularizers.append((var, regularizers.get(regularizer)))
        var.constraint = constraints.get(constraint)
        if regularizer is not None:
            var.regularizer = regularizers.get(regularizer)
        for key in ("autocast", "aggregation", "synchronization", "overwrite_with_gradient"):
            if key in kwargs:
                setattr(var, key, kwargs.pop(key))
        if kwargs:
            raise TypeError(f"Layer '{self.name}': add_weight got unexpected keyword argument(s) "
                            f"{sorted(kwargs)}")
        (self._trainable_variables if trainable else self._non_trainable_variables).append(var)
        return var

    def add_variable(self, shape, initializer, dtype=None, trainable=True, autocast=True,
                     regularizer=None, constraint=None, name=None):
        """Keras 3's ``add_variable``: ``add_weight`` with ``shape`` and ``initializer`` first.

        Args:
            shape (tuple[int, ...]): the variable's shape.
            initializer (str | Initializer | callable): name, Initializer or callable
                ``(shape, dtype) -> array``.
            dtype (str | None): default the layer's dtype.
            trainable (bool): False for state the optimizer must not touch (default True).
            autocast (bool): accepted for Keras compatibility (no mixed-precision autocasting).
            regularizer (str | Regularizer | None): penalty on the variable added to the loss.
            constraint (str | Constraint | None): projection applied after each optimizer step.
            name (str | None): the variable's name.

        Examples:
            >>> import kerasette as keras
            >>> layer = keras.layers.Layer()
            >>> v = layer.add_variable((2,), "zeros", trainable=False, name="count")
            >>> v.shape, len(layer.non_trainable_weights)
            ((2,), 1)
        """
        return self.add_weight(shape=shape, initializer=initializer, dtype=dtype, trainable=trainable,
                               autocast=autocast, regularizer=regularizer, constraint=constraint, name=name)

    @property
    def losses(self):
        """Extra loss terms of this layer and its sublayers (scalar Tensors), in Keras 3's
        order: what ``add_loss`` (and an ``activity_regularizer``) recorded during the last
        outermost call, this layer's first, then the penalties of the trainable weights
        (recomputed on each access, so they join the current step's graph; a frozen layer's
        weights add none, as in Keras). ``Model.compute_loss`` adds them to the loss."""
        added, penalties = [], []
        self._gather_losses(added, penalties)
        if penalties:                   # as Keras: penalties of trainable weights only (not frozen ones)
            trainable = {id(v) for v in self.trainable_weights}
            penalties = [(var, reg) for var, reg in penalties if id(var) in trainable]
        return added + [reg(var) for var, reg in penalties]

    def _gather_losses(self, added, penalties):
        added.extend(self._added_losses)
        penalties.extend(self._weight_regularizers)
        for layer in self._sublayers():
            layer._gather_losses(added, penalties)

    def add_loss(self, loss):
        """Add a scalar term to the training loss from inside ``call`` (e.g. a KL penalty).

        Terms are kept until the next outermost call starts, as in Keras.

        Args:
            loss (Tensor | float): a scalar added to the loss of this training step.

        Examples:
            >>> import kerasette as keras
            >>> class Penalised(keras.layers.Layer):
            ...     def call(self, x):
            ...         self.add_loss(keras.ops.sum(x))
            ...         return x
            ...
            >>> layer = Penalised()
            >>> _ = layer(np.ones((2, 2)))
            >>> [float(keras.ops.convert_to_tensor(l).numpy()) for l in layer.losses]
            [4.0]
        """
        self._added_losses.append(loss)
        context.current().loss_holders.add(self)

    def _clear_added_losses(self):
        if self._added_losses:
            self._added_losses.clear()
            context.current().loss_holders.discard(self)
        for layer in self._sublayers():
            layer._clear_added_losses()

    def _splits_batch_inside(self):
        """Whether this layer, or one it holds at any depth, splits its batch over the
        intra-op threads; a model's fit / evaluate / predict then run in ``parallel.region()``.

        Only then: a model of Dense layers alone is GEMM-bound, and the BLAS's own
        threads run its GEMMs faster than split ones (MNIST MLP: 1.3 vs 1.9 ms of
        Dense forward per batch on 2 cores).
        """
        return self._splits_batch or any(layer._splits_batch_inside() for layer in self._sublayers())

    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        value = bool(value)
        self._trainable = value
        for v in self._trainable_variables:
            v.trainable = value
            v._trainable = True
        for layer in self._sublayers():
            layer.trainable = value

    @property
    def weights(self):
        """All weights: this layer's (trainable, then not), then each sublayer's."""
        out, seen = [], set()
        own = self._trainable_variables + self._non_trainable_variables + self._attr_variables()
        for w in own + [w for layer in self._sublayers() for w in layer.weights]:
            if id(w) not in seen:
                seen.add(id(w))
                out.append(w)
        return out

    variables = weights

    @property
    def trainable_weights(self):
        if not self.trainable:
            return []
        return [w for w in self.weights if w.requires_grad]

    trainable_variables = trainable_weights

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self.weights
        return [w for w in self.weights if not w.requires_grad]

    non_trainable_variables = non_trainable_weights

    def get_weights(self):
        """The weights as a list of NumPy arrays (order of ``weights``).

        Examples:
            >>> import kerasette as keras
            >>> layer = keras.layers.Dense(2, kernel_initializer="ones")
            >>> layer.build((None, 3))
            >>> [w.shape for w in layer.get_weights()]
            [(3, 2), (2,)]
        """
        return [w.numpy().copy() for w in self.weights]

    def set_weights(self, weights):
        """Assign NumPy arrays to ``weights``; every shape is checked before any is assigned.

        Args:
            weights (list): one array per weight, in the order of ``layer.weights``.

        Examples:
            >>> import kerasette as keras
            >>> layer = keras.layers.Dense(2)
            >>> layer.build((None, 3))
            >>> layer.set_weights([np.ones((3, 2)), np.zeros(2)])
            >>> layer(np.ones((1, 3))).numpy().tolist()
            [[3.0, 3.0]]
        """
        own = self.weights
        if len(weights) != len(own):
            raise ValueError(f"Layer '{self.name}': set_weights expected a list of {len(own)} arrays, "
                             f"got {len(weights)}")
        for w, v in zip(own, weights):
            if tuple(v.shape) != w.shape:
                raise ValueError(f"Layer '{self.name}': weight '{w.name}' has shape {w.shape}, "
                                 f"got an array of shape {tuple(v.shape)}")
        for w, v in zip(own, weights):
            w.assign(v)

    def count_params(self):
        """Number of scalars in all weights."""
        total = 0
        for w in self.weights:
            n = 1
            for d in w.shape:
                n *= d
            total += n
        return total

    @property
    def layers(self):
        return self._sublayers()

    # -- calling ---------------------------------------------------------------
    def __call__(self, *args, **kwargs):
        if (len(args) == 1 and type(args[0]) is Tensor and self.built and self.input_spec is None
                and (not kwargs or (len(kwargs) == 1 and "training" in kwargs))
                and self._cast_dtype(args[0].value.dtype) is None):
            # the common eager call (one Tensor, perhaps training=): nothing to convert or search
            x = args[0]
            return self._call_prepared(x, (), {}, kwargs.get("training"), None, x._keras_mask)
        if is_symbolic((args, kwargs)):
            return self._symbolic_call(args, kwargs)
        if not args:
            if "inputs" not in kwargs:
                raise TypeError(f"Layer '{self.name}': called without inputs")
            args = (kwargs.pop("inputs"),)
        if self.input_spec is not None:
            check_input_spec(self, args[0])
        # float arrays are cast to the layer's dtype (NumPy's float64 data into a float32
        # layer); arrays in the other arguments (RNN states) become Tensors the same way
        # host arrays go where the weights are (a model moved with ``to()``), else to the default device
        dtype = self._input_float_dtype()
        first = first_weight(self) if self.built else None
        home = backend.get_array_module(first.value) if first is not None else None
        cast = self._autocasts()
        inputs = map_structure(lambda x: _to_tensor(x, dtype, home, cast), args[0])
        rest = tuple(map_structure(lambda x: _array_to_tensor(x, dtype, home, cast), a) for a in args[1:])
        training = kwargs.pop("training", None)
        kwargs = {k: v if k == "mask" else map_structure(lambda x: _array_to_tensor(x, dtype, home, cast), v)
                  for k, v in kwargs.items()}
        if not self.built:
            self._build_for(inputs)
        mask = kwargs.pop("mask", None)
        found = None
        if mask is None:
            masks = [getattr(t, "_keras_mask", None) for t in flatten_structure(inputs)]
            if any(m is not None for m in masks):
                found = masks[0] if len(masks) == 1 else masks
        return self._call_prepared(inputs, rest, kwargs, training, mask, found)

    def _input_float_dtype(self):
        """The float dtype a call casts float inputs to: the layer's dtype when it is a float
        dtype, else ``floatx()`` (an integer layer such as ``Embedding``)."""
        return self.dtype if "float" in str(self.dtype) else backend.floatx()

    def _autocasts(self):
        """Whether a call casts float tensors to the layer's float dtype (``autocast``; a
        Model leaves that to its layers)."""
        return self.autocast and self._casts_tensor_inputs

    def _cast_dtype(self, dtype):
        """The dtype a call casts a float Tensor of ``dtype`` to (``autocast``), or None."""
        if dtype.kind != "f" or not self._autocasts():
            return None
        want = self._input_float_dtype()
        return want if dtype != want else None

    def _call_prepared(self, inputs, rest, kwargs, training, mask, found_mask):
        """Call ``self.call`` with the context's training flag and depth set. ``mask`` was
        passed by the caller (given to ``call`` as it is); ``found_mask`` was read from the
        inputs' ``_keras_mask`` (given only to a ``call`` that takes ``mask``)."""
        sig = self._signature()
        ctx = context.current()
        outer = ctx.training
        if training is None:
            training = outer
        if "training" in sig:
            kwargs["training"] = training
        if mask is not None:
            kwargs["mask"] = mask
        elif found_mask is not None:
            mask = found_mask
            if "mask" in sig:
                kwargs["mask"] = mask
        ctx.training = training
        if ctx.depth == 0 and ctx.loss_holders:
            # a new forward pass: forget the last one's add_loss terms (the walk over the
            # sublayers only when some layer holds terms: it costs more than a small Dense)
            self._clear_added_losses()
        ctx.depth += 1
        try:
            outputs = self.call(inputs, *rest, **kwargs)
        finally:
            ctx.training = outer
            ctx.depth -= 1
        activity = self.__dict__.get("activity_regularizer")
        if activity is not None:
            self._add_activity_penalties(activity, outputs)
        if mask is not None or type(self).compute_mask is not Layer.compute_mask:
            out_mask = self.compute_mask(inputs, mask)
            if out_mask is not None and isinstance(outputs, Tensor):
                outputs._keras_mask = getattr(out_mask, "value", out_mask)
        return outputs

    def _add_activity_penalties(self, regularizer, outputs):
        """Keras 3's ``activity_regularizer``, for the layers that take one (the recurrent
        layers and cells): each Tensor the call returned is penalised, the penalty divided by
        the output's batch size (zero for an empty batch), and added with ``add_loss``."""
        for out in flatten_structure(outputs):
            if not isinstance(out, Tensor):
                continue
            penalty = regularizer(out)
            if len(out.shape):
                batch = out.shape[0]
                penalty = ops.divide(penalty, float(batch)) if batch else ops.multiply(penalty, 0.0)
            self.add_loss(penalty)

    def _build_for(self, inputs):
        shapes = map_structure(lambda t: tuple(t.shape), inputs)
        self._build_shapes = shapes
        self.build(shapes)
        self.built = True

    def _signature(self):
        cls = type(self)
        sig = cls.__dict__.get("_call_params")
        if sig is None:
            sig = frozenset(inspect.signature(cls.call).parameters)
            setattr(cls, "_call_params", sig)
        return sig

    def _symbolic_call(self, args, kwargs):
        """Record a Node and return KerasTensors with inferred shapes."""
        inputs = args[0] if args else kwargs.get("inputs")
        if self.input_spec is not None:
            check_input_spec(self, inputs)
        in_shapes = map_structure(lambda t: t.shape if isinstance(t, KerasTensor) else tuple(t.shape), inputs)
        if not self.built:
            self._build_shapes = in_shapes
            self.build(in_shapes)
            self.built = True
        self._check_symbolic_input(inputs)
        # the inputs' symbolic masks (``_keras_mask``, e.g. after Embedding(mask_zero=True))
        masks = [getattr(t, "_keras_mask", None) for t in flatten_structure(inputs)]
        masks = masks if any(m is not None for m in masks) else None
        if type(self).compute_output_shape is Layer.compute_output_shape:
            # run on zeros with every tensor argument, and all-True masks where the inputs have
            # them (a layer whose call needs its mask gets one)
            out_shapes = _infer_by_running(self, in_shapes, args[1:], kwargs, masks)
        else:
            out_shapes = self.compute_output_shape(in_shapes)
        dtype = _first_dtype(inputs, self.dtype)
        if "float" in str(dtype) and self._autocasts():
            dtype = self._input_float_dtype()      # the call casts it (autocast)
        out_dtype = getattr(self, "output_dtype", None) or (dtype if "int" not in str(dtype) else self.dtype)
        outputs = _shapes_to_tensors(out_shapes, out_dtype, self.name)
        out_mask = self._symbolic_mask(in_shapes, masks)
        if out_mask is not None and isinstance(outputs, KerasTensor):
            outputs._keras_mask = KerasTensor(out_mask, "bool", name=f"{self.name}_mask")
        node = Node(self, args, kwargs, outputs)
        for i, t in enumerate(flatten_structure(outputs)):
            t.node, t.index = node, i
        self._inbound_nodes.append(node)
        return outputs

    def _symbolic_mask(self, in_shapes, masks):
        """The output's mask shape (batch axis None) for inputs of ``in_shapes`` carrying
        symbolic ``masks`` (or None), as ``compute_mask`` would give it; None for no mask."""
        if type(self).compute_mask is Layer.compute_mask:        # passes the input's mask on, or not
            return masks[0].shape if masks and self.supports_masking and masks[0] is not None else None
        try:
            with no_grad():
                dummy = _dummy_like(in_shapes, masks)
                mask = self.compute_mask(dummy, _dummy_masks(masks))
        except Exception:      # noqa: BLE001 - a compute_mask that needs real values: no symbolic mask
            return None
        if mask is None or isinstance(mask, (list, tuple)):
            return None
        shape = tuple(getattr(mask, "shape", ()))
        return (None,) + shape[1:] if shape else None

    def _check_symbolic_input(self, inputs):
        """Hook: validate symbolic inputs (rank, feature size) before a node is made."""

    # -- functional helpers ----------------------------------------------------
    @property
    def input(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input")
        args = self._inbound_nodes[0].args
        return args[0] if args else self._inbound_nodes[0].kwargs.get("inputs")

    @property
    def output(self):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer '{self.name}' has never been called on a symbolic input")
        return self._inbound_nodes[0].outputs

    @property
    def output_shape(self):
        out = self.output
        return map_structure(lambda t: t.shape, out)

    # -- tracking ----------------------------------------------------------------
    def _sublayers(self):
        """Layers held in attributes (directly, or in lists / tuples / dicts), in order."""
        out, seen = [], {id(self)}
        for key, value in self.__dict__.items():
            if isinstance(value, Layer):
                found = (value,)
            elif isinstance(value, (list, tuple, dict)) and value and key not in _NOT_TRACKED:
                found = _layer_leaves(value)
            else:                            # most attributes: numbers, strings, Variables
                continue
            if key in _NOT_TRACKED:
                continue
            for v in found:
                if id(v) not in seen:
                    seen.add(id(v))
                    out.append(v)
        return out

    def _attr_variables(self):
        tracked = {id(v) for v in self._trainable_variables + self._non_trainable_variables}
        return [v for k, v in self.__dict__.items() if isinstance(v, Variable) and id(v) not in tracked]

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}, built={self.built}>"


_NOT_TRACKED = {"_inbound_nodes", "_trainable_variables", "_non_trainable_variables", "optimizer",
                "_weight_regularizers", "_added_losses",
                "_build_shapes", "_compiled", "_run_lock_"}


def _layer_leaves(value):
    if isinstance(value, Layer):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for x in value for v in _layer_leaves(x)]
    if isinstance(value, dict):
        return [v for x in value.values() for v in _layer_leaves(x)]
    return []


def _to_tensor(x, float_dtype=None, home=None, cast=False):
    """Inputs as Tensors; host data goes to ``home`` (an array module; None: the default
    device), device arrays stay where they are. Float arrays are cast to ``float_dtype``
    (default floatx). Float Tensors are cast too when ``cast`` (the layer's ``autocast``),
    through the differentiable cast op, keeping their mask; otherwise they pass as they
    are, and a float64 Tensor into a float32 layer is refused by the first op."""
    float_dtype = float_dtype or backend.floatx()
    if isinstance(x, Tensor):
        if not cast or x.value.dtype.kind != "f" or x.value.dtype == float_dtype:
            return x
        from ..ops.math import cast as cast_op
        y = cast_op(x, float_dtype)
        y._keras_mask = x._keras_mask
        return y
    if x is None or isinstance(x, (int, float, bool)):
        return x
    if not backend.is_array(x):
        import numpy as np
        x = np.asarray(x)
    dtype = float_dtype if x.dtype.kind == "f" and x.dtype != float_dtype else None
    if x.dtype.kind in "ub" and x.dtype.itemsize == 1:
        dtype = None
    dev = home if type(x).__module__ == "numpy" else backend.get_array_module(x)
    return Tensor(backend.to_device(x, dev, dtype=dtype))


def _array_to_tensor(x, float_dtype, home=None, cast=False):
    return _to_tensor(x, float_dtype, home, cast) if isinstance(x, Tensor) or backend.is_array(x) else x


def first_weight(layer):
    """``layer.weights[0]`` (or None) without collecting every weight of the model."""
    own = layer._trainable_variables or layer._non_trainable_variables or layer._attr_variables()
    if own:
        return own[0]
    for sub in layer._sublayers():
        found = first_weight(sub)
        if found is not None:
            return found
    return None


def _first_dtype(inputs, default):
    for t in flatten_structure(inputs):
        if isinstance(t, KerasTensor):
            return t.dtype
    return default


def _shapes_to_tensors(shapes, dtype, name):
    if isinstance(shapes, tuple) and all(d is None or isinstance(d, int) for d in shapes):
        return KerasTensor(shapes, dtype, name=name)
    if isinstance(shapes, list) and shapes and all(d is None or isinstance(d, int) for d in shapes):
        return KerasTensor(tuple(shapes), dtype, name=name)
    if isinstance(shapes, dict):
        return {k: _shapes_to_tensors(v, dtype, name) for k, v in shapes.items()}
    return type(shapes)(_shapes_to_tensors(s, dtype, name) for s in shapes)


def _zeros(shape):
    """A float Tensor of zeros, batch 1 standing for None."""
    return Tensor(backend.xp().zeros(tuple(1 if d is None else d for d in shape), dtype=backend.floatx()))


def _is_shape(s):
    return isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s)


def _dummy_like(input_shape, masks=None):
    """Zeros shaped as ``input_shape`` (a shape or a structure of them); each gets an all-True
    ``_keras_mask`` where ``masks`` (one symbolic mask or None per input, in order) has one."""
    def build(s):
        if _is_shape(s):
            return _zeros(s)
        if isinstance(s, dict):
            return {k: build(v) for k, v in s.items()}
        return type(s)(build(x) for x in s)

    dummy = build(input_shape)
    for t, m in zip(flatten_structure(dummy), masks or ()):
        if m is not None:
            t._keras_mask = _dummy_masks(m)
    return dummy


def _dummy_masks(masks):
    """All-True arrays for symbolic mask(s) (batch 1), None where there is none."""
    if masks is None or isinstance(masks, KerasTensor):
        return None if masks is None else backend.xp().ones(
            tuple(1 if d is None else d for d in masks.shape), dtype=bool)
    made = [_dummy_masks(m) for m in masks]
    return made[0] if len(made) == 1 else made


def _infer_by_running(layer, input_shape, more_args=(), more_kwargs=None, masks=None):
    """Output shape(s) from a call on zeros (batch 1 standing for None); symbolic tensors
    among ``more_args`` / ``more_kwargs`` (further call arguments) become zeros too, and the
    inputs carry all-True masks where ``masks`` (their symbolic masks) has one."""
    dummy = _dummy_like(input_shape, masks)
    fill = lambda t: _zeros(t.shape) if isinstance(t, KerasTensor) else t   # noqa: E731
    more_args = map_structure(fill, tuple(more_args))
    more_kwargs = {k: map_structure(fill, v) for k, v in (more_kwargs or {}).items() if k != "training"}
    with no_grad(), np.errstate(all="ignore"):       # zeros, not the user's data: 1/x may warn
        out = layer(dummy, *more_args, training=False, **more_kwargs)
    batch_none = any(_is_shape(s) and s and s[0] is None for s in _shape_leaves(input_shape))
    return map_structure(lambda t: ((None,) + tuple(t.shape[1:])) if batch_none else tuple(t.shape), out)


def _shape_leaves(s):
    if isinstance(s, tuple) and all(d is None or isinstance(d, int) for d in s):
        return [s]
    if isinstance(s, dict):
        return [x for v in s.values() for x in _shape_leaves(v)]
    return [x for v in s for x in _shape_leaves(v)]


def _charge_weight_budget(layer, name, shape, dtype):
    """While a model is rebuilt from a file, refuse a weight larger than what is left of the
    file's weights (a 1 KB config asking for a 40 GB Dense fails here, before allocating)."""
    budget = context.current().weight_budget
    if budget is None:
        return
    nbytes = math.prod(shape) * np.dtype(dtype).itemsize
    if nbytes > budget[0]:
        raise ValueError(f"Layer '{layer.name}': weight '{name}' of shape {shape} ({dtype}) needs "
                         f"{_size(nbytes)}, more than the file's weights can hold ({_size(budget[0])} "
                         f"left); the file's config does not match its weights")
    budget[0] -= nbytes


def _size(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
