"""InputLayer and ``Input``: the entry points of a functional graph."""
from .. import backend
from .layer import Layer, unique_name
from .symbolic import KerasTensor, Node

__all__ = ["InputLayer", "Input"]


class InputLayer(Layer):
    """Holds the placeholder a functional model starts from.

    Args:
        shape (tuple | None): shape without the batch axis, e.g. ``(784,)``.
        batch_size (int | None): optional fixed batch size.
        dtype (str | None): dtype of the data fed here (``float32`` by default).
        batch_shape (tuple | None): full shape including the batch axis (instead of shape).
        name (str | None): the layer's name (default ``input_layer``, ``input_layer_1``, ...).
        sparse (bool): False (kept in the config for Keras compatibility); True is refused, as
            is Keras 2's ``ragged=True``.
        input_shape (tuple | None): Keras 2 spelling of ``shape``.
        batch_input_shape (tuple | None): Keras 2 spelling of ``batch_shape``.
        **kwargs: ``trainable`` and ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras
        >>> model = keras.Sequential([keras.layers.InputLayer(shape=(4,)), keras.layers.Dense(2)])
        >>> model.output_shape
        (None, 2)
    """

    def __init__(self, shape=None, batch_size=None, dtype=None, batch_shape=None, name=None,
                 sparse=False, input_shape=None, batch_input_shape=None, **kwargs):
        ragged = kwargs.pop("ragged", False)
        if sparse or ragged:
            raise ValueError(f"InputLayer: {'sparse' if sparse else 'ragged'}=True is not supported by "
                             f"kerasette; feed dense arrays (e.g. x.toarray() for a SciPy matrix)")
        if shape is None:
            shape = input_shape
        if batch_shape is None:
            batch_shape = batch_input_shape
        if batch_shape is None:
            if shape is None:
                raise ValueError("InputLayer: give `shape` (without the batch axis) or `batch_shape`")
            batch_shape = (batch_size,) + _check_shape(shape, "shape")
        else:
            batch_shape = _check_shape(batch_shape, "batch_shape")
        super().__init__(name=name or unique_name("input_layer"), dtype=dtype, **kwargs)
        self.batch_shape = tuple(None if d is None else int(d) for d in batch_shape)
        self.built = True
        out = KerasTensor(self.batch_shape, self.dtype, name=self.name)
        node = Node(self, (), {}, out)
        out.node = node
        self._inbound_nodes.append(node)
        self.output_tensor = out

    def call(self, inputs):
        return inputs

    def compute_output_shape(self, input_shape):
        return self.batch_shape

    def get_config(self):
        return {"batch_shape": list(self.batch_shape), "dtype": self.dtype, "sparse": False,
                "name": self.name}


def _check_shape(shape, arg):
    """``shape`` as a tuple of ints / None, or a one-line error naming the argument."""
    if not isinstance(shape, bool) and (isinstance(shape, (int, float)) or
                                        (hasattr(shape, "__index__") and not hasattr(shape, "__len__"))):
        raise ValueError(f"Input: `{arg}` must be a tuple of dimensions, got the number {shape!r}; "
                         f"for vectors of {shape} features write `keras.Input(shape=({shape},))`")
    if isinstance(shape, str):
        raise ValueError(f"Input: `{arg}` must be a tuple of dimensions, got the string {shape!r}; "
                         f"e.g. `keras.Input(shape=(784,))`")
    try:
        dims = tuple(shape)
    except TypeError:
        raise ValueError(f"Input: `{arg}` must be a tuple of dimensions such as (28, 28, 1), got "
                         f"{shape!r} ({type(shape).__name__})") from None
    for d in dims:
        if d is not None and (isinstance(d, bool) or not hasattr(d, "__index__") or int(d) < 0):
            raise ValueError(f"Input: `{arg}` must hold non-negative ints or None, got {shape!r}; "
                             f"e.g. `keras.Input(shape=(28, 28, 1))`")
    return tuple(None if d is None else int(d) for d in dims)


def Input(shape=None, batch_size=None, dtype=None, name=None, batch_shape=None, sparse=None,
          tensor=None, optional=False):
    """A symbolic input: ``x = Input(shape=(784,))`` gives a KerasTensor of shape ``(None, 784)``.

    Args:
        shape (tuple): the shape of one sample, without the batch axis: ``(784,)``,
            ``(28, 28, 1)``; None for an axis of any size. An int is refused, as in Keras 3:
            write ``(784,)``.
        batch_size (int | None): a fixed batch size (default None: any).
        dtype (str | None): dtype of the data fed here (default ``"float32"``).
        name (str | None): the input's name (keys of dict inputs; default ``input_layer``,
            ``input_layer_1``, ...).
        batch_shape (tuple | None): the full shape with the batch axis, instead of ``shape``.
        sparse (bool | None): False or None; sparse inputs are not supported (refused).
        tensor (None): wrapping an existing tensor is not supported; must be None.
        optional (bool): accepted for Keras compatibility (an input that may be None).

    Returns:
        KerasTensor: the placeholder to call layers on; ``Model(inputs, outputs)`` starts here.

    Examples:
        >>> import kerasette as keras
        >>> keras.Input(shape=(28, 28, 1)).shape
        (None, 28, 28, 1)
    """
    if sparse or tensor is not None:
        raise ValueError(f"Input: {'sparse=True' if sparse else '`tensor`'} is not supported by kerasette; "
                         f"feed dense arrays (e.g. x.toarray() for a SciPy matrix)")
    layer = InputLayer(shape=shape, batch_size=batch_size, dtype=dtype or backend.floatx(),
                       batch_shape=batch_shape, name=name)
    return layer.output_tensor
