"""``clone_model``: the same architecture with new layers (and new weights), as Keras's.

Sequential and functional models are rebuilt layer by layer: every non-input
layer goes through ``clone_function`` (default: a fresh layer from its config)
and, in a functional model, the recorded graph is replayed on new inputs
through ``call_function``. A subclassed model is rebuilt from its config.

The default clone reads configs made in this process from live objects, not a
file: functions they name (a custom activation, a ``Lambda``'s function) are
taken from the original layer, so cloning needs no registration.
"""
import types

from ..layers.input_layer import Input, InputLayer
from ..layers.layer import Layer
from ..layers.symbolic import KerasTensor, flatten_structure, map_structure
from .. import registry

__all__ = ["clone"]


def clone(model, input_tensors=None, clone_function=None, call_function=None, recursive=False,
          custom_objects=None, cache=None):
    """See ``kerasette.models.clone_model``."""
    from .functional import Functional
    from .sequential import Sequential
    from .model import Model
    if not isinstance(model, Layer):
        raise TypeError(f"clone_model: expected a Model, got {type(model).__name__}")
    if clone_function is not None and not callable(clone_function):
        raise ValueError(f"clone_model: clone_function must be callable, got {clone_function!r}")
    if call_function is not None and not callable(call_function):
        raise ValueError(f"clone_model: call_function must be callable, got {call_function!r}")
    cache = {} if cache is None else cache
    fn = _wrap(clone_function, call_function, recursive, custom_objects, cache)
    if isinstance(model, Sequential):
        if call_function is not None:
            raise ValueError(f"clone_model: call_function is not supported for Sequential model "
                             f"'{model.name}' (its layers are called in order)")
        return _clone_sequential(model, fn, input_tensors)
    if isinstance(model, Functional):
        return _clone_functional(model, fn, input_tensors, call_function)
    if isinstance(model, Model):
        if clone_function is not None or input_tensors is not None:
            raise ValueError(f"clone_model: model '{model.name}' is a subclassed model; "
                             f"clone_function and input_tensors need a Sequential or functional "
                             f"model (a subclassed model is rebuilt from its get_config())")
        return _default_clone(model, custom_objects)
    raise TypeError(f"clone_model: expected a Sequential or functional Model, got layer "
                    f"'{model.name}' ({type(model).__name__})")


def _wrap(clone_function, call_function, recursive, custom_objects, cache):
    from .functional import Functional
    from .sequential import Sequential

    def wrapped(layer):
        if id(layer) in cache:
            return cache[id(layer)]
        if recursive and isinstance(layer, (Sequential, Functional)):
            new = clone(layer, clone_function=clone_function,
                        call_function=call_function if isinstance(layer, Functional) else None,
                        recursive=True, custom_objects=custom_objects, cache=cache)
        elif clone_function is not None:
            new = clone_function(layer)
            if not isinstance(new, Layer):
                raise ValueError(f"clone_model: clone_function must return a layer, got "
                                 f"{type(new).__name__} for layer '{layer.name}'")
        else:
            new = _default_clone(layer, custom_objects)
        cache[id(layer)] = new
        return new
    return wrapped


def _default_clone(layer, custom_objects=None):
    """A new layer of the same class and config, functions taken from the original."""
    from ..layers.core import Lambda
    from ..layers.merge import _OpLayer
    if isinstance(layer, Lambda):
        base = {k: v for k, v in Layer.get_config(layer).items()}
        return Lambda(layer.function, output_shape=layer._output_shape, mask=layer.mask,
                      arguments=dict(layer.arguments), **base)
    if isinstance(layer, _OpLayer) and layer.fn is not None:
        return _OpLayer(fn=layer.fn, name=layer.name)
    known = {**_functions_of(layer), **(custom_objects or {})}
    config = registry.serialize_keras_object(layer)
    config.pop("build_config", None)
    with registry.loading(known, safe_mode=False):      # a config made here, not read from a file
        return registry.deserialize_keras_object(config, known)


def _functions_of(layer):
    """{name: function} of the functions a layer (and its sublayers) holds, so that its
    config's function names resolve to them."""
    out, seen, todo = {}, set(), [layer]
    while todo:
        obj = todo.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        for value in list(vars(obj).values()):
            for v in (value if isinstance(value, (list, tuple)) else [value]):
                if isinstance(v, types.FunctionType) and v.__name__ != "<lambda>":
                    out.setdefault(v.__name__, v)
                    out.setdefault(registry.get_registered_name(v), v)
                elif isinstance(v, Layer):
                    todo.append(v)
    return out


def _new_inputs(model, input_tensors):
    """New Input tensors like the model's (or the given ones, checked)."""
    old = list(model.inputs)
    if input_tensors is None:
        return [Input(batch_shape=t.shape, dtype=t.dtype, name=t.node.layer.name) for t in old]
    given = flatten_structure(input_tensors)
    if len(given) != len(old):
        raise ValueError(f"clone_model: model '{model.name}' has {len(old)} input(s), "
                         f"input_tensors gives {len(given)}")
    out = []
    for t in given:
        if not isinstance(t, KerasTensor):
            raise ValueError(f"clone_model: input_tensors must be keras.Input tensors, got "
                             f"{type(t).__name__}")
        out.append(t)
    return out


def _clone_sequential(model, fn, input_tensors):
    from .sequential import Sequential
    layers = [fn(layer) for layer in model._stack]
    if input_tensors is not None:
        inputs = _new_inputs(model, input_tensors) if model.inputs else flatten_structure(input_tensors)
        if len(inputs) != 1:
            raise ValueError(f"clone_model: Sequential model '{model.name}' takes one input, "
                             f"input_tensors gives {len(inputs)}")
        head = [inputs[0].node.layer] if isinstance(inputs[0].node.layer, InputLayer) else []
        if not head:
            raise ValueError("clone_model: input_tensors of a Sequential model must come from keras.Input")
    elif model._input_layer is not None:
        old = model._input_layer
        head = [InputLayer(batch_shape=old.batch_shape, dtype=old.dtype, name=old.name)]
    else:
        head = []
    return Sequential(head + layers, name=model.name, trainable=model.trainable)


def _clone_functional(model, fn, input_tensors, call_function):
    from .functional import Functional
    new_inputs = _new_inputs(model, input_tensors)
    values = {id(old): new for old, new in zip(model.inputs, new_inputs)}
    call = call_function or (lambda layer, *args, **kwargs: layer(*args, **kwargs))
    for node in model._nodes:
        layer = fn(node.layer)
        args = map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t, node.args)
        kwargs = map_structure(lambda t: values[id(t)] if isinstance(t, KerasTensor) else t, node.kwargs)
        if isinstance(node.layer, type(layer)) and type(layer).__name__ == "_OpLayer":
            out = call(layer, *(args[0] if isinstance(args[0], list) else [args[0]]), **kwargs)
        else:
            out = call(layer, *args, **kwargs)
        for old, new in zip(node.output_tensors, flatten_structure(out)):
            values[id(old)] = new
    inputs = _restructure(model._inputs_struct, model.inputs, new_inputs)
    outputs = map_structure(lambda t: values[id(t)], model._outputs_struct)
    return Functional(inputs, outputs, name=model.name, trainable=model.trainable)


def _restructure(struct, old_flat, new_flat):
    index = {id(t): i for i, t in enumerate(old_flat)}
    return map_structure(lambda t: new_flat[index[id(t)]], struct)
