"""VGG-11 and VGG-16 (Simonyan & Zisserman, 2014) adapted to 28x28 input (report 002).

The images are not resized: the five 2x2 max-pools use "same" padding, so
28x28 shrinks 14, 7, 4, 2, 1 and the last stage ends on a 1x1x512 map (as
CIFAR VGGs end on 32/32 = 1). The 4096-4096 classifier of the ImageNet
model becomes `dense=(512, 512)` with dropout 0.5, in proportion to the
512 features. Convs are 3x3 "same"; `norm="batch"` is the common
BatchNorm variant (vgg11_bn, vgg16_bn); with a norm the conv has no bias.
Layers are named `stage{s}_block{b}_{op}`, `stage{s}_out_pool` and
`classifier_fc{i}_{op}`.

Reference: https://arxiv.org/abs/1409.1556
"""

import keras

from fmnist_keras.models._common import (
    NORMS, check_choice, check_rate, check_units, classifier_head, norm_act, normalized_input)

_STAGES = {
    "vgg11": ((64,), (128,), (256, 256), (512, 512), (512, 512)),
    "vgg16": ((64, 64), (128, 128), (256, 256, 256), (512, 512, 512), (512, 512, 512)),
}


def _vgg(name, input_shape, num_classes, head, norm, dense, dropout):
    check_choice("norm", norm, NORMS)
    dense = check_units("dense", dense)
    check_rate("dropout", dropout)
    inputs, x = normalized_input(input_shape)
    for s, filters_per_block in enumerate(_STAGES[name], start=1):
        for b, filters in enumerate(filters_per_block, start=1):
            prefix = f"stage{s}_block{b}"
            x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=norm == "none",
                                    kernel_initializer="he_normal", name=f"{prefix}_conv")(x)
            x = norm_act(x, norm, prefix)
        x = keras.layers.MaxPooling2D(2, padding="same", name=f"stage{s}_out_pool")(x)
    x = keras.layers.Flatten(name="classifier_input_flatten")(x)
    for i, units in enumerate(dense, start=1):
        x = keras.layers.Dense(units, name=f"classifier_fc{i}_dense")(x)
        x = keras.layers.ReLU(name=f"classifier_fc{i}_relu")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"classifier_fc{i}_dropout")(x)
    return keras.Model(inputs, classifier_head(x, num_classes, head), name=name)


_DOC = """
    Args:
        input_shape: `(H, W, C)` of [0, 1] images.
        num_classes: outputs.
        head: "softmax" or "sigmoid".
        norm: "batch" (default), "frn", "group" or "none" (the original VGG).
        dense: hidden widths of the classifier (`()` for a single Dense).
        dropout: rate after each hidden classifier layer.

    Returns:
        A functional `keras.Model` returning probabilities.

    Reference:
        https://arxiv.org/abs/1409.1556
"""


def vgg11(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", norm="batch",
          dense=(512, 512), dropout=0.5):
    return _vgg("vgg11", input_shape, num_classes, head, norm, dense, dropout)


def vgg16(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", norm="batch",
          dense=(512, 512), dropout=0.5):
    return _vgg("vgg16", input_shape, num_classes, head, norm, dense, dropout)


vgg11.__doc__ = "VGG-11 (configuration A): 8 convs in 5 stages, 28x28 adaptation.\n" + _DOC
vgg16.__doc__ = "VGG-16 (configuration D): 13 convs in 5 stages, 28x28 adaptation.\n" + _DOC
