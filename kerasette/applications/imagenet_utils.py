"""ImageNet helpers shared by the applications: ``preprocess_input`` in its three modes,
``decode_predictions``, and the input-shape rules every builder applies.

The three preprocessing modes, as Keras defines them (``x`` holds RGB values in ``[0, 255]``):

- ``"caffe"`` (VGG, ResNet v1): RGB -> BGR, then subtract the ImageNet channel means
  ``[103.939, 116.779, 123.68]`` (B, G, R); no scaling.
- ``"tf"`` (MobileNet, MobileNetV2, ResNet v2): ``x / 127.5 - 1``, into ``[-1, 1]``.
- ``"torch"``: ``x / 255``, then subtract ``[0.485, 0.456, 0.406]`` and divide by
  ``[0.229, 0.224, 0.225]`` per RGB channel.
"""
import hashlib
import json
import os
import threading
import warnings

import numpy as np

from .. import activations, ops

__all__ = ["preprocess_input", "decode_predictions"]

# Keras's ImageNet class index ({"0": ["n01440764", "tench"], ...}), shipped with the package
# (Keras downloads the same bytes and checks this md5); read once, on first use.
CLASS_INDEX_PATH = os.path.join(os.path.dirname(__file__), "data", "imagenet_class_index.json")
CLASS_INDEX_HASH = "c2c37ea517e94d9795004a39431a14cb"
_class_index = {}
_class_index_lock = threading.Lock()

_CAFFE_MEAN = (103.939, 116.779, 123.68)                    # B, G, R
_TORCH_MEAN = (0.485, 0.456, 0.406)
_TORCH_STD = (0.229, 0.224, 0.225)


def preprocess_input(x, data_format=None, mode="caffe"):
    """Scale a batch of RGB images (values in ``[0, 255]``) as the ImageNet weights expect.

    A NumPy array comes back as a new NumPy array (integer input becomes float32; the input is
    not modified); a Tensor or a symbolic tensor comes back as a tensor computed with
    ``kerasette.ops`` (inside a model, it records the ops like any other).

    Args:
        x (np.ndarray | Tensor | KerasTensor | list): images, ``(..., H, W, 3)`` with
            ``channels_last`` or ``(..., 3, H, W)`` with ``channels_first``.
        data_format (str | None): ``"channels_last"`` (the default, also for None) or
            ``"channels_first"``.
        mode (str): ``"caffe"`` (RGB -> BGR, minus the ImageNet means), ``"tf"``
            (``x / 127.5 - 1``) or ``"torch"`` (``x / 255``, minus mean, over std per channel).

    Returns:
        The preprocessed images, same shape as ``x``.

    Raises:
        ValueError: an unknown ``mode`` or ``data_format``.

    Examples:
        >>> from kerasette.applications import imagenet_utils
        >>> imagenet_utils.preprocess_input(np.array([[0.0, 127.5, 255.0]]), mode="tf").tolist()
        [[-1.0, 0.0, 1.0]]
    """
    if mode not in ("caffe", "tf", "torch"):
        raise ValueError(f"preprocess_input: mode must be 'caffe', 'tf' or 'torch', got mode={mode!r}")
    data_format = _data_format(data_format)
    if isinstance(x, (list, tuple)):
        x = np.asarray(x)
    if isinstance(x, np.ndarray):
        return _preprocess_numpy(x, data_format, mode)
    return _preprocess_tensor(x, data_format, mode)


def _data_format(data_format):
    if data_format is None:
        return "channels_last"
    if data_format not in ("channels_first", "channels_last"):
        raise ValueError(f"preprocess_input: data_format must be 'channels_first' or 'channels_last', "
                         f"got data_format={data_format!r}")
    return data_format


def _channel_axis(ndim, data_format):
    """The channel axis: last for channels_last; first of an image, second of a batch otherwise."""
    if data_format == "channels_last":
        return ndim - 1
    return 0 if ndim == 3 else 1


def _per_channel(values, ndim, axis):
    """``values`` (one per channel) shaped to broadcast along ``axis`` of an ``ndim`` array."""
    shape = [1] * ndim
    shape[axis] = len(values)
    return np.asarray(values, dtype="float64").reshape(shape)


def _preprocess_numpy(x, data_format, mode):
    x = x.astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)     # always a copy
    if mode == "tf":
        return (x / 127.5 - 1.0).astype(x.dtype, copy=False)
    axis = _channel_axis(x.ndim, data_format)
    if mode == "torch":
        mean, std = _per_channel(_TORCH_MEAN, x.ndim, axis), _per_channel(_TORCH_STD, x.ndim, axis)
        return ((x / 255.0 - mean) / std).astype(x.dtype, copy=False)
    x = np.flip(x, axis=axis)
    return (x - _per_channel(_CAFFE_MEAN, x.ndim, axis)).astype(x.dtype, copy=False)


def _preprocess_tensor(x, data_format, mode):
    if mode == "tf":
        return ops.subtract(ops.divide(x, 127.5), 1.0)
    ndim = len(x.shape)
    axis = _channel_axis(ndim, data_format)
    dtype = getattr(x, "dtype", "float32")
    if mode == "torch":
        mean = ops.convert_to_tensor(_per_channel(_TORCH_MEAN, ndim, axis), dtype=dtype)
        std = ops.convert_to_tensor(_per_channel(_TORCH_STD, ndim, axis), dtype=dtype)
        return ops.divide(ops.subtract(ops.divide(x, 255.0), mean), std)
    mean = ops.convert_to_tensor(_per_channel(_CAFFE_MEAN, ndim, axis), dtype=dtype)
    return ops.subtract(ops.flip(x, axis=axis), mean)


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes of each prediction, as ``(class_id, name, score)`` tuples.

    The class index is Keras's ``imagenet_class_index.json``, shipped with kerasette (nothing
    is downloaded), checked against Keras's md5 and read once.

    Args:
        preds (np.ndarray | Tensor): scores, shape ``(samples, 1000)``.
        top (int): how many classes to return per sample, best first.

    Returns:
        list: one list per sample of ``(class_id, class_name, score)`` tuples, highest score first.

    Raises:
        ValueError: ``preds`` is not of shape ``(samples, 1000)``.
    """
    preds = ops.convert_to_numpy(preds) if not isinstance(preds, np.ndarray) else preds
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ValueError(f"decode_predictions: expects a batch of ImageNet predictions, shape (samples, "
                         f"1000); got shape {preds.shape}")
    top = int(top)
    if top < 1:
        raise ValueError(f"decode_predictions: top must be a positive integer, got top={top}")
    index = _read_class_index()
    results = []
    for row in preds:
        best = np.argsort(row, kind="stable")[::-1][:top]
        results.append([tuple(index[str(i)]) + (row[i],) for i in best])
    return results


def _read_class_index():
    """The class index, read from the package and md5-checked on first use."""
    with _class_index_lock:
        if CLASS_INDEX_PATH not in _class_index:
            with open(CLASS_INDEX_PATH, "rb") as f:
                data = f.read()
            digest = hashlib.md5(data).hexdigest()
            if digest != CLASS_INDEX_HASH:
                raise ValueError(f"decode_predictions: {CLASS_INDEX_PATH} is damaged: md5 {digest}, "
                                 f"expected {CLASS_INDEX_HASH}; reinstall kerasette")
            _class_index[CLASS_INDEX_PATH] = json.loads(data)
        return _class_index[CLASS_INDEX_PATH]


# ----------------------------------------------------------------------------- builder helpers


def preprocess_input_of(module, family, mode):
    """``preprocess_input`` as the family module ``module`` exports it (Keras has one per family,
    ``keras.applications.resnet.preprocess_input``): :func:`preprocess_input` in ``mode`` under that
    module's name.

    Args:
        module (str): the family module's ``__name__``.
        family (str): the model family, for the docstring (``"ResNet"``).
        mode (str): ``"caffe"``, ``"tf"`` or ``"torch"`` (see :func:`preprocess_input`).
    """
    def family_preprocess(x, data_format=None):
        return preprocess_input(x, data_format=data_format, mode=mode)
    family_preprocess.__name__ = family_preprocess.__qualname__ = "preprocess_input"
    family_preprocess.__module__ = module
    family_preprocess.__doc__ = _PREPROCESS_DOC.format(family=family, what=_MODE_TEXT[mode], mode=mode)
    return family_preprocess


_MODE_TEXT = {
    "caffe": "RGB -> BGR, then minus the ImageNet channel means",
    "tf": "``x / 127.5 - 1``",
    "torch": "``x / 255``, minus ``[0.485, 0.456, 0.406]``, over ``[0.229, 0.224, 0.225]`` per RGB channel",
}

_PREPROCESS_DOC = """{family}'s preprocessing: {what} (``"{mode}"`` mode of
    :func:`kerasette.applications.imagenet_utils.preprocess_input`).

    Args:
        x (np.ndarray | Tensor | KerasTensor): RGB images with values in ``[0, 255]``.
        data_format (str | None): ``"channels_last"`` (default) or ``"channels_first"``.

    Returns:
        The preprocessed images (a new array, or a tensor for tensor input).
    """


def decode_predictions_of(module):
    """``decode_predictions`` as the family module ``module`` exports it (Keras has one per family,
    ``keras.applications.vgg16.decode_predictions``): this module's function under that module's name.

    Args:
        module (str): the family module's ``__name__``.
    """
    def family_decode(preds, top=5):
        return decode_predictions(preds, top=top)
    family_decode.__name__ = family_decode.__qualname__ = "decode_predictions"
    family_decode.__module__ = module
    family_decode.__doc__ = _FAMILY_DOC
    return family_decode


_FAMILY_DOC = """The ``top`` ImageNet classes of each prediction (see
    :func:`kerasette.applications.imagenet_utils.decode_predictions`).

    Args:
        preds (np.ndarray | Tensor): scores, shape ``(samples, 1000)``.
        top (int): how many classes per sample, best first.

    Returns:
        list: per sample, a list of ``(class_id, class_name, score)``.
    """


def obtain_input_shape(input_shape, default_size, min_size, data_format, require_flatten, weights=None):
    """The input shape a builder uses, checked as Keras checks it.

    Args:
        input_shape (tuple | None): the user's shape without the batch axis, or None.
        default_size (int): the side the weights were trained at (224).
        min_size (int): the smallest side the network accepts.
        data_format (str): ``"channels_last"`` or ``"channels_first"``.
        require_flatten (bool): the model has its classifier top (a static shape is needed).
        weights (str | None): ``"imagenet"`` adds the pretrained weights' constraints.

    Returns:
        tuple: the shape to give ``Input``.
    """
    channels_first = data_format == "channels_first"
    if weights != "imagenet" and input_shape and len(input_shape) == 3:
        channels = input_shape[0] if channels_first else input_shape[-1]
        if channels not in (1, 3):
            warnings.warn(f"This model usually expects 1 or 3 input channels; input_shape={tuple(input_shape)} "
                          f"has {channels}.", stacklevel=3)
        default = (channels, default_size, default_size) if channels_first else (default_size, default_size,
                                                                                 channels)
    else:
        default = (3, default_size, default_size) if channels_first else (default_size, default_size, 3)
    if weights == "imagenet" and require_flatten:
        if input_shape is not None and tuple(input_shape) != default:
            raise ValueError(f"With include_top=True and weights='imagenet', input_shape must be {default}; "
                             f"got input_shape={tuple(input_shape)}")
        return default
    if input_shape:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"input_shape must be a tuple of three integers (rows, cols, channels); "
                             f"got input_shape={input_shape}")
        channels = input_shape[0] if channels_first else input_shape[-1]
        rows, cols = input_shape[1:] if channels_first else input_shape[:2]
        if channels != 3 and weights == "imagenet":
            raise ValueError(f"The ImageNet weights need 3 input channels; got input_shape={input_shape}")
        if (rows is not None and rows < min_size) or (cols is not None and cols < min_size):
            raise ValueError(f"Input size must be at least {min_size}x{min_size}; got input_shape={input_shape}")
    elif require_flatten:
        input_shape = default
    else:
        input_shape = (3, None, None) if channels_first else (None, None, 3)
    if require_flatten and None in input_shape:
        raise ValueError(f"With include_top=True the input_shape must be static (no None); "
                         f"got input_shape={input_shape}")
    return input_shape


def correct_pad(inputs, kernel_size):
    """The ``ZeroPadding2D`` padding before a stride-2 ``valid`` convolution of ``kernel_size``
    that makes it line up as TensorFlow's ``same`` padding does (``channels_last``).

    Args:
        inputs (KerasTensor): the tensor about to be padded, ``(batch, H, W, C)``.
        kernel_size (int | tuple): the convolution's kernel size.

    Returns:
        tuple: ``((top, bottom), (left, right))``.
    """
    rows, cols = inputs.shape[1:3]
    if isinstance(kernel_size, int):
        kernel_size = (kernel_size, kernel_size)
    adjust = (1, 1) if rows is None else (1 - rows % 2, 1 - cols % 2)
    half = (kernel_size[0] // 2, kernel_size[1] // 2)
    return ((half[0] - adjust[0], half[0]), (half[1] - adjust[1], half[1]))


def validate_activation(classifier_activation, weights):
    """Refuse a classifier activation other than softmax / None with pretrained weights.

    Args:
        classifier_activation (str | callable | None): the top layer's activation.
        weights (str | None): the builder's ``weights`` argument (None allows any activation).
    """
    if weights is None:
        return
    if activations.get(classifier_activation) not in (activations.get("softmax"), activations.get(None)):
        raise ValueError(f"With pretrained weights, classifier_activation must be None or 'softmax'; "
                         f"got classifier_activation={classifier_activation!r}")

