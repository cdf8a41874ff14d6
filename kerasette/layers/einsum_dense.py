"""EinsumDense: a Dense layer whose contraction is an Einstein-notation equation.

``EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")`` maps
``(batch, time, 32)`` to ``(batch, time, 64)`` with a kernel ``(32, 64)``:
the kernel's shape is read off the equation (input sizes for letters the
input has, ``output_shape`` for the rest). Built on the differentiable
``ops.einsum``, so its backward is einsums too.
"""
from .. import activations, ops, regularizers
from .core import kernel_bias_config, refuse_unsupported, set_kernel_bias_options, shape_str
from .layer import Layer

__all__ = ["EinsumDense"]


class EinsumDense(Layer):
    """A Dense layer whose contraction is an einsum equation (Keras 3's ``EinsumDense``).

    The kernel's shape is read off the equation: input sizes for the letters the input
    has, ``output_shape`` for the rest.

    Args:
        equation (str): ``"<input>,<kernel>-><output>"``, e.g. ``"abc,cd->abd"``; the input
            may start with ``...``.
        output_shape (int | tuple): output shape without the batch axis (ints; ``None`` =
            take the size from the input).
        activation (str | callable | None): applied to the output (default None: linear).
        bias_axes (str | None): output letters that get a bias (e.g. ``"d"``), or None
            (default: no bias).
        kernel_initializer (str | Initializer): default ``"glorot_uniform"``.
        bias_initializer (str | Initializer): default ``"zeros"``.
        kernel_regularizer (str | Regularizer | None): penalty on the kernel; default None.
        bias_regularizer (str | Regularizer | None): penalty on the bias; default None.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
        kernel_constraint (str | Constraint | None): projection after each step; default None.
        bias_constraint (str | Constraint | None): the same for the bias; default None.
        lora_rank (None): LoRA is not implemented; must be None.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> layer = keras.layers.EinsumDense("abc,cd->abd", output_shape=(None, 64), bias_axes="d")
        >>> layer(np.ones((2, 5, 32))).shape, layer.kernel.shape
        ((2, 5, 64), (32, 64))
    """

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, lora_rank=None, **kwargs):
        super().__init__(**kwargs)
        refuse_unsupported(self, lora_rank=lora_rank)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        set_kernel_bias_options(self, kernel_initializer, bias_initializer, kernel_regularizer,
                                bias_regularizer, kernel_constraint, bias_constraint)
        self.equation = equation.replace(" ", "")
        if "->" not in self.equation or self.equation.count(",") != 1:
            raise ValueError(f"EinsumDense '{self.name}': equation must look like 'ab,bc->ac', got {equation!r}")
        self.partial_output_shape = (output_shape,) if isinstance(output_shape, int) else tuple(output_shape)
        self.activation = activations.get(activation)
        self.bias_axes = bias_axes
        lhs, self.out_spec = self.equation.split("->")
        self.in_spec, self.kernel_spec = lhs.split(",")

    def build(self, input_shape):
        sizes = self._letter_sizes(input_shape)
        missing = [c for c in self.kernel_spec if sizes.get(c) is None]
        if missing:
            raise ValueError(f"EinsumDense '{self.name}': cannot size kernel axes {missing} of "
                             f"'{self.kernel_spec}' from input {shape_str(input_shape)} and output_shape "
                             f"{self.partial_output_shape}")
        self.kernel = self.add_weight(shape=tuple(sizes[c] for c in self.kernel_spec),
                                      initializer=self.kernel_initializer, name="kernel",
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.bias_axes:
            out = self.out_spec.replace("...", "")
            bad = [c for c in self.bias_axes if c not in out]
            if bad:
                raise ValueError(f"EinsumDense '{self.name}': bias_axes {bad} are not output axes of "
                                 f"'{self.out_spec}'")
            first = min(out.index(c) for c in self.bias_axes)
            shape = tuple(sizes[c] if c in self.bias_axes else 1 for c in out[first:])
            self.bias = self.add_weight(shape=shape, initializer=self.bias_initializer, name="bias",
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self._sizes = sizes

    def call(self, inputs):
        x = ops.einsum(self.equation, inputs, self.kernel)
        if self.bias is not None:
            x = ops.add(x, self.bias)
        return self.activation(x)

    def compute_output_shape(self, input_shape):
        sizes = self._letter_sizes(input_shape)
        out = self.out_spec
        if out.startswith("..."):
            n_ell = len(input_shape) - (len(self.in_spec) - 3)
            return tuple(input_shape[:n_ell]) + tuple(sizes.get(c) for c in out[3:])
        return tuple(sizes.get(c) for c in out)

    def _letter_sizes(self, input_shape):
        sizes = {}
        spec = self.in_spec
        if spec.startswith("..."):
            spec = spec[3:]
            dims = tuple(input_shape[len(input_shape) - len(spec):])
        else:
            if len(spec) != len(input_shape):
                raise ValueError(f"EinsumDense '{self.name}': input spec '{spec}' needs rank {len(spec)}, "
                                 f"got input shape {shape_str(input_shape)}")
            dims = tuple(input_shape)
        sizes.update(zip(spec, dims))
        out = self.out_spec[3:] if self.out_spec.startswith("...") else self.out_spec[1:]
        given = self.partial_output_shape
        if len(given) != len(out):
            raise ValueError(f"EinsumDense '{self.name}': output_shape {given} must give the {len(out)} "
                             f"non-batch output axes '{out}'")
        for c, d in zip(out, given):
            if d is not None:
                sizes[c] = d
        if not self.out_spec.startswith("..."):
            sizes.setdefault(self.out_spec[0], input_shape[0])
        return sizes

    def get_config(self):
        return {**super().get_config(), "equation": self.equation,
                "output_shape": list(self.partial_output_shape),
                "activation": activations.serialize(self.activation), "bias_axes": self.bias_axes,
                **kernel_bias_config(self),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer)}
