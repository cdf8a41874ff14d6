"""Models: Model (functional and subclassed), Sequential, and loading them."""
from .model import Model
from .functional import Functional
from .sequential import Sequential

__all__ = ["Model", "Functional", "Sequential", "model_from_json", "model_from_config",
           "load_model", "save_model", "clone_model"]


def model_from_config(config, custom_objects=None, safe_mode=True):
    """A model (or layer) from ``{"class_name", "config"}`` as ``get_config`` / ``to_json`` give.

    ``safe_mode=False`` allows Python bytecode (a ``Lambda``'s lambda) in the config;
    only for configs you trust.

    Args:
        config (dict): ``{"class_name", "config", ...}`` as ``keras.layers.serialize`` (or
            ``json.loads(model.to_json())``) gives.
        custom_objects (dict | None): ``{name: class or function}`` for custom layers and
            functions that are not registered (default None).
        safe_mode (bool): True (default) refuses Python bytecode in the config.

    Returns:
        Model | Layer: a new object with freshly initialised weights.

    Raises:
        TypeError: ``config`` is not a dict.

    Examples:
        >>> import kerasette as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> clone = keras.models.model_from_config(keras.layers.serialize(model))
        >>> clone.output_shape
        (None, 2)
    """
    from ..layers.serialization import deserialize
    from ..registry import loading
    if not isinstance(config, dict):
        raise TypeError(f"model_from_config: expected a dict with 'class_name' and 'config', got "
                        f"{type(config).__name__}")
    with loading(custom_objects, safe_mode):
        return deserialize(config, custom_objects)


def model_from_json(json_string, custom_objects=None, safe_mode=True):
    """A model from ``model.to_json()``: the architecture, with new weights.

    ``safe_mode=False`` allows Python bytecode (a ``Lambda``'s lambda) in the JSON;
    only for JSON you trust.

    Args:
        json_string (str): what ``model.to_json()`` returned (Keras 3's JSON loads too).
        custom_objects (dict | None): ``{name: class or function}`` for custom layers and
            functions that are not registered (default None).
        safe_mode (bool): True (default) refuses Python bytecode in the JSON.

    Raises:
        ValueError: ``json_string`` is not JSON.

    Examples:
        >>> import kerasette as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> keras.models.model_from_json(model.to_json()).count_params()
        8
    """
    import json
    try:
        config = json.loads(json_string)
    except (TypeError, ValueError) as e:
        raise ValueError(f"model_from_json: not a JSON model description ({e})") from None
    return model_from_config(config, custom_objects, safe_mode=safe_mode)


def clone_model(model, input_tensors=None, clone_function=None, call_function=None,
                recursive=False, custom_objects=None, **kwargs):
    """A new model with the same architecture and new weights (as Keras's ``clone_model``).

    Args:
        model: a ``Sequential`` or functional ``Model`` (a subclassed model is rebuilt
            from its config; ``clone_function`` / ``input_tensors`` are refused for it).
        input_tensors: new ``keras.Input`` tensor(s) to build the clone on.
        clone_function: ``layer -> new layer`` for every layer (default: a fresh copy
            from the layer's config, with new weights).
        call_function: ``(layer, *args, **kwargs) -> outputs`` to call each cloned layer
            in a functional model (default: ``layer(*args, **kwargs)``).
        recursive: also clone the layers of nested models one by one.
        custom_objects: names for custom layers / functions in the configs.

    Examples:
        >>> import kerasette as keras
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> clone = keras.models.clone_model(model)
        >>> clone.output_shape, clone is model, clone.layers[0].kernel is model.layers[0].kernel
        ((None, 2), False, False)
    """
    from .clone import clone
    if kwargs:
        raise TypeError(f"clone_model: unexpected keyword argument(s) {sorted(kwargs)}")
    return clone(model, input_tensors=input_tensors, clone_function=clone_function,
                 call_function=call_function, recursive=recursive, custom_objects=custom_objects)


def load_model(filepath, custom_objects=None, compile=True, safe_mode=True):
    """Load a whole model saved with ``model.save("x.keras")`` (or by Keras 3); see
    ``kerasette.saving.load_model``.

    Args:
        filepath (str | os.PathLike): a ``.keras`` archive or a legacy whole-model ``.h5``.
        custom_objects (dict | None): ``{name: class or function}`` for custom objects that
            are not registered (default None).
        compile (bool): compile the model as saved and restore the optimizer state
            (default True).
        safe_mode (bool): True (default) refuses Python bytecode in the file.

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     model.save(os.path.join(d, "m.keras"))
        ...     restored = keras.models.load_model(os.path.join(d, "m.keras"))
        ...
        >>> np.allclose(restored.predict(np.ones((1, 3)), verbose=0), model.predict(np.ones((1, 3)), verbose=0))
        True
    """
    from ..saving import load_model as _load
    return _load(filepath, custom_objects=custom_objects, compile=compile, safe_mode=safe_mode)


def save_model(model, filepath, overwrite=True, **kwargs):
    """Save a whole model; see ``kerasette.saving.save_model``.

    Args:
        model (Model): the model to save.
        filepath (str | os.PathLike): a name ending in ``.keras`` (or ``.h5`` / ``.hdf5`` for
            the legacy format).
        overwrite (bool): replace an existing file (default True).
        **kwargs: ``include_optimizer`` (default True), as for ``saving.save_model``.

    Examples:
        >>> import kerasette as keras
        >>> import os, tempfile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        >>> with tempfile.TemporaryDirectory() as d:
        ...     keras.models.save_model(model, os.path.join(d, "m.keras"))
        ...     print(keras.models.load_model(os.path.join(d, "m.keras")).output_shape)
        ...
        (None, 2)
    """
    from ..saving import save_model as _save
    return _save(model, filepath, overwrite=overwrite, **kwargs)
