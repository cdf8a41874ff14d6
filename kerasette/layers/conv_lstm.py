"""Convolutional LSTMs (Shi et al. 2015): ConvLSTM1D, ConvLSTM2D and ConvLSTM3D, Keras 3
semantics.

An LSTM whose input and recurrent transforms are convolutions. Inputs are sequences of
images ``(batch, time, rows, cols, channels)`` (ConvLSTM2D), of 1-D signals ``(batch,
time, steps, channels)`` (ConvLSTM1D) or of volumes ``(batch, time, depth, rows, cols,
channels)`` (ConvLSTM3D), channels_last only. Per step, with ``*`` a
convolution::

    a_t = x_t * kernel + bias + h_{t-1} * recurrent_kernel     (4 * filters channels)
    i, f, o = recurrent_activation(a_i, a_f, a_o);  g = activation(a_c)
    c_t = f c_{t-1} + i g;   h_t = o activation(c_t)

The input convolution uses the layer's ``strides``, ``padding`` and ``dilation_rate``; the
recurrent one is always stride 1, ``"same"`` padding, no dilation, so the states keep the
input convolution's output size. Weights live on ``layer.cell`` as in Keras: ``kernel
(*kernel_size, channels, 4*filters)``, ``recurrent_kernel (*kernel_size, filters,
4*filters)``, ``bias (4*filters,)``, gates in the order i, f, c, o.

The input convolution of every step is ONE ``conv2d`` node over ``batch * time`` images;
each step then adds one recurrent ``conv2d`` and the elementwise gate ops (a Python step per
time step, any activation pair). ConvLSTM1D runs the same code on rows of height 1;
ConvLSTM3D the same with ``conv3d`` (``kerasette.ops.conv3d``) in place of ``conv2d``.
"""
import numpy as np

from .. import activations, backend, initializers, ops, random, regularizers
from ..autograd.tensor import Tensor
from ..ops.conv import conv2d, conv_output_length, normalize_padding
from ..ops.conv3d import conv3d
from .conv import _layer_args, check_data_format
from .core import shape_str
from .layer import Layer
from .recurrent import (_as_float_tensor, _dropout_mask, _mask_array, carried_copies, sequence_output_mask,
                        set_weight_penalties, weight_penalty_config)

__all__ = ["ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D"]

_GATES = 4


def _where(layer):
    return f"{type(layer).__name__} '{layer.name}'"


class ConvLSTMCell(Layer):
    """The weights and settings of a ConvLSTM layer (Keras's ``conv_lstm_cell``); the layer
    checks the settings and runs the recurrence. Not a public layer (nor is it in Keras 3).
    ``penalties`` are the weights' regularizers and constraints, the arguments of
    ``set_weight_penalties`` in its order."""

    def __init__(self, rank, filters, kernel_size, strides, padding, data_format, dilation_rate, activation,
                 recurrent_activation, use_bias, kernel_initializer, recurrent_initializer, bias_initializer,
                 unit_forget_bias, dropout, recurrent_dropout, seed, penalties=(None,) * 6, **kwargs):
        super().__init__(**kwargs)
        set_weight_penalties(self, *penalties)
        self.rank = rank
        self.filters = filters
        self.kernel_size, self.strides, self.padding = kernel_size, strides, padding
        self.data_format, self.dilation_rate = data_format, dilation_rate
        self.activation = activations.get(activation)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if seed is not None else None

    def build(self, input_shape):
        """``input_shape``: one step, ``(batch, *spatial, channels)``."""
        channels = int(input_shape[-1])
        self.kernel = self.add_weight(shape=self.kernel_size + (channels, _GATES * self.filters),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=self.kernel_size + (self.filters, _GATES * self.filters),
                                                initializer=self.recurrent_initializer, name="recurrent_kernel",
                                                regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(shape=(_GATES * self.filters,), initializer=self.bias_initializer,
                                        name="bias", regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)
            if self.unit_forget_bias:
                value = self.bias.numpy().copy()
                value[self.filters:2 * self.filters] = 1          # Keras: ones, whatever bias_initializer
                self.bias.assign(value)
        self.built = True

    def get_config(self):
        config = {**super().get_config(), **_settings(self)}
        del config["activity_regularizer"]          # the layer's (Keras's cell has none)
        return config


def _settings(cell, activity_regularizer=None):
    """The cell's settings in Keras's ``get_config`` order, with the layer's
    ``activity_regularizer`` among them."""
    penalties = weight_penalty_config(cell)
    return {"filters": cell.filters, "kernel_size": cell.kernel_size, "strides": cell.strides,
            "padding": cell.padding, "data_format": cell.data_format, "dilation_rate": cell.dilation_rate,
            "activation": activations.serialize(cell.activation),
            "recurrent_activation": activations.serialize(cell.recurrent_activation),
            "use_bias": cell.use_bias, "kernel_initializer": initializers.serialize(cell.kernel_initializer),
            "recurrent_initializer": initializers.serialize(cell.recurrent_initializer),
            "bias_initializer": initializers.serialize(cell.bias_initializer),
            "unit_forget_bias": cell.unit_forget_bias, "kernel_regularizer": penalties["kernel_regularizer"],
            "recurrent_regularizer": penalties["recurrent_regularizer"],
            "bias_regularizer": penalties["bias_regularizer"],
            "activity_regularizer": regularizers.serialize(activity_regularizer),
            "kernel_constraint": penalties["kernel_constraint"],
            "recurrent_constraint": penalties["recurrent_constraint"],
            "bias_constraint": penalties["bias_constraint"], "dropout": cell.dropout,
            "recurrent_dropout": cell.recurrent_dropout, "seed": cell.seed}


class _ConvLSTM(Layer):
    """The recurrence shared by ConvLSTM1D, ConvLSTM2D and ConvLSTM3D (``RANK`` spatial axes)."""

    RANK = None
    _splits_batch = True        # conv2d splits its batch over kerasette.parallel threads

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, seed=None, return_sequences=False, return_state=False,
                 go_backwards=False, stateful=False, unroll=False, zero_output_for_mask=False, **kwargs):
        super().__init__(**kwargs)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        penalties = (kernel_regularizer, recurrent_regularizer, bias_regularizer, kernel_constraint,
                     recurrent_constraint, bias_constraint)
        if isinstance(filters, bool) or not isinstance(filters, (int, np.integer)) or filters <= 0:
            raise ValueError(f"{_where(self)}: filters must be a positive integer, got {filters!r}")
        n = self.RANK
        kernel_size = _layer_args(self, kernel_size, n, "kernel_size")
        strides = _layer_args(self, strides, n, "strides")
        dilation_rate = _layer_args(self, dilation_rate, n, "dilation_rate")
        padding = normalize_padding(padding, where=_where(self))
        data_format = check_data_format(self, data_format)
        if max(strides) > 1 and max(dilation_rate) > 1:
            raise ValueError(f"{_where(self)}: strides {strides} > 1 together with dilation_rate "
                             f"{dilation_rate} > 1 is not supported (as in Keras)")
        for label, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)) \
                    or not 0 <= rate < 1:
                raise ValueError(f"{_where(self)}: {label} must be a float in [0, 1), got {rate!r}")
        self.cell = ConvLSTMCell(n, int(filters), kernel_size, strides, padding, data_format, dilation_rate,
                                 activation, recurrent_activation, use_bias, kernel_initializer,
                                 recurrent_initializer, bias_initializer, unit_forget_bias, dropout,
                                 recurrent_dropout, seed, penalties, dtype=self.dtype,
                                 trainable=self.trainable, name="conv_lstm_cell")
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self._carried_state = None          # [h, c] arrays after a call, when stateful

    # the cell's settings, read through as Keras does
    filters = property(lambda self: self.cell.filters)
    kernel_size = property(lambda self: self.cell.kernel_size)
    strides = property(lambda self: self.cell.strides)
    padding = property(lambda self: self.cell.padding)
    data_format = property(lambda self: self.cell.data_format)
    dilation_rate = property(lambda self: self.cell.dilation_rate)
    activation = property(lambda self: self.cell.activation)
    recurrent_activation = property(lambda self: self.cell.recurrent_activation)
    use_bias = property(lambda self: self.cell.use_bias)
    kernel_initializer = property(lambda self: self.cell.kernel_initializer)
    recurrent_initializer = property(lambda self: self.cell.recurrent_initializer)
    bias_initializer = property(lambda self: self.cell.bias_initializer)
    unit_forget_bias = property(lambda self: self.cell.unit_forget_bias)
    dropout = property(lambda self: self.cell.dropout)
    recurrent_dropout = property(lambda self: self.cell.recurrent_dropout)
    seed = property(lambda self: self.cell.seed)
    kernel_regularizer = property(lambda self: self.cell.kernel_regularizer)
    recurrent_regularizer = property(lambda self: self.cell.recurrent_regularizer)
    bias_regularizer = property(lambda self: self.cell.bias_regularizer)
    kernel_constraint = property(lambda self: self.cell.kernel_constraint)
    recurrent_constraint = property(lambda self: self.cell.recurrent_constraint)
    bias_constraint = property(lambda self: self.cell.bias_constraint)

    # -- shapes ---------------------------------------------------------------------------

    _LAYOUTS = {1: "(batch, time, steps, channels)", 2: "(batch, time, rows, cols, channels)",
                3: "(batch, time, depth, rows, cols, channels)"}

    def _layout(self):
        return self._LAYOUTS[self.RANK]

    def _check_shape(self, shape):
        if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
            raise ValueError(f"{_where(self)}: expected one input of shape {self._layout()}, got a list of "
                             f"{len(shape)} inputs; pass states with initial_state=")
        shape = tuple(shape)
        rank = self.RANK + 3
        if len(shape) != rank:
            hint = ""
            if len(shape) == rank - 1:
                hint = "; a sequence needs a time axis and a channel axis (e.g. x[..., None])"
            raise ValueError(f"{_where(self)}: expected input of rank {rank} {self._layout()}, got shape "
                             f"{shape_str(shape)}{hint}")
        if shape[-1] is None:
            raise ValueError(f"{_where(self)}: the channel axis (last) of the input must be known, got shape "
                             f"{shape_str(shape)}")
        if any(s is None for s in shape[2:-1]):
            raise ValueError(f"{_where(self)}: the spatial sizes of the input must be known (as in Keras), "
                             f"got shape {shape_str(shape)}")
        if shape[1] == 0:
            raise ValueError(f"{_where(self)}: the input has no time steps (shape {shape_str(shape)})")
        kernel = getattr(self.cell, "kernel", None)
        if kernel is not None and shape[-1] != kernel.shape[-2]:
            raise ValueError(f"{_where(self)}: expected input with {kernel.shape[-2]} channels (last axis), "
                             f"got shape {shape_str(shape)}")
        if self.padding == "valid":
            for axis in range(self.RANK):
                size = shape[2 + axis]
                eff = (self.kernel_size[axis] - 1) * self.dilation_rate[axis] + 1
                if size < eff:
                    raise ValueError(f"{_where(self)}: kernel_size {self.kernel_size} (dilated extent {eff}) "
                                     f"is larger than the input (shape {shape_str(shape)}) with "
                                     f"padding='valid'")
        return shape

    def _state_shape(self, shape):
        """``(*spatial, filters)`` of h and c for a ``(batch, time, *spatial, channels)`` input."""
        return tuple(conv_output_length(shape[2 + a], self.kernel_size[a], self.padding, self.strides[a],
                                        self.dilation_rate[a]) for a in range(self.RANK)) + (self.filters,)

    def _check_symbolic_input(self, inputs):
        self._check_shape(inputs.shape)

    def build(self, input_shape):
        shape = self._check_shape(input_shape)
        self._input_shape_seen = shape
        if not self.cell.built:
            self.cell.build((shape[0],) + shape[2:])
            for w in self.cell.weights:
                w.path = f"{self.name}/{self.cell.name}/{w.name}"
        self.built = True

    def compute_output_shape(self, input_shape, initial_state_shape=None):
        shape = self._check_shape(input_shape)
        state = (shape[0],) + self._state_shape(shape)
        out = (shape[0], shape[1]) + state[1:] if self.return_sequences else state
        if self.return_state:
            return [out, state, state]
        return out

    def compute_mask(self, inputs, mask=None):
        return sequence_output_mask(self, mask)

    # -- the recurrence -------------------------------------------------------------------

    def _conv(self, x, kernel, bias=None, recurrent=False):
        """The convolution of ``(n, *spatial, c)`` by ``(*kernel_size, c, f)``: the layer's
        input convolution, or the recurrent one (stride 1, "same", no dilation). ``conv2d``
        (1-D as rows of height 1) or, for three spatial axes, ``conv3d``."""
        ones = (1,) * self.RANK
        strides, padding, dilation = (ones, "same", ones) if recurrent else \
            (self.strides, self.padding, self.dilation_rate)
        if self.RANK in (2, 3):
            conv = conv2d if self.RANK == 2 else conv3d
            return conv(x, kernel, strides=strides, padding=padding, dilation_rate=dilation, bias=bias)
        n, length, c = x.shape
        y = conv2d(ops.reshape(x, (n, 1, length, c)), ops.expand_dims(kernel, 0),
                   strides=(1,) + tuple(strides[-1:]), padding=padding,
                   dilation_rate=(1,) + tuple(dilation[-1:]), bias=bias)
        return ops.reshape(y, (n,) + tuple(y.shape[2:]))

    def _gate_convs(self, x, kernel, bias, masks, recurrent):
        """The convolution of ``x`` with each gate's own dropout mask (Keras draws one per gate)."""
        F = self.filters
        last = (slice(None),) * (kernel.ndim - 1)
        parts = [self._conv(ops.multiply(x, m), kernel[last + (slice(k * F, (k + 1) * F),)],
                            None if bias is None else bias[k * F:(k + 1) * F], recurrent)
                 for k, m in enumerate(masks)]
        return ops.concatenate(parts, axis=-1)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        shape = self._check_shape(inputs.shape)
        cell = self.cell
        batch, steps = shape[0], shape[1]
        xp = backend.get_array_module(inputs)
        state_shape = (batch,) + self._state_shape(shape)
        states0 = self._initial_state(initial_state, state_shape)
        keep = _mask_array(self, mask, batch, steps, xp)
        F = self.filters
        step_shape = (batch * steps,) + shape[2:]
        x = ops.reshape(inputs, step_shape)
        if training and cell.dropout > 0:
            dmasks = [xp.repeat(_dropout_mask(inputs.value, (batch,) + shape[2:], cell.dropout, cell.seed_generator),
                                steps, axis=0) for _ in range(_GATES)]
            projected = self._gate_convs(x, cell.kernel, cell.bias, dmasks, recurrent=False)
        else:
            projected = self._conv(x, cell.kernel, cell.bias)
        projected = ops.reshape(projected, (batch, steps) + state_shape[1:-1] + (_GATES * F,))
        rmasks = None
        if training and cell.recurrent_dropout > 0:
            rmasks = [_dropout_mask(inputs.value, state_shape, cell.recurrent_dropout, cell.seed_generator)
                      for _ in range(_GATES)]
        if states0 is None:
            zeros = xp.zeros(state_shape, dtype=projected.dtype)
            h, c = Tensor(zeros), Tensor(zeros)
        else:
            h, c = states0
        act, ract = cell.activation, cell.recurrent_activation
        lead = (slice(None),) * (self.RANK + 1)
        order = range(steps - 1, -1, -1) if self.go_backwards else range(steps)
        outputs = []
        for t in order:
            if rmasks is None:
                rec = self._conv(h, cell.recurrent_kernel, recurrent=True)
            else:
                rec = self._gate_convs(h, cell.recurrent_kernel, None, rmasks, recurrent=True)
            a = ops.add(projected[:, t], rec)
            i, f, g, o = (a[lead + (slice(k * F, (k + 1) * F),)] for k in range(_GATES))
            c_new = ops.add(ops.multiply(ract(f), c), ops.multiply(ract(i), act(g)))
            h_new = ops.multiply(ract(o), act(c_new))
            if keep is not None:
                k_t = keep[:, t].reshape((batch,) + (1,) * (self.RANK + 1))
                c_new = ops.where(k_t, c_new, c)
                h_new = ops.where(k_t, h_new, h)
            h, c = h_new, c_new
            outputs.append(h)
        if self.stateful:
            self._carried_state = [h.value.copy(), c.value.copy()]
        output = self._masked_outputs(ops.stack(outputs, axis=1), keep, states0 is not None)
        if not self.return_sequences:
            output = output[:, -1]
        if self.return_state:
            if self.return_sequences and keep is not None:
                output._keras_mask = keep
            return [output, h, c]
        return output

    def _masked_outputs(self, states, keep, has_initial_state):
        """Outputs at masked steps, as Keras: zeros with ``zero_output_for_mask``, and zeros
        before the first unmasked step when an initial state was given (else the state)."""
        if keep is None:
            return states
        order = keep[:, ::-1] if self.go_backwards else keep
        extra = (1,) * (states.ndim - 2)
        if self.zero_output_for_mask:
            return ops.multiply(states, order.reshape(order.shape + extra).astype(states.dtype))
        if has_initial_state:
            seen = backend.get_array_module(order).cumsum(order, axis=1) > 0
            return ops.multiply(states, seen.reshape(seen.shape + extra).astype(states.dtype))
        return states

    def _initial_state(self, initial_state, state_shape):
        """``[h0, c0]`` checked against ``state_shape``; the carried states of a stateful layer;
        or None (zeros)."""
        if initial_state is None:
            if self.stateful and self._carried_state is not None:
                if tuple(self._carried_state[0].shape) == tuple(state_shape):
                    return [Tensor(s) for s in self._carried_state]
                raise ValueError(f"{_where(self)}: stateful layer carries states of shape "
                                 f"{shape_str(self._carried_state[0].shape)}, got an input that needs "
                                 f"{shape_str(state_shape)}; call reset_states()")
            return None
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != 2:
            raise ValueError(f"{_where(self)}: expected 2 initial states [h, c], each of shape "
                             f"{shape_str(state_shape)}, got {len(states)}")
        states = [_as_float_tensor(s, self.dtype) for s in states]
        for s in states:
            if tuple(s.shape) != tuple(state_shape):
                raise ValueError(f"{_where(self)}: initial_state must be [h, c], each of shape "
                                 f"{shape_str(state_shape)}, got {shape_str(s.shape)}")
        return states

    def reset_states(self, states=None):
        """Forget the carried states of a stateful layer (or set them to ``states``, ``[h, c]``)."""
        if states is None:
            self._carried_state = None
            return
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != 2:
            raise ValueError(f"{_where(self)}: reset_states expects [h, c], got {len(states)} state(s)")
        self._carried_state = carried_copies(states, self.dtype)

    reset_state = reset_states

    @property
    def states(self):
        return None if self._carried_state is None else [Tensor(s) for s in self._carried_state]

    def get_initial_state(self, batch_size):
        """``[h0, c0]``: zeros ``(batch_size, *state spatial, filters)`` (the layer must be built:
        the state size follows from the input size)."""
        shape = getattr(self, "_input_shape_seen", None)
        if shape is None:
            raise ValueError(f"{_where(self)}: get_initial_state needs a built layer (the state size "
                             f"follows from the input size)")
        return [ops.zeros((batch_size,) + self._state_shape(shape), dtype=self.dtype) for _ in range(2)]

    def get_config(self):
        return {**super().get_config(), "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask,
                **_settings(self.cell, self.activity_regularizer)}


def _public_init(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                bias_initializer="zeros", unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0,
                seed=None, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                **kwargs):
    """The constructor ConvLSTM1D, ConvLSTM2D and ConvLSTM3D show: Keras's common arguments by
    name, the regularizers / constraints and ``unroll`` / ``zero_output_for_mask`` in
    ``**kwargs`` (each class's docstring documents them)."""
    _ConvLSTM.__init__(self, filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                       dilation_rate=dilation_rate, activation=activation,
                       recurrent_activation=recurrent_activation, use_bias=use_bias,
                       kernel_initializer=kernel_initializer, recurrent_initializer=recurrent_initializer,
                       bias_initializer=bias_initializer, unit_forget_bias=unit_forget_bias, dropout=dropout,
                       recurrent_dropout=recurrent_dropout, seed=seed, return_sequences=return_sequences,
                       return_state=return_state, go_backwards=go_backwards, stateful=stateful, **kwargs)


class ConvLSTM2D(_ConvLSTM):
    """2-D convolutional LSTM over sequences of images, Keras 3 semantics.

    Input ``(batch, time, rows, cols, channels)``; output the last state ``h`` ``(batch,
    new_rows, new_cols, filters)``, or every step's ``(batch, time, new_rows, new_cols,
    filters)`` with ``return_sequences=True``; with ``return_state=True`` a list ``[output,
    h, c]``. ``new_rows`` / ``new_cols`` follow the input convolution's ``strides``,
    ``padding`` and ``dilation_rate`` (as for ``Conv2D``); the recurrent convolution keeps
    that size ("same", stride 1). Weights on ``layer.cell``: ``kernel (kh, kw, channels,
    4*filters)``, ``recurrent_kernel (kh, kw, filters, 4*filters)``, ``bias (4*filters,)``,
    gates in Keras's order (input, forget, cell, output).

    Args:
        filters (int): channels of the states and of the output.
        kernel_size (int | tuple[int, int]): window of both convolutions.
        strides (int | tuple[int, int]): step of the input convolution (default 1).
        padding (str): ``"valid"`` (default) or ``"same"``, of the input convolution.
        data_format (str | None): ``None`` or ``"channels_last"``, the only layout supported
            (``"channels_first"`` is refused).
        dilation_rate (int | tuple[int, int]): of the input convolution (default 1); strides
            and dilation cannot both exceed 1 (as in Keras).
        activation (str | callable): of the cell candidate and of ``c`` (default ``"tanh"``).
        recurrent_activation (str | callable): of the i, f, o gates (default ``"sigmoid"``).
        use_bias (bool): add a bias (default True).
        kernel_initializer (str | Initializer): default ``"glorot_uniform"``.
        recurrent_initializer (str | Initializer): default ``"orthogonal"``.
        bias_initializer (str | Initializer): default ``"zeros"``.
        unit_forget_bias (bool): start the forget gate's bias at 1 (default True).
        dropout (float): fraction of the inputs dropped in training, in ``[0, 1)``; one mask
            per gate and sequence, fixed over time (as Keras); default 0.
        recurrent_dropout (float): the same for the state ``h``; default 0.
        seed (int | None): seed of the dropout masks (default None: the global generator).
        return_sequences (bool): return every step's output (default False).
        return_state (bool): also return the final ``h`` and ``c`` (default False).
        go_backwards (bool): process the sequence from the end; the returned sequence is then
            in reversed time order, as Keras (default False).
        stateful (bool): reuse each batch's final states as the next batch's initial states
            (``reset_states()`` clears them); default False.
        unroll (bool): accepted for Keras compatibility (the loop is always a Python loop).
        zero_output_for_mask (bool): outputs at masked steps are zeros instead of the
            previous output (default False).
        kernel_regularizer (str | Regularizer | None): penalty on ``kernel`` added to the loss
            (e.g. ``keras.regularizers.L2(1e-4)``); default None (passed in ``**kwargs``, as
            the six settings below).
        recurrent_regularizer (str | Regularizer | None): penalty on ``recurrent_kernel``.
        bias_regularizer (str | Regularizer | None): penalty on ``bias``.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output (each
            returned tensor, ``h`` and ``c`` too with ``return_state``), divided by the batch
            size, added to the loss at every call, as Keras 3.
        kernel_constraint (str | Constraint | None): projection of ``kernel`` after each
            optimizer step (e.g. ``keras.constraints.MaxNorm(3)``).
        recurrent_constraint (str | Constraint | None): the same for ``recurrent_kernel``.
        bias_constraint (str | Constraint | None): the same for ``bias``.
        **kwargs: those seven, ``unroll`` and ``zero_output_for_mask``; ``name``,
            ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: ``(batch, time, rows, cols, channels)``.
        initial_state: ``[h, c]``, each ``(batch, new_rows, new_cols, filters)`` (default zeros).
        mask: ``(batch, time)`` bool; masked steps keep the previous states.
        training: dropout only when True.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True)
        >>> layer(np.ones((2, 5, 8, 8, 1))).shape
        (2, 5, 8, 8, 4)
    """

    RANK = 2

    __init__ = _public_init


class ConvLSTM1D(_ConvLSTM):
    """1-D convolutional LSTM over sequences of signals, Keras 3 semantics.

    Input ``(batch, time, steps, channels)``; output the last state ``h`` ``(batch,
    new_steps, filters)``, or ``(batch, time, new_steps, filters)`` with
    ``return_sequences=True``; with ``return_state=True`` a list ``[output, h, c]``. Weights
    on ``layer.cell``: ``kernel (k, channels, 4*filters)``, ``recurrent_kernel (k, filters,
    4*filters)``, ``bias (4*filters,)``, gates i, f, c, o. Everything else as
    ``ConvLSTM2D``, with one spatial axis.

    Args:
        filters (int): channels of the states and of the output.
        kernel_size (int | tuple[int]): window of both convolutions.
        strides (int | tuple[int]): step of the input convolution (default 1).
        padding (str): ``"valid"`` (default) or ``"same"``.
        data_format (str | None): ``None`` or ``"channels_last"`` only.
        dilation_rate (int | tuple[int]): of the input convolution (default 1).
        activation (str | callable): default ``"tanh"``.
        recurrent_activation (str | callable): default ``"sigmoid"``.
        use_bias (bool): add a bias (default True).
        kernel_initializer (str | Initializer): default ``"glorot_uniform"``.
        recurrent_initializer (str | Initializer): default ``"orthogonal"``.
        bias_initializer (str | Initializer): default ``"zeros"``.
        unit_forget_bias (bool): start the forget gate's bias at 1 (default True).
        dropout (float): input dropout in training, in ``[0, 1)``; default 0.
        recurrent_dropout (float): state dropout in training, in ``[0, 1)``; default 0.
        seed (int | None): seed of the dropout masks.
        return_sequences (bool): return every step's output (default False).
        return_state (bool): also return the final ``h`` and ``c`` (default False).
        go_backwards (bool): process the sequence from the end (default False).
        stateful (bool): carry the final states to the next batch (default False).
        kernel_regularizer (str | Regularizer | None): penalty on ``kernel`` (in ``**kwargs``,
            as the six below; all as for ``ConvLSTM2D``).
        recurrent_regularizer (str | Regularizer | None): penalty on ``recurrent_kernel``.
        bias_regularizer (str | Regularizer | None): penalty on ``bias``.
        activity_regularizer (str | Regularizer | None): penalty on the output(s), divided by
            the batch size.
        kernel_constraint (str | Constraint | None): projection of ``kernel`` after each step.
        recurrent_constraint (str | Constraint | None): the same for ``recurrent_kernel``.
        bias_constraint (str | Constraint | None): the same for ``bias``.
        **kwargs: those seven, ``unroll`` and ``zero_output_for_mask`` as for ``ConvLSTM2D``;
            ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.ConvLSTM1D(4, 3)(np.ones((2, 5, 10, 2))).shape
        (2, 8, 4)
    """

    RANK = 1

    __init__ = _public_init


class ConvLSTM3D(_ConvLSTM):
    """3-D convolutional LSTM over sequences of volumes, Keras 3 semantics.

    Input ``(batch, time, depth, rows, cols, channels)``; output the last state ``h``
    ``(batch, new_depth, new_rows, new_cols, filters)``, or every step's ``(batch, time,
    new_depth, new_rows, new_cols, filters)`` with ``return_sequences=True``; with
    ``return_state=True`` a list ``[output, h, c]``. The new sizes follow the input
    convolution's ``strides``, ``padding`` and ``dilation_rate`` (as for ``Conv3D``).
    Weights on ``layer.cell``: ``kernel (kd, kh, kw, channels, 4*filters)``,
    ``recurrent_kernel (kd, kh, kw, filters, 4*filters)``, ``bias (4*filters,)``, gates i, f,
    c, o. Everything else as ``ConvLSTM2D``, with three spatial axes; the convolutions are
    ``kerasette.ops.conv3d`` nodes.

    Args:
        filters (int): channels of the states and of the output.
        kernel_size (int | tuple[int, int, int]): window of both convolutions.
        strides (int | tuple[int, int, int]): step of the input convolution (default 1).
        padding (str): ``"valid"`` (default) or ``"same"``.
        data_format (str | None): ``None`` or ``"channels_last"`` only (``"channels_first"``
            is refused).
        dilation_rate (int | tuple[int, int, int]): of the input convolution (default 1);
            strides and dilation cannot both exceed 1.
        activation (str | callable): default ``"tanh"``.
        recurrent_activation (str | callable): default ``"sigmoid"``.
        use_bias (bool): add a bias (default True).
        kernel_initializer (str | Initializer): default ``"glorot_uniform"``.
        recurrent_initializer (str | Initializer): default ``"orthogonal"``.
        bias_initializer (str | Initializer): default ``"zeros"``.
        unit_forget_bias (bool): start the forget gate's bias at 1 (default True).
        dropout (float): input dropout in training, in ``[0, 1)``; default 0.
        recurrent_dropout (float): state dropout in training, in ``[0, 1)``; default 0.
        seed (int | None): seed of the dropout masks.
        return_sequences (bool): return every step's output (default False).
        return_state (bool): also return the final ``h`` and ``c`` (default False).
        go_backwards (bool): process the sequence from the end (default False).
        stateful (bool): carry the final states to the next batch (default False).
        kernel_regularizer (str | Regularizer | None): penalty on ``kernel`` (in ``**kwargs``,
            as the six below; all as for ``ConvLSTM2D``).
        recurrent_regularizer (str | Regularizer | None): penalty on ``recurrent_kernel``.
        bias_regularizer (str | Regularizer | None): penalty on ``bias``.
        activity_regularizer (str | Regularizer | None): penalty on the output(s), divided by
            the batch size.
        kernel_constraint (str | Constraint | None): projection of ``kernel`` after each step.
        recurrent_constraint (str | Constraint | None): the same for ``recurrent_kernel``.
        bias_constraint (str | Constraint | None): the same for ``bias``.
        **kwargs: those seven, ``unroll`` and ``zero_output_for_mask`` as for ``ConvLSTM2D``;
            ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.ConvLSTM3D(2, 3)(np.ones((2, 3, 5, 5, 5, 1))).shape
        (2, 3, 3, 3, 2)
    """

    RANK = 3
    _splits_batch = False           # conv3d runs on the whole batch (BLAS keeps its threads)

    __init__ = _public_init
