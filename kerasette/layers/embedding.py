"""Embedding: integer ids -> dense vectors (Keras's layer and weight layout)."""
import numpy as np

from .. import backend, constraints, context, initializers, regularizers
from ..ops.embedding import ids_out_of_range, lookup_checked
from .core import refuse_unsupported, shape_str
from .layer import Layer

__all__ = ["Embedding"]


class Embedding(Layer):
    """Maps integer ids ``(batch, ...)`` in ``[0, input_dim)`` to ``(batch, ..., output_dim)``.

    One graph node per call; the weight ``embeddings`` has shape
    ``(input_dim, output_dim)`` as Keras stores it.

    Args:
        input_dim (int): vocabulary size (largest id + 1).
        output_dim (int): size of each vector.
        embeddings_initializer (str | Initializer): default ``"uniform"``
            (RandomUniform(-0.05, 0.05)).
        embeddings_regularizer (str | Regularizer | None): penalty on the table added to the
            loss; default None.
        embeddings_constraint (str | Constraint | None): projection applied to the table
            after each optimizer step; default None.
        mask_zero (bool): id 0 is padding: the output carries a ``(batch, ...)`` mask
            ``ids != 0`` that recurrent layers and GlobalAveragePooling1D honour (default False).
        weights (list | None): optional initial ``[embeddings]``, shape ``(input_dim, output_dim)``.
        lora_rank (None): LoRA is not implemented; must be None.
        activity_regularizer (str | Regularizer | None): penalty on the layer's output, divided
            by the batch size and added to the loss (as Keras); default None.
        input_length (int | None): accepted for Keras 2 compatibility and ignored (the
            sequence length comes from the input).
        **kwargs: ``name``, ``trainable``, ``dtype`` as for every ``Layer``.

    Examples:
        >>> import kerasette as keras, numpy as np
        >>> emb = keras.layers.Embedding(10, 4, mask_zero=True)
        >>> out = emb(np.array([[1, 2, 0]]))
        >>> out.shape, emb.compute_mask(np.array([[1, 2, 0]])).tolist()
        ((1, 3, 4), [[True, True, False]])
    """

    def __init__(self, input_dim, output_dim, embeddings_initializer="uniform", embeddings_regularizer=None,
                 embeddings_constraint=None, mask_zero=False, weights=None, lora_rank=None,
                 input_length=None, activity_regularizer=None, **kwargs):
        super().__init__(**kwargs)
        where = f"Embedding '{self.name}'"
        for arg, val in (("input_dim", input_dim), ("output_dim", output_dim)):
            if isinstance(val, bool) or not isinstance(val, (int, np.integer)) or val <= 0:
                raise ValueError(f"{where}: {arg} must be a positive integer, got {val!r}")
        refuse_unsupported(self, lora_rank=lora_rank)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.embeddings_regularizer = regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = constraints.get(embeddings_constraint)
        self.input_dim, self.output_dim = int(input_dim), int(output_dim)
        self.embeddings_initializer = initializers.get(embeddings_initializer)
        self.mask_zero = bool(mask_zero)
        self.supports_masking = self.mask_zero
        if weights is not None:
            self.build(None)
            self.set_weights(list(weights))

    def build(self, input_shape=None):
        if getattr(self, "embeddings", None) is None:
            self.embeddings = self.add_weight(shape=(self.input_dim, self.output_dim),
                                              initializer=self.embeddings_initializer, name="embeddings",
                                              regularizer=self.embeddings_regularizer,
                                              constraint=self.embeddings_constraint)
        self.built = True

    def __call__(self, *args, **kwargs):
        inputs = args[0] if args else kwargs.get("inputs")
        if not self.built and not getattr(inputs, "_keras_symbolic", False) and inputs is not None:
            self._ids(inputs)           # bad ids fail before the weights are made (call checks later)
        return super().__call__(*args, **kwargs)

    def _ids(self, inputs):
        """The ids as an integer array, checked against ``[0, input_dim)`` unless the batch they
        come from was checked on the host already (``Model`` does it for ids fed straight from
        the data: no device read per call)."""
        ids = self.ids_array(inputs)
        if id(self) not in context.current().checked_embeddings:
            self.check_ids(ids)             # on a device: one boolean read back
        return ids

    def ids_array(self, inputs):
        """``inputs`` as an integer array, as the layer reads them (float ids cast as Keras does).

        Args:
            inputs (Tensor | array | list): the ids, any shape ``(batch, ...)``.
        """
        ids = getattr(inputs, "value", inputs)
        if not backend.is_array(ids):
            ids = np.asarray(ids)
        if ids.dtype.kind == "f":
            ids = ids.astype("int32")           # Keras casts float ids
        elif ids.dtype.kind not in "iu":
            raise ValueError(f"Embedding '{self.name}': expected integer ids, got dtype {ids.dtype}")
        return ids

    def check_ids(self, ids, where=""):
        """Raise unless every id of the integer array ``ids`` lies in ``[0, input_dim)``.

        Args:
            ids (array): integer ids of any shape (``ids_array`` reads other inputs).
            where (str): what the ids are, for the message (e.g. ``"fit: x"``).
        """
        bad = ids_out_of_range(ids, self.input_dim)
        if bad is not None:
            source = f"{where}: " if where else ""
            raise ValueError(f"{source}Embedding '{self.name}': ids must be in [0, {self.input_dim}) "
                             f"(input_dim={self.input_dim}), got values in [{bad[0]}, {bad[1]}] "
                             f"(input shape {shape_str(tuple(ids.shape))})")

    def call(self, inputs):
        return lookup_checked(self.embeddings, self._ids(inputs))

    def compute_mask(self, inputs, mask=None):
        if not self.mask_zero:
            return None
        return getattr(inputs, "value", inputs) != 0

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim, "output_dim": self.output_dim,
                "embeddings_initializer": initializers.serialize(self.embeddings_initializer),
                "embeddings_regularizer": regularizers.serialize(self.embeddings_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "embeddings_constraint": constraints.serialize(self.embeddings_constraint),
                "mask_zero": self.mask_zero}
