"""ResNet-18/34 (He et al., 2016) for small images.

`stem="cifar"` is the usual small-image layout (3x3 stride-1 stem, no
max-pool: 28x28 feature maps in stage 1); `stem="imagenet"` is torchvision's
7x7 stride-2 stem + max-pool with a 1-channel first conv (report 002).
Every layer is named `{stage}_{block}_{op}`.

Reference: https://arxiv.org/abs/1512.03385
"""

import keras

from fmnist_keras.models._common import (
    NORMS, check_choice, check_positive_int, classifier_head, norm_act, normalized_input)

STEMS = ("cifar", "imagenet")


def _conv(x, filters, kernel, strides, name):
    return keras.layers.Conv2D(
        filters, kernel, strides=strides, padding="same", use_bias=False,
        kernel_initializer="he_normal", name=name)(x)


def _norm(x, norm, name):
    if norm == "batch":
        return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=name)(x)
    return x


def basic_block(x, filters, strides, norm, name):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv(x, filters, 1, strides, f"{name}_proj_conv")
        shortcut = _norm(shortcut, norm, f"{name}_proj_bn")
    x = _conv(x, filters, 3, strides, f"{name}_conv1")
    x = norm_act(x, norm, f"{name}_1")
    x = _conv(x, filters, 3, 1, f"{name}_conv2")
    x = _norm(x, norm, f"{name}_2_bn")
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return keras.layers.ReLU(name=f"{name}_out_relu")(x)


def _resnet(blocks_per_stage, name, input_shape, num_classes, head, width, stem, norm):
    check_positive_int("width", width)
    check_choice("stem", stem, STEMS)
    check_choice("norm", norm, NORMS)
    inputs, x = normalized_input(input_shape)
    if stem == "cifar":
        x = _conv(x, width, 3, 1, "stem_conv")
        x = norm_act(x, norm, "stem")
    else:
        x = _conv(x, width, 7, 2, "stem_conv")
        x = norm_act(x, norm, "stem")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for stage, blocks in enumerate(blocks_per_stage):
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            x = basic_block(x, width * 2**stage, strides, norm, f"stage{stage + 1}_block{block + 1}")
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    return keras.Model(inputs, classifier_head(x, num_classes, head), name=name)


def resnet18(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", width=64,
             stem="cifar", norm="batch"):
    """ResNet-18: 4 stages of 2 basic blocks, widths `width * (1, 2, 4, 8)`.

    Args:
        input_shape: `(H, W, C)` of [0, 1] images.
        num_classes: outputs.
        head: "softmax" or "sigmoid".
        width: stage-1 filters (64 is the paper's; 42 gives report 003's < 5M model).
        stem: "cifar" or "imagenet".
        norm: "batch" or "none".

    Returns:
        A functional `keras.Model` named "resnet18" returning probabilities.
    """
    return _resnet((2, 2, 2, 2), "resnet18", input_shape, num_classes, head, width, stem, norm)
