"""Sequential: a plain stack of layers, each feeding the next."""
from ..layers.input_layer import InputLayer
from ..layers.layer import Layer
from ..layers.serialization import deserialize_member, serialize
from ..layers.symbolic import KerasTensor
from .model import Model

__all__ = ["Sequential"]


class Sequential(Model):
    """``Sequential([Input((784,)), Dense(512, activation="relu"), Dense(10)])``.

    Once the input shape is known (an ``Input`` / ``InputLayer`` first, an
    ``input_shape=`` on the first layer, or the first call) the stack is
    also recorded as a graph, so ``model.inputs``, ``model.outputs``,
    ``layer.output`` and ``summary()`` work as in a functional model.

    Args:
        layers (list | None): the layers in order, optionally starting with ``Input(shape)``
            (default None: add them later with ``add``).
        name (str | None): the model's name (default ``sequential``, ``sequential_1``, ...).
        trainable (bool): whether training updates its weights (default True).
        **kwargs: ``dtype`` as for every ``Layer``.

    Call arguments:
        inputs: ``(batch, ...)`` matching the first layer's input.
        training: passed to every layer (Dropout, BatchNormalization act on it).
        mask: an input mask, passed along the layers that support masking.

    Examples:
        >>> import kerasette as keras
        >>> model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(8, activation="relu")])
        >>> model.add(keras.layers.Dense(1))
        >>> model.output_shape, model.count_params()
        ((None, 1), 49)
    """

    def __init__(self, layers=None, name=None, trainable=True, **kwargs):
        super().__init__(name=name, trainable=trainable, **kwargs)
        self._stack = []
        self._input_layer = None
        self.inputs = self.outputs = None
        for layer in layers or []:
            self.add(layer)

    def add(self, layer):
        """Append a layer (an ``Input`` tensor sets the input shape).

        Args:
            layer (Layer | KerasTensor): a layer, or ``Input(shape)`` as the first entry.

        Examples:
            >>> import kerasette as keras
            >>> model = keras.Sequential()
            >>> model.add(keras.Input((3,)))
            >>> model.add(keras.layers.Dense(2))
            >>> len(model.layers), model.output_shape
            (1, (None, 2))
        """
        if isinstance(layer, KerasTensor) and isinstance(layer.node.layer, InputLayer):
            layer = layer.node.layer
        if not isinstance(layer, Layer):
            raise TypeError(f"Sequential '{self.name}': can only add layers, got {type(layer).__name__}")
        if isinstance(layer, InputLayer):
            if self._stack or self._input_layer is not None:
                raise ValueError(f"Sequential '{self.name}': an InputLayer must come first")
            self._input_layer = layer
            return
        if layer.name in {l.name for l in self._stack}:
            raise ValueError(f"Sequential '{self.name}': all layer names must be unique, "
                             f"'{layer.name}' is already used")
        self._stack.append(layer)
        shape = getattr(self._stack[0], "_batch_input_shape", None)
        if self._input_layer is None and shape is not None:
            self._input_layer = InputLayer(batch_shape=shape)
        if self._input_layer is not None and self.outputs and len(self._stack) > 1:
            self._set_output(layer(self.outputs[0]))      # extend the recorded graph by one call
        elif self._input_layer is not None:
            self._record_graph()

    def pop(self):
        """Remove the last layer."""
        if not self._stack:
            raise ValueError(f"Sequential '{self.name}': there is no layer to remove")
        layer = self._stack.pop()
        if self.outputs is not None:
            self._set_output(self._stack[-1]._inbound_nodes[-1].outputs if self._stack
                             else self._input_layer.output_tensor)
        return layer

    @property
    def layers(self):
        return list(self._stack)

    def _sublayers(self):
        return list(self._stack)

    def _record_graph(self):
        x = self._input_layer.output_tensor
        self.inputs = [x]
        self._inputs_struct = x
        self._build_shapes = x.shape
        for layer in self._stack:
            x = layer(x)
        self._set_output(x)
        self.built = True

    def _set_output(self, x):
        self.outputs = [x]
        self._outputs_struct = x

    def build(self, input_shape=None):
        """Fix the input shape (batch axis included) and build every layer."""
        if input_shape is None:
            return
        if self._input_layer is None:
            self._input_layer = InputLayer(batch_shape=tuple(input_shape))
        self._record_graph()

    def _build_for(self, inputs):
        if self._input_layer is None:
            self.build((None,) + tuple(inputs.shape[1:]))

    @property
    def input_shape(self):
        return self.inputs[0].shape if self.inputs else None

    @property
    def output_shape(self):
        return self.outputs[0].shape if self.outputs else None

    @property
    def input(self):
        return self.inputs[0] if self.inputs else None

    @property
    def output(self):
        return self.outputs[0] if self.outputs else None

    def call(self, inputs, training=None, mask=None):
        x = inputs
        if self._input_layer is not None:
            expected = self._input_layer.batch_shape
            shape = tuple(x.shape)
            if len(shape) != len(expected) or any(e is not None and e != a for e, a in zip(expected, shape)):
                from ..layers.core import shape_str
                raise ValueError(f"Sequential '{self.name}': expected input of shape {shape_str(expected)}, "
                                 f"got {shape_str(shape)}")
        for layer in self._stack:
            x = layer(x, training=training)
        return x

    def compute_output_shape(self, input_shape):
        if self.outputs:
            return self.outputs[0].shape
        return super().compute_output_shape(input_shape)

    def get_config(self):
        layers = []
        if self._input_layer is not None:
            layers.append(serialize(self._input_layer))
        layers += [serialize(l) for l in self._stack]
        config = {"name": self.name, "trainable": self.trainable, "layers": layers}
        if self._input_layer is not None:
            config["build_input_shape"] = list(self._input_layer.batch_shape)
        return config

    @classmethod
    def from_config(cls, config, custom_objects=None, safe_mode=None):
        """Rebuild from ``get_config()``; ``safe_mode=False`` allows Python bytecode
        (a ``Lambda``'s lambda), None follows the loading call in progress (safe by default)."""
        from ..registry import CustomObjectScope, SafeModeScope, effective_safe_mode
        with SafeModeScope(effective_safe_mode(safe_mode)), CustomObjectScope(custom_objects or {}):
            return cls._from_config(config, custom_objects)

    @classmethod
    def _from_config(cls, config, custom_objects=None):
        model = cls(name=config.get("name"), trainable=config.get("trainable", True))
        for i, entry in enumerate(config["layers"]):
            model.add(deserialize_member(entry, i, model.name, custom_objects))
        shape = config.get("build_input_shape")
        if shape is not None and model._input_layer is None and model._stack:
            model.build(tuple(shape))
        return model
