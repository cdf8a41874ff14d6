"""The VGG graph (VGG16 and VGG19 differ only in how many convolutions each block holds)."""
from .. import layers
from . import _common, imagenet_utils

_FILTERS = (64, 128, 256, 512, 512)


def build_vgg(family, convs_per_block, weight_files, include_top, weights, input_tensor, input_shape,
              pooling, classes, classifier_activation, name):
    """One VGG network: five blocks of 3x3 ``relu`` convolutions, each ending in a 2x2 max pool,
    then either the three dense layers of the classifier or the optional pooling."""
    _common.check_weights(family, weights, include_top, classes, pooling)
    given_shape = input_shape
    input_shape = imagenet_utils.obtain_input_shape(input_shape, default_size=224, min_size=32,
                                                    data_format="channels_last",
                                                    require_flatten=include_top, weights=weights)
    x, inputs = _common.image_input(family, input_tensor, input_shape, given_shape)
    for block, (filters, n) in enumerate(zip(_FILTERS, convs_per_block), start=1):
        for i in range(1, n + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same",
                              name=f"block{block}_conv{i}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{block}_pool")(x)
    if include_top:
        x = layers.Flatten(name="flatten")(x)
        x = layers.Dense(4096, activation="relu", name="fc1")(x)
        x = layers.Dense(4096, activation="relu", name="fc2")(x)
        imagenet_utils.validate_activation(classifier_activation, weights)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    else:
        x = _common.pooled(x, pooling)
    (file_name, url, file_hash) = weight_files[0 if include_top else 1]
    return _common.finish(inputs, x, name, weights, file_name=file_name, url=url, file_hash=file_hash)
