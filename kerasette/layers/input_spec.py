"""``keras.layers.InputSpec``: what a layer accepts (rank, dtype, sizes of some axes), checked
on every call before the layer builds or computes, as Keras 3 does for ``layer.input_spec``."""

__all__ = ["InputSpec", "check_input_spec"]


class InputSpec:
    """The rank, dtype and sizes a layer's input must have; set ``self.input_spec`` in a
    custom layer (one spec, or a list with one per input) and every call checks its inputs.

    Args:
        dtype (str | None): the input's dtype, exactly.
        shape (tuple | None): the whole shape; ``None`` entries match any size.
        ndim (int | None): the rank, exactly.
        max_ndim (int | None): the largest rank accepted.
        min_ndim (int | None): the smallest rank accepted.
        axes (dict | None): ``{axis: size}`` for some axes (negative axes count from the end).
        allow_last_axis_squeeze (bool): with ``ndim``, also accept a rank one lower or higher
            when the last axis has size 1.
        name (str | None): the input's name (for a dict of inputs); kept in the config.
        optional (bool): the input may be None (then it is not checked).

    Examples:
        >>> import numpy as np
        >>> import kerasette as keras
        >>> class Square(keras.layers.Layer):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.input_spec = keras.layers.InputSpec(ndim=2, axes={-1: 3})
        ...     def call(self, x):
        ...         return x * x
        >>> Square()(np.ones((4, 2), "float32"))
        Traceback (most recent call last):
        ...
        ValueError: Input 0 of layer "square" is incompatible with the layer: expected axis -1 of input shape to have value 3, but received input with shape (4, 2)
    """

    def __init__(self, dtype=None, shape=None, ndim=None, max_ndim=None, min_ndim=None, axes=None,
                 allow_last_axis_squeeze=False, name=None, optional=False):
        for arg, value in (("ndim", ndim), ("max_ndim", max_ndim), ("min_ndim", min_ndim)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"InputSpec: {arg} must be a non-negative integer or None, got {value!r}")
        if shape is not None:
            shape = tuple(shape)
            ndim = len(shape)
        axes = dict(axes or {})
        for axis, size in axes.items():
            if not isinstance(axis, int) or (size is not None and not isinstance(size, int)):
                raise ValueError(f"InputSpec: axes must map integer axes to integer sizes, got {axes!r}")
        top = ndim if ndim is not None else max_ndim
        if top is not None and axes and max(a if a >= 0 else -a - 1 for a in axes) >= top:
            raise ValueError(f"InputSpec: axes {axes} do not fit in an input of rank {top}")
        self.dtype = None if dtype is None else str(dtype)
        self.shape, self.ndim, self.max_ndim, self.min_ndim = shape, ndim, max_ndim, min_ndim
        self.axes, self.allow_last_axis_squeeze = axes, bool(allow_last_axis_squeeze)
        self.name, self.optional = name, bool(optional)

    def __repr__(self):
        fields = [f"{k}={v}" for k, v in (("dtype", self.dtype), ("shape", self.shape), ("ndim", self.ndim),
                                          ("max_ndim", self.max_ndim), ("min_ndim", self.min_ndim),
                                          ("axes", self.axes or None)) if v is not None]
        return f"InputSpec({', '.join(fields)})"

    def get_config(self):
        """The spec's arguments (Keras 3's keys)."""
        return {"dtype": self.dtype, "shape": self.shape, "ndim": self.ndim, "max_ndim": self.max_ndim,
                "min_ndim": self.min_ndim, "axes": self.axes}

    @classmethod
    def from_config(cls, config):
        """A spec from ``get_config()``.

        Args:
            config (dict): as ``get_config`` returns it.
        """
        return cls(**config)


def check_input_spec(layer, inputs):
    """Raise one clear ``ValueError`` when ``inputs`` (Tensors, arrays or KerasTensors, as a
    structure) do not fit ``layer.input_spec``; Keras's rules and wording."""
    from .symbolic import flatten_structure
    specs = layer.input_spec
    specs = list(specs) if isinstance(specs, (list, tuple)) else [specs]
    flat = flatten_structure(inputs)
    if len(flat) != len(specs):
        raise ValueError(f'Layer "{layer.name}" expects {len(specs)} input(s), but it received '
                         f"{len(flat)} input tensors")
    for i, (x, spec) in enumerate(zip(flat, specs)):
        if spec is None or (x is None and spec.optional):
            continue
        shape = tuple(getattr(x, "shape", ()))
        problem = _mismatch(spec, shape, str(getattr(getattr(x, "dtype", None), "name", getattr(x, "dtype", ""))))
        if problem:
            raise ValueError(f'Input {i} of layer "{layer.name}" is incompatible with the layer: {problem}')


def _mismatch(spec, shape, dtype):
    """What in ``shape`` / ``dtype`` breaks ``spec``, in words, or None."""
    ndim = len(shape)
    full = f"Full shape received: {shape}"
    if spec.ndim is not None and ndim != spec.ndim:
        squeezable = spec.allow_last_axis_squeeze and abs(ndim - spec.ndim) == 1 and (
            (ndim > spec.ndim and shape[-1] == 1) or (ndim < spec.ndim))
        if not squeezable:
            return f"expected ndim={spec.ndim}, found ndim={ndim}. {full}"
    if spec.max_ndim is not None and ndim > spec.max_ndim:
        return f"expected max_ndim={spec.max_ndim}, found ndim={ndim}"
    if spec.min_ndim is not None and ndim < spec.min_ndim:
        return f"expected min_ndim={spec.min_ndim}, found ndim={ndim}. {full}"
    if spec.dtype is not None and dtype and dtype != spec.dtype:
        return f"expected dtype={spec.dtype}, found dtype={dtype}"
    for axis, size in spec.axes.items():
        if size is None:
            continue
        if not -ndim <= axis < ndim or shape[axis] not in (size, None):
            return (f"expected axis {axis} of input shape to have value {size}, but received input "
                    f"with shape {shape}")
    if spec.shape is not None and ndim == len(spec.shape):
        for want, got in zip(spec.shape, shape):
            if want is not None and got is not None and want != got:
                return f"expected shape={spec.shape}, found shape={shape}"
    return None
