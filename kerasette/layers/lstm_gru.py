"""LSTM and GRU layers (and their cells), Keras 3 names, defaults and weight layouts.

Inputs are ``(batch, time, features)``. The weights live on ``layer.cell``:

- ``LSTMCell``: ``kernel (features, 4*units)``, ``recurrent_kernel (units,
  4*units)``, ``bias (4*units,)``, gates in the order i, f, c, o;
  ``unit_forget_bias=True`` starts the forget-gate bias at 1.
- ``GRUCell`` (``reset_after=True``): ``kernel (features, 3*units)``,
  ``recurrent_kernel (units, 3*units)``, ``bias (2, 3*units)`` (input bias,
  recurrent bias), gates in the order z, r, h.

The whole recurrence of a layer call is one graph node (``ops.lstm`` /
``ops.gru``); only ``activation="tanh"`` with ``recurrent_activation=
"sigmoid"`` (the defaults) is implemented. The sequence handling (masks,
``go_backwards``, ``return_sequences``, ``stateful``, ``Bidirectional``) is
SimpleRNN's.
"""
from .. import activations, backend, ops, random
from ..autograd.tensor import Tensor
from ..ops.lstm_gru import gru, lstm
from .core import refuse_unsupported, shape_str
from .layer import Layer
from .recurrent import SimpleRNN, SimpleRNNCell, _as_float_tensor, _dropout_mask, refuse_time_major

__all__ = ["LSTMCell", "LSTM", "GRUCell", "GRU"]

_CELL_KEYS = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
              "recurrent_initializer", "bias_initializer", "kernel_regularizer", "recurrent_regularizer",
              "bias_regularizer", "kernel_constraint", "recurrent_constraint", "bias_constraint",
              "dropout", "recurrent_dropout", "seed")


class _GatedCell(SimpleRNNCell):
    """What LSTMCell and GRUCell add to SimpleRNNCell's settings and kernels: the
    recurrent activation (only tanh / sigmoid are implemented) and the step checks."""

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
        for label, fn, want in (("activation", self.activation, "tanh"),
                                ("recurrent_activation", self.recurrent_activation, "sigmoid")):
            if activations.serialize(fn) != want:
                raise NotImplementedError(f"{type(self).__name__} '{self.name}': only activation='tanh' and "
                                          f"recurrent_activation='sigmoid' are implemented, got "
                                          f"{label}={activations.serialize(fn)!r}")

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
        """The one-step sequence ``(batch, 1, features)`` and the recurrent dropout mask."""
        if training and self.dropout > 0:
            sequence = random.dropout(sequence, self.dropout, seed=self.seed_generator)
        rmask = None
        if training and self.recurrent_dropout > 0:
            rmask = _dropout_mask(h.value, tuple(h.shape), self.recurrent_dropout, self.seed_generator)
        return ops.expand_dims(sequence, 1), rmask

    def get_config(self):
        return {**super().get_config(),
                "recurrent_activation": activations.serialize(self.recurrent_activation)}


class LSTMCell(_GatedCell):
    """One LSTM step: ``(x_t (batch, features), [h, c]) -> (h_t, [h_t, c_t])``.

    Weights ``kernel (features, 4*units)``, ``recurrent_kernel (units,
    4*units)``, ``bias (4*units,)``, gate order i, f, c, o (Keras 3).
    ``unit_forget_bias=True`` adds 1 to the forget-gate bias at initialisation.

    Args:
        units (int): size of the state(s).
        activation (str): ``"tanh"`` (default; the only one implemented).
        recurrent_activation (str): ``"sigmoid"`` (default; the only one implemented).
        use_bias (bool): default True.
        kernel_initializer (str | Initializer): default ``"glorot_uniform"``.
        recurrent_initializer (str | Initializer): default ``"orthogonal"``.
        bias_initializer (str | Initializer): default ``"zeros"``.
        unit_forget_bias (bool): start the forget gate's bias at 1 (default True).
        **kwargs: ``dropout``, ``recurrent_dropout``, ``seed`` as for ``SimpleRNNCell``;
            ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

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
            self.bias = self.add_weight(shape=(4 * self.units,), initializer=self.bias_initializer, name="bias")
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
        seq, c_t = lstm(x, self.kernel, self.recurrent_kernel, self.bias, [h, c], recurrent_dropout_mask=rmask)
        h_t = seq[:, 0]
        return h_t, [h_t, c_t]

    def get_initial_state(self, batch_size=None):
        """``[zeros (batch_size, units), zeros (batch_size, units)]``.

        Args:
            batch_size (int | None): number of sequences.
        """
        return [ops.zeros((batch_size, self.units), dtype=self.dtype) for _ in range(2)]

    def get_config(self):
        return {**super().get_config(), "unit_forget_bias": self.unit_forget_bias}


class GRUCell(_GatedCell):
    """One GRU step (``reset_after=True``): ``(x_t (batch, features), [h]) -> (h_t, [h_t])``.

    Weights ``kernel (features, 3*units)``, ``recurrent_kernel (units,
    3*units)``, ``bias (2, 3*units)`` (input bias, recurrent bias), gate order
    z, r, h; ``h_t = z * h_{t-1} + (1 - z) * hh`` (Keras 3).

    Args:
        units (int): size of the state(s).
        activation (str): ``"tanh"`` (default; the only one implemented).
        recurrent_activation (str): ``"sigmoid"`` (default; the only one implemented).
        use_bias (bool): default True.
        kernel_initializer (str | Initializer): default ``"glorot_uniform"``.
        recurrent_initializer (str | Initializer): default ``"orthogonal"``.
        bias_initializer (str | Initializer): default ``"zeros"``.
        reset_after (bool): True, the only form implemented (Keras 3's default).
        **kwargs: ``dropout``, ``recurrent_dropout``, ``seed`` as for ``SimpleRNNCell``;
            ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

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
        if not reset_after:
            raise NotImplementedError(f"GRUCell '{self.name}': only reset_after=True (Keras 3's default) "
                                      f"is implemented")
        self.reset_after = True
        self.state_size = self.units

    def build(self, input_shape):
        self._add_kernels(input_shape)
        self.bias = (self.add_weight(shape=(2, 3 * self.units), initializer=self.bias_initializer, name="bias")
                     if self.use_bias else None)
        self.built = True

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
        h_t = gru(x, self.kernel, self.recurrent_kernel, self.bias, [h], recurrent_dropout_mask=rmask)[:, 0]
        return h_t, ([h_t] if as_list else h_t)

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
        refuse_unsupported(self, activity_regularizer=activity_regularizer)
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
        self._carried_state = [backend.to_device(backend.to_numpy(getattr(s, "value", s)), dtype=self.dtype)
                               for s in states]

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
        activation (str): ``"tanh"`` (default; the only one implemented).
        recurrent_activation (str): ``"sigmoid"`` (default; the only one implemented).
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
        unroll (bool): accepted for Keras compatibility; the loop over time always runs inside
            one graph node.
        **kwargs: ``seed``, ``zero_output_for_mask`` as for ``SimpleRNN``; ``use_cudnn`` and
            ``implementation`` are accepted and ignored; regularizers and constraints are not
            implemented (refused); ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

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
        seq, c = lstm(x, cell.kernel, cell.recurrent_kernel, cell.bias, states0, keep, self.go_backwards, rmask)
        return seq, [seq[:, -1], c]


class GRU(_GatedRNN):
    """Gated Recurrent Unit layer (Cho et al. 2014), Keras 3 semantics (``reset_after=True``).

    Input ``(batch, time, features)``; output ``(batch, units)``, or
    ``(batch, time, units)`` with ``return_sequences=True``; with
    ``return_state=True`` a list ``[output, h]``. Weights: ``kernel``
    ``(features, 3 * units)``, ``recurrent_kernel`` ``(units, 3 * units)``, ``bias``
    ``(2, 3 * units)`` (input and recurrent biases, ``reset_after=True``), gates in Keras's
    order (update, reset, candidate).

    Args:
        units (int): size of the state ``h`` and of the output.
        activation (str): ``"tanh"`` (default; the only one implemented).
        recurrent_activation (str): ``"sigmoid"`` (default; the only one implemented).
        reset_after (bool): apply the reset gate after the recurrent matmul (True, Keras 3's
            default and the only form implemented).
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
        unroll (bool): accepted for Keras compatibility; the loop over time always runs inside
            one graph node.
        **kwargs: ``seed``, ``zero_output_for_mask`` as for ``SimpleRNN``; ``use_cudnn`` and
            ``implementation`` are accepted and ignored; regularizers and constraints are not
            implemented (refused); ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

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
        if not reset_after:             # said here, naming the layer (the cell has its own name)
            raise NotImplementedError(f"GRU '{kwargs.get('name') or 'gru'}': reset_after=False (the older "
                                      f"GRU form, an option of Keras 2) is not implemented; only "
                                      f"reset_after=True, the default of Keras 3 and tf.keras 2")
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
        seq = gru(x, cell.kernel, cell.recurrent_kernel, cell.bias, states0, keep, self.go_backwards, rmask)
        return seq, [seq[:, -1]]
