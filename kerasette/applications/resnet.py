"""ResNet v1 (He et al., "Deep Residual Learning for Image Recognition", CVPR 2015): ResNet50,
ResNet101 and ResNet152 with Keras's layer names and weight files; the v2 networks of
:mod:`kerasette.applications.resnet_v2` share the stem and the head built here."""
from .. import layers
from . import _common, imagenet_utils

__all__ = ["ResNet50", "ResNet101", "ResNet152", "preprocess_input", "decode_predictions"]

# (top, no-top) md5 of Keras's ImageNet weight files
WEIGHTS_HASHES = {
    "resnet50": ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626"),
    "resnet101": ("f1aeb4b969a6efcfb50fad2f0c20cfc5", "88cf7a10940856eca736dc7b7e228a21"),
    "resnet152": ("100835be76be38e30d865e96f2aaae62", "ee4c566cf9a93f14d82f913c2dc6dd0c"),
    "resnet50v2": ("3ef43a0b657b3be2300d5770ece849e0", "fac2f116257151a9d068a22e544a4917"),
    "resnet101v2": ("6343647c601c52e1368623803854d971", "c0ed64b8031c3730f411d2eb4eea35b5"),
    "resnet152v2": ("a49b44d1979771252814e80f8ec446f9", "ed17cf2e0169df9d443503ef94b23b33"),
}
_BN_EPS = 1.001e-5


def _bn(name):
    return layers.BatchNormalization(axis=3, epsilon=_BN_EPS, name=name)


def build_resnet(family, stages, block, preact, include_top, weights, input_tensor, input_shape, pooling,
                 classes, classifier_activation, name, weights_name):
    """A ResNet: the 7x7 stem, ``stages`` (``[(filters, blocks, first stride), ...]``) of ``block``,
    then the classifier or the optional pooling. ``preact`` (v2) moves the stem's batch norm
    after the last stage (``post_bn``)."""
    _common.check_weights(family, weights, include_top, classes, pooling)
    given_shape = input_shape
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    data_format="channels_last",
                                                    require_flatten=include_top, weights=weights)
    x, inputs = _common.image_input(family, input_tensor, input_shape, given_shape)
    x = layers.ZeroPadding2D(padding=((3, 3), (3, 3)), name="conv1_pad")(x)
    x = layers.Conv2D(64, 7, strides=2, use_bias=True, name="conv1_conv")(x)
    if not preact:
        x = _bn("conv1_bn")(x)
        x = layers.Activation("relu", name="conv1_relu")(x)
    x = layers.ZeroPadding2D(padding=((1, 1), (1, 1)), name="pool1_pad")(x)
    x = layers.MaxPooling2D(3, strides=2, name="pool1_pool")(x)
    for stage, (filters, blocks, stride) in enumerate(stages, start=2):
        x = block(x, filters, blocks, stride, f"conv{stage}")
    if preact:
        x = _bn("post_bn")(x)
        x = layers.Activation("relu", name="post_relu")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled(x, pooling, avg_name="avg_pool", max_name="max_pool")
    suffix = "" if include_top else "_notop"
    file_name = f"{weights_name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    file_hash = WEIGHTS_HASHES[weights_name][0 if include_top else 1]
    return _common.finish(inputs, x, name, weights, file_name=file_name,
                          url=_common.KERAS_APPS_URL + "resnet/" + file_name, file_hash=file_hash)


def bottleneck_v1(x, filters, stride, name, conv_shortcut):
    """1x1 -> 3x3 -> 1x1 (``4 * filters`` out), batch norm after each, added to the shortcut
    (a strided 1x1 convolution in the first block of a stage, the input otherwise)."""
    if conv_shortcut:
        shortcut = layers.Conv2D(4 * filters, 1, strides=stride, name=f"{name}_0_conv")(x)
        shortcut = _bn(f"{name}_0_bn")(shortcut)
    else:
        shortcut = x
    x = layers.Conv2D(filters, 1, strides=stride, name=f"{name}_1_conv")(x)
    x = _bn(f"{name}_1_bn")(x)
    x = layers.Activation("relu", name=f"{name}_1_relu")(x)
    x = layers.Conv2D(filters, 3, padding="same", name=f"{name}_2_conv")(x)
    x = _bn(f"{name}_2_bn")(x)
    x = layers.Activation("relu", name=f"{name}_2_relu")(x)
    x = layers.Conv2D(4 * filters, 1, name=f"{name}_3_conv")(x)
    x = _bn(f"{name}_3_bn")(x)
    x = layers.Add(name=f"{name}_add")([shortcut, x])
    return layers.Activation("relu", name=f"{name}_out")(x)


def stage_v1(x, filters, blocks, stride, name):
    """One v1 stage: the first block downsamples (``stride``) through a projection shortcut."""
    x = bottleneck_v1(x, filters, stride, f"{name}_block1", conv_shortcut=True)
    for i in range(2, blocks + 1):
        x = bottleneck_v1(x, filters, 1, f"{name}_block{i}", conv_shortcut=False)
    return x


def _resnet_v1(family, depths, include_top, weights, input_tensor, input_shape, pooling, classes,
               classifier_activation, name, weights_name):
    stages = [(64, depths[0], 1), (128, depths[1], 2), (256, depths[2], 2), (512, depths[3], 2)]
    return build_resnet(family, stages, stage_v1, False, include_top, weights, input_tensor, input_shape,
                        pooling, classes, classifier_activation, name, weights_name)


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
             classes=1000, classifier_activation="softmax", name="resnet50"):
    """ResNet50: four stages of 3, 4, 6 and 3 bottleneck blocks.

    Feed it images passed through ``preprocess_input`` of this module (RGB -> BGR, minus the
    ImageNet channel means). The default input is 224x224x3.

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
        >>> from kerasette.applications import ResNet50
        >>> model = ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3))
        >>> model.output_shape, model.count_params()
        ((None, 1, 1, 2048), 23587712)
    """
    return _resnet_v1("ResNet50", (3, 4, 6, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name, "resnet50")


def ResNet101(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", name="resnet101"):
    """ResNet101: four stages of 3, 4, 23 and 3 bottleneck blocks.

    Feed it images passed through ``preprocess_input`` of this module (RGB -> BGR, minus the
    ImageNet channel means). The default input is 224x224x3.

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
    return _resnet_v1("ResNet101", (3, 4, 23, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name, "resnet101")


def ResNet152(include_top=True, weights="imagenet", input_tensor=None, input_shape=None, pooling=None,
              classes=1000, classifier_activation="softmax", name="resnet152"):
    """ResNet152: four stages of 3, 8, 36 and 3 bottleneck blocks.

    Feed it images passed through ``preprocess_input`` of this module (RGB -> BGR, minus the
    ImageNet channel means). The default input is 224x224x3.

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
    return _resnet_v1("ResNet152", (3, 8, 36, 3), include_top, weights, input_tensor, input_shape, pooling,
                      classes, classifier_activation, name, "resnet152")


preprocess_input = imagenet_utils.preprocess_input_of(__name__, "ResNet", "caffe")


decode_predictions = imagenet_utils.decode_predictions_of(__name__)
