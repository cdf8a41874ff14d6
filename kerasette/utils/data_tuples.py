"""Keras 3's small helpers for custom ``train_step`` / ``test_step`` code and functional graphs:
``unpack_x_y_sample_weight``, ``pack_x_y_sample_weight``, ``is_keras_tensor``,
``get_source_inputs``."""
__all__ = ["unpack_x_y_sample_weight", "pack_x_y_sample_weight", "is_keras_tensor", "get_source_inputs"]


def unpack_x_y_sample_weight(data):
    """``(x, y, sample_weight)`` from a batch given as ``x``, ``(x,)``, ``(x, y)`` or
    ``(x, y, sample_weight)``, with None for what is missing (a custom ``train_step`` starts
    with it).

    Args:
        data (object | tuple | list): the batch ``fit`` passed to ``train_step``.

    Returns:
        tuple: ``(x, y, sample_weight)``.

    Raises:
        ValueError: an empty tuple or list, or one of more than three entries.

    Examples:
        >>> from kerasette.utils import unpack_x_y_sample_weight
        >>> unpack_x_y_sample_weight(("x", "y"))
        ('x', 'y', None)
    """
    if isinstance(data, list):
        data = tuple(data)
    if not isinstance(data, tuple):
        return data, None, None
    if not 1 <= len(data) <= 3:
        raise ValueError(f"unpack_x_y_sample_weight: expected x, (x,), (x, y) or (x, y, sample_weight), "
                         f"got a tuple of {len(data)} entries")
    return data + (None,) * (3 - len(data))


def pack_x_y_sample_weight(x, y=None, sample_weight=None):
    """The batch tuple ``fit`` takes: ``x`` alone (``(x,)`` when ``x`` is itself a tuple or
    list), ``(x, y)`` or ``(x, y, sample_weight)``.

    Args:
        x (object): the inputs.
        y (object | None): the targets.
        sample_weight (object | None): the per-sample weights (used only with ``y``, as Keras).

    Examples:
        >>> from kerasette.utils import pack_x_y_sample_weight
        >>> pack_x_y_sample_weight("x"), pack_x_y_sample_weight("x", "y", "w")
        ('x', ('x', 'y', 'w'))
    """
    if y is None:
        return (x,) if isinstance(x, (tuple, list)) else x
    return (x, y) if sample_weight is None else (x, y, sample_weight)


def is_keras_tensor(x):
    """Whether ``x`` is a symbolic tensor of the functional API (``keras.Input(...)`` and what
    layers return on it).

    Args:
        x (object): anything.
    """
    from ..layers.symbolic import KerasTensor        # utils sits below layers (DESIGN.md)
    return isinstance(x, KerasTensor)


def get_source_inputs(tensor):
    """The ``Input`` tensors that ``tensor`` is computed from, in the order first met.

    Args:
        tensor (KerasTensor | object): a symbolic tensor; anything else is returned as is
            (Keras's rule).

    Returns:
        list: the source ``Input`` KerasTensors (``[tensor]`` for an ``Input`` itself).

    Examples:
        >>> import kerasette as keras
        >>> a, b = keras.Input((2,), name="a"), keras.Input((3,), name="b")
        >>> out = keras.layers.Dense(1)(keras.layers.Concatenate()([a, b]))
        >>> [t.name for t in keras.utils.get_source_inputs(out)]
        ['a', 'b']
    """
    if not is_keras_tensor(tensor):
        return tensor
    found, stack, seen = [], [tensor], set()
    while stack:                                  # depth first, left to right, without recursion
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        if t.node is None or not t.node.input_tensors:
            if all(t is not s for s in found):
                found.append(t)
            continue
        stack.extend(reversed(t.node.input_tensors))
    return found
