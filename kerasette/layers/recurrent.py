"""Recurrent layers: SimpleRNNCell, SimpleRNN and the Bidirectional wrapper.

Inputs are ``(batch, time, features)``. ``SimpleRNN(units)`` computes
``h_t = activation(x_t @ kernel + bias + h_{t-1} @ recurrent_kernel)`` and
returns the last state ``(batch, units)``, or every state
``(batch, time, units)`` with ``return_sequences=True``. As in Keras 3 the
weights live on ``layer.cell`` (a ``SimpleRNNCell``): ``kernel (features,
units)``, ``recurrent_kernel (units, units)``, ``bias (units,)``, in that
order, so Keras weight files map one to one.

The whole recurrence of a call is one graph node (``ops.rnn.simple_rnn``):
backpropagation through time costs one Python step per time step, not one
per elementary op. Activations other than tanh / relu / sigmoid / linear
fall back to a step-by-step graph of ordinary ops (correct, slower).

``Bidirectional(layer)`` runs a copy of ``layer`` forwards and another
copy backwards in time and merges the two outputs (concat, sum, mul, ave,
or a list of both with ``merge_mode=None``); ``layer`` may also be a
convolutional LSTM (``ConvLSTM1D/2D/3D``), whose inputs have spatial axes.
"""
import numpy as np

from .. import activations, backend, constraints, initializers, ops, random, regularizers
from ..autograd.tensor import Tensor
from ..ops.rnn import FUSED_ACTIVATIONS, simple_rnn
from .core import shape_str
from .layer import Layer
from .symbolic import KerasTensor

__all__ = ["SimpleRNNCell", "SimpleRNN", "Bidirectional"]


class SimpleRNNCell(Layer):
    """One step of a SimpleRNN: ``(x_t (batch, features), h_{t-1} (batch, units)) -> h_t``.

    Holds the weights ``kernel (features, units)``, ``recurrent_kernel
    (units, units)`` and ``bias (units,)``. ``dropout`` / ``recurrent_dropout``
    are the fractions of inputs / previous states dropped during training;
    ``SimpleRNN`` draws one mask per call and keeps it for every step.

    Args:
        units (int): size of the state.
        activation (str | callable): default ``"tanh"``.
        use_bias (bool): default True.
        kernel_initializer (str | Initializer): default ``"glorot_uniform"``.
        recurrent_initializer (str | Initializer): default ``"orthogonal"``.
        bias_initializer (str | Initializer): default ``"zeros"``.
        kernel_regularizer (str | Regularizer | None): penalty on ``kernel`` added to the
            loss (e.g. ``keras.regularizers.L2(1e-4)``); default None.
        recurrent_regularizer (str | Regularizer | None): penalty on ``recurrent_kernel``;
            default None.
        bias_regularizer (str | Regularizer | None): penalty on ``bias``; default None.
        kernel_constraint (str | Constraint | None): projection applied to ``kernel`` after
            each optimizer step (e.g. ``keras.constraints.MaxNorm(3)``); default None.
        recurrent_constraint (str | Constraint | None): the same for ``recurrent_kernel``;
            default None.
        bias_constraint (str | Constraint | None): the same for ``bias``; default None.
        dropout (float): fraction of inputs dropped in training, in ``[0, 1)``; default 0.
        recurrent_dropout (float): fraction of the previous state dropped, in ``[0, 1)``;
            default 0.
        seed (int | None): seed of the cell's ``keras.random.SeedGenerator`` (its dropout
            masks): two cells made with the same seed draw the same masks; None draws from
            the global generator, which ``keras.utils.set_random_seed`` restarts.
        **kwargs: ``activity_regularizer`` (str | Regularizer | None): as on any Keras layer,
            a penalty on what a call of the cell returns (the step's output and states), each
            divided by the batch size, added to the loss; ``name``, ``trainable``, ``dtype``
            as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> cell = keras.layers.SimpleRNNCell(4)
        >>> out, state = cell(np.ones((2, 3)), [np.zeros((2, 4))])
        >>> out.shape
        (2, 4)
    """

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, kernel_constraint=None,
                 recurrent_constraint=None, bias_constraint=None, dropout=0.0, recurrent_dropout=0.0,
                 seed=None, **kwargs):
        activity_regularizer = kwargs.pop("activity_regularizer", None)     # Keras's Layer argument
        super().__init__(**kwargs)
        if not isinstance(units, (int, np.integer)) or isinstance(units, bool) or units <= 0:
            raise ValueError(f"{type(self).__name__} '{self.name}': units must be a positive integer, "
                             f"got {units!r}")
        set_weight_penalties(self, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                             kernel_constraint, recurrent_constraint, bias_constraint)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        for label, rate in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
            if not 0 <= rate < 1:
                raise ValueError(f"{type(self).__name__} '{self.name}': {label} must be in [0, 1), "
                                 f"got {rate!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.dropout = float(dropout)
        self.recurrent_dropout = float(recurrent_dropout)
        self.seed = seed
        # dropout masks: a seed gives the cell its own generator; None draws from the global one
        self.seed_generator = random.SeedGenerator(seed) if seed is not None else None
        self.state_size = self.units
        self.output_size = self.units

    GATES = 1        # kernel widths are GATES * units (LSTM: 4, GRU: 3)

    def build(self, input_shape):
        self._add_kernels(input_shape)
        self.bias = self._add_bias((self.units,)) if self.use_bias else None
        self.built = True

    def _add_bias(self, shape):
        return self.add_weight(shape=shape, initializer=self.bias_initializer, name="bias",
                               regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def _add_kernels(self, input_shape):
        """``kernel (features, GATES*units)`` and ``recurrent_kernel (units, GATES*units)``."""
        features = input_shape[-1] if input_shape else None
        if features is None:
            raise ValueError(f"{type(self).__name__} '{self.name}': the feature axis of the input must be "
                             f"known, got input shape {shape_str(input_shape)}")
        k = self.GATES * self.units
        self.kernel = self.add_weight(shape=(features, k), initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.recurrent_kernel = self.add_weight(shape=(self.units, k), initializer=self.recurrent_initializer,
                                                name="recurrent_kernel", regularizer=self.recurrent_regularizer,
                                                constraint=self.recurrent_constraint)

    def call(self, sequence, states, training=False):
        """One step; returns ``(h_t, [h_t])`` (or ``(h_t, h_t)`` for a bare state).

        Args:
            sequence (Tensor): this step's input ``(batch, features)``.
            states (list | Tensor): ``[h (batch, units)]`` (or a bare tensor).
            training (bool): apply the cell's dropout (default False).
        """
        as_list = isinstance(states, (list, tuple))
        prev = _as_float_tensor(states[0] if as_list else states)
        if len(sequence.shape) != 2 or sequence.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"SimpleRNNCell '{self.name}': expected input of shape "
                             f"{shape_str((None, self.kernel.shape[0]))}, got {shape_str(sequence.shape)}")
        if tuple(prev.shape) != (sequence.shape[0], self.units):
            raise ValueError(f"SimpleRNNCell '{self.name}': expected a state of shape "
                             f"{shape_str((sequence.shape[0], self.units))}, got {shape_str(prev.shape)}")
        if training and self.dropout > 0:
            sequence = random.dropout(sequence, self.dropout, seed=self.seed_generator)
        if training and self.recurrent_dropout > 0:
            prev = random.dropout(prev, self.recurrent_dropout, seed=self.seed_generator)
        h = ops.add(ops.dense(sequence, self.kernel, self.bias), ops.matmul(prev, self.recurrent_kernel))
        h = self.activation(h)
        return h, ([h] if as_list else h)

    def get_initial_state(self, batch_size=None):
        """``[zeros (batch_size, units)]``.

        Args:
            batch_size (int | None): number of sequences.
        """
        return [ops.zeros((batch_size, self.units), dtype=self.dtype)]

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        config = {**super().get_config(), "units": self.units,
                  "activation": activations.serialize(self.activation), "use_bias": self.use_bias,
                  "kernel_initializer": initializers.serialize(self.kernel_initializer),
                  "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
                  "bias_initializer": initializers.serialize(self.bias_initializer),
                  **weight_penalty_config(self),
                  "dropout": self.dropout, "recurrent_dropout": self.recurrent_dropout, "seed": self.seed}
        if self.activity_regularizer is not None:      # Keras's Layer writes it only when set
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config


def set_weight_penalties(owner, kernel_regularizer, recurrent_regularizer, bias_regularizer,
                         kernel_constraint, recurrent_constraint, bias_constraint):
    """The regularizers and constraints of a recurrent cell's three weights (``kernel``,
    ``recurrent_kernel``, ``bias``), resolved from Keras arguments onto ``owner``; ``build``
    hands them to ``add_weight``, so the penalties join ``losses`` and the optimizer projects
    the weights after each step. They act on the weights, never on the recurrence: the fused
    kernels run as without them."""
    owner.kernel_regularizer = regularizers.get(kernel_regularizer)
    owner.recurrent_regularizer = regularizers.get(recurrent_regularizer)
    owner.bias_regularizer = regularizers.get(bias_regularizer)
    owner.kernel_constraint = constraints.get(kernel_constraint)
    owner.recurrent_constraint = constraints.get(recurrent_constraint)
    owner.bias_constraint = constraints.get(bias_constraint)


def weight_penalty_config(cell):
    """The ``get_config`` entries ``set_weight_penalties`` set, in Keras's order."""
    return {"kernel_regularizer": regularizers.serialize(cell.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(cell.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(cell.bias_regularizer),
            "kernel_constraint": constraints.serialize(cell.kernel_constraint),
            "recurrent_constraint": constraints.serialize(cell.recurrent_constraint),
            "bias_constraint": constraints.serialize(cell.bias_constraint)}


def refuse_time_major(layer, time_major):
    """Keras 2 configs hold ``time_major`` (always written; False unless set): False is the
    only layout, ``(batch, time, features)``; True is refused naming the layer."""
    if time_major:
        raise NotImplementedError(f"{type(layer).__name__} '{layer.name}': time_major=True (a Keras 2 "
                                  f"option) is not implemented; inputs are (batch, time, features)")


class SimpleRNN(Layer):
    """Fully-connected RNN whose output is fed back as the next step's state.

    Input ``(batch, time, features)``; output ``(batch, units)``, or
    ``(batch, time, units)`` with ``return_sequences=True``; with
    ``return_state=True`` a list ``[output, final_state]``.

    Weights: ``kernel`` ``(features, units)``, ``recurrent_kernel`` ``(units, units)``,
    ``bias`` ``(units,)``, as Keras stores them.

    Args:
        units (int): size of the state and of the output; a positive integer.
        activation (str | callable): applied at each step (default ``"tanh"``; tanh / relu /
            sigmoid / linear run fused).
        use_bias (bool): add a bias (default True).
        kernel_initializer (str | Initializer): input kernel (default ``"glorot_uniform"``).
        recurrent_initializer (str | Initializer): recurrent kernel (default ``"orthogonal"``).
        bias_initializer (str | Initializer): bias (default ``"zeros"``).
        kernel_regularizer (str | Regularizer | None): penalty on ``kernel`` added to the loss
            (e.g. ``keras.regularizers.L2(1e-4)``); default None.
        recurrent_regularizer (str | Regularizer | None): penalty on ``recurrent_kernel``;
            default None.
        bias_regularizer (str | Regularizer | None): penalty on ``bias``; default None.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output (each
            returned tensor, the state too with ``return_state``), divided by the batch size,
            added to the loss at every call, as Keras 3's LSTM and GRU apply theirs (Keras
            3.15's SimpleRNN takes the argument but drops it); default None.
        kernel_constraint (str | Constraint | None): projection applied to ``kernel`` after
            each optimizer step (e.g. ``keras.constraints.MaxNorm(3)``); default None.
        recurrent_constraint (str | Constraint | None): the same for ``recurrent_kernel``;
            default None.
        bias_constraint (str | Constraint | None): the same for ``bias``; default None.
        dropout (float): fraction of the inputs dropped in training, in ``[0, 1)``
            (one mask per sequence, as Keras); default 0.
        recurrent_dropout (float): fraction of the state dropped in training, in ``[0, 1)``;
            default 0.
        return_sequences (bool): return the output of every step, ``(batch, time, units)``,
            instead of the last one (default False).
        return_state (bool): also return the final state: ``[output, final_state]``
            (default False).
        go_backwards (bool): process the sequence from the end; the returned sequence
            is then in reversed time order, as Keras (default False).
        stateful (bool): reuse each batch's final state as the next batch's initial
            state (``reset_states()`` clears it); default False.
        unroll (bool): accepted for Keras compatibility; the loop is always a Python
            loop over time inside one graph node.
        zero_output_for_mask (bool): outputs at masked steps are zeros instead of the
            previous output (``Bidirectional`` turns it on for sequences); default False.
        seed (int | None): seed of the cell's ``keras.random.SeedGenerator``: two layers made
            with the same seed draw the same dropout masks; None draws from the global
            generator, which ``keras.utils.set_random_seed`` restarts.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: ``(batch, time, features)``.
        initial_state: a ``(batch, units)`` tensor or a list of one (default zeros).
        mask: ``(batch, time)`` bool, or from a ``Masking`` / ``Embedding(mask_zero=True)``
            layer; masked steps keep the previous state.
        training: dropout only when True.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.SimpleRNN(4)(np.ones((2, 5, 3))).shape
        (2, 4)
    """

    _splits_batch = True        # its ops split their batch over kerasette.parallel threads

    def __init__(self, units, activation="tanh", use_bias=True, kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", bias_initializer="zeros", kernel_regularizer=None,
                 recurrent_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, recurrent_constraint=None, bias_constraint=None, dropout=0.0,
                 recurrent_dropout=0.0, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, seed=None, **kwargs):
        time_major = kwargs.pop("time_major", False)
        super().__init__(**kwargs)
        refuse_time_major(self, time_major)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.cell = SimpleRNNCell(units, activation=activation, use_bias=use_bias,
                                  kernel_initializer=kernel_initializer,
                                  recurrent_initializer=recurrent_initializer,
                                  bias_initializer=bias_initializer, kernel_regularizer=kernel_regularizer,
                                  recurrent_regularizer=recurrent_regularizer,
                                  bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                                  recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                                  dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed,
                                  dtype=self.dtype, trainable=self.trainable, name="simple_rnn_cell")
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.seed = seed
        self.supports_masking = True
        self._carried_state = None          # the last final state when stateful

    # the cell's settings, read through as Keras does
    units = property(lambda self: self.cell.units)
    activation = property(lambda self: self.cell.activation)
    use_bias = property(lambda self: self.cell.use_bias)
    dropout = property(lambda self: self.cell.dropout)
    recurrent_dropout = property(lambda self: self.cell.recurrent_dropout)
    kernel_initializer = property(lambda self: self.cell.kernel_initializer)
    recurrent_initializer = property(lambda self: self.cell.recurrent_initializer)
    bias_initializer = property(lambda self: self.cell.bias_initializer)
    kernel_regularizer = property(lambda self: self.cell.kernel_regularizer)
    recurrent_regularizer = property(lambda self: self.cell.recurrent_regularizer)
    bias_regularizer = property(lambda self: self.cell.bias_regularizer)
    kernel_constraint = property(lambda self: self.cell.kernel_constraint)
    recurrent_constraint = property(lambda self: self.cell.recurrent_constraint)
    bias_constraint = property(lambda self: self.cell.bias_constraint)
    state_size = property(lambda self: [self.cell.units])

    def build(self, input_shape):
        self._check_sequence_shape(input_shape)
        if not self.cell.built:
            self.cell.build((input_shape[0],) + tuple(input_shape[2:]))
            self.cell.built = True
            for w in self.cell.weights:
                w.path = f"{self.name}/{self.cell.name}/{w.name}"
        self.built = True

    def call(self, inputs, initial_state=None, mask=None, training=None):
        x, h0, keep, rmask = self._checked_inputs(inputs, initial_state, mask, training)
        cell = self.cell
        act = activations.serialize(cell.activation)
        if act in FUSED_ACTIVATIONS:
            states = simple_rnn(x, cell.kernel, cell.recurrent_kernel, cell.bias, h0, keep, act,
                                self.go_backwards, rmask)
        else:
            states = _rnn_by_steps(x, cell, h0, keep, self.go_backwards, rmask)
        final = states[:, -1]
        outputs = self._masked_outputs(states, keep, h0 is not None)
        output = outputs if self.return_sequences else outputs[:, -1]
        if self.stateful:
            self._carried_state = final.value.copy()
        if self.return_state:
            if self.return_sequences and keep is not None:
                output._keras_mask = keep
            return [output, final]
        return output

    def _checked_inputs(self, inputs, initial_state, mask, training):
        """``(x, initial states, keep, rmask)``: the input checked against the built kernel
        (dropped out in training), the checked initial state(s) (``_initial_state``), the
        ``(batch, time)`` mask as an array, the recurrent dropout mask."""
        shape = tuple(inputs.shape)
        self._check_sequence_shape(shape)
        features = self.cell.kernel.shape[0]
        if shape[2] != features:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected input with {features} features "
                             f"(batch, time, {features}), got shape {shape_str(shape)}")
        batch, steps = shape[0], shape[1]
        states0 = self._initial_state(initial_state, batch)
        keep = _mask_array(self, mask, batch, steps, backend.get_array_module(inputs))
        x = inputs
        rmask = None
        if training and self.cell.dropout > 0:
            x = ops.multiply(x, _dropout_mask(x.value, (batch, 1, shape[2]), self.cell.dropout,
                                              self.cell.seed_generator))
        if training and self.cell.recurrent_dropout > 0:
            rmask = _dropout_mask(x.value, (batch, self.units), self.cell.recurrent_dropout,
                                  self.cell.seed_generator)
        return x, states0, keep, rmask

    def reset_states(self, states=None):
        """Forget the carried state of a stateful layer (or set it to ``states``).

        Args:
            states (Tensor | array | list | None): the next batch's initial state
                ``(batch, units)`` (or a list of one); None (default) resets to zeros.
        """
        if states is not None:
            states = states[0] if isinstance(states, (list, tuple)) else states
            (self._carried_state,) = carried_copies([states], self.dtype)
        else:
            self._carried_state = None

    reset_state = reset_states

    @property
    def states(self):
        return None if self._carried_state is None else [Tensor(self._carried_state)]

    def _masked_outputs(self, states, keep, has_initial_state):
        """The per-step outputs from the per-step states ``(batch, time, units)`` under a mask
        ``keep`` ``(batch, time)``, as Keras: zeros at masked steps with ``zero_output_for_mask``,
        and zeros before the first unmasked step when an initial state was given."""
        if keep is None:
            return states
        order = keep[:, ::-1] if self.go_backwards else keep
        if self.zero_output_for_mask:
            return ops.multiply(states, order[..., None].astype(states.dtype))
        if has_initial_state:
            seen = backend.get_array_module(order).cumsum(order, axis=1) > 0
            return ops.multiply(states, seen[..., None].astype(states.dtype))
        return states

    def get_initial_state(self, batch_size):
        """The zero state the layer starts from: ``[zeros (batch_size, units)]``.

        Args:
            batch_size (int): number of sequences.
        """
        return self.cell.get_initial_state(batch_size)

    def compute_output_shape(self, input_shape, initial_state_shape=None):
        """The output shape(s) for a ``(batch, time, features)`` input.

        Args:
            input_shape (tuple): ``(batch, time, features)``.
            initial_state_shape (tuple | list | None): accepted with the call's
                ``initial_state``; the state shapes follow from ``units``.
        """
        batch = input_shape[0]
        out = (batch, input_shape[1], self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out, (batch, self.units)]
        return out

    def compute_mask(self, inputs, mask=None):
        return sequence_output_mask(self, mask)

    def _check_symbolic_input(self, inputs):
        self._check_sequence_shape(tuple(inputs.shape))

    def _check_sequence_shape(self, shape):
        cls = type(self).__name__          # SimpleRNN, LSTM or GRU
        if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
            raise ValueError(f"{cls} '{self.name}': expected one input of shape (batch, time, features), "
                             f"got a list of {len(shape)} inputs; pass states with initial_state=")
        if len(shape) != 3:
            raise ValueError(f"{cls} '{self.name}': expected input of rank 3 (batch, time, features), "
                             f"got shape {shape_str(shape)}")
        if shape[2] is None:
            raise ValueError(f"{cls} '{self.name}': the feature axis must be known, "
                             f"got shape {shape_str(shape)}")

    def _initial_state(self, initial_state, batch):
        if initial_state is None:
            if self.stateful and self._carried_state is not None:
                if self._carried_state.shape[0] == batch:
                    return Tensor(self._carried_state)
                raise ValueError(f"SimpleRNN '{self.name}': stateful layer carries a state for batch "
                                 f"{self._carried_state.shape[0]}, got a batch of {batch}; call reset_states()")
            return None
        if isinstance(initial_state, (list, tuple)):
            if len(initial_state) != 1:
                raise ValueError(f"SimpleRNN '{self.name}': expected 1 initial state of shape "
                                 f"{shape_str((batch, self.units))}, got {len(initial_state)} states")
            initial_state = initial_state[0]
        h0 = _as_float_tensor(initial_state, self.dtype)
        if tuple(h0.shape) != (batch, self.units):
            raise ValueError(f"SimpleRNN '{self.name}': initial_state must have shape "
                             f"{shape_str((batch, self.units))}, got {shape_str(h0.shape)}")
        return h0

    def get_config(self):
        config = {k: v for k, v in self.cell.get_config().items()
                  if k not in ("name", "trainable", "dtype", "batch_input_shape")}
        config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return {**super().get_config(), **config, "return_sequences": self.return_sequences,
                "return_state": self.return_state, "go_backwards": self.go_backwards,
                "stateful": self.stateful, "unroll": self.unroll,
                "zero_output_for_mask": self.zero_output_for_mask}


class Bidirectional(Layer):
    """Runs a recurrent layer forwards and a copy backwards in time, then merges.

    ``forward_layer`` and ``backward_layer`` are rebuilt from ``layer``'s
    config (named ``forward_<name>`` and ``backward_<name>``, the backward one
    with ``go_backwards`` flipped), so they never share weights with
    ``layer``. With ``return_sequences`` the backward output is reversed back
    into time order before merging.

    Args:
        layer (Layer): a recurrent layer (one with ``go_backwards``,
            ``return_sequences`` and ``return_state``): ``SimpleRNN``, ``LSTM``, ``GRU``, ``RNN``,
            or a convolutional LSTM (``ConvLSTM1D`` / ``ConvLSTM2D`` / ``ConvLSTM3D``, whose
            inputs are sequences of signals, images or volumes and whose states are ``[h, c]``).
        merge_mode (str | None): ``"concat"`` (default; the last axis doubles: ``(batch,
            2 * units)``, or ``2 * filters`` channels), ``"sum"``, ``"mul"``, ``"ave"``, or None for a list
            ``[forward_output, backward_output]``.
        weights (list | None): initial weights, the forward layer's first, then the backward's.
        backward_layer (Layer | None): a custom backward layer; must have the opposite
            ``go_backwards`` and the same ``return_sequences``, ``return_state`` and ``stateful``.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    With ``return_state`` the result is ``[output(s)..., forward states...,
    backward states...]``; ``initial_state`` is split the same way (first
    half forward, second half backward).

    Call arguments:
        inputs: ``(batch, time, features)``; for a convolutional LSTM ``(batch, time,
            *spatial, channels)``.
        initial_state: the forward layer's states followed by the backward layer's
            (default zeros).
        mask: ``(batch, time)`` bool, or from the previous layer.
        training: dropout only when True.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> bi = keras.layers.Bidirectional(keras.layers.SimpleRNN(4, return_sequences=True))
        >>> bi(np.ones((2, 5, 3))).shape
        (2, 5, 8)
        >>> conv = keras.layers.Bidirectional(keras.layers.ConvLSTM2D(2, 3, padding="same"))
        >>> conv(np.ones((2, 4, 6, 6, 1))).shape
        (2, 6, 6, 4)
    """

    MERGE_MODES = ("concat", "sum", "mul", "ave", None)

    def __init__(self, layer, merge_mode="concat", weights=None, backward_layer=None, **kwargs):
        from .serialization import deserialize, serialize
        _check_recurrent("layer", layer)
        if backward_layer is not None:
            _check_recurrent("backward_layer", backward_layer)
        if merge_mode not in self.MERGE_MODES:
            raise ValueError(f"Bidirectional: unknown merge_mode {merge_mode!r}; expected one of "
                             f"'concat', 'sum', 'mul', 'ave' or None")
        kwargs.setdefault("dtype", layer.dtype)         # inputs are cast to the wrapped layer's dtype
        super().__init__(**kwargs)
        config = serialize(layer)
        config.pop("build_config", None)
        config["config"]["name"] = "forward_" + _drop_prefix(layer.name, "forward_")
        own = _own_classes(layer)           # a user's unregistered cell class copies too
        self.forward_layer = deserialize(config, own)
        if backward_layer is None:
            config = serialize(layer)
            config.pop("build_config", None)
            config["config"]["go_backwards"] = not layer.go_backwards
            config["config"]["name"] = "backward_" + _drop_prefix(layer.name, "backward_")
            backward_layer = deserialize(config, own)
        self.backward_layer = backward_layer
        self._check_pair()
        for sub in (self.forward_layer, self.backward_layer):
            if hasattr(sub, "zero_output_for_mask"):
                sub.zero_output_for_mask = sub.return_sequences
        self.merge_mode = merge_mode
        self._initial_weights = list(weights) if weights else None
        self.stateful = layer.stateful
        self.return_sequences = layer.return_sequences
        self.return_state = layer.return_state
        self.supports_masking = True

    def _check_rank(self, shape):
        rank, layout = _sequence_layout(self.forward_layer)
        if len(shape) != rank:
            raise ValueError(f"Bidirectional '{self.name}': expected input of rank {rank} {layout} for the "
                             f"wrapped {type(self.forward_layer).__name__}, got shape {shape_str(shape)}")

    def build(self, input_shape):
        self._check_rank(input_shape)
        for sub in (self.forward_layer, self.backward_layer):
            if not sub.built:
                sub._build_shapes = tuple(input_shape)
                sub.build(tuple(input_shape))
                sub.built = True
        self.built = True
        if self._initial_weights is not None:
            weights, self._initial_weights = self._initial_weights, None
            self.set_weights(weights)

    def call(self, inputs, initial_state=None, mask=None, training=None):
        self._check_rank(tuple(inputs.shape))
        fwd_state = bwd_state = None
        if initial_state is not None:
            states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
            if len(states) % 2:
                raise ValueError(f"Bidirectional '{self.name}': initial_state must hold the forward states "
                                 f"then the backward states (an even number), got {len(states)} tensor(s)")
            half = len(states) // 2
            fwd_state, bwd_state = states[:half], states[half:]
        kwargs = {"training": training}
        if mask is not None:
            kwargs["mask"] = mask
        y = self.forward_layer(inputs, initial_state=fwd_state, **kwargs)
        y_rev = self.backward_layer(inputs, initial_state=bwd_state, **kwargs)
        states = []
        if self.return_state:
            states = list(y[1:]) + list(y_rev[1:])
            y, y_rev = y[0], y_rev[0]
        if self.return_sequences:
            y_rev = ops.flip(y_rev, axis=1)
        output = self._merge(y, y_rev)
        if self.return_state:
            return (output if self.merge_mode is None else [output]) + states
        return output

    def _merge(self, y, y_rev):
        mode = self.merge_mode
        if mode == "concat":
            return ops.concatenate([y, y_rev], axis=-1)
        if mode == "sum":
            return ops.add(y, y_rev)
        if mode == "mul":
            return ops.multiply(y, y_rev)
        if mode == "ave":
            return ops.multiply(ops.add(y, y_rev), 0.5)
        return [y, y_rev]

    def compute_output_shape(self, input_shape, initial_state_shape=None):
        """The output shape(s) for a ``(batch, time, features)`` input.

        Args:
            input_shape (tuple): ``(batch, time, features)``.
            initial_state_shape (tuple | list | None): accepted with the call's
                ``initial_state``; the state shapes follow from ``units``.
        """
        shape = self.forward_layer.compute_output_shape(input_shape)
        states = []
        if self.return_state:
            shape, states = shape[0], list(shape[1:])
        if self.merge_mode == "concat":
            shape = tuple(shape[:-1]) + (None if shape[-1] is None else 2 * shape[-1],)
        outputs = [shape, shape] if self.merge_mode is None else shape
        if self.return_state:
            return (outputs if self.merge_mode is None else [outputs]) + states + states
        return outputs

    def compute_mask(self, inputs, mask=None):
        if isinstance(mask, (list, tuple)):
            mask = mask[0]
        if mask is None or not self.return_sequences or self.return_state or self.merge_mode is None:
            return None
        return getattr(mask, "value", mask)

    def reset_states(self):
        """Forget the carried states of both directions (stateful layers)."""
        self.forward_layer.reset_states()
        self.backward_layer.reset_states()

    reset_state = reset_states

    def get_config(self):
        from .serialization import serialize
        return {**super().get_config(), "merge_mode": self.merge_mode,
                "layer": serialize(self.forward_layer), "backward_layer": serialize(self.backward_layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .serialization import deserialize
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name", backend.floatx())
        config["layer"] = deserialize(config["layer"], custom_objects)
        if config.get("backward_layer") is not None:
            config["backward_layer"] = deserialize(config["backward_layer"], custom_objects)
        return cls(**config)

    def _check_pair(self):
        f, b = self.forward_layer, self.backward_layer
        if f.go_backwards == b.go_backwards:
            raise ValueError(f"Bidirectional: the forward and backward layers must have different "
                             f"go_backwards, got {f.go_backwards} for both ('{f.name}', '{b.name}')")
        for attr in ("stateful", "return_sequences", "return_state"):
            if getattr(f, attr) != getattr(b, attr):
                raise ValueError(f"Bidirectional: the forward and backward layers must have the same "
                                 f"{attr}, got {getattr(f, attr)} for '{f.name}' and {getattr(b, attr)} "
                                 f"for '{b.name}'")


# ---- helpers ------------------------------------------------------------------

def _rnn_by_steps(x, cell, h0, keep, go_backwards, rmask):
    """The recurrence as a graph of ordinary ops, one group per step (any activation)."""
    batch, steps = x.shape[0], x.shape[1]
    projected = ops.dense(x, cell.kernel, cell.bias)              # (batch, time, units)
    h = h0 if h0 is not None else Tensor(backend.get_array_module(x).zeros((batch, cell.units),
                                                                          dtype=projected.dtype))
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outs = []
    for t in order:
        prev = h if rmask is None else ops.multiply(h, rmask)
        new = cell.activation(ops.add(projected[:, t], ops.matmul(prev, cell.recurrent_kernel)))
        if keep is not None:
            new = ops.where(keep[:, t, None], new, h)
        outs.append(new)
        h = new
    return ops.stack(outs, axis=1)


def _mask_array(layer, mask, batch, steps, xp):
    """The time-step mask as a ``(batch, time)`` bool array of the input's module, or None."""
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    if mask is None:
        return None
    m = getattr(mask, "value", mask)
    if not backend.is_array(m):
        m = np.asarray(m)
    if backend.get_array_module(m) is not xp:             # a host mask for device inputs
        m = backend.to_device(backend.to_numpy(m), xp)
    if m.ndim == 3 and m.shape[-1] == 1:
        m = m[..., 0]
    if tuple(m.shape) != (batch, steps):
        raise ValueError(f"{type(layer).__name__} '{layer.name}': mask must have shape "
                         f"{shape_str((batch, steps))}, got {shape_str(m.shape)}")
    return m.astype(bool, copy=False)


def _dropout_mask(like, shape, rate, seed=None):
    """Inverted-dropout multipliers (0 or ``1/(1-rate)``) of ``shape``, fixed over time, drawn
    with ``seed`` (the cell's SeedGenerator; None: the global one)."""
    xp = backend.get_array_module(like)
    keep = random._uniform_array(shape, seed, xp) >= rate
    return keep.astype(like.dtype) * like.dtype.type(1.0 / (1.0 - rate))


def carried_copies(states, dtype):
    """The states a stateful layer's ``reset_states(states)`` keeps: each one's values copied
    (through the host) in ``dtype``, one array per state of the list ``states``."""
    return [backend.to_device(backend.to_numpy(getattr(s, "value", s)), dtype=dtype) for s in states]


def _as_float_tensor(x, dtype=None):
    if isinstance(x, Tensor):
        return x
    if isinstance(x, KerasTensor):
        raise ValueError("SimpleRNN: a symbolic initial_state must be passed together with symbolic inputs")
    return ops.convert_to_tensor(x, dtype=dtype)


def _check_recurrent(what, layer):
    if not isinstance(layer, Layer):
        raise ValueError(f"Bidirectional: `{what}` must be a recurrent keras layer, got "
                         f"{type(layer).__name__} {layer!r}")
    missing = [a for a in ("go_backwards", "return_sequences", "return_state") if not hasattr(layer, a)]
    if missing:
        raise ValueError(f"Bidirectional: `{what}` must be a recurrent layer (with go_backwards, "
                         f"return_sequences and return_state), got {type(layer).__name__} "
                         f"'{layer.name}' which lacks {', '.join(missing)}")


def _sequence_layout(layer):
    """``(rank, layout)`` of the sequences ``layer`` takes: ``(batch, time, features)`` for the
    RNNs; ``(batch, time, *spatial, channels)`` for a convolutional LSTM (its ``RANK`` spatial
    axes)."""
    spatial = getattr(layer, "RANK", None)
    if isinstance(spatial, int) and hasattr(layer, "_layout"):
        return spatial + 3, layer._layout()
    return 3, "(batch, time, features)"


def _own_classes(layer):
    """``{class name: class}`` of ``layer`` and every layer it holds (for copying it by config)."""
    found, todo = {}, [layer]
    while todo:
        item = todo.pop()
        found.setdefault(type(item).__name__, type(item))
        todo.extend(item._sublayers())
    return found


def _drop_prefix(name, prefix):
    return name[len(prefix):] if name.startswith(prefix) else name


def sequence_output_mask(layer, mask):
    """The mask of a recurrent layer's output: the input's time mask when it returns the whole
    sequence (and no states), else None."""
    if isinstance(mask, (list, tuple)):
        mask = mask[0]
    if mask is None or not layer.return_sequences or layer.return_state:
        return None
    return getattr(mask, "value", mask)
