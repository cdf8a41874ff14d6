"""MobileNetV2 (Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks",
CVPR 2018), with Keras's layer names and weight files."""
import warnings

from .. import layers
from ..layers.symbolic import KerasTensor
from . import _common, imagenet_utils

__all__ = ["MobileNetV2", "preprocess_input", "decode_predictions"]

_URL = _common.KERAS_APPS_URL + "mobilenet_v2/"
_SIZES = (96, 128, 160, 192, 224)                # the input sides Keras has ImageNet weights for
_ALPHAS = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)

# (filters, stride, expansion) of the 17 inverted residual blocks
_BLOCKS = ((16, 1, 1), (24, 2, 6), (24, 1, 6), (32, 2, 6), (32, 1, 6), (32, 1, 6), (64, 2, 6), (64, 1, 6),
           (64, 1, 6), (64, 1, 6), (96, 1, 6), (96, 1, 6), (96, 1, 6), (160, 2, 6), (160, 1, 6), (160, 1, 6),
           (320, 1, 6))


def _make_divisible(v, divisor=8):
    """``v`` rounded to a multiple of ``divisor`` (at least ``divisor``), never more than 10% down."""
    rounded = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return rounded + divisor if rounded < 0.9 * v else rounded


def _bn(name):
    return layers.BatchNormalization(axis=-1, epsilon=1e-3, momentum=0.999, name=name)


def MobileNetV2(input_shape=None, alpha=1.0, include_top=True, weights="imagenet", input_tensor=None,
                pooling=None, classes=1000, classifier_activation="softmax", name=None):
    """MobileNetV2: a 3x3 convolution, 17 inverted residual blocks (1x1 expansion, 3x3 depthwise,
    linear 1x1 projection, added to the input where the shapes allow), a 1x1 convolution to
    1280 channels, then the classifier or the optional pooling.

    Feed it images passed through :func:`kerasette.applications.mobilenet_v2.preprocess_input`
    (``x / 127.5 - 1``). ImageNet weights exist for square inputs of side 96, 128, 160, 192 or
    224 (any other shape loads the 224 weights, with a warning).

    Args:
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 32; default
            ``(224, 224, 3)`` with the top, ``(None, None, 3)`` without.
        alpha (float): width multiplier of every block (ImageNet weights for 0.35, 0.5, 0.75,
            1.0, 1.3 and 1.4); above 1 it widens the last convolution too.
        include_top (bool): keep the classifier (global average pooling, the ``predictions``
            dense layer).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling to ``(batch, 1280)``).
        classes (int): classes of the top layer (1000 with ImageNet weights).
        classifier_activation (str | callable | None): the top layer's activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        name (str | None): the model's name (default ``mobilenetv2_{alpha:.2f}_{rows}``).

    Returns:
        Model: the functional model.

    Raises:
        ValueError: a bad ``weights``, ``classes``, ``pooling``, ``input_shape``,
            ``classifier_activation``, an ``alpha`` without ImageNet weights, or an
            ``input_tensor`` that does not match ``input_shape``.

    Examples:
        >>> from kerasette.applications import MobileNetV2
        >>> model = MobileNetV2(weights=None, alpha=0.35, input_shape=(96, 96, 3), classes=10)
        >>> model.name, model.output_shape
        ('mobilenetv2_0.35_96', (None, 10))
    """
    _common.check_weights("MobileNetV2", weights, include_top, classes, pooling)
    given_shape = input_shape
    side = None
    if input_shape is not None and len(input_shape) == 3:
        side = input_shape[0] if input_shape[0] == input_shape[1] else None
    elif input_shape is None and isinstance(input_tensor, KerasTensor) and len(input_tensor.shape) == 4:
        side = input_tensor.shape[1] if input_tensor.shape[1] == input_tensor.shape[2] else None
    default_size = side if side in _SIZES else 224
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format="channels_last",
                                                    require_flatten=include_top, weights=weights)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if alpha not in _ALPHAS:
            raise ValueError(f"MobileNetV2: ImageNet weights exist for alpha 0.35, 0.5, 0.75, 1.0, 1.3 or 1.4 "
                             f"only; got alpha={alpha}")
        if rows != cols or rows not in _SIZES:
            rows = 224
            warnings.warn("MobileNetV2: input_shape is undefined, non-square, or its side is not one of "
                          "96, 128, 160, 192, 224; loading the weights for 224x224.", stacklevel=2)
    x, inputs = _common.image_input("MobileNetV2", input_tensor, input_shape, given_shape)

    x = layers.Conv2D(_make_divisible(32 * alpha), kernel_size=3, strides=(2, 2), padding="same",
                      use_bias=False, name="Conv1")(x)
    x = _bn("bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    for block_id, (filters, stride, expansion) in enumerate(_BLOCKS):
        x = _inverted_residual(x, _make_divisible(int(filters * alpha)), stride, expansion, block_id)
    last = _make_divisible(1280 * alpha) if alpha > 1.0 else 1280
    x = layers.Conv2D(last, kernel_size=1, use_bias=False, name="Conv_1")(x)
    x = _bn("Conv_1_bn")(x)
    x = layers.ReLU(6.0, name="out_relu")(x)

    if include_top:
        x = layers.GlobalAveragePooling2D()(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled(x, pooling)
    if name is None:
        name = f"mobilenetv2_{alpha:0.2f}_{rows}"
    file_name = None
    if weights == "imagenet":
        file_name = (f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_{rows}"
                     f"{'' if include_top else '_no_top'}.h5")
    return _common.finish(inputs, x, name, weights, file_name=file_name,
                          url=_URL + file_name if file_name else None)


def _inverted_residual(inputs, filters, stride, expansion, block_id):
    """Expand (1x1, ``expansion`` times the channels; not in block 0), depthwise 3x3 (``stride``),
    project (1x1, linear) to ``filters``; add the input when the shapes match."""
    in_channels = inputs.shape[-1]
    x = inputs
    if block_id:
        prefix = f"block_{block_id}_"
        x = layers.Conv2D(expansion * in_channels, kernel_size=1, padding="same", use_bias=False,
                          activation=None, name=f"{prefix}expand")(x)
        x = _bn(f"{prefix}expand_BN")(x)
        x = layers.ReLU(6.0, name=f"{prefix}expand_relu")(x)
    else:
        prefix = "expanded_conv_"
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name=f"{prefix}pad")(x)
    x = layers.DepthwiseConv2D(kernel_size=3, strides=stride, activation=None, use_bias=False,
                               padding="same" if stride == 1 else "valid", name=f"{prefix}depthwise")(x)
    x = _bn(f"{prefix}depthwise_BN")(x)
    x = layers.ReLU(6.0, name=f"{prefix}depthwise_relu")(x)
    x = layers.Conv2D(filters, kernel_size=1, padding="same", use_bias=False, activation=None,
                      name=f"{prefix}project")(x)
    x = _bn(f"{prefix}project_BN")(x)
    if in_channels == filters and stride == 1:
        return layers.Add(name=f"{prefix}add")([inputs, x])
    return x


preprocess_input = imagenet_utils.preprocess_input_of(__name__, "MobileNetV2", "tf")


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
