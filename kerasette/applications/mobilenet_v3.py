"""MobileNetV3 Small and Large (Howard et al., "Searching for MobileNetV3", ICCV 2019), with Keras's
layer names and weight files.

The models take raw RGB values in ``[0, 255]``: their first layer is a ``Rescaling`` to
``[-1, 1]`` (leave it out with ``include_preprocessing=False`` and feed ``[-1, 1]`` values).

Keras names the convolutions, batch norms, paddings and squeeze-and-excite layers of each block
(``expanded_conv_3_depthwise``, ...) but leaves the activations unnamed: ``re_lu``, ``re_lu_1``,
... for the ReLUs, ``activation``, ``activation_1``, ... for the hard-swish layers, and the hard
sigmoid of each squeeze-and-excite unit is ``ReLU(6)(x + 3) * (1 / 6)``: a ``re_lu_N`` layer
between two ops on symbolic tensors (``add``, ``multiply``, not layers). So are they here; weight
files do not depend on those names.
"""
import warnings

from .. import layers
from ..layers.symbolic import KerasTensor
from . import _common, imagenet_utils

__all__ = ["MobileNetV3Small", "MobileNetV3Large", "preprocess_input", "decode_predictions"]

_URL = _common.KERAS_APPS_URL + "mobilenet_v3/"
# (top, no-top) md5 of Keras's ImageNet weight files, by "{type}[_minimalistic]_224_{alpha}_float"
WEIGHTS_HASHES = {
    "large_224_0.75_float": ("765b44a33ad4005b3ac83185abf1d0eb", "40af19a13ebea4e2ee0c676887f69a2e"),
    "large_224_1.0_float": ("59e551e166be033d707958cf9e29a6a7", "07fb09a5933dd0c8eaafa16978110389"),
    "large_minimalistic_224_1.0_float": ("675e7b876c45c57e9e63e6d90a36599c", "ec5221f64a2f6d1ef965a614bdae7973"),
    "small_224_0.75_float": ("cb65d4e5be93758266aa0a7f2c6708b7", "ebdb5cc8e0b497cd13a7c275d475c819"),
    "small_224_1.0_float": ("8768d4c2e7dee89b9d02b2d03d65d862", "d3e8ec802a04aa4fc771ee12a9a9b836"),
    "small_minimalistic_224_1.0_float": ("99cd97fb2fcdad2bf028eb838de69e37", "cde8136e733e811080d9fcd8a252f7e4"),
}

# the blocks of each model: (expansion, filters, kernel, stride, squeeze-and-excite, activation), where
# kernel "k" is 5 (3 when minimalistic), "se" means a squeeze-and-excite unit (none when minimalistic)
# and activation "hs" is hard-swish (ReLU when minimalistic)
_SMALL = ((1, 16, 3, 2, "se", "relu"), (72 / 16, 24, 3, 2, None, "relu"), (88 / 24, 24, 3, 1, None, "relu"),
          (4, 40, "k", 2, "se", "hs"), (6, 40, "k", 1, "se", "hs"), (6, 40, "k", 1, "se", "hs"),
          (3, 48, "k", 1, "se", "hs"), (3, 48, "k", 1, "se", "hs"), (6, 96, "k", 2, "se", "hs"),
          (6, 96, "k", 1, "se", "hs"), (6, 96, "k", 1, "se", "hs"))
_LARGE = ((1, 16, 3, 1, None, "relu"), (4, 24, 3, 2, None, "relu"), (3, 24, 3, 1, None, "relu"),
          (3, 40, "k", 2, "se", "relu"), (3, 40, "k", 1, "se", "relu"), (3, 40, "k", 1, "se", "relu"),
          (6, 80, 3, 2, None, "hs"), (2.5, 80, 3, 1, None, "hs"), (2.3, 80, 3, 1, None, "hs"),
          (2.3, 80, 3, 1, None, "hs"), (6, 112, 3, 1, "se", "hs"), (6, 112, 3, 1, "se", "hs"),
          (6, 160, "k", 2, "se", "hs"), (6, 160, "k", 1, "se", "hs"), (6, 160, "k", 1, "se", "hs"))
_SE_RATIO = 0.25


def _make_divisible(v, divisor=8):
    """``v`` rounded to a multiple of ``divisor`` (at least ``divisor``), never more than 10% down."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def _bn(name):
    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def _act(x, kind):
    """An unnamed ReLU layer, or an unnamed hard-swish ``Activation``."""
    if kind == "relu":
        return layers.ReLU()(x)
    return layers.Activation("hard_swish")(x)


def _squeeze_excite(inputs, filters, prefix):
    """Global average pooling (kept 4D), 1x1 convolution to a quarter of the channels, ReLU, 1x1
    convolution back, hard sigmoid (``ReLU(6)(x + 3) / 6``, as Keras builds it), times the input."""
    x = layers.GlobalAveragePooling2D(keepdims=True, name=f"{prefix}squeeze_excite_avg_pool")(inputs)
    x = layers.Conv2D(_make_divisible(filters * _SE_RATIO), 1, padding="same",
                      name=f"{prefix}squeeze_excite_conv")(x)
    x = layers.ReLU(name=f"{prefix}squeeze_excite_relu")(x)
    x = layers.Conv2D(filters, 1, padding="same", name=f"{prefix}squeeze_excite_conv_1")(x)
    x = layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)
    return layers.Multiply(name=f"{prefix}squeeze_excite_mul")([inputs, x])


def _inverted_residual(inputs, expansion, filters, kernel, stride, se, act, block_id):
    """1x1 expansion (not in block 0), depthwise ``kernel`` (``stride``), the optional
    squeeze-and-excite unit, linear 1x1 projection; added to the input when the shapes match."""
    in_channels = inputs.shape[-1]
    expanded = _make_divisible(in_channels * expansion)
    x = inputs
    prefix = f"expanded_conv_{block_id}_" if block_id else "expanded_conv_"
    if block_id:
        x = layers.Conv2D(expanded, 1, padding="same", use_bias=False, name=f"{prefix}expand")(x)
        x = _bn(f"{prefix}expand_bn")(x)
        x = _act(x, act)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel), name=f"{prefix}depthwise_pad")(x)
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same" if stride == 1 else "valid", use_bias=False,
                               name=f"{prefix}depthwise")(x)
    x = _bn(f"{prefix}depthwise_bn")(x)
    x = _act(x, act)
    if se:
        x = _squeeze_excite(x, expanded, prefix)
    x = layers.Conv2D(filters, 1, padding="same", use_bias=False, name=f"{prefix}project")(x)
    x = _bn(f"{prefix}project_bn")(x)
    if stride == 1 and in_channels == filters:
        x = layers.Add(name=f"{prefix}add")([inputs, x])
    return x


def _input_side(input_shape, input_tensor):
    """``(rows, cols)`` as Keras checks them: from ``input_shape``, else from ``input_tensor``."""
    if input_shape is not None:
        return input_shape[0], input_shape[1]
    if isinstance(input_tensor, KerasTensor) and len(input_tensor.shape) == 4:
        return input_tensor.shape[1], input_tensor.shape[2]
    return None, None


def _mobilenet_v3(family, model_type, blocks, last_point, input_shape, alpha, minimalistic, include_top, weights,
                  input_tensor, classes, pooling, dropout_rate, classifier_activation, include_preprocessing,
                  name):
    _common.check_weights(family, weights, include_top, classes, pooling)
    if input_shape is not None:
        input_shape = tuple(input_shape)
        if len(input_shape) != 3:
            raise ValueError(f"{family}: input_shape must be a tuple of three integers (rows, cols, channels); "
                             f"got input_shape={input_shape}")
    rows, cols = _input_side(input_shape, input_tensor)
    if rows and cols and (rows < 32 or cols < 32):
        raise ValueError(f"{family}: input size must be at least 32x32; got input_shape="
                         f"{input_shape if input_shape is not None else input_tensor.shape[1:]}")
    if weights == "imagenet":
        if (alpha != 1.0 if minimalistic else alpha not in (0.75, 1.0)):
            raise ValueError(f"{family}: ImageNet weights exist for alpha 0.75 or 1.0 (1.0 only when "
                             f"minimalistic); got alpha={alpha}, minimalistic={minimalistic}")
        if rows != cols or rows != 224:
            warnings.warn(f"{family}: input_shape is undefined, non-square, or its side is not 224; loading "
                          f"the weights for 224x224.", stacklevel=3)
    if include_top and not 0 <= dropout_rate < 1:
        raise ValueError(f"{family}: dropout_rate must be in [0, 1); got dropout_rate={dropout_rate}")
    if input_shape is None and input_tensor is None:
        input_shape = (None, None, 3)
    x, inputs = _common.image_input(family, input_tensor, input_shape, input_shape)

    kernel, act, se = (3, "relu", None) if minimalistic else (5, "hs", "se")
    if include_preprocessing:
        x = layers.Rescaling(scale=1.0 / 127.5, offset=-1.0)(x)
    x = layers.Conv2D(16, 3, strides=(2, 2), padding="same", use_bias=False, name="conv")(x)
    x = _bn("conv_bn")(x)
    x = _act(x, act)
    for block_id, (expansion, filters, k, stride, block_se, block_act) in enumerate(blocks):
        x = _inverted_residual(x, expansion, _make_divisible(filters * alpha), kernel if k == "k" else k, stride,
                               block_se and se, act if block_act == "hs" else "relu", block_id)

    x = layers.Conv2D(_make_divisible(x.shape[-1] * 6), 1, padding="same", use_bias=False, name="conv_1")(x)
    x = _bn("conv_1_bn")(x)
    x = _act(x, act)
    if include_top:
        if alpha > 1.0:
            last_point = _make_divisible(last_point * alpha)
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Conv2D(last_point, 1, padding="same", use_bias=True, name="conv_2")(x)
        x = _act(x, act)
        if dropout_rate > 0:
            x = layers.Dropout(dropout_rate)(x)
        x = layers.Conv2D(classes, 1, padding="same", name="logits")(x)
        x = layers.Flatten()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled(x, pooling, avg_name="avg_pool", max_name="max_pool")

    file_name = file_hash = None
    if weights == "imagenet":
        key = f"{model_type}{'_minimalistic' if minimalistic else ''}_224_{float(alpha)}_float"
        file_name = f"weights_mobilenet_v3_{key}{'' if include_top else '_no_top_v2'}.h5"
        file_hash = WEIGHTS_HASHES[key][0 if include_top else 1]
    return _common.finish(inputs, x, name, weights, file_name=file_name, file_hash=file_hash,
                          url=_URL + file_name if file_name else None)


_ARGS_DOC = """
    The model includes its preprocessing: feed it RGB values in ``[0, 255]``
    (:func:`kerasette.applications.mobilenet_v3.preprocess_input` passes them through), or
    ``[-1, 1]`` values with ``include_preprocessing=False``.

    Args:
        input_shape (tuple | None): ``(rows, cols, channels)``, each side at least 32; default
            ``(None, None, 3)`` (any size, also with the top), or the shape of ``input_tensor``.
            ImageNet weights were trained at 224x224 (another size loads them with a warning).
        alpha (float): width multiplier of every block (ImageNet weights for 0.75 and 1.0, or
            1.0 only when ``minimalistic``); above 1 it widens ``conv_2`` too.
        minimalistic (bool): the variant without squeeze-and-excite, hard-swish and 5x5
            kernels (ReLU and 3x3 everywhere).
        include_top (bool): keep the classifier (pooling, ``conv_2``, dropout, the 1x1
            ``logits`` convolution, ``predictions``).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        classes (int): classes of the top layer (1000 with ImageNet weights).
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling, ``avg_pool`` / ``max_pool``).
        dropout_rate (float): with the top, the dropout before the ``logits`` layer, in ``[0, 1)``
            (0: no ``Dropout`` layer).
        classifier_activation (str | callable | None): the ``predictions`` activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        include_preprocessing (bool): start with the ``Rescaling`` of ``[0, 255]`` to ``[-1, 1]``.
        name (str): the model's name.

    Returns:
        Model: the functional model.

    Raises:
        ValueError: a bad ``weights``, ``classes``, ``pooling``, ``input_shape``,
            ``dropout_rate``, ``classifier_activation``, an ``alpha`` without ImageNet weights,
            or an ``input_tensor`` that does not match ``input_shape``.
"""


def MobileNetV3Small(input_shape=None, alpha=1.0, minimalistic=False, include_top=True, weights="imagenet",
                     input_tensor=None, classes=1000, pooling=None, dropout_rate=0.2,
                     classifier_activation="softmax", include_preprocessing=True, name="MobileNetV3Small"):
    return _mobilenet_v3("MobileNetV3Small", "small", _SMALL, 1024, input_shape, alpha, minimalistic, include_top,
                         weights, input_tensor, classes, pooling, dropout_rate, classifier_activation,
                         include_preprocessing, name)


def MobileNetV3Large(input_shape=None, alpha=1.0, minimalistic=False, include_top=True, weights="imagenet",
                     input_tensor=None, classes=1000, pooling=None, dropout_rate=0.2,
                     classifier_activation="softmax", include_preprocessing=True, name="MobileNetV3Large"):
    return _mobilenet_v3("MobileNetV3Large", "large", _LARGE, 1280, input_shape, alpha, minimalistic, include_top,
                         weights, input_tensor, classes, pooling, dropout_rate, classifier_activation,
                         include_preprocessing, name)


MobileNetV3Small.__doc__ = """MobileNetV3Small: a strided 3x3 convolution, 11 inverted residual blocks
    (squeeze-and-excite and hard-swish in most), a 1x1 convolution to 576 channels (at
    ``alpha=1``), then the classifier (1024 channels before the logits) or the optional pooling.
""" + _ARGS_DOC + """
    Examples:
        >>> from kerasette.applications import MobileNetV3Small
        >>> model = MobileNetV3Small(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
        >>> model.output_shape, model.count_params()
        ((None, 576), 939120)
"""

MobileNetV3Large.__doc__ = """MobileNetV3Large: a strided 3x3 convolution, 15 inverted residual blocks
    (squeeze-and-excite in some, hard-swish in the later ones), a 1x1 convolution to 960
    channels (at ``alpha=1``), then the classifier (1280 channels before the logits) or the
    optional pooling.
""" + _ARGS_DOC + """
    Examples:
        >>> from kerasette.applications import MobileNetV3Large
        >>> model = MobileNetV3Large(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
        >>> model.output_shape, model.count_params()
        ((None, 960), 2996352)
"""


def preprocess_input(x, data_format=None):
    """A pass-through, kept for API compatibility: MobileNetV3 models rescale their input
    themselves (unless built with ``include_preprocessing=False``), so they take RGB values in
    ``[0, 255]`` as they are.

    Args:
        x (np.ndarray | Tensor | KerasTensor): RGB images with values in ``[0, 255]``.
        data_format (str | None): unused (accepted as Keras accepts it).

    Returns:
        ``x``, unchanged.
    """
    return x


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
