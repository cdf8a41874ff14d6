"""EfficientNet B0 to B7 (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019), with Keras's layer names and weight files.

The models take raw RGB values in ``[0, 255]``: their first layers are a ``Rescaling(1 / 255)`` and
a ``Normalization`` (whose mean and variance come with the ImageNet weights; random-initialized
models start at mean 0, variance 1). With ``weights="imagenet"`` a second ``Rescaling`` follows, by
``1 / sqrt(std)`` per channel: the published weights were trained on ``(x - mean) / std``, and the
normalization layer only divides by ``sqrt(variance) = sqrt(std)`` (as Keras builds it). Keras
leaves these preprocessing layers unnamed, and so are they here (``rescaling``, ``normalization``,
``rescaling_1`` in a fresh session).
"""
import math

from .. import layers
from . import _common, imagenet_utils

__all__ = ["EfficientNetB0", "EfficientNetB1", "EfficientNetB2", "EfficientNetB3", "EfficientNetB4",
           "EfficientNetB5", "EfficientNetB6", "EfficientNetB7", "preprocess_input", "decode_predictions"]

_URL = "https://storage.googleapis.com/keras-applications/"
# (top, no-top) md5 of Keras's ImageNet weight files
WEIGHTS_HASHES = {
    "b0": ("902e53a9f72be733fc0bcb005b3ebbac", "50bc09e76180e00e4465e1a485ddc09d"),
    "b1": ("1d254153d4ab51201f1646940f018540", "74c4e6b3e1f6a1eea24c589628592432"),
    "b2": ("b15cce36ff4dcbd00b6dd88e7857a6ad", "111f8e2ac8aa800a7a99e3239f7bfb39"),
    "b3": ("ffd1fdc53d0ce67064dc6a9c7960ede0", "af6d107764bb5b1abb91932881670226"),
    "b4": ("18c95ad55216b8f92d7e70b3a046e2fc", "ebc24e6d6c33eaebbd558eafbeedf1ba"),
    "b5": ("ace28f2a6363774853a83a0b21b9421a", "38879255a25d3c92d5e44e04ae6cec6f"),
    "b6": ("165f6e37dce68623721b423839de8be5", "9ecce42647a20130c1f39a5d4cb75743"),
    "b7": ("8c03f828fec3ef71311cd463b6759d99", "cbcfe4450ddf6f3ad90b1b398090fe4a"),
}
# (width multiplier, depth multiplier, default input side, dropout before the classifier)
_SCALING = {
    "b0": (1.0, 1.0, 224, 0.2), "b1": (1.0, 1.1, 240, 0.2), "b2": (1.1, 1.2, 260, 0.3),
    "b3": (1.2, 1.4, 300, 0.3), "b4": (1.4, 1.8, 380, 0.4), "b5": (1.6, 2.2, 456, 0.4),
    "b6": (1.8, 2.6, 528, 0.5), "b7": (2.0, 3.1, 600, 0.5),
}
# the seven stages of B0: (kernel, repeats, filters in, filters out, expansion, first stride);
# every block has a squeeze-and-excitation of ratio 0.25 and an identity skip where shapes allow
_STAGES = ((3, 1, 32, 16, 1, 1), (3, 2, 16, 24, 6, 2), (5, 2, 24, 40, 6, 2), (3, 3, 40, 80, 6, 2),
           (5, 3, 80, 112, 6, 1), (5, 4, 112, 192, 6, 2), (3, 1, 192, 320, 6, 1))
_SE_RATIO = 0.25
_DROP_CONNECT = 0.2
_DIVISOR = 8
_IMAGENET_STD = (0.229, 0.224, 0.225)         # the mean and variance come with the weights file

_CONV_INIT = {"class_name": "VarianceScaling",
              "config": {"scale": 2.0, "mode": "fan_out", "distribution": "truncated_normal"}}
_DENSE_INIT = {"class_name": "VarianceScaling",
               "config": {"scale": 1.0 / 3.0, "mode": "fan_out", "distribution": "uniform"}}


def _round_filters(filters, width):
    """``filters * width`` rounded to a multiple of 8 (at least 8), never more than 10% down."""
    filters *= width
    rounded = max(_DIVISOR, int(filters + _DIVISOR / 2) // _DIVISOR * _DIVISOR)
    return int(rounded + _DIVISOR if rounded < 0.9 * filters else rounded)


def _round_repeats(repeats, depth):
    return int(math.ceil(depth * repeats))


def _bn(name):
    return layers.BatchNormalization(axis=3, name=name)


def _mbconv(inputs, name, kernel, filters_in, filters_out, expansion, stride, drop_rate):
    """One mobile inverted bottleneck: 1x1 expansion (when ``expansion > 1``), depthwise
    ``kernel``, squeeze-and-excitation, linear 1x1 projection; added to the input (after
    drop-connect, a per-sample ``Dropout``) when the stride is 1 and the channels match."""
    filters = filters_in * expansion
    x = inputs
    if expansion != 1:
        x = layers.Conv2D(filters, 1, padding="same", use_bias=False, kernel_initializer=_CONV_INIT,
                          name=f"{name}expand_conv")(x)
        x = _bn(f"{name}expand_bn")(x)
        x = layers.Activation("swish", name=f"{name}expand_activation")(x)
    if stride == 2:
        x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, kernel), name=f"{name}dwconv_pad")(x)
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="valid" if stride == 2 else "same",
                               use_bias=False, depthwise_initializer=_CONV_INIT, name=f"{name}dwconv")(x)
    x = _bn(f"{name}bn")(x)
    x = layers.Activation("swish", name=f"{name}activation")(x)

    se = layers.GlobalAveragePooling2D(name=f"{name}se_squeeze")(x)
    se = layers.Reshape((1, 1, filters), name=f"{name}se_reshape")(se)
    se = layers.Conv2D(max(1, int(filters_in * _SE_RATIO)), 1, padding="same", activation="swish",
                       kernel_initializer=_CONV_INIT, name=f"{name}se_reduce")(se)
    se = layers.Conv2D(filters, 1, padding="same", activation="sigmoid", kernel_initializer=_CONV_INIT,
                       name=f"{name}se_expand")(se)
    x = layers.multiply([x, se], name=f"{name}se_excite")

    x = layers.Conv2D(filters_out, 1, padding="same", use_bias=False, kernel_initializer=_CONV_INIT,
                      name=f"{name}project_conv")(x)
    x = _bn(f"{name}project_bn")(x)
    if stride == 1 and filters_in == filters_out:
        if drop_rate > 0:
            x = layers.Dropout(drop_rate, noise_shape=(None, 1, 1, 1), name=f"{name}drop")(x)
        x = layers.add([x, inputs], name=f"{name}add")
    return x


def _efficientnet(variant, include_top, weights, input_tensor, input_shape, pooling, classes,
                  classifier_activation, name):
    family = f"EfficientNet{variant.upper()}"
    width, depth, default_size, dropout = _SCALING[variant]
    _common.check_weights(family, weights, include_top, classes, pooling)
    given_shape = input_shape
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=default_size, min_size=32,
                                                    data_format="channels_last",
                                                    require_flatten=include_top, weights=weights)
    x, inputs = _common.image_input(family, input_tensor, input_shape, given_shape)

    x = layers.Rescaling(1.0 / 255.0)(x)
    x = layers.Normalization(axis=3)(x)
    if weights == "imagenet":
        x = layers.Rescaling([1.0 / math.sqrt(s) for s in _IMAGENET_STD])(x)
    x = layers.ZeroPadding2D(padding=imagenet_utils.correct_pad(x, 3), name="stem_conv_pad")(x)
    x = layers.Conv2D(_round_filters(32, width), 3, strides=2, padding="valid", use_bias=False,
                      kernel_initializer=_CONV_INIT, name="stem_conv")(x)
    x = _bn("stem_bn")(x)
    x = layers.Activation("swish", name="stem_activation")(x)

    total = float(sum(_round_repeats(stage[1], depth) for stage in _STAGES))
    done = 0
    for i, (kernel, repeats, f_in, f_out, expansion, stride) in enumerate(_STAGES):
        f_in, f_out = _round_filters(f_in, width), _round_filters(f_out, width)
        for j in range(_round_repeats(repeats, depth)):
            x = _mbconv(x, f"block{i + 1}{chr(ord('a') + j)}_", kernel, f_in if j == 0 else f_out, f_out,
                        expansion, stride if j == 0 else 1, _DROP_CONNECT * done / total)
            done += 1

    x = layers.Conv2D(_round_filters(1280, width), 1, padding="same", use_bias=False,
                      kernel_initializer=_CONV_INIT, name="top_conv")(x)
    x = _bn("top_bn")(x)
    x = layers.Activation("swish", name="top_activation")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        if dropout > 0:
            x = layers.Dropout(dropout, name="top_dropout")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, kernel_initializer=_DENSE_INIT,
                         name="predictions")(x)
    else:
        x = _common.pooled(x, pooling, avg_name="avg_pool", max_name="max_pool")
    # Keras names the published file after the model's name argument (``efficientnetb0.h5``)
    file_name = f"{name}{'.h5' if include_top else '_notop.h5'}"
    return _common.finish(inputs, x, name, weights, file_name=file_name, url=_URL + file_name,
                          file_hash=WEIGHTS_HASHES[variant][0 if include_top else 1])


_ARGS_DOC = """
    The model includes its preprocessing: feed it RGB values in ``[0, 255]``
    (:func:`kerasette.applications.efficientnet.preprocess_input` passes them through).

    Args:
        include_top (bool): keep the classifier (``avg_pool``, ``top_dropout``, then the
            ``predictions`` dense layer).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 32; with
            ``include_top=True`` and ImageNet weights it must be the default square input.
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling to ``(batch, channels)``).
        classes (int): classes of the top layer (1000 with ImageNet weights).
        classifier_activation (str | callable | None): the top layer's activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        name (str): the model's name (with ``"imagenet"`` also the weight file's name, as in Keras).

    Returns:
        Model: the functional model.

    Raises:
        ValueError: a bad ``weights``, ``classes``, ``pooling``, ``input_shape``,
            ``classifier_activation``, or an ``input_tensor`` that does not match ``input_shape``.
"""


def _builder(variant):
    width, depth, size, dropout = _SCALING[variant]
    family = f"EfficientNet{variant.upper()}"

    def build(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", name=f"efficientnet{variant}"):
        return _efficientnet(variant, include_top, weights, input_tensor, input_shape, pooling, classes,
                             classifier_activation, name)

    build.__name__ = build.__qualname__ = family
    build.__module__ = __name__
    build.__doc__ = (f"""{family}: width x{width}, depth x{depth}, default input {size}x{size}x3, dropout
    {dropout} before the classifier; a strided 3x3 stem, seven stages of mobile inverted bottleneck
    blocks with squeeze-and-excitation and swish, a 1x1 convolution to
    {_round_filters(1280, width)} channels, then the classifier or the optional pooling.
""" + _ARGS_DOC)
    return build


EfficientNetB0 = _builder("b0")
EfficientNetB1 = _builder("b1")
EfficientNetB2 = _builder("b2")
EfficientNetB3 = _builder("b3")
EfficientNetB4 = _builder("b4")
EfficientNetB5 = _builder("b5")
EfficientNetB6 = _builder("b6")
EfficientNetB7 = _builder("b7")
EfficientNetB0.__doc__ += """
    Examples:
        >>> from kerasette.applications import EfficientNetB0
        >>> model = EfficientNetB0(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="avg")
        >>> model.output_shape, model.count_params()
        ((None, 1280), 4049571)
"""


def preprocess_input(x, data_format=None):
    """A pass-through, kept for API compatibility: EfficientNet models rescale and normalize
    their input themselves, so they take RGB values in ``[0, 255]`` as they are.

    Args:
        x (np.ndarray | Tensor | KerasTensor): RGB images with values in ``[0, 255]``.
        data_format (str | None): unused (accepted as Keras accepts it).

    Returns:
        ``x``, unchanged.
    """
    return x


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
