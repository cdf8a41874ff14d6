"""The generic recurrent layer ``RNN(cell)``, ``StackedRNNCells`` and ``TimeDistributed``.

``RNN(cell)`` runs any cell over the time axis of ``(batch, time, features)``
inputs: an object with ``state_size`` (an int, or a list of them, or of other
cells' state sizes) and ``call(inputs, states[, training])`` returning
``(output, new_states)``, a user's own ``Layer`` subclass included. The loop
over time is Python, one cell call per step, each made of differentiable ops,
so backpropagation through time needs nothing special. As in Keras, a masked
step carries the states and the previous output through unchanged (zeros with
``zero_output_for_mask=True``).

The weights are the cell's (``rnn/cell/...`` in Keras 3 files; a
``StackedRNNCells``' under ``cell/cells/<class>``), so Keras weight files load
by order and by name. ``RNN`` over a built-in cell (exactly ``SimpleRNNCell``,
``LSTMCell`` or ``GRUCell``) runs the fused ``SimpleRNN`` / ``LSTM`` / ``GRU``
recurrence, one graph node, which gives the same values as the step loop.

``TimeDistributed(layer)`` applies ``layer`` to every time slice at once: the
batch and time axes are merged into one, the layer runs once on ``(batch *
time, ...)``, and the result is split back.
"""
import inspect

import numpy as np

from .. import backend, ops, regularizers
from ..autograd.tensor import Tensor
from .core import shape_str
from .layer import Layer
from .recurrent import _mask_array, carried_copies, sequence_output_mask
from .symbolic import KerasTensor

__all__ = ["RNN", "StackedRNNCells", "TimeDistributed"]


# -- state structures -------------------------------------------------------------------

def _check_state_size(owner, size, what="state_size"):
    """Raise a one-line ValueError unless ``size`` is a positive int or a (nested) list of them."""
    if isinstance(size, (list, tuple)):
        if not size:
            raise ValueError(f"{owner}: {what} must not be empty")
        for s in size:
            _check_state_size(owner, s, what)
        return
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size <= 0:
        raise ValueError(f"{owner}: {what} must be a positive int or a list of them, got {size!r}")


def _flat_sizes(size):
    if isinstance(size, (list, tuple)):
        return [n for s in size for n in _flat_sizes(s)]
    return [int(size)]


def _pack(size, flat):
    """The flat list of states ``flat`` in the nesting of ``size`` (a bare int: a list of one)."""
    flat = list(flat)

    def take(s):
        if isinstance(s, (list, tuple)):
            return [take(x) for x in s]
        return flat.pop(0)
    return take(size) if isinstance(size, (list, tuple)) else [flat.pop(0)]


def _flatten(states):
    if isinstance(states, (list, tuple)):
        return [t for s in states for t in _flatten(s)]
    return [states]


def _output_size(cell):
    size = getattr(cell, "output_size", None)
    if size is not None:
        return int(size)
    return _flat_sizes(cell.state_size)[0]


def _check_cell(owner, cell, what="cell"):
    if isinstance(cell, (list, tuple)):
        raise ValueError(f"{owner}: `{what}` must be one cell, got a {type(cell).__name__}")
    missing = [a for a in ("call", "state_size") if not hasattr(cell, a)]
    if missing:
        raise ValueError(f"{owner}: `{what}` must have a `call` method and a `state_size` attribute, got "
                         f"{type(cell).__name__} {cell!r} without {' and '.join(missing)}")
    _check_state_size(f"{owner}: `{what}` {type(cell).__name__}", cell.state_size)


def _takes(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def _call_cell(cell, x, states, training, takes_training=None):
    """``cell(x, states[, training])`` -> ``(output, flat list of new states)``."""
    if takes_training is None:
        takes_training = _takes(cell.call, "training")
    kwargs = {"training": training} if takes_training else {}
    result = cell(x, states, **kwargs) if isinstance(cell, Layer) else cell.call(x, states, **kwargs)
    if not isinstance(result, (list, tuple)) or len(result) != 2:
        raise ValueError(f"RNN: the cell {type(cell).__name__} must return (output, new_states), "
                         f"got {type(result).__name__}")
    output, new_states = result
    return output, _flatten(new_states)


def _build_cell(cell, shape, owner_path):
    """Build a (layer) cell for step inputs of ``shape`` and name its weights' paths."""
    if isinstance(cell, Layer) and not cell.built:
        cell._build_shapes = tuple(shape)
        cell.build(tuple(shape))
        cell.built = True
    if isinstance(cell, Layer):
        for w in cell.weights:
            w.path = f"{owner_path}/{cell.name}/{w.name}"


def run_steps(step, sequences, states, keep=None, go_backwards=False, zero_output_for_mask=False):
    """The loop over time of ``RNN``: ``step(x_t, states) -> (output, new_states)`` (flat lists of
    states) called on ``sequences[:, t]`` for every step ``t`` (from the end with
    ``go_backwards``). Under ``keep`` ``(batch, time)`` a masked step carries the states and the
    previous output through (zeros before the first output, or always with
    ``zero_output_for_mask``). Returns ``(outputs in processing order, final states)``."""
    steps = sequences.shape[1]
    order = range(steps - 1, -1, -1) if go_backwards else range(steps)
    outputs, prev = [], None
    for t in order:
        out, new = step(sequences[:, t], states)
        if keep is not None:
            m = keep[:, t, None]
            new = [ops.where(m, n, s) for n, s in zip(new, states)]
            if zero_output_for_mask:
                out = ops.where(m, out, ops.zeros_like(out))
            else:
                out = ops.where(m, out, ops.zeros_like(out) if prev is None else prev)
        outputs.append(out)
        prev, states = out, new
    return outputs, states


class _Box:
    """Holds an object out of sight of layer tracking and of the saving walk."""

    def __init__(self, layer):
        self.layer = layer


# -- RNN ----------------------------------------------------------------------------------

class RNN(Layer):
    """Runs a recurrent cell over the time axis (Keras 3's base recurrent layer).

    Input ``(batch, time, features)``; output ``(batch, output_size)`` (the last step's),
    or ``(batch, time, output_size)`` with ``return_sequences=True``; with
    ``return_state=True`` a list ``[output, *final_states]`` (states flattened).

    The cell is any object with ``state_size`` (int, or a list of ints, one per state)
    and ``call(inputs, states[, training])`` returning ``(output, new_states)``:
    ``SimpleRNNCell``, ``LSTMCell``, ``GRUCell``, ``StackedRNNCells`` or a ``Layer``
    subclass of your own (``output_size``, when it has one, gives the output's width;
    otherwise the first state's size). The cell is called once per time step with
    ``(x_t (batch, features), [state, ...])``; the loop is made of ordinary
    differentiable ops. A built-in ``SimpleRNNCell`` / ``LSTMCell`` / ``GRUCell`` (those
    classes exactly, not subclasses) runs as the fused ``SimpleRNN`` / ``LSTM`` / ``GRU``
    node instead: the same values, faster, and its dropout masks drawn once per sequence
    as Keras's cells do (a cell called step by step draws them at every step). A cell
    given its own ``activity_regularizer`` is called step by step (its penalty is on each
    step's output and states, as Keras adds it).

    Args:
        cell (Layer | list): the cell; a list of cells is wrapped in ``StackedRNNCells``.
        return_sequences (bool): return every step's output (default False: the last).
        return_state (bool): also return the final states (default False).
        go_backwards (bool): process the sequence from the end; the returned sequence is
            then in reversed time order, as Keras (default False).
        stateful (bool): each batch starts from the previous batch's final states
            (``reset_states()`` clears them); default False.
        unroll (bool): accepted for Keras compatibility; the loop over time is always a
            Python loop, which is what unrolling means here (default False).
        zero_output_for_mask (bool): masked steps output zeros instead of the previous
            output (default False; ``Bidirectional`` sets it with ``return_sequences``).
        time_major (bool): Keras 2's option; only False (inputs ``(batch, time, ...)``) is
            implemented.
        **kwargs: ``activity_regularizer`` (str | Regularizer | None): a penalty on each
            tensor the layer returns, divided by the batch size, added to the loss, as on any
            Keras layer; ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        sequences: ``(batch, time, features)``.
        initial_state: a list of the initial states, flattened (default: the cell's
            ``get_initial_state``, or zeros).
        mask: ``(batch, time)`` bool, or from ``Masking`` / ``Embedding(mask_zero=True)``:
            masked steps carry the states and the previous output through.
        training: passed to the cell's ``call`` when it takes it.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.RNN(keras.layers.LSTMCell(4), return_sequences=True)
        >>> layer(np.ones((2, 5, 3))).shape
        (2, 5, 4)
    """

    def __init__(self, cell, return_sequences=False, return_state=False, go_backwards=False,
                 stateful=False, unroll=False, zero_output_for_mask=False, time_major=False, **kwargs):
        if time_major:
            raise NotImplementedError("RNN: time_major=True (a Keras 2 option) is not implemented; inputs are "
                                      "(batch, time, features)")
        if isinstance(cell, (list, tuple)):
            cell = StackedRNNCells(list(cell))
        _check_cell("RNN", cell)
        for label, flag in (("return_sequences", return_sequences), ("return_state", return_state),
                            ("go_backwards", go_backwards), ("stateful", stateful), ("unroll", unroll),
                            ("zero_output_for_mask", zero_output_for_mask)):
            if not isinstance(flag, (bool, np.bool_)):
                raise ValueError(f"RNN: {label} must be True or False, got {flag!r}")
        activity_regularizer = kwargs.pop("activity_regularizer", None)     # Keras's Layer argument
        super().__init__(**kwargs)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.cell = cell
        self.return_sequences = bool(return_sequences)
        self.return_state = bool(return_state)
        self.go_backwards = bool(go_backwards)
        self.stateful = bool(stateful)
        self.unroll = bool(unroll)
        self.zero_output_for_mask = bool(zero_output_for_mask)
        self.supports_masking = True
        self._carried_state = None          # the last final states (arrays) when stateful

    @property
    def state_size(self):
        """The cell's state sizes as a flat list."""
        return _flat_sizes(self.cell.state_size)

    def build(self, sequences_shape, initial_state_shape=None):
        """Build the cell for step inputs ``(batch, features)``.

        Args:
            sequences_shape (tuple): ``(batch, time, features)``.
            initial_state_shape (tuple | list | None): accepted with ``initial_state``;
                the states' shapes follow from the cell's ``state_size``.
        """
        self._check_sequence_shape(sequences_shape)
        _build_cell(self.cell, (sequences_shape[0],) + tuple(sequences_shape[2:]), self.name)
        self.built = True

    def _check_sequence_shape(self, shape):
        if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
            raise ValueError(f"RNN '{self.name}': expected one input of shape (batch, time, features), "
                             f"got a list of {len(shape)} inputs; pass states with initial_state=")
        if len(shape) < 3:
            raise ValueError(f"RNN '{self.name}': expected input of rank 3 or more (batch, time, "
                             f"features), got shape {shape_str(shape)}")

    def _check_symbolic_input(self, inputs):
        self._check_sequence_shape(tuple(inputs.shape))

    def call(self, sequences, initial_state=None, mask=None, training=None):
        shape = tuple(sequences.shape)
        self._check_sequence_shape(shape)
        batch, steps = shape[0], shape[1]
        xp = backend.get_array_module(sequences)
        keep = _mask_array(self, mask, batch, steps, xp)
        states = self._initial_states(initial_state, batch, sequences)
        fused = self._fused_layer()
        if fused is not None and steps > 0:
            # a built-in cell: its fused layer's one-node recurrence (the same values; dropout
            # masks drawn once per sequence, as Keras's cells do)
            output, *states = fused.call(sequences, initial_state=states, mask=keep, training=training)
            return self._finish(output, states, keep)
        takes_training = _takes(self.cell.call, "training")

        def step(x, states):
            out, new = _call_cell(self.cell, x, _pack(self.cell.state_size, states), training, takes_training)
            if len(new) != len(states):
                raise ValueError(f"RNN '{self.name}': the cell returned {len(new)} state(s), its "
                                 f"state_size {self.cell.state_size!r} has {len(states)}")
            return out, new
        outputs, states = run_steps(step, sequences, states, keep, self.go_backwards, self.zero_output_for_mask)
        if not outputs:
            raise ValueError(f"RNN '{self.name}': the input has no time steps, got shape {shape_str(shape)}")
        output = ops.stack(outputs, axis=1) if self.return_sequences else outputs[-1]
        return self._finish(output, states, keep)

    def _finish(self, output, states, keep):
        if self.stateful:
            self._carried_state = [s.value.copy() for s in states]
        if self.return_state:
            if self.return_sequences and keep is not None:
                output._keras_mask = keep
            return [output] + list(states)
        return output

    def _fused_layer(self):
        """For a built-in cell (exactly ``SimpleRNNCell`` / ``LSTMCell`` / ``GRUCell``, not a
        subclass), a ``SimpleRNN`` / ``LSTM`` / ``GRU`` sharing this layer's cell and settings,
        whose ``call`` runs the whole sequence as one node; None for any other cell."""
        from .lstm_gru import GRU, LSTM, GRUCell, LSTMCell
        from .recurrent import SimpleRNN, SimpleRNNCell
        kind = {SimpleRNNCell: SimpleRNN, LSTMCell: LSTM, GRUCell: GRU}.get(type(self.cell))
        if kind is None or self.cell.activity_regularizer is not None:
            return None             # a cell's activity penalty is taken at each step's call
        box = self.__dict__.get("_fused_box")
        fused = box.layer if box is not None else None
        if fused is None or fused.cell is not self.cell:
            fused = kind.__new__(kind)
            fused.__dict__.update(name=self.name, dtype=self.dtype, cell=self.cell, return_state=True,
                                  stateful=False, unroll=False, _carried_state=None)
            self._fused_box = _Box(fused)       # not an attribute layer: never tracked nor saved
        fused.__dict__.update(return_sequences=self.return_sequences, go_backwards=self.go_backwards,
                              zero_output_for_mask=self.zero_output_for_mask)
        return fused

    def _initial_states(self, initial_state, batch, like):
        sizes = self.state_size
        dtype = like.dtype
        if initial_state is None:
            if self.stateful and self._carried_state is not None:
                if self._carried_state[0].shape[0] != batch:
                    raise ValueError(f"RNN '{self.name}': stateful layer carries states for batch "
                                     f"{self._carried_state[0].shape[0]}, got a batch of {batch}; "
                                     f"call reset_states()")
                return [Tensor(s) for s in self._carried_state]
            fn = getattr(self.cell, "get_initial_state", None)
            if fn is not None:
                states = [ops.convert_to_tensor(s, dtype=self.dtype) if not isinstance(s, Tensor) else s
                          for s in _flatten(fn(batch_size=batch))]
            else:
                xp = backend.get_array_module(like)
                states = [Tensor(xp.zeros((batch, n), dtype=dtype)) for n in sizes]
        else:
            states = _flatten(initial_state)
            states = [s if isinstance(s, Tensor) else self._as_tensor(s) for s in states]
        if len(states) != len(sizes):
            raise ValueError(f"RNN '{self.name}': expected {len(sizes)} initial state(s) of sizes {sizes}, "
                             f"got {len(states)}")
        for s, n in zip(states, sizes):
            if tuple(s.shape) != (batch, n):
                raise ValueError(f"RNN '{self.name}': initial_state must have shapes "
                                 f"{', '.join(shape_str((batch, k)) for k in sizes)}, got {shape_str(s.shape)}")
        return states

    def _as_tensor(self, x):
        if isinstance(x, KerasTensor):
            raise ValueError(f"RNN '{self.name}': a symbolic initial_state must be passed together with "
                             f"symbolic inputs")
        return ops.convert_to_tensor(x, dtype=self.dtype)

    def reset_states(self, states=None):
        """Forget the carried states of a stateful layer (or set them to ``states``).

        Args:
            states (list | None): the next batch's initial states, flattened; None (default)
                resets to the cell's initial states.

        Examples:
            >>> import kerasette as keras
            >>> rnn = keras.layers.SimpleRNN(2, stateful=True)
            >>> _ = rnn(np.ones((1, 3, 4)))
            >>> [s.shape for s in rnn.states]
            [(1, 2)]
            >>> rnn.reset_states()             # the next call starts from zeros
            >>> rnn.states is None
            True
        """
        if states is None:
            self._carried_state = None
            return
        states = _flatten(states)
        if len(states) != len(self.state_size):
            raise ValueError(f"RNN '{self.name}': expected {len(self.state_size)} state(s), got {len(states)}")
        self._carried_state = carried_copies(states, self.dtype)

    reset_state = reset_states

    @property
    def states(self):
        return None if self._carried_state is None else [Tensor(s) for s in self._carried_state]

    def get_initial_state(self, batch_size):
        """The states the layer starts from (flattened): the cell's, or zeros.

        Args:
            batch_size (int): number of sequences.

        Examples:
            >>> import kerasette as keras
            >>> rnn = keras.layers.RNN(keras.layers.LSTMCell(4))
            >>> _ = rnn(np.ones((2, 3, 5)))
            >>> [s.shape for s in rnn.get_initial_state(2)]
            [(2, 4), (2, 4)]
        """
        fn = getattr(self.cell, "get_initial_state", None)
        if fn is not None:
            return _flatten(fn(batch_size=batch_size))
        return [ops.zeros((batch_size, n), dtype=self.dtype) for n in self.state_size]

    def compute_output_shape(self, sequences_shape, initial_state_shape=None):
        """The output shape(s) for a ``(batch, time, features)`` input.

        Args:
            sequences_shape (tuple): ``(batch, time, features)``.
            initial_state_shape (tuple | list | None): accepted with the call's
                ``initial_state``; the state shapes follow from the cell's ``state_size``.
        """
        batch = sequences_shape[0]
        width = _output_size(self.cell)
        out = (batch, sequences_shape[1], width) if self.return_sequences else (batch, width)
        if self.return_state:
            return [out] + [(batch, n) for n in self.state_size]
        return out

    def compute_mask(self, inputs, mask=None):
        return sequence_output_mask(self, mask)

    def get_config(self):
        from .serialization import serialize
        config = {**super().get_config(), "return_sequences": self.return_sequences,
                  "return_state": self.return_state, "go_backwards": self.go_backwards,
                  "stateful": self.stateful, "unroll": self.unroll,
                  "zero_output_for_mask": self.zero_output_for_mask, "cell": serialize(self.cell)}
        if self.activity_regularizer is not None:      # Keras's Layer writes it only when set
            config["activity_regularizer"] = regularizers.serialize(self.activity_regularizer)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .serialization import deserialize
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name", backend.floatx())
        cell = config.pop("cell", None)
        if cell is None:
            raise ValueError("RNN.from_config: the config has no 'cell'")
        if isinstance(cell, list):
            cell = [deserialize(c, custom_objects) for c in cell]
        elif isinstance(cell, dict):
            cell = deserialize(cell, custom_objects)
        return cls(cell, **config)


# -- StackedRNNCells -----------------------------------------------------------------------

class StackedRNNCells(Layer):
    """Several cells run as one: each step's output of a cell is the next cell's input.

    ``state_size`` lists each cell's state size (nested); the output is the last cell's.
    Wrap it in ``RNN`` (``RNN([cell_a, cell_b])`` does so itself).

    Args:
        cells (list): the cells, first to last (each with ``state_size`` and ``call``).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> cells = keras.layers.StackedRNNCells([keras.layers.LSTMCell(4), keras.layers.GRUCell(3)])
        >>> keras.layers.RNN(cells)(np.ones((2, 5, 6))).shape
        (2, 3)
    """

    # a container: each cell casts its own inputs to its dtype (autocast), so float64
    # cells in a stack keep float64 whatever the stack's own dtype
    _casts_tensor_inputs = False

    def __init__(self, cells, **kwargs):
        if not isinstance(cells, (list, tuple)) or not cells:
            raise ValueError(f"StackedRNNCells: `cells` must be a non-empty list of cells, got {cells!r}")
        for i, cell in enumerate(cells):
            _check_cell("StackedRNNCells", cell, f"cells[{i}]")
        super().__init__(**kwargs)
        self.cells = list(cells)

    @property
    def state_size(self):
        return [c.state_size for c in self.cells]

    @property
    def output_size(self):
        return _output_size(self.cells[-1])

    def build(self, input_shape):
        shape = tuple(input_shape)
        for cell in self.cells:
            _build_cell(cell, shape, self.name)
            shape = (shape[0], _output_size(cell))
        self.built = True

    def call(self, inputs, states, training=False):
        """One step through every cell; returns ``(last output, [each cell's states])``.

        Args:
            inputs (Tensor): this step's input ``(batch, features)``.
            states (list): the cells' states, one entry per cell (or flattened).
            training (bool): passed to the cells that take it.
        """
        states = list(states)
        if len(states) != len(self.cells):        # flattened: regroup per cell
            flat = _flatten(states)
            if len(flat) != len(_flat_sizes(self.state_size)):
                raise ValueError(f"StackedRNNCells '{self.name}': expected {len(_flat_sizes(self.state_size))} "
                                 f"state(s), got {len(flat)}")
            states = [_pack(c.state_size, flat[i:i + len(_flat_sizes(c.state_size))])
                      for c, i in zip(self.cells, np.cumsum([0] + [len(_flat_sizes(c.state_size))
                                                                  for c in self.cells])[:-1])]
        new_states = []
        x = inputs
        for cell, s in zip(self.cells, states):
            bare = not isinstance(s, (list, tuple))
            x, new = _call_cell(cell, x, [s] if bare else list(s), training)
            new_states.append(new[0] if bare and len(new) == 1 else new)
        return x, new_states

    def get_initial_state(self, batch_size=None):
        """Each cell's initial states (zeros where a cell has no ``get_initial_state``).

        Args:
            batch_size (int | None): number of sequences.
        """
        out = []
        for cell in self.cells:
            fn = getattr(cell, "get_initial_state", None)
            if fn is not None:
                out.append(fn(batch_size=batch_size))
            else:
                out.append([ops.zeros((batch_size, n), dtype=self.dtype) for n in _flat_sizes(cell.state_size)])
        return out

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_size)

    def get_config(self):
        from .serialization import serialize
        return {**super().get_config(), "cells": [serialize(c) for c in self.cells]}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .serialization import deserialize
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name", backend.floatx())
        cells = [deserialize(c, custom_objects) for c in config.pop("cells", [])]
        return cls(cells, **config)


# -- TimeDistributed -----------------------------------------------------------------------

class TimeDistributed(Layer):
    """Applies a layer to every time slice of an input ``(batch, time, ...)``.

    The batch and time axes are merged, the wrapped layer runs once on ``(batch * time,
    ...)`` and its output is split back into ``(batch, time, ...)``. The weights are the
    wrapped layer's (one set for every step). A ``(batch, time)`` mask is passed to the
    layer (flattened the same way) when its ``call`` takes one, and carried by the output.

    Args:
        layer (Layer): the layer applied to each slice.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> td = keras.layers.TimeDistributed(keras.layers.Dense(8))
        >>> td(np.ones((2, 10, 16))).shape
        (2, 10, 8)
    """

    def __init__(self, layer, **kwargs):
        if not isinstance(layer, Layer):
            raise ValueError(f"TimeDistributed: `layer` must be a keras Layer instance, got "
                             f"{type(layer).__name__} {layer!r}")
        super().__init__(**kwargs)
        self.layer = layer
        self.supports_masking = True

    def _child_shape(self, input_shape):
        if not isinstance(input_shape, (tuple, list)) or len(input_shape) < 3 or \
                not all(d is None or isinstance(d, (int, np.integer)) for d in input_shape):
            raise ValueError(f"TimeDistributed '{self.name}': expected an input of rank 3 or more "
                             f"(batch, time, ...), got shape {input_shape!r}")
        return (input_shape[0],) + tuple(input_shape[2:])

    def build(self, input_shape):
        child = self._child_shape(tuple(input_shape))
        if not self.layer.built:
            self.layer._build_shapes = child
            self.layer.build(child)
            self.layer.built = True
        self.built = True

    def _check_symbolic_input(self, inputs):
        self._child_shape(tuple(inputs.shape))

    def call(self, inputs, training=None, mask=None):
        """The wrapped layer on every time slice at once.

        Args:
            inputs (Tensor): ``(batch, time, ...)``.
            training (bool | None): passed to the wrapped layer when it takes it.
            mask (array | None): ``(batch, time)`` bool, passed to the wrapped layer
                (as ``(batch * time,)``) when its ``call`` takes a mask.
        """
        shape = tuple(inputs.shape)
        self._child_shape(shape)
        batch, steps = shape[0], shape[1]
        x = ops.reshape(inputs, (batch * steps,) + shape[2:])
        kwargs = {}
        sig = self.layer._signature()
        if "training" in sig:
            kwargs["training"] = training
        if mask is not None:
            m = getattr(mask, "value", mask)
            if not backend.is_array(m):
                m = np.asarray(m)
            if m.ndim < 2 or tuple(m.shape[:2]) != (batch, steps):
                raise ValueError(f"TimeDistributed '{self.name}': the mask must start with (batch, time) = "
                                 f"{shape_str((batch, steps))}, got {shape_str(m.shape)}")
            if "mask" in sig:
                kwargs["mask"] = m.reshape((batch * steps,) + tuple(m.shape[2:]))
        y = self.layer(x, **kwargs)
        if not isinstance(y, Tensor):
            raise ValueError(f"TimeDistributed '{self.name}': the wrapped layer '{self.layer.name}' must "
                             f"return one tensor, got {type(y).__name__}")
        return ops.reshape(y, (batch, steps) + tuple(y.shape[1:]))

    def compute_output_shape(self, input_shape):
        child = self._child_shape(tuple(input_shape))
        out = tuple(self.layer.compute_output_shape(child))
        return (out[0], input_shape[1]) + out[1:]

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else getattr(mask, "value", mask)

    def get_config(self):
        from .serialization import serialize
        return {**super().get_config(), "layer": serialize(self.layer)}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from .serialization import deserialize
        config = dict(config)
        if isinstance(config.get("dtype"), dict):
            config["dtype"] = config["dtype"].get("config", {}).get("name", backend.floatx())
        config["layer"] = deserialize(config["layer"], custom_objects)
        return cls(**config)
