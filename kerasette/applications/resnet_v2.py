"""ResNet v2 (He et al., "Identity Mappings in Deep Residual Networks", ECCV 2016):
pre-activation bottleneck blocks, with Keras's layer names and weight files."""
from .. import layers
from . import imagenet_utils
from .resnet import _bn, build_resnet

__all__ = ["ResNet50V2", "ResNet101V2", "ResNet152V2", "preprocess_input", "decode_predictions"]


def bottleneck_v2(x, filters, stride, name, conv_shortcut):
    """Batch norm and relu first (``preact``), then 1x1 -> 3x3 (``stride``) -> 1x1; the shortcut is
    a 1x1 convolution of ``preact`` (first block of a stage), a 1x1 max pool for a strided block,
    or the input."""
    preact = _bn(f"{name}_preact_bn")(x)
    preact = layers.Activation("relu", name=f"{name}_preact_relu")(preact)
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(preact)
    elif stride > 1:
        shortcut = layers.MaxPooling2D(1, strides=stride)(x)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=1, use_bias=False, name=f"{name}_1_conv")(preact)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name=f"{name}_2_pad")(x)
    x = layers.Conv2D(filters, 3, strides=stride, use_bias=False, name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    return layers.Add(name=f"{name}_out")([shortcut, x])


def stage_v2(x, filters, blocks, stride, name):
    """One v2 stage: a projection block first, the stride in the last block."""
    x = bottleneck_v2(x, filters, 1, f"{name}_block1", conv_shortcut=True)
    for i in range(2, blocks):
        x = bottleneck_v2(x, filters, 1, f"{name}_block{i}", conv_shortcut=False)
    return bottleneck_v2(x, filters, stride, f"{name}_block{blocks}", conv_shortcut=False)


def _resnet_v2(family, depths, include_top, weights, input_tensor, input_shape, pooling, classes,
               classifier_activation, name, weights_name):
    stages = [(64, depths[0], 2), (128, depths[1], 2), (256, depths[2], 2), (512, depths[3], 1)]
    return build_resnet(family, stages, stage_v2, True, include_top, weights, input_tensor, input_shape,
                        pooling, classes, classifier_activation, name, weights_name)


def ResNet50V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
               classes=1000, classifier_activation="softmax", name="resnet50v2"):
    """ResNet50V2: four stages of 3, 4, 6 and 3 pre-activation bottleneck blocks.

    Feed it images passed through ``preprocess_input`` of this module (``x / 127.5 - 1``).
    The default input is 224x224x3.

    Args:
        include_top (bool): keep the classifier (``avg_pool`` then the ``predictions`` dense layer).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 32; with
            ``include_top=True`` and ImageNet weights it must be ``(224, 224, 3)``.
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling to ``(batch, 2048)``).
        classes (int): classes of the top layer (1000 with ImageNet weights).
        classifier_activation (str | callable | None): the top layer's activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        name (str): the model's name.

    Returns:
        Model: the functional model.

    Examples:
        >>> from kerasette.applications import ResNet50V2
        >>> ResNet50V2(weights=None, include_top=False, input_shape=(32, 32, 3), pooling="max").output_shape
        (None, 2048)
    """
    return _resnet_v2("ResNet50V2", (3, 4, 6, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name, "resnet50v2")


def ResNet101V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
               classes=1000, classifier_activation="softmax", name="resnet101v2"):
    """ResNet101V2: four stages of 3, 4, 23 and 3 pre-activation bottleneck blocks.

    Feed it images passed through ``preprocess_input`` of this module (``x / 127.5 - 1``).
    The default input is 224x224x3.

    Args:
        include_top (bool): keep the classifier (``avg_pool`` then the ``predictions`` dense layer).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 32; with
            ``include_top=True`` and ImageNet weights it must be ``(224, 224, 3)``.
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling to ``(batch, 2048)``).
        classes (int): classes of the top layer (1000 with ImageNet weights).
        classifier_activation (str | callable | None): the top layer's activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        name (str): the model's name.

    Returns:
        Model: the functional model.
    """
    return _resnet_v2("ResNet101V2", (3, 4, 23, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name, "resnet101v2")


def ResNet152V2(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
               classes=1000, classifier_activation="softmax", name="resnet152v2"):
    """ResNet152V2: four stages of 3, 8, 36 and 3 pre-activation bottleneck blocks.

    Feed it images passed through ``preprocess_input`` of this module (``x / 127.5 - 1``).
    The default input is 224x224x3.

    Args:
        include_top (bool): keep the classifier (``avg_pool`` then the ``predictions`` dense layer).
        weights (str | None): None (random initialization), ``"imagenet"`` (fetch Keras's
            pretrained file into ``~/.keras/models``) or the path of a weights file to load.
        input_tensor (KerasTensor | None): a symbolic tensor (from ``keras.Input``) to build on.
        input_shape (tuple | None): ``(rows, cols, 3)``, each side at least 32; with
            ``include_top=True`` and ImageNet weights it must be ``(224, 224, 3)``.
        pooling (str | None): with ``include_top=False``: None (4D feature map), ``"avg"`` or
            ``"max"`` (global pooling to ``(batch, 2048)``).
        classes (int): classes of the top layer (1000 with ImageNet weights).
        classifier_activation (str | callable | None): the top layer's activation; with
            pretrained weights only ``"softmax"`` or None (logits).
        name (str): the model's name.

    Returns:
        Model: the functional model.
    """
    return _resnet_v2("ResNet152V2", (3, 8, 36, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name, "resnet152v2")


preprocess_input = imagenet_utils.preprocess_input_of(__name__, "ResNet v2", "tf")


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
