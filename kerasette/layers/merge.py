"""Merge layers: combine a list of tensors (Add, Concatenate, Dot, ...)."""
from .. import ops
from .layer import Layer

__all__ = ["Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum", "Concatenate", "Dot",
           "add", "subtract", "multiply", "average", "maximum", "minimum", "concatenate", "dot"]


class _Merge(Layer):
    """Base: ``call(list_of_tensors)``; shapes broadcast as NumPy's do."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) < 2:
            raise ValueError(f"{type(self).__name__} '{self.name}': expected a list of at least 2 inputs, "
                             f"got {type(inputs).__name__}")

    def call(self, inputs):
        self._check(inputs)
        out = inputs[0]
        for x in inputs[1:]:
            out = self._merge(out, x)
        return out

    def compute_mask(self, inputs, mask=None):
        return None

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        out = list(input_shape[0])
        for s in input_shape[1:]:
            if len(s) != len(out):
                raise ValueError(f"{type(self).__name__} '{self.name}': inputs have different ranks: "
                                 f"{[tuple(x) for x in input_shape]}")
            for i, (a, b) in enumerate(zip(out, s)):
                if a is not None and b is not None and a != b and 1 not in (a, b):
                    raise ValueError(f"{type(self).__name__} '{self.name}': incompatible shapes "
                                     f"{[tuple(x) for x in input_shape]}")
                out[i] = a if b in (None, 1) else b
        return tuple(out)


class Add(_Merge):
    """Elementwise sum of the inputs."""
    _merge = staticmethod(ops.add)


class Multiply(_Merge):
    """Elementwise product of the inputs."""
    _merge = staticmethod(ops.multiply)


class Maximum(_Merge):
    """Elementwise maximum of a list of inputs of the same shape."""
    _merge = staticmethod(ops.maximum)


class Minimum(_Merge):
    """Elementwise minimum of a list of inputs of the same shape."""
    _merge = staticmethod(ops.minimum)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    def call(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"Subtract '{self.name}': expected exactly 2 inputs, got {len(inputs)}")
        return ops.subtract(inputs[0], inputs[1])


class Average(_Merge):
    """Elementwise mean of the inputs."""

    def call(self, inputs):
        return ops.multiply(Add.call(self, inputs), 1.0 / len(inputs))

    _merge = staticmethod(ops.add)


class Concatenate(_Merge):
    """Join the inputs along ``axis`` (the last by default)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis

    def call(self, inputs):
        self._check(inputs)
        return ops.concatenate(list(inputs), axis=self.axis)

    def compute_output_shape(self, input_shape):
        self._check(input_shape)
        first = list(input_shape[0])
        ax = self.axis % len(first)
        for s in input_shape[1:]:
            if len(s) != len(first) or any(a != b and None not in (a, b)
                                            for i, (a, b) in enumerate(zip(first, s)) if i != ax):
                raise ValueError(f"Concatenate '{self.name}': inputs must match except on axis {self.axis}, "
                                 f"got shapes {[tuple(x) for x in input_shape]}")
        sizes = [s[ax] for s in input_shape]
        first[ax] = None if None in sizes else sum(sizes)
        return tuple(first)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Dot(_Merge):
    """Dot product of two ``(batch, n)`` (or ``(batch, ..., n)``) inputs over ``axes``."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = axes
        self.normalize = normalize

    def call(self, inputs):
        a, b = inputs
        ax = self.axes if isinstance(self.axes, (list, tuple)) else (self.axes, self.axes)
        ax = [x % len(t.shape) for x, t in zip(ax, (a, b))]
        if self.normalize:
            a = ops.divide(a, ops.sqrt(ops.sum(ops.square(a), axis=ax[0], keepdims=True) + 1e-12))
            b = ops.divide(b, ops.sqrt(ops.sum(ops.square(b), axis=ax[1], keepdims=True) + 1e-12))
        letters = "abcdefghij"
        sa = "z" + letters[:len(a.shape) - 1]
        sb = "z" + letters[len(a.shape) - 1:len(a.shape) + len(b.shape) - 2]
        sb = sb[:ax[1]] + sa[ax[0]] + sb[ax[1] + 1:] if len(sb) > ax[1] else sb
        out = "".join(c for c in sa + sb if (sa + sb).count(c) == 1)
        res = ops.einsum(f"{sa},{sb}->z{out}", a, b)
        return ops.reshape(res, (res.shape[0], 1)) if len(res.shape) == 1 else res

    def compute_output_shape(self, input_shape):
        return super(_Merge, self).compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "axes": self.axes, "normalize": self.normalize}


def _functional(cls):
    def merge(inputs, **kwargs):
        return cls(**kwargs)(inputs)
    merge.__name__ = cls.__name__.lower()
    merge.__doc__ = f"Functional form of ``{cls.__name__}``: ``{merge.__name__}([x, y])``."
    return merge


add = _functional(Add)
subtract = _functional(Subtract)
multiply = _functional(Multiply)
average = _functional(Average)
maximum = _functional(Maximum)
minimum = _functional(Minimum)
concatenate = _functional(Concatenate)


def dot(inputs, axes=-1, **kwargs):
    """Functional form of ``Dot``."""
    return Dot(axes=axes, **kwargs)(inputs)


class _OpLayer(Layer):
    """A layer wrapping an ops function for arithmetic on symbolic tensors (``x + y``)."""

    def __init__(self, fn, **kwargs):
        super().__init__(**kwargs)
        self.fn = fn

    def __call__(self, *args, **kwargs):
        return super().__call__(list(args) if len(args) > 1 else args[0], **kwargs)

    def call(self, inputs):
        return self.fn(*inputs) if isinstance(inputs, list) else self.fn(inputs)


def _op_layer(fn, name):
    from .layer import unique_name
    return _OpLayer(fn, name=unique_name(name))
