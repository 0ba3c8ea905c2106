"""ResNet-18/34 (He et al., 2016) for small images.

`stem="cifar"` is the usual small-image layout (3x3 stride-1 stem, no
max-pool: 28x28 feature maps in stage 1); `stem="imagenet"` is torchvision's
7x7 stride-2 stem + max-pool with a 1-channel first conv (report 002).
Every layer is named `{stage}_{block}_{op}`.

`norm` swaps the normalization and its activation together:
"batch" (BatchNorm + ReLU), "frn" (FRN + TLU), "group" (GroupNorm + ReLU),
"none" (ReLU; convs then get a bias). Where the block has a norm without an
activation — after its second conv and on the projection shortcut, both
before the residual add — "frn" puts FRN there without TLU (timm's
`FilterResponseNormTlu2d(apply_act=False)` convention), and the activation
after the add is the norm's own: TLU for "frn" (every ReLU of the network
becomes a TLU, as in the FRN paper), ReLU otherwise.

With `width=42`, `stem="cifar"` and 32x32x3 input (CIFAR-10), ResNet-18 has
4,815,940 trainable parameters (plus 6,300 BatchNorm moving statistics, which
PyTorch counts as buffers): under 5M, but 2,642 more than report 003's stated
4,813,298. The standard CIFAR ResNet-18 with in_planes 42 (widths 42, 84,
168, 336, projection shortcuts with BatchNorm) counts 4,815,940 in PyTorch
too; no plausible width or shortcut variant gives 4,813,298, so we take the
report's figure as a slip.

References:
    - https://arxiv.org/abs/1512.03385 (ResNet)
    - https://arxiv.org/abs/1911.09737 (FRN + TLU)
    - https://arxiv.org/abs/1803.08494 (GroupNorm)
"""

import keras

from fmnist_keras.choices import STEMS
from fmnist_keras.models._common import (
    NORMS, activation, check_choice, check_positive_int, classifier_head, norm_act, norm_only,
    normalized_input)


def _conv(x, filters, kernel, strides, norm, name):
    # A bias is redundant before a normalization that re-centres; keep it without one.
    return keras.layers.Conv2D(
        filters, kernel, strides=strides, padding="same", use_bias=norm == "none",
        kernel_initializer="he_normal", name=name)(x)


def basic_block(x, filters, strides, norm, name):
    """Two 3x3 convs with an identity (or 1x1 projection) shortcut."""
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv(x, filters, 1, strides, norm, f"{name}_proj_conv")
        shortcut = norm_only(shortcut, norm, f"{name}_proj")
    x = _conv(x, filters, 3, strides, norm, f"{name}_conv1")
    x = norm_act(x, norm, f"{name}_conv1")
    x = _conv(x, filters, 3, 1, norm, f"{name}_conv2")
    x = norm_only(x, norm, f"{name}_conv2")
    x = keras.layers.Add(name=f"{name}_add")([shortcut, x])
    return activation(x, norm, f"{name}_out")


def _resnet(blocks_per_stage, name, input_shape, num_classes, head, width, stem, norm):
    check_positive_int("width", width)
    check_choice("stem", stem, STEMS)
    check_choice("norm", norm, NORMS)
    inputs, x = normalized_input(input_shape)
    if stem == "cifar":
        x = _conv(x, width, 3, 1, norm, "stem_conv")
        x = norm_act(x, norm, "stem")
    else:
        x = _conv(x, width, 7, 2, norm, "stem_conv")
        x = norm_act(x, norm, "stem")
        x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for stage, blocks in enumerate(blocks_per_stage):
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            x = basic_block(x, width * 2**stage, strides, norm, f"stage{stage + 1}_block{block + 1}")
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    return keras.Model(inputs, classifier_head(x, num_classes, head), name=name)


_DOC = """
    Args:
        input_shape: `(H, W, C)` of [0, 1] images.
        num_classes: outputs.
        head: "softmax" or "sigmoid".
        width: stage-1 filters; stages use `width * (1, 2, 4, 8)` (64 is the
            paper's; 42 gives report 003's < 5M ResNet-18).
        stem: "cifar" (3x3 stride 1, no pool) or "imagenet" (7x7 stride 2 + max-pool).
        norm: "batch", "frn", "group" or "none"; chooses the activation too.

    Returns:
        A functional `keras.Model` returning probabilities.

    References:
        - https://arxiv.org/abs/1512.03385
        - https://arxiv.org/abs/1911.09737
"""


def resnet18(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", width=64,
             stem="cifar", norm="batch"):
    return _resnet((2, 2, 2, 2), "resnet18", input_shape, num_classes, head, width, stem, norm)


def resnet34(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", width=64,
             stem="cifar", norm="batch"):
    return _resnet((3, 4, 6, 3), "resnet34", input_shape, num_classes, head, width, stem, norm)


resnet18.__doc__ = "ResNet-18: 4 stages of (2, 2, 2, 2) basic blocks.\n" + _DOC
resnet34.__doc__ = "ResNet-34: 4 stages of (3, 4, 6, 3) basic blocks.\n" + _DOC
