"""LSTM and GRU layers (and their cells), Keras 3 names, defaults and weight layouts.

Inputs are ``(batch, time, features)``. The weights live on ``layer.cell``:

- ``LSTMCell``: ``kernel (features, 4*units)``, ``recurrent_kernel (units,
  4*units)``, ``bias (4*units,)``, gates in the order i, f, c, o;
  ``unit_forget_bias=True`` starts the forget-gate bias at 1.
- ``GRUCell``: ``kernel (features, 3*units)``, ``recurrent_kernel (units,
  3*units)``, ``bias (2, 3*units)`` (input bias, recurrent bias) with
  ``reset_after=True``, ``(3*units,)`` with ``reset_after=False``, gates in
  the order z, r, h.

With the defaults (``activation="tanh"``, ``recurrent_activation="sigmoid"``,
GRU ``reset_after=True``) the whole recurrence of a layer call is one graph
node (``ops.lstm`` / ``ops.gru``). Any other activation (a name, a built-in
function or a callable of one's own), and GRU ``reset_after=False``, run the
composed path: the cell's step written with ordinary ops (autograd gives the
backward), driven over time by ``rnn_generic.run_steps`` as ``RNN(cell)`` is,
after one GEMM for the input projection of all steps. The sequence handling
(masks, ``go_backwards``, ``return_sequences``, ``stateful``, dropout drawn
once per sequence, ``Bidirectional``) is SimpleRNN's on both paths.
"""
from .. import activations, backend, ops, random, regularizers
from ..autograd.tensor import Tensor
from ..ops.lstm_gru import gru, lstm
from .core import shape_str
from .layer import Layer
from .recurrent import SimpleRNN, SimpleRNNCell, _as_float_tensor, _dropout_mask, carried_copies, refuse_time_major
from .rnn_generic import run_steps

__all__ = ["LSTMCell", "LSTM", "GRUCell", "GRU"]

_CELL_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
              "dropout", "recurrent_dropout", "seed")


class _GatedCell(SimpleRNNCell):
    """What LSTMCell and GRUCell add to SimpleRNNCell's settings and kernels: the
    recurrent activation, the step checks and the composed step (any activations)."""

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", kernel_regularizer=None, recurrent_regularizer=None,
                 bias_regularizer=None, kernel_constraint=None, recurrent_constraint=None,
                 bias_constraint=None, dropout=0.0, recurrent_dropout=0.0, seed=None, **kwargs):
        kwargs.pop("implementation", None)
        super().__init__(units, activation=activation, use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         kernel_regularizer=kernel_regularizer, recurrent_regularizer=recurrent_regularizer,
                         bias_regularizer=bias_regularizer, kernel_constraint=kernel_constraint,
                         recurrent_constraint=recurrent_constraint, bias_constraint=bias_constraint,
                         dropout=dropout, recurrent_dropout=recurrent_dropout, seed=seed, **kwargs)
        self.recurrent_activation = activations.get(recurrent_activation)

    def _fusable(self):
        """True when the fused op computes this cell: tanh with sigmoid (the built-in functions
        themselves, not functions of the same name)."""
        return (self.activation is activations.get("tanh")
                and self.recurrent_activation is activations.get("sigmoid"))

    def _input_bias(self):
        return self.bias

    def _project(self, x):
        """The input part of every gate's pre-activation, ``x @ kernel + input bias``, for one
        step ``(batch, features)`` or all steps ``(batch, time, features)`` at once."""
        return ops.dense(x, self.kernel, self._input_bias())

    def _check_step(self, sequence, states, count):
        cls = type(self).__name__
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        if len(states) != count:
            raise ValueError(f"{cls} '{self.name}': expected {count} state(s), got {len(states)}")
        if len(sequence.shape) != 2 or sequence.shape[-1] != self.kernel.shape[0]:
            raise ValueError(f"{cls} '{self.name}': expected input of shape "
                             f"{shape_str((None, self.kernel.shape[0]))}, got {shape_str(sequence.shape)}")
        states = [_as_float_tensor(s) for s in states]
        for s in states:
            if tuple(s.shape) != (sequence.shape[0], self.units):
                raise ValueError(f"{cls} '{self.name}': expected states of shape "
                                 f"{shape_str((sequence.shape[0], self.units))}, got {shape_str(s.shape)}")
        return states

    def _step_inputs(self, sequence, h, training):
        """This step's input ``(batch, features)`` (dropped out in training) and the recurrent
        dropout mask."""
        if training and self.dropout > 0:
            sequence = random.dropout(sequence, self.dropout, seed=self.seed_generator)
        rmask = None
        if training and self.recurrent_dropout > 0:
            rmask = _dropout_mask(h.value, tuple(h.shape), self.recurrent_dropout, self.seed_generator)
        return sequence, rmask

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation)}


class LSTMCell(_GatedCell):
    """One LSTM step: ``(x_t (batch, features), [h, c]) -> (h_t, [h_t, c_t])``.

    Weights ``kernel (features, 4*units)``, ``recurrent_kernel (units,
    4*units)``, ``bias (4*units,)``, gate order i, f, c, o (Keras 3).
    ``unit_forget_bias=True`` adds 1 to the forget-gate bias at initialisation.
    ``c_t = f * c + i * activation(a_c)``, ``h_t = o * activation(c_t)``, with
    ``i, f, o = recurrent_activation(a_i, a_f, a_o)``.

    Args:
        units (int): size of the state(s).
        activation (str | callable): of the cell candidate and of ``c_t`` (default
            ``"tanh"``); any name or callable (tanh with sigmoid runs fused).
        recurrent_activation (str | callable): of the i, f, o gates (default ``"sigmoid"``;
            ``"hard_sigmoid"`` is Keras 3's, ``"keras2>hard_sigmoid"`` Keras 2's).
        use_bias (bool): default True.
        kernel_initializer (str | Initializer): default ``"glorot_uniform"``.
        recurrent_initializer (str | Initializer): default ``"orthogonal"``.
        bias_initializer (str | Initializer): default ``"zeros"``.
        unit_forget_bias (bool): start the forget gate's bias at 1 (default True).
        kernel_regularizer (str | Regularizer | None): penalty on ``kernel`` added to the loss;
            default None (passed in ``**kwargs``, as all the settings below).
        recurrent_regularizer (str | Regularizer | None): penalty on ``recurrent_kernel``.
        bias_regularizer (str | Regularizer | None): penalty on ``bias``.
        kernel_constraint (str | Constraint | None): projection of ``kernel`` after each
            optimizer step (e.g. ``keras.constraints.MaxNorm(3)``).
        recurrent_constraint (str | Constraint | None): the same for ``recurrent_kernel``.
        bias_constraint (str | Constraint | None): the same for ``bias``.
        **kwargs: those six, ``dropout``, ``recurrent_dropout``, ``seed`` and
            ``activity_regularizer`` as for ``SimpleRNNCell``; ``name``, ``trainable``,
            ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> cell = keras.layers.LSTMCell(4)
        >>> h, (h2, c) = cell(np.ones((2, 3)), [np.zeros((2, 4)), np.zeros((2, 4))])
        >>> h.shape, c.shape
        ((2, 4), (2, 4))
    """

    GATES = 4

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)
        self.state_size = [self.units, self.units]

    def build(self, input_shape):
        self._add_kernels(input_shape)
        self.bias = None
        if self.use_bias:
            self.bias = self._add_bias((4 * self.units,))
            if self.unit_forget_bias:
                value = self.bias.numpy().copy()
                value[self.units:2 * self.units] = 1         # Keras: ones, whatever bias_initializer
                self.bias.assign(value)
        self.built = True

    def call(self, sequence, states, training=False):
        """One step; returns ``(h_t, [h_t, c_t])``.

        Args:
            sequence (Tensor): this step's input ``(batch, features)``.
            states (list): ``[h, c]``, each ``(batch, units)``.
            training (bool): apply the cell's dropout (default False).
        """
        h, c = self._check_step(sequence, states, 2)
        x, rmask = self._step_inputs(sequence, h, training)
        if self._fusable():
            seq, c_t = lstm(ops.expand_dims(x, 1), self.kernel, self.recurrent_kernel, self.bias, [h, c],
                            recurrent_dropout_mask=rmask)
            h_t = seq[:, 0]
            return h_t, [h_t, c_t]
        return self._step_fn(rmask)(self._project(x), [h, c])

    def _step_fn(self, rmask=None):
        """The composed step ``(projected x_t (batch, 4*units), [h, c]) -> (h_t, [h_t, c_t])``,
        ordinary ops with any activations; ``rmask`` multiplies ``h`` before the recurrent
        matmul (as in the fused op)."""
        u, n = self.recurrent_kernel, self.units
        act, ract = self.activation, self.recurrent_activation

        def step(xw, states):
            h, c = states
            a = ops.add(xw, ops.matmul(h if rmask is None else ops.multiply(h, rmask), u))
            i, f, g, o = ract(a[:, :n]), ract(a[:, n:2 * n]), act(a[:, 2 * n:3 * n]), ract(a[:, 3 * n:])
            c_t = ops.add(ops.multiply(f, c), ops.multiply(i, g))
            h_t = ops.multiply(o, act(c_t))
            return h_t, [h_t, c_t]
        return step

    def get_initial_state(self, batch_size=None):
        """``[zeros (batch_size, units), zeros (batch_size, units)]``.

        Args:
            batch_size (int | None): number of sequences.
        """
        return [ops.zeros((batch_size, self.units), dtype=self.dtype) for _ in range(2)]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_GatedCell):
    """One GRU step: ``(x_t (batch, features), [h]) -> (h_t, [h_t])``.

    Weights ``kernel (features, 3*units)``, ``recurrent_kernel (units,
    3*units)``, ``bias (2, 3*units)`` (input bias, recurrent bias; ``(3*units,)``
    with ``reset_after=False``), gate order z, r, h; ``h_t = z * h_{t-1} + (1 -
    z) * hh`` (Keras 3).

    Args:
        units (int): size of the state(s).
        activation (str | callable): of the candidate ``hh`` (default ``"tanh"``); any name
            or callable (tanh with sigmoid and ``reset_after=True`` runs fused).
        recurrent_activation (str | callable): of the z and r gates (default ``"sigmoid"``;
            ``"hard_sigmoid"`` is Keras 3's, ``"keras2>hard_sigmoid"`` Keras 2's).
        use_bias (bool): default True.
        kernel_initializer (str | Initializer): default ``"glorot_uniform"``.
        recurrent_initializer (str | Initializer): default ``"orthogonal"``.
        bias_initializer (str | Initializer): default ``"zeros"``.
        reset_after (bool): True (Keras 3's default): ``hh = activation(x_h + r * (h @ U_h +
            b_h))``, bias ``(2, 3*units)``; False (the older form, Keras 2.0-2.2's default):
            ``hh = activation(x_h + (r * h) @ U_h)``, bias ``(3*units,)``.
        kernel_regularizer (str | Regularizer | None): penalty on ``kernel`` added to the loss;
            default None (passed in ``**kwargs``, as all the settings below).
        recurrent_regularizer (str | Regularizer | None): penalty on ``recurrent_kernel``.
        bias_regularizer (str | Regularizer | None): penalty on ``bias`` (both rows with
            ``reset_after=True``).
        kernel_constraint (str | Constraint | None): projection of ``kernel`` after each
            optimizer step (e.g. ``keras.constraints.MaxNorm(3)``).
        recurrent_constraint (str | Constraint | None): the same for ``recurrent_kernel``.
        bias_constraint (str | Constraint | None): the same for ``bias``.
        **kwargs: those six, ``dropout``, ``recurrent_dropout``, ``seed`` and
            ``activity_regularizer`` as for ``SimpleRNNCell``; ``name``, ``trainable``,
            ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> h, _ = keras.layers.GRUCell(4)(np.ones((2, 3)), [np.zeros((2, 4))])
        >>> h.shape
        (2, 4)
    """

    GATES = 3

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", reset_after=True, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         **kwargs)
        self.reset_after = bool(reset_after)
        self.state_size = self.units

    def build(self, input_shape):
        self._add_kernels(input_shape)
        shape = (2, 3 * self.units) if self.reset_after else (3 * self.units,)
        self.bias = self._add_bias(shape) if self.use_bias else None
        self.built = True

    def _fusable(self):
        return self.reset_after and super()._fusable()

    def _input_bias(self):
        if self.bias is None or not self.reset_after:
            return self.bias
        return self.bias[0]

    def call(self, sequence, states, training=False):
        """One step; returns ``(h_t, [h_t])`` (or ``(h_t, h_t)`` for a bare state).

        Args:
            sequence (Tensor): this step's input ``(batch, features)``.
            states (list | Tensor): ``[h]`` (or a bare ``(batch, units)`` tensor).
            training (bool): apply the cell's dropout (default False).
        """
        as_list = isinstance(states, (list, tuple))
        (h,) = self._check_step(sequence, states, 1)
        x, rmask = self._step_inputs(sequence, h, training)
        if self._fusable():
            h_t = gru(ops.expand_dims(x, 1), self.kernel, self.recurrent_kernel, self.bias, [h],
                      recurrent_dropout_mask=rmask)[:, 0]
        else:
            h_t, _ = self._step_fn(rmask)(self._project(x), [h])
        return h_t, ([h_t] if as_list else h_t)

    def _step_fn(self, rmask=None):
        """The composed step ``(projected x_t (batch, 3*units), [h]) -> (h_t, [h_t])``, ordinary
        ops with any activations and either ``reset_after``; ``rmask`` multiplies ``h`` before
        the recurrent matmuls (as in the fused op)."""
        n, act, ract = self.units, self.activation, self.recurrent_activation
        u = self.recurrent_kernel
        if self.reset_after:
            b_rec = None if self.bias is None else self.bias[1]
        else:
            u_zr, u_h = u[:, :2 * n], u[:, 2 * n:]

        def step(xw, states):
            (h,) = states
            hd = h if rmask is None else ops.multiply(h, rmask)
            if self.reset_after:
                rec = ops.matmul(hd, u)
                if b_rec is not None:
                    rec = ops.add(rec, b_rec)
                z = ract(ops.add(xw[:, :n], rec[:, :n]))
                r = ract(ops.add(xw[:, n:2 * n], rec[:, n:2 * n]))
                hh = act(ops.add(xw[:, 2 * n:], ops.multiply(r, rec[:, 2 * n:])))
            else:
                rec = ops.matmul(hd, u_zr)
                z = ract(ops.add(xw[:, :n], rec[:, :n]))
                r = ract(ops.add(xw[:, n:2 * n], rec[:, n:]))
                hh = act(ops.add(xw[:, 2 * n:], ops.matmul(ops.multiply(r, hd), u_h)))
            h_t = ops.add(ops.multiply(z, ops.subtract(h, hh)), hh)       # z * h + (1 - z) * hh
            return h_t, [h_t]
        return step

    def get_initial_state(self, batch_size=None):
        """``[zeros (batch_size, units)]``.

        Args:
            batch_size (int | None): number of sequences.
        """
        return [ops.zeros((batch_size, self.units), dtype=self.dtype)]

    def get_config(self):
        return {**super().get_config(), "reset_after": self.reset_after}


class _GatedRNN(SimpleRNN):
    """SimpleRNN's sequence handling around a gated cell (``CELL``) and its fused op."""

    CELL = None
    CELL_NAME = None
    N_STATES = 1
    EXTRA = ()                     # cell settings beyond the shared ones

    def __init__(self, units, return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, zero_output_for_mask=False, activity_regularizer=None, use_cudnn="auto",
                 **kwargs):
        cell_kwargs = {k: kwargs.pop(k) for k in _CELL_KEYS + self.EXTRA if k in kwargs}
        kwargs.pop("implementation", None)
        time_major = kwargs.pop("time_major", False)         # in every Keras 2 config
        Layer.__init__(self, **kwargs)
        refuse_time_major(self, time_major)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.cell = self.CELL(units, dtype=self.dtype, trainable=self.trainable, name=self.CELL_NAME,
                              **cell_kwargs)
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.use_cudnn = use_cudnn
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.seed = self.cell.seed
        self.supports_masking = True
        self._carried_state = None          # the last final states (a list) when stateful

    recurrent_activation = property(lambda self: self.cell.recurrent_activation)
    state_size = property(lambda self: [self.cell.units] * self.N_STATES)

    def _run_composed(self, x, states0, keep, rmask):
        """The recurrence for a cell the fused op does not compute: one GEMM projects every
        step's input, then the cell's composed step runs over time in ``run_steps`` (the loop
        of ``RNN``). Returns ``(states (batch, time, units) in processing order, finals)``; a
        masked step carries the states (its output is fixed by ``_masked_outputs``)."""
        cell = self.cell
        projected = cell._project(x)
        batch, units = x.shape[0], cell.units
        xp = backend.get_array_module(projected.value)
        if states0 is None:
            states0 = [Tensor(xp.zeros((batch, units), dtype=projected.dtype)) for _ in range(self.N_STATES)]
        outputs, finals = run_steps(cell._step_fn(rmask), projected, list(states0), keep, self.go_backwards)
        if not outputs:
            return Tensor(xp.zeros((batch, 0, units), dtype=projected.dtype)), finals
        return ops.stack(outputs, axis=1), finals

    def call(self, inputs, initial_state=None, mask=None, training=None):
        x, states0, keep, rmask = self._checked_inputs(inputs, initial_state, mask, training)
        states, finals = self._run(x, states0, keep, rmask)
        outputs = self._masked_outputs(states, keep, states0 is not None)
        output = outputs if self.return_sequences else outputs[:, -1]
        if self.stateful:
            self._carried_state = [f.value.copy() for f in finals]
        if self.return_state:
            if self.return_sequences and keep is not None:
                output._keras_mask = keep
            return [output] + finals
        return output

    def _initial_state(self, initial_state, batch):
        cls, n = type(self).__name__, self.N_STATES
        if initial_state is None:
            if self.stateful and self._carried_state is not None:
                if self._carried_state[0].shape[0] == batch:
                    return [Tensor(s) for s in self._carried_state]
                raise ValueError(f"{cls} '{self.name}': stateful layer carries a state for batch "
                                 f"{self._carried_state[0].shape[0]}, got a batch of {batch}; "
                                 f"call reset_states()")
            return None
        states = list(initial_state) if isinstance(initial_state, (list, tuple)) else [initial_state]
        if len(states) != n:
            raise ValueError(f"{cls} '{self.name}': expected {n} initial state(s) of shape "
                             f"{shape_str((batch, self.units))}, got {len(states)}")
        states = [_as_float_tensor(s, self.dtype) for s in states]
        for s in states:
            if tuple(s.shape) != (batch, self.units):
                raise ValueError(f"{cls} '{self.name}': initial_state must have shape "
                                 f"{shape_str((batch, self.units))}, got {shape_str(s.shape)}")
        return states

    def reset_states(self, states=None):
        """Forget the carried states of a stateful layer (or set them to ``states``)."""
        if states is None:
            self._carried_state = None
            return
        states = list(states) if isinstance(states, (list, tuple)) else [states]
        self._carried_state = carried_copies(states, self.dtype)

    reset_state = reset_states

    @property
    def states(self):
        return None if self._carried_state is None else [Tensor(s) for s in self._carried_state]

    def compute_output_shape(self, input_shape, initial_state_shape=None):
        batch = input_shape[0]
        out = (batch, input_shape[1], self.units) if self.return_sequences else (batch, self.units)
        if self.return_state:
            return [out] + [(batch, self.units)] * self.N_STATES
        return out

    def get_config(self):
        return {**super().get_config(), "use_cudnn": self.use_cudnn}


class LSTM(_GatedRNN):
    """Long Short-Term Memory layer (Hochreiter 1997), Keras 3 semantics.

    Input ``(batch, time, features)``; output ``(batch, units)``, or
    ``(batch, time, units)`` with ``return_sequences=True``; with
    ``return_state=True`` a list ``[output, h, c]``. Weights: ``kernel``
    ``(features, 4 * units)``, ``recurrent_kernel`` ``(units, 4 * units)``, ``bias``
    ``(4 * units,)``, gates in Keras's order (input, forget, cell, output).

    Args:
        units (int): size of the states ``h`` and ``c`` and of the output.
        activation (str | callable): of the cell candidate and of ``c`` (default ``"tanh"``);
            any name, built-in function or callable of your own.
        recurrent_activation (str | callable): of the input, forget and output gates
            (default ``"sigmoid"``; ``"hard_sigmoid"`` is Keras 3's ``relu6(x + 3) / 6``,
            ``"keras2>hard_sigmoid"`` Keras 2's ``clip(0.2 x + 0.5, 0, 1)``). tanh with
            sigmoid runs as one fused graph node; any other pair runs the cell's step
            composed of ordinary ops (the same results, slower).
        use_bias (bool): add a bias (default True).
        kernel_initializer (str | Initializer): input kernel (default ``"glorot_uniform"``).
        recurrent_initializer (str | Initializer): recurrent kernel (default ``"orthogonal"``).
        bias_initializer (str | Initializer): bias (default ``"zeros"``).
        unit_forget_bias (bool): start the forget gate's bias at 1 (default True), as Keras.
        dropout (float): fraction of the inputs dropped in training, in ``[0, 1)``; default 0.
        recurrent_dropout (float): fraction of the state ``h`` dropped in training, in
            ``[0, 1)``; default 0.
        return_sequences (bool): return the output of every step, ``(batch, time, units)``,
            instead of the last one (default False).
        return_state (bool): also return the final state(s) (default False).
        go_backwards (bool): process the sequence from the end; the returned sequence is then
            in reversed time order, as Keras (default False).
        stateful (bool): reuse each batch's final states as the next batch's initial states
            (``reset_states()`` clears them); default False.
        unroll (bool): accepted for Keras compatibility (the fused loop over time runs inside
            one graph node, the composed one as a Python loop).
        kernel_regularizer (str | Regularizer | None): penalty on ``kernel`` added to the loss
            (e.g. ``keras.regularizers.L2(1e-4)``); default None (passed in ``**kwargs``, as
            the six settings below).
        recurrent_regularizer (str | Regularizer | None): penalty on ``recurrent_kernel``.
        bias_regularizer (str | Regularizer | None): penalty on ``bias``.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output (each
            returned tensor, the states too with ``return_state``), divided by the batch size,
            added to the loss at every call, as Keras 3.
        kernel_constraint (str | Constraint | None): projection of ``kernel`` after each
            optimizer step (e.g. ``keras.constraints.MaxNorm(3)``).
        recurrent_constraint (str | Constraint | None): the same for ``recurrent_kernel``.
        bias_constraint (str | Constraint | None): the same for ``bias``. Penalties and
            constraints act on the weights, so the fused recurrence runs as without them.
        **kwargs: those seven; ``seed``, ``zero_output_for_mask`` as for ``SimpleRNN``;
            ``use_cudnn`` and ``implementation`` are accepted and ignored; ``name``,
            ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: ``(batch, time, features)``.
        initial_state: ``[h, c]``, two ``(batch, units)`` tensors (default zeros).
        mask: ``(batch, time)`` bool, or from a ``Masking`` / ``Embedding(mask_zero=True)``
            layer; masked steps keep the previous state.
        training: dropout only when True.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> out, h, c = keras.layers.LSTM(4, return_state=True)(np.ones((2, 5, 3)))
        >>> out.shape, c.shape
        ((2, 4), (2, 4))
    """

    CELL = LSTMCell
    CELL_NAME = "lstm_cell"
    N_STATES = 2
    EXTRA = ("unit_forget_bias",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", unit_forget_bias=True, dropout=0.0, recurrent_dropout=0.0,
                 return_sequences=False, return_state=False, go_backwards=False, stateful=False,
                 unroll=False, **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         unit_forget_bias=unit_forget_bias, dropout=dropout,
                         recurrent_dropout=recurrent_dropout, return_sequences=return_sequences,
                         return_state=return_state, go_backwards=go_backwards, stateful=stateful,
                         unroll=unroll, **kwargs)

    unit_forget_bias = property(lambda self: self.cell.unit_forget_bias)

    def _run(self, x, states0, keep, rmask):
        cell = self.cell
        if not cell._fusable():
            return self._run_composed(x, states0, keep, rmask)
        seq, c = lstm(x, cell.kernel, cell.recurrent_kernel, cell.bias, states0, keep, self.go_backwards, rmask)
        return seq, [seq[:, -1], c]


class GRU(_GatedRNN):
    """Gated Recurrent Unit layer (Cho et al. 2014), Keras 3 semantics.

    Input ``(batch, time, features)``; output ``(batch, units)``, or
    ``(batch, time, units)`` with ``return_sequences=True``; with
    ``return_state=True`` a list ``[output, h]``. Weights: ``kernel``
    ``(features, 3 * units)``, ``recurrent_kernel`` ``(units, 3 * units)``, ``bias``
    ``(2, 3 * units)`` (input and recurrent biases; ``(3 * units,)`` with
    ``reset_after=False``), gates in Keras's order (update, reset, candidate).

    Args:
        units (int): size of the state ``h`` and of the output.
        activation (str | callable): of the candidate state (default ``"tanh"``); any name,
            built-in function or callable of your own.
        recurrent_activation (str | callable): of the update and reset gates (default
            ``"sigmoid"``; ``"hard_sigmoid"`` is Keras 3's ``relu6(x + 3) / 6``,
            ``"keras2>hard_sigmoid"`` Keras 2's ``clip(0.2 x + 0.5, 0, 1)``).
        reset_after (bool): True (Keras 3's default): the reset gate multiplies the recurrent
            matmul's result, bias ``(2, 3 * units)``; False (Keras 2.0-2.2's form): it
            multiplies the previous state before the candidate's recurrent matmul, bias
            ``(3 * units,)``. tanh, sigmoid and ``reset_after=True`` run as one fused graph
            node; anything else runs the cell's step composed of ordinary ops (slower).
        use_bias (bool): add a bias (default True).
        kernel_initializer (str | Initializer): input kernel (default ``"glorot_uniform"``).
        recurrent_initializer (str | Initializer): recurrent kernel (default ``"orthogonal"``).
        bias_initializer (str | Initializer): bias (default ``"zeros"``).
        dropout (float): fraction of the inputs dropped in training, in ``[0, 1)``; default 0.
        recurrent_dropout (float): fraction of the state ``h`` dropped in training, in
            ``[0, 1)``; default 0.
        return_sequences (bool): return the output of every step, ``(batch, time, units)``,
            instead of the last one (default False).
        return_state (bool): also return the final state(s) (default False).
        go_backwards (bool): process the sequence from the end; the returned sequence is then
            in reversed time order, as Keras (default False).
        stateful (bool): reuse each batch's final states as the next batch's initial states
            (``reset_states()`` clears them); default False.
        unroll (bool): accepted for Keras compatibility (the fused loop over time runs inside
            one graph node, the composed one as a Python loop).
        kernel_regularizer (str | Regularizer | None): penalty on ``kernel`` added to the loss
            (e.g. ``keras.regularizers.L2(1e-4)``); default None (passed in ``**kwargs``, as
            the six settings below).
        recurrent_regularizer (str | Regularizer | None): penalty on ``recurrent_kernel``.
        bias_regularizer (str | Regularizer | None): penalty on ``bias``.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output (each
            returned tensor, the states too with ``return_state``), divided by the batch size,
            added to the loss at every call, as Keras 3.
        kernel_constraint (str | Constraint | None): projection of ``kernel`` after each
            optimizer step (e.g. ``keras.constraints.MaxNorm(3)``).
        recurrent_constraint (str | Constraint | None): the same for ``recurrent_kernel``.
        bias_constraint (str | Constraint | None): the same for ``bias``. Penalties and
            constraints act on the weights, so the fused recurrence runs as without them.
        **kwargs: those seven; ``seed``, ``zero_output_for_mask`` as for ``SimpleRNN``;
            ``use_cudnn`` and ``implementation`` are accepted and ignored; ``name``,
            ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: ``(batch, time, features)``.
        initial_state: ``h``, a ``(batch, units)`` tensor or a list of one (default zeros).
        mask: ``(batch, time)`` bool, or from a ``Masking`` / ``Embedding(mask_zero=True)``
            layer; masked steps keep the previous state.
        training: dropout only when True.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.GRU(4, return_sequences=True)(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    CELL = GRUCell
    CELL_NAME = "gru_cell"
    N_STATES = 1
    EXTRA = ("reset_after",)

    def __init__(self, units, activation="tanh", recurrent_activation="sigmoid", use_bias=True,
                 kernel_initializer="glorot_uniform", recurrent_initializer="orthogonal",
                 bias_initializer="zeros", dropout=0.0, recurrent_dropout=0.0, return_sequences=False,
                 return_state=False, go_backwards=False, stateful=False, unroll=False, reset_after=True,
                 **kwargs):
        super().__init__(units, activation=activation, recurrent_activation=recurrent_activation,
                         use_bias=use_bias, kernel_initializer=kernel_initializer,
                         recurrent_initializer=recurrent_initializer, bias_initializer=bias_initializer,
                         dropout=dropout, recurrent_dropout=recurrent_dropout,
                         return_sequences=return_sequences, return_state=return_state,
                         go_backwards=go_backwards, stateful=stateful, unroll=unroll,
                         reset_after=reset_after, **kwargs)

    reset_after = property(lambda self: self.cell.reset_after)

    def _run(self, x, states0, keep, rmask):
        cell = self.cell
        if not cell._fusable():
            return self._run_composed(x, states0, keep, rmask)
        seq = gru(x, cell.kernel, cell.recurrent_kernel, cell.bias, states0, keep, self.go_backwards, rmask)
        return seq, [seq[:, -1]]
