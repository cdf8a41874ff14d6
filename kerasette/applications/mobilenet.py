"""MobileNet (Howard et al., "MobileNets: Efficient Convolutional Neural Networks for Mobile Vision
Applications", 2017), with Keras's layer names and weight files."""
import warnings

from .. import layers
from . import _common, imagenet_utils

__all__ = ["MobileNet", "preprocess_input", "decode_predictions"]

_URL = _common.KERAS_APPS_URL + "mobilenet/"
_SIZES = (128, 160, 192, 224)            # the input sides Keras has ImageNet weights for
_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}

# (pointwise filters, stride) of the 13 depthwise-separable blocks
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1), (512, 1),
           (512, 1), (512, 1), (1024, 2), (1024, 1))


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3, include_top=True,
              weights="imagenet", input_tensor=None, pooling=None, classes=1000,
              classifier_activation="softmax", name=None):
    """MobileNet: a 3x3 convolution then 13 depthwise-separable blocks, each a 3x3 depthwise
    convolution and a 1x1 pointwise one, both followed by batch norm and ``ReLU(6)``.

    Feed it images passed through :func:`kerasette.applications.mobilenet.preprocess_input`
    (``x / 127.5 - 1``). ImageNet weights exist for square inputs of side 128, 160, 192 or 224
    (any other shape loads the 224 weights, with a warning).

    Args:
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 32; default
            ``(224, 224, 3)`` with the top, ``(None, None, 3)`` without.
        alpha (float): width multiplier: every layer has ``int(filters * alpha)`` filters
            (ImageNet weights for 0.25, 0.5, 0.75 and 1.0).
        depth_multiplier (int): channels out per channel in of the depthwise convolutions
            (1 with ImageNet weights).
        dropout (float): dropout rate before the classifier.
        include_top (bool): keep the classifier (global average pooling, ``dropout``, the 1x1
            ``conv_preds`` convolution, ``reshape_2`` and the ``predictions`` activation).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling to ``(batch, int(1024 * alpha))``).
        classes (int): classes of the top layer (1000 with ImageNet weights).
        classifier_activation (str | callable | None): the top layer's activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        name (str | None): the model's name (default ``mobilenet_{alpha:.2f}_{rows}``).

    Returns:
        Model: the functional model.

    Raises:
        ValueError: a bad ``weights``, ``classes``, ``pooling``, ``input_shape``,
            ``classifier_activation``, or an ``alpha`` / ``depth_multiplier`` without ImageNet weights.

    Examples:
        >>> from kerasette.applications import MobileNet
        >>> model = MobileNet(weights=None, alpha=0.25, include_top=False, input_shape=(32, 32, 3))
        >>> model.name, model.output_shape
        ('mobilenet_0.25_32', (None, 1, 1, 256))
    """
    _common.check_weights("MobileNet", weights, include_top, classes, pooling)
    default_size = 224
    if input_shape is not None and len(input_shape) == 3 and input_shape[0] == input_shape[1] \
            and input_shape[0] in _SIZES:
        default_size = input_shape[0]
    given_shape = input_shape
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format="channels_last",
                                                    require_flatten=include_top, weights=weights)
    rows, cols = input_shape[0], input_shape[1]
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ValueError(f"MobileNet: the ImageNet weights need depth_multiplier=1; got "
                             f"depth_multiplier={depth_multiplier}")
        if alpha not in _ALPHA_TEXT:
            raise ValueError(f"MobileNet: ImageNet weights exist for alpha 0.25, 0.5, 0.75 or 1.0 only; "
                             f"got alpha={alpha}")
        if rows != cols or rows not in _SIZES:
            rows = 224
            warnings.warn("MobileNet: input_shape is undefined, non-square, or its side is not one of "
                          "128, 160, 192, 224; loading the weights for 224x224.", stacklevel=2)
    x, inputs = _common.image_input("MobileNet", input_tensor, input_shape, given_shape)

    x = layers.Conv2D(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2),
                      name="conv1")(x)
    x = layers.BatchNormalization(axis=-1, name="conv1_bn")(x)
    x = layers.ReLU(6.0, name="conv1_relu")(x)
    for block_id, (filters, stride) in enumerate(_BLOCKS, start=1):
        x = _separable_block(x, int(filters * alpha), depth_multiplier, stride, block_id)

    if include_top:
        x = layers.GlobalAveragePooling2D(keepdims=True)(x)
        x = layers.Dropout(dropout, name="dropout")(x)
        x = layers.Conv2D(classes, (1, 1), padding="same", name="conv_preds")(x)
        x = layers.Reshape((classes,), name="reshape_2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Activation(activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled(x, pooling)
    if name is None:
        name = f"mobilenet_{alpha:0.2f}_{rows}"
    file_name = None
    if weights == "imagenet":
        file_name = f"mobilenet_{_ALPHA_TEXT[alpha]}_{rows}_tf{'' if include_top else '_no_top'}.h5"
    return _common.finish(inputs, x, name, weights, file_name=file_name,
                          url=_URL + file_name if file_name else None)


def _separable_block(x, filters, depth_multiplier, stride, block_id):
    """Depthwise 3x3 (``stride``; a strided one pads bottom/right first) and pointwise 1x1,
    each followed by batch norm and ``ReLU(6)``."""
    if stride != 1:
        x = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"conv_pad_{block_id}")(x)
    x = layers.DepthwiseConv2D((3, 3), padding="same" if stride == 1 else "valid",
                               depth_multiplier=depth_multiplier, strides=(stride, stride), use_bias=False,
                               name=f"conv_dw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_dw_{block_id}_bn")(x)
    x = layers.ReLU(6.0, name=f"conv_dw_{block_id}_relu")(x)
    x = layers.Conv2D(filters, (1, 1), padding="same", use_bias=False, strides=(1, 1),
                      name=f"conv_pw_{block_id}")(x)
    x = layers.BatchNormalization(axis=-1, name=f"conv_pw_{block_id}_bn")(x)
    return layers.ReLU(6.0, name=f"conv_pw_{block_id}_relu")(x)


preprocess_input = imagenet_utils.preprocess_input_of(__name__, "MobileNet", "tf")


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
