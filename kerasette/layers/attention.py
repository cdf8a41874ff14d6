"""Attention layers: ``Attention`` (Luong), ``AdditiveAttention`` (Bahdanau) and
``MultiHeadAttention``, with Keras 3's names, defaults, weights and masks.

``Attention()([query, value])`` (or ``[query, value, key]``) scores every query
step against every key step (``query @ key^T``, or ``sum(tanh(query + key))``
with ``score_mode="concat"``), takes a softmax over the key steps and returns the
weighted sum of the values ``(batch, Tq, dim)``. Masks: the value's mask hides
key steps; the query's mask zeroes the output at masked query steps and is
carried by the output.

``MultiHeadAttention(num_heads, key_dim)`` projects query, key and value with
``EinsumDense`` sublayers named ``query``, ``key``, ``value`` (kernels ``(dim,
num_heads, key_dim)``, biases ``(num_heads, key_dim)``) and ``attention_output``
(kernel ``(num_heads, value_dim, out)``), in that order, as Keras 3 stores them,
so Keras weight files load by order and by name.
"""
import math

import numpy as np

from .. import backend, initializers, ops, random
from ..autograd.tensor import Tensor
from .core import refuse_unsupported, shape_str
from .einsum_dense import EinsumDense
from .layer import Layer
from .symbolic import KerasTensor, is_symbolic

__all__ = ["Attention", "AdditiveAttention", "MultiHeadAttention"]

_BIG = 1.0e9          # what Keras subtracts from the scores of hidden positions


def _shape_of(x):
    return tuple(x.shape) if x is not None else None


def _mask_value(mask, like):
    """A mask (Tensor, array, list) as a bool array on ``like``'s device, or None."""
    if mask is None:
        return None
    m = getattr(mask, "value", mask)
    if not backend.is_array(m):
        m = np.asarray(m)
    xp = backend.get_array_module(like.value if isinstance(like, Tensor) else like)
    if backend.get_array_module(m) is not xp:
        m = backend.to_device(backend.to_numpy(m), xp)
    return m.astype(bool) if m.dtype != bool else m


def _causal(xp, tq, tv):
    return xp.tril(xp.ones((tq, tv), dtype=bool))[None]


# -- Attention / AdditiveAttention ----------------------------------------------------------

class Attention(Layer):
    """Dot-product attention (Luong style) over ``[query, value]`` or ``[query, value, key]``.

    ``query`` is ``(batch, Tq, dim)``, ``value`` and ``key`` ``(batch, Tv, dim)`` (key
    defaults to value). Scores ``(batch, Tq, Tv)`` are ``query @ key^T`` (``score_mode=
    "dot"``) or ``concat_score_weight * sum(tanh(query + key), -1)`` (``"concat"``),
    times ``scale`` with ``use_scale``; a softmax over the key steps weights the values.

    Args:
        use_scale (bool): learn a scalar ``scale`` multiplying the scores (default False).
        score_mode (str): ``"dot"`` (default) or ``"concat"`` (adds a learned scalar
            ``concat_score_weight``).
        dropout (float): fraction of the attention weights dropped in training, in
            ``[0, 1)``; default 0.
        seed (int | None): seed of the dropout's generator (None: the global one).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: ``[query, value]`` or ``[query, value, key]``.
        mask: ``[query_mask, value_mask]`` (each ``(batch, T)`` bool or None), or from
            the inputs' Keras masks: hidden value steps get no weight; the output is zero
            at hidden query steps and carries the query's mask.
        training: dropout only when True.
        return_attention_scores: also return the weights ``(batch, Tq, Tv)``.
        use_causal_mask: query step ``i`` sees key steps ``<= i`` only.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> q, v = np.ones((2, 3, 4)), np.ones((2, 5, 4))
        >>> keras.layers.Attention()([q, v]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=False, score_mode="dot", dropout=0.0, seed=None, **kwargs):
        cls = type(self).__name__
        if score_mode not in ("dot", "concat"):
            raise ValueError(f"{cls}: score_mode must be 'dot' or 'concat', got {score_mode!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"{cls}: dropout must be a float in [0, 1), got {dropout!r}")
        super().__init__(**kwargs)
        self.use_scale = bool(use_scale)
        self.score_mode = score_mode
        self.dropout = float(dropout)
        self.seed = seed
        self.seed_generator = random.SeedGenerator(seed) if seed is not None else None
        self.supports_masking = True
        self._scores_wanted = False

    def __call__(self, *args, **kwargs):
        self._scores_wanted = bool(kwargs.get("return_attention_scores", False))
        try:
            return super().__call__(*args, **kwargs)
        finally:
            self._scores_wanted = False

    def _validate(self, inputs, mask=None):
        cls = type(self).__name__
        if not isinstance(inputs, (list, tuple)) or any(i is None or isinstance(i, (int, np.integer))
                                                        for i in inputs):
            got = (f"one input of shape {shape_str(inputs)}" if isinstance(inputs, (list, tuple))
                   else f"one {type(inputs).__name__}")
            raise ValueError(f"{cls} '{self.name}': expected a list [query, value] or [query, value, key], "
                             f"got {got}")
        if not 2 <= len(inputs) <= 3:
            raise ValueError(f"{cls} '{self.name}': expected a list of 2 or 3 inputs [query, value(, key)], "
                             f"got {len(inputs)}")
        if mask is not None and (not isinstance(mask, (list, tuple)) or not 2 <= len(mask) <= 3):
            raise ValueError(f"{cls} '{self.name}': mask must be a list [query_mask, value_mask], got "
                             f"{type(mask).__name__}")

    def _check_shapes(self, shapes):
        cls = type(self).__name__
        q, v = tuple(shapes[0]), tuple(shapes[1])
        k = tuple(shapes[2]) if len(shapes) > 2 else v
        if len(q) < 2 or len(v) < 2 or len(k) < 2:
            raise ValueError(f"{cls} '{self.name}': query, value and key must have rank 2 or more "
                             f"(batch, ..., T, dim), got {shape_str(q)}, {shape_str(v)}, {shape_str(k)}")
        if self.score_mode == "dot" or type(self) is AdditiveAttention:
            if q[-1] is not None and k[-1] is not None and q[-1] != k[-1]:
                raise ValueError(f"{cls} '{self.name}': query and key must have the same last axis, got "
                                 f"query {shape_str(q)} and key {shape_str(k)}")
        if v[-2] is not None and k[-2] is not None and v[-2] != k[-2]:
            raise ValueError(f"{cls} '{self.name}': value and key must have the same number of steps, "
                             f"got value {shape_str(v)} and key {shape_str(k)}")
        return q, v, k

    def build(self, input_shape):
        self._validate(input_shape)
        self._check_shapes(input_shape)
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(), initializer="ones")
        if self.score_mode == "concat":
            self.concat_score_weight = self.add_weight(name="concat_score_weight", shape=(),
                                                       initializer="ones")
        self.built = True

    def _check_symbolic_input(self, inputs):
        self._validate(inputs)
        self._check_shapes([t.shape for t in inputs])

    def _scores(self, q, k):
        if self.score_mode == "dot":
            scores = ops.matmul(q, ops.swapaxes(k, -2, -1))
            return scores if self.scale is None else ops.multiply(scores, self.scale)
        s = ops.add(ops.expand_dims(q, -2), ops.expand_dims(k, -3))
        if self.scale is not None:
            s = ops.multiply(s, self.scale)
        return ops.multiply(ops.sum(ops.tanh(s), axis=-1), self.concat_score_weight)

    def call(self, inputs, mask=None, training=False, return_attention_scores=False, use_causal_mask=False):
        self._validate(inputs, mask)
        self._check_shapes([tuple(t.shape) for t in inputs])
        q, v = inputs[0], inputs[1]
        k = inputs[2] if len(inputs) > 2 else v
        q_mask = _mask_value(mask[0], q) if mask else None
        v_mask = _mask_value(mask[1], q) if mask else None
        scores = self._scores(q, k)
        xp = backend.get_array_module(scores.value)
        keep = None
        if v_mask is not None:
            keep = v_mask[..., None, :] if v_mask.ndim == scores.ndim - 1 else v_mask
        if use_causal_mask:
            causal = _causal(xp, scores.shape[-2], scores.shape[-1])
            keep = causal if keep is None else keep & causal
        if keep is not None:
            scores = ops.where(keep, scores, ops.subtract(scores, _BIG))
        weights = ops.softmax(scores, axis=-1)
        if training and self.dropout > 0:
            weights = random.dropout(weights, self.dropout, seed=self.seed_generator)
        out = ops.matmul(weights, v)
        if q_mask is not None:
            out = ops.where(q_mask[..., None], out, ops.zeros_like(out))
        return (out, weights) if return_attention_scores else out

    def compute_mask(self, inputs, mask=None):
        if mask is None or not isinstance(mask, (list, tuple)) or mask[0] is None:
            return None
        return getattr(mask[0], "value", mask[0])

    def compute_output_shape(self, input_shape):
        self._validate(input_shape)
        q, v, k = self._check_shapes(input_shape)
        out = q[:-1] + (v[-1],)
        if self._scores_wanted:
            return (out, q[:-1] + (k[-2],))
        return out

    def get_config(self):
        return {**super().get_config(), "use_scale": self.use_scale, "score_mode": self.score_mode,
                "dropout": self.dropout, "seed": self.seed}


class AdditiveAttention(Attention):
    """Additive attention (Bahdanau style) over ``[query, value]`` or ``[query, value, key]``.

    Scores ``(batch, Tq, Tv)`` are ``sum(scale * tanh(query + key), -1)``, ``scale`` a
    learned ``(dim,)`` vector with ``use_scale`` (Keras's default); masks, dropout and
    the call arguments are ``Attention``'s.

    Args:
        use_scale (bool): learn the ``scale`` vector ``(dim,)`` (default True).
        dropout (float): fraction of the attention weights dropped in training, in
            ``[0, 1)``; default 0.
        **kwargs: ``seed`` as for ``Attention``; ``name``, ``trainable``, ``dtype`` as for
            every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> keras.layers.AdditiveAttention()([np.ones((2, 3, 4)), np.ones((2, 5, 4))]).shape
        (2, 3, 4)
    """

    def __init__(self, use_scale=True, dropout=0.0, **kwargs):
        kwargs.pop("score_mode", None)
        super().__init__(use_scale=use_scale, dropout=dropout, **kwargs)

    def build(self, input_shape):
        self._validate(input_shape)
        q, _, _ = self._check_shapes(input_shape)
        if q[-1] is None:
            raise ValueError(f"AdditiveAttention '{self.name}': the query's last axis must be known, got "
                             f"{shape_str(q)}")
        self.scale = None
        self.concat_score_weight = None
        if self.use_scale:
            self.scale = self.add_weight(name="scale", shape=(q[-1],), initializer="glorot_uniform")
        self.built = True

    def _scores(self, q, k):
        s = ops.tanh(ops.add(ops.expand_dims(q, -2), ops.expand_dims(k, -3)))
        if self.scale is not None:
            s = ops.multiply(s, self.scale)
        return ops.sum(s, axis=-1)

    def get_config(self):
        config = super().get_config()
        del config["score_mode"]
        return config


# -- MultiHeadAttention ----------------------------------------------------------------------

def _letters(n, start=0):
    return "".join(chr(ord("a") + start + i) for i in range(n))


def _projection(free, bound, out):
    """An EinsumDense equation ``<free><bound>,<bound><out>-><free><out>`` and its bias axes."""
    f, b, o = _letters(free), _letters(bound, free), _letters(out, free + bound)
    return f"{f}{b},{b}{o}->{f}{o}", o


def _attention_equations(rank, axes):
    """The two einsums of attention over ``axes`` of projected tensors with ``rank`` axes,
    ``(batch, ..., heads, channels)``, spelled as Keras 3 spells them.

    Every axis that is neither attended over nor the channels axis (the batch, the heads and
    any other) is shared by query and key; the key's attended axes get fresh letters. The
    scores are ``(<shared axes>, <query's attended axes>, <key's attended axes>)``, in the
    order ``axes`` lists them.

    Returns:
        (scores equation ``key,query->scores``, combine equation ``scores,value->out``)
    """
    query = _letters(rank)
    shared = [i for i in range(rank - 1) if i not in axes]
    key, fresh = list(query), rank
    for i in range(rank - 1):
        if i not in shared:
            key[i] = _letters(1, fresh)
            fresh += 1
    key = "".join(key)
    scores = "".join([query[i] for i in shared] + [query[i] for i in axes] + [key[i] for i in axes])
    return f"{key},{query}->{scores}", f"{scores},{key}->{query}"


class MultiHeadAttention(Layer):
    """Multi-head attention (Vaswani et al. 2017), Keras 3's layer and weight layout.

    ``query`` ``(batch, T, dim_q)``, ``value`` ``(batch, S, dim_v)`` and ``key`` ``(batch,
    S, dim_k)`` (default: value) are projected to ``num_heads`` heads by the
    ``EinsumDense`` sublayers ``query`` / ``key`` (``key_dim`` per head) and ``value``
    (``value_dim``); each head attends with ``softmax(q k^T / sqrt(key_dim))``; the heads
    are combined by ``attention_output`` into ``(batch, T, dim_q)`` (or ``output_shape``).

    Args:
        num_heads (int): number of attention heads, a positive int.
        key_dim (int): size of each head for query and key, a positive int.
        value_dim (int | None): size of each head for value (default ``key_dim``).
        dropout (float): fraction of the attention weights dropped in training, in
            ``[0, 1)``; default 0.
        use_bias (bool): the projections have biases (default True).
        output_shape (int | tuple | None): the output's last axes (default: the query's
            last axis).
        attention_axes (int | tuple | None): the axes of the inputs attended over (negative:
            counted from the channels axis); default None: every axis but the batch and the
            last, so ``(1,)`` for ``(batch, T, dim)`` and ``(1, 2)`` for ``(batch, H, W, dim)``.
            The other axes (batch, ..., and the heads) are shared by query and key; the scores
            are ``(<shared axes>, <query's attended axes>, <key's attended axes>)`` with a
            softmax over the key's. With rank-3 inputs and other axes, the result ignores them
            unless ``dropout`` or ``return_attention_scores`` (Keras's fused path does so).
            Masks are laid out as Keras lays them: ``attention_mask`` ``(..., <query's
            attended axes>, <key's>)`` gets ones inserted before its last ``2 *
            len(attention_axes)`` axes; the causal and sliding-window masks are ``(1, T, S)``
            over axis 1 of query and value, whatever the axes (as in Keras).
        sliding_window (int | None): each query step sees the key steps less than this
            many steps away (default None: all).
        flash_attention (bool | None): accepted; there is no fused kernel, the result is
            the same (True refuses ``dropout`` and ``return_attention_scores``, as Keras).
        kernel_initializer (str | Initializer): the projections' kernels
            (default ``"glorot_uniform"``).
        bias_initializer (str | Initializer): their biases (default ``"zeros"``).
        kernel_regularizer (str | Regularizer | None): penalty on each kernel.
        bias_regularizer (str | Regularizer | None): penalty on each bias.
        activity_regularizer (None): not implemented; must be None.
        kernel_constraint (str | Constraint | None): projection of each kernel after a step.
        bias_constraint (str | Constraint | None): the same for each bias.
        use_gate (bool): a sigmoid gate ``gate`` (an ``EinsumDense`` on the query) multiplies
            the heads before the output projection (default False).
        seed (int | None): seed of the dropout's generator (None: the global one).
        query_shape (tuple | None): found in tf.keras 2 configs; accepted and ignored (the
            shapes come from the first call).
        value_shape (tuple | None): the same.
        key_shape (tuple | None): the same.
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Call arguments:
        query: ``(batch, T, dim)`` (any rank 3 or more with ``attention_axes``).
        value: ``(batch, S, dim)``.
        key: ``(batch, S, dim)``; default ``value``.
        query_mask, value_mask, key_mask: ``(batch, T)`` / ``(batch, S)`` bool, by default
            the inputs' Keras masks (``Embedding(mask_zero=True)``, ``Masking``).
        attention_mask: ``(batch, T, S)`` bool; False: query step ``t`` does not see key
            step ``s``.
        return_attention_scores: also return the weights ``(batch, num_heads, T, S)``.
        training: dropout only when True.
        use_causal_mask: query step ``t`` sees key steps ``<= t`` only.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> mha = keras.layers.MultiHeadAttention(num_heads=2, key_dim=4)
        >>> out, scores = mha(np.ones((2, 3, 8)), np.ones((2, 5, 8)), return_attention_scores=True)
        >>> out.shape, scores.shape, mha.query_dense.kernel.shape
        ((2, 3, 8), (2, 2, 3, 5), (8, 2, 4))
    """

    def __init__(self, num_heads, key_dim, value_dim=None, dropout=0.0, use_bias=True, output_shape=None,
                 attention_axes=None, sliding_window=None, flash_attention=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, use_gate=False, seed=None, query_shape=None, value_shape=None,
                 key_shape=None, **kwargs):
        cls = "MultiHeadAttention"
        for label, n, optional in (("num_heads", num_heads, False), ("key_dim", key_dim, False),
                                   ("value_dim", value_dim, True), ("sliding_window", sliding_window, True)):
            if optional and n is None:
                continue
            if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n <= 0:
                raise ValueError(f"{cls}: {label} must be a positive integer{' or None' if optional else ''}, "
                                 f"got {n!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"{cls}: dropout must be a float in [0, 1), got {dropout!r}")
        if output_shape is not None and not isinstance(output_shape, (int, np.integer)):
            if not isinstance(output_shape, (list, tuple)) or \
                    not all(isinstance(d, (int, np.integer)) and d > 0 for d in output_shape):
                raise ValueError(f"{cls}: output_shape must be a positive int or a tuple of them, got "
                                 f"{output_shape!r}")
        if isinstance(output_shape, (int, np.integer)) and output_shape <= 0:
            raise ValueError(f"{cls}: output_shape must be a positive int or a tuple of them, got "
                             f"{output_shape!r}")
        if attention_axes is not None:
            axes = (attention_axes,) if isinstance(attention_axes, (int, np.integer)) else attention_axes
            if isinstance(axes, bool) or not isinstance(axes, (list, tuple)) or not axes or \
                    not all(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for a in axes):
                raise ValueError(f"{cls}: attention_axes must be None, an int or a non-empty list/tuple of "
                                 f"ints, got {attention_axes!r}")
            if len(set(int(a) for a in axes)) != len(axes):
                raise ValueError(f"{cls}: attention_axes must not name an axis twice, got {attention_axes!r}")
            attention_axes = tuple(int(a) for a in axes)
        if flash_attention and dropout > 0:
            raise ValueError(f"{cls}: dropout is not supported with flash_attention=True; set dropout=0.0")
        super().__init__(**kwargs)
        refuse_unsupported(self, activity_regularizer=activity_regularizer)
        self._num_heads = int(num_heads)
        self._key_dim = int(key_dim)
        self._value_dim = int(value_dim) if value_dim else int(key_dim)
        self._dropout = float(dropout)
        self._use_bias = bool(use_bias)
        self._use_gate = bool(use_gate)
        if output_shape is not None and not isinstance(output_shape, (list, tuple)):
            output_shape = (int(output_shape),)
        self._output_shape = tuple(int(d) for d in output_shape) if output_shape else None
        self._attention_axes = attention_axes     # None, or the axes as given until build normalizes them
        self._input_rank = None
        self._sliding_window = None if sliding_window is None else int(sliding_window)
        self._flash_attention = flash_attention
        self._kernel_initializer = initializers.get(kernel_initializer)
        self._bias_initializer = initializers.get(bias_initializer)
        self._kernel_regularizer = kernel_regularizer
        self._bias_regularizer = bias_regularizer
        self._kernel_constraint = kernel_constraint
        self._bias_constraint = bias_constraint
        self.seed = seed
        self._seed_generator = random.SeedGenerator(seed) if seed is not None else None
        self._inverse_sqrt_key_dim = 1.0 / math.sqrt(float(self._key_dim))
        self.supports_masking = True
        self._scores_wanted = None

    num_heads = property(lambda self: self._num_heads)
    key_dim = property(lambda self: self._key_dim)
    value_dim = property(lambda self: self._value_dim)
    dropout = property(lambda self: self._dropout)
    use_bias = property(lambda self: self._use_bias)
    attention_axes = property(lambda self: self._attention_axes)
    query_dense = property(lambda self: self.__dict__.get("_query_dense"))
    key_dense = property(lambda self: self.__dict__.get("_key_dense"))
    value_dense = property(lambda self: self.__dict__.get("_value_dense"))
    output_dense = property(lambda self: self.__dict__.get("_output_dense"))

    # -- building ---------------------------------------------------------------------
    def __call__(self, query=None, value=None, key=None, **kwargs):
        if query is None and "inputs" in kwargs:
            query = kwargs.pop("inputs")
        if query is None or value is None:
            raise ValueError(f"MultiHeadAttention '{self.name}': call it with query and value "
                             f"(mha(query, value[, key])), got query={type(query).__name__}, "
                             f"value={type(value).__name__}")
        if not self.built:
            self.build(_shape_of(query), _shape_of(value), _shape_of(key))
            self.built = True
        self._scores_wanted = ((_shape_of(value) if key is None else _shape_of(key))
                               if kwargs.get("return_attention_scores") else None)
        try:
            if key is None:
                return super().__call__(query, value, **kwargs)
            return super().__call__(query, value, key, **kwargs)
        finally:
            self._scores_wanted = None

    def _check_shapes(self, query_shape, value_shape, key_shape=None):
        name = f"MultiHeadAttention '{self.name}'"
        key_shape = value_shape if key_shape is None else key_shape
        for label, s in (("query", query_shape), ("value", value_shape), ("key", key_shape)):
            if len(s) < 3:
                raise ValueError(f"{name}: {label} must have rank 3 or more (batch, ..., dim), got "
                                 f"{shape_str(s)}")
            if s[-1] is None:
                raise ValueError(f"{name}: the last axis of {label} must be known, got {shape_str(s)}")
        if not len(query_shape) == len(value_shape) == len(key_shape):
            raise ValueError(f"{name}: query, value and key must have the same rank, got query "
                             f"{shape_str(query_shape)}, value {shape_str(value_shape)} and key "
                             f"{shape_str(key_shape)}")
        if self._input_rank is not None and len(query_shape) != self._input_rank:
            raise ValueError(f"{name}: was built for inputs of rank {self._input_rank}, got query "
                             f"{shape_str(query_shape)}")
        if tuple(value_shape[1:-1]) != tuple(key_shape[1:-1]):
            raise ValueError(f"{name}: value and key must have the same shape except the last axis, got "
                             f"value {shape_str(value_shape)} and key {shape_str(key_shape)}")
        self._axes_for(len(query_shape))
        return key_shape

    def _axes_for(self, rank):
        """``attention_axes`` for inputs of ``rank`` axes, negative axes counted from the
        channels axis as Keras does (default: every axis but the batch and the channels)."""
        if self._attention_axes is None:
            return tuple(range(1, rank - 1))
        axes = tuple(a + rank if a < 0 else a for a in self._attention_axes)
        if any(not 0 <= a < rank for a in axes):
            raise ValueError(f"MultiHeadAttention '{self.name}': attention_axes={self._attention_axes!r} is "
                             f"out of range for inputs of rank {rank} (axes -{rank}..{rank - 1})")
        return axes

    def _scores_shape(self, query_shape, key_shape):
        """The shape of the attention scores for query and key of these shapes (the shapes
        the scores einsum produces: ``(<shared axes>, <query's attended axes>, <key's>)``)."""
        heads = (self._num_heads, self._key_dim)
        projected = (tuple(key_shape[:-1]) + heads, tuple(query_shape[:-1]) + heads)
        equation = _attention_equations(len(query_shape) + 1, self._axes_for(len(query_shape)))[0]
        operands, result = equation.split("->")
        size = {}
        for letters, shape in zip(operands.split(","), projected):
            for c, d in zip(letters, shape):
                if size.get(c) is None:
                    size[c] = d
        return tuple(size[c] for c in result)

    def _rank3_fast(self, explicit_scores):
        """Whether rank-3 inputs take the time-axis computation below: always with the default
        axes; with others only when Keras takes its fused path, which ignores the axes (no
        dropout, no scores returned: ``explicit_scores`` False)."""
        return self._axes_for(3) == (1,) or not explicit_scores

    def build(self, query_shape, value_shape=None, key_shape=None):
        """Create the ``query``, ``key``, (``gate``,) ``value`` and ``attention_output``
        projections for inputs of these shapes.

        Args:
            query_shape (tuple): ``(batch, T, dim_q)``.
            value_shape (tuple): ``(batch, S, dim_v)``.
            key_shape (tuple | None): ``(batch, S, dim_k)``; default ``value_shape``.
        """
        if value_shape is None:
            raise ValueError(f"MultiHeadAttention '{self.name}': build needs query_shape and value_shape")
        query_shape, value_shape = tuple(query_shape), tuple(value_shape)
        key_shape = tuple(self._check_shapes(query_shape, value_shape, key_shape))
        rank = len(query_shape)
        self._attention_axes = self._axes_for(rank)
        self._input_rank = rank
        self._dot_product_equation, self._combine_equation = _attention_equations(rank + 1,
                                                                                  self._attention_axes)
        heads = [self._num_heads, self._key_dim]
        free = [None] * (rank - 2)
        eq, bias = _projection(rank - 1, 1, 2)
        self._query_dense = self._dense(eq, free + heads, bias, "query")
        self._query_dense.build(query_shape)
        self._key_dense = self._dense(eq, free + heads, bias, "key")
        self._key_dense.build(key_shape)
        if self._use_gate:
            self._gate_dense = self._dense(eq, free + [self._num_heads, self._value_dim], bias, "gate",
                                           activation="sigmoid")
            self._gate_dense.build(query_shape)
        self._value_dense = self._dense(eq, free + [self._num_heads, self._value_dim], bias, "value")
        self._value_dense.build(value_shape)
        out = list(self._output_shape) if self._output_shape else [query_shape[-1]]
        eq, bias = _projection(rank - 1, 2, len(out))
        self._output_dense = self._dense(eq, free + out, bias, "attention_output")
        self._output_dense.build(query_shape[:-1] + (self._num_heads, self._value_dim))
        self.built = True

    def _dense(self, equation, output_shape, bias_axes, name, activation=None):
        dense = EinsumDense(equation, output_shape=output_shape, activation=activation,
                            bias_axes=bias_axes if self._use_bias else None,
                            kernel_initializer=initializers.get(initializers.serialize(self._kernel_initializer)),
                            bias_initializer=initializers.get(initializers.serialize(self._bias_initializer)),
                            kernel_regularizer=self._kernel_regularizer, bias_regularizer=self._bias_regularizer,
                            kernel_constraint=self._kernel_constraint, bias_constraint=self._bias_constraint,
                            name=name, dtype=self.dtype)
        dense.built = True          # build() below creates the weights
        return dense

    def _check_symbolic_input(self, inputs):
        pass

    # -- the computation ----------------------------------------------------------------
    def call(self, query, value, key=None, query_mask=None, value_mask=None, key_mask=None,
             attention_mask=None, return_attention_scores=False, training=None, use_causal_mask=False):
        """The attention output ``(batch, T, ...)`` (and the weights with ``return_attention_scores``).

        Args:
            query (Tensor): ``(batch, T, dim_q)``.
            value (Tensor): ``(batch, S, dim_v)``.
            key (Tensor | None): ``(batch, S, dim_k)``; default ``value``.
            query_mask (array | None): ``(batch, T)`` bool; default the query's Keras mask.
            value_mask (array | None): ``(batch, S)`` bool; default the value's Keras mask.
            key_mask (array | None): ``(batch, S)`` bool; default the key's Keras mask.
            attention_mask (array | None): ``(batch, T, S)`` bool, False where query step
                ``t`` must not see key step ``s``.
            return_attention_scores (bool): also return ``(batch, num_heads, T, S)``.
            training (bool | None): dropout only when True.
            use_causal_mask (bool): query step ``t`` sees key steps ``<= t`` only.
        """
        if self._flash_attention and return_attention_scores:
            raise ValueError(f"MultiHeadAttention '{self.name}': return_attention_scores is not supported "
                             f"with flash_attention=True")
        key_given = key is not None
        key = value if key is None else key
        self._check_shapes(tuple(query.shape), tuple(value.shape), tuple(key.shape))
        if query_mask is None:
            query_mask = getattr(query, "_keras_mask", None)
        if value_mask is None:
            value_mask = getattr(value, "_keras_mask", None)
        if key_mask is None and key_given:
            key_mask = getattr(key, "_keras_mask", None)
        for t in (query, value, key):       # as Keras 3: the call takes the masks off its inputs
            if getattr(t, "_keras_mask", None) is not None:
                t._keras_mask = None
        mask = self._attention_mask(query, value, query_mask, value_mask, key_mask, attention_mask,
                                    use_causal_mask)
        gate = self._gate_dense(query) if self._use_gate else None
        if len(query.shape) != 3 or not self._rank3_fast(self._dropout > 0 or return_attention_scores):
            return self._attend_over_axes(query, value, key, gate, mask, training, return_attention_scores,
                                          query_mask)
        q = self._query_dense(query)                  # (B, T, N, key_dim)
        k = self._key_dense(key)                      # (B, S, N, key_dim)
        v = self._value_dense(value)                  # (B, S, N, value_dim)
        q = ops.multiply(q, self._inverse_sqrt_key_dim)
        scores = ops.einsum("aecd,abcd->acbe", k, q)  # (B, N, T, S)
        if mask is not None:
            keep = mask[:, None] if mask.ndim == 3 else mask
            scores = ops.where(keep, scores, ops.full_like(scores, -_BIG))
        weights = ops.softmax(scores, axis=-1)
        if mask is not None and (self._dropout > 0 or return_attention_scores):
            # Keras's Softmax-layer path zeroes fully hidden rows; its fused path (no dropout,
            # no scores) leaves them uniform over the keys, and so does this one
            weights = ops.where(keep, weights, ops.zeros_like(weights))
        return self._combine(weights, v, "acbe,aecd->abcd", gate, training,   # (B, T, N, value_dim)
                             return_attention_scores, query_mask)

    def _attend_over_axes(self, query, value, key, gate, mask, training, return_attention_scores, query_mask):
        """Attention over ``attention_axes`` with Keras's einsums: the scores ``(<shared axes>,
        <query's attended axes>, <key's>)`` get a softmax over the key's attended axes."""
        q = ops.multiply(self._query_dense(query), self._inverse_sqrt_key_dim)
        k = self._key_dense(key)
        v = self._value_dense(value)
        self._check_shared_axes(query.shape, key.shape)
        scores = ops.einsum(self._dot_product_equation, k, q)
        over = tuple(range(-len(self._attention_axes), 0))
        keep = None
        if mask is not None:
            keep = self._fit_mask(mask, tuple(scores.shape))
            scores = ops.where(keep, scores, ops.full_like(scores, -_BIG))
        weights = ops.softmax(scores, axis=over)
        if keep is not None:
            weights = ops.where(keep, weights, ops.zeros_like(weights))
        return self._combine(weights, v, self._combine_equation, gate, training, return_attention_scores,
                             query_mask)

    def _combine(self, weights, v, equation, gate, training, return_attention_scores, query_mask):
        """The attention weights (dropped out in training) applied to the values with ``equation``,
        gated, through the output projection, with the query's mask; and the weights if asked."""
        dropped = weights
        if training and self._dropout > 0:
            dropped = random.dropout(weights, self._dropout, seed=self._seed_generator)
        out = ops.einsum(equation, dropped, v)
        if gate is not None:
            out = ops.multiply(out, gate)
        out = self._output_dense(out)
        if query_mask is not None:
            out._keras_mask = _mask_value(query_mask, out)
        return (out, weights) if return_attention_scores else out

    def _check_shared_axes(self, query_shape, key_shape):
        """Query and key must agree on every axis that is not attended over (batch, ...)."""
        for i in range(len(query_shape) - 1):
            if i not in self._attention_axes and query_shape[i] != key_shape[i]:
                raise ValueError(f"MultiHeadAttention '{self.name}': query and key/value must have the same "
                                 f"size on the axes outside attention_axes={self._attention_axes}, got query "
                                 f"{shape_str(query_shape)} and key/value {shape_str(key_shape)} (axis {i})")

    def _fit_mask(self, mask, scores_shape):
        """The combined mask laid out against the scores as Keras does it: ones inserted just
        before its last ``2 * len(attention_axes)`` axes until the ranks agree, then every axis
        1 or the scores' size."""
        xp = backend.get_array_module(mask)
        n, k = len(scores_shape), len(self._attention_axes)
        fits = mask.ndim <= n and (mask.ndim == n or mask.ndim >= 2 * k)
        if fits:
            while mask.ndim < n:
                mask = xp.expand_dims(mask, -2 * k - 1)
            fits = all(m in (1, s) for m, s in zip(mask.shape, scores_shape))
        if not fits:
            raise ValueError(f"MultiHeadAttention '{self.name}': the attention mask (attention_mask, the "
                             f"query/value/key masks, use_causal_mask and sliding_window combined) of shape "
                             f"{shape_str(mask.shape)} does not fit the scores {shape_str(scores_shape)} of "
                             f"attention_axes={self._attention_axes}; Keras refuses it too")
        return mask

    def _attention_mask(self, query, value, query_mask, value_mask, key_mask, attention_mask,
                        use_causal_mask):
        """The ``(B, T, S)`` (or broadcastable) bool mask from every source, or None."""
        xp = backend.get_array_module(query.value)
        t, s = query.shape[1], value.shape[1]
        auto = None

        def both(a, b):
            if a is None:
                return b
            try:
                return a & b
            except ValueError:
                raise ValueError(f"MultiHeadAttention '{self.name}': the masks (query_mask, value_mask, "
                                 f"key_mask, attention_mask, use_causal_mask, sliding_window) of shapes "
                                 f"{shape_str(a.shape)} and {shape_str(b.shape)} do not broadcast together; "
                                 f"Keras refuses them too") from None
        if query_mask is not None:
            auto = _mask_value(query_mask, query)[..., None]
        if value_mask is not None:
            auto = both(auto, xp.expand_dims(_mask_value(value_mask, query), -2))
        if key_mask is not None:
            auto = both(auto, xp.expand_dims(_mask_value(key_mask, query), -2))
        if use_causal_mask:
            auto = both(auto, _causal(xp, t, s))
        if self._sliding_window is not None:
            rows, cols = xp.arange(t)[:, None], xp.arange(s)[None, :]
            auto = both(auto, (xp.abs(rows - cols) < self._sliding_window)[None])
        if attention_mask is not None:
            attention_mask = _mask_value(attention_mask, query)
            auto = attention_mask if auto is None else both(attention_mask, auto)
        return auto

    def compute_output_shape(self, query_shape, value_shape=None, key_shape=None):
        """The output shape: the query's with the last axis ``output_shape`` (default kept).

        Args:
            query_shape (tuple): ``(batch, T, dim_q)``.
            value_shape (tuple | None): ``(batch, S, dim_v)``.
            key_shape (tuple | None): ``(batch, S, dim_k)``; default ``value_shape``.
        """
        query_shape = tuple(query_shape)
        if value_shape is not None:
            self._check_shapes(query_shape, tuple(value_shape), None if key_shape is None else tuple(key_shape))
        out = query_shape[:-1] + self._output_shape if self._output_shape else query_shape
        if self._scores_wanted is not None:     # a symbolic call with return_attention_scores
            return (out, self._scores_shape(query_shape, tuple(self._scores_wanted)))
        return out

    def compute_mask(self, inputs, mask=None):
        return getattr(mask, "value", mask) if mask is not None else None

    def get_config(self):
        from .. import constraints, regularizers
        return {**super().get_config(), "num_heads": self._num_heads, "key_dim": self._key_dim,
                "value_dim": self._value_dim, "dropout": self._dropout, "use_bias": self._use_bias,
                "use_gate": self._use_gate,
                "output_shape": list(self._output_shape) if self._output_shape else None,
                "attention_axes": list(self._attention_axes) if self._attention_axes else None,
                "sliding_window": self._sliding_window,
                "kernel_initializer": initializers.serialize(self._kernel_initializer),
                "bias_initializer": initializers.serialize(self._bias_initializer),
                "kernel_regularizer": regularizers.serialize(regularizers.get(self._kernel_regularizer)),
                "bias_regularizer": regularizers.serialize(regularizers.get(self._bias_regularizer)),
                "activity_regularizer": None,
                "kernel_constraint": constraints.serialize(constraints.get(self._kernel_constraint)),
                "bias_constraint": constraints.serialize(constraints.get(self._bias_constraint)),
                "seed": self.seed}
