"""Wide residual networks WRN-28-10 and WRN-40-4 (Zagoruyko & Komodakis, 2016).

WRN-d-k: a 3x3 stem conv with 16 filters, then three stages of
`n = (d - 4) / 6` pre-activation wide blocks with `16k, 32k, 64k` filters
(strides 1, 2, 2), then norm-activation, global average pooling and the
classifier. A block is

    a = act(norm(x)); y = conv3x3(a, stride); y = act(norm(y)); dropout; y = conv3x3(y)
    out = y + (x                      if shapes match
               conv1x1(a, stride)     otherwise: the projection sees the pre-activated input)

as in the authors' code. `dropout` sits between the two convs (the paper
uses 0.3 in its dropout experiments; default 0 here). `norm` swaps the norm
and its activation together ("batch": BatchNorm + ReLU, "frn": FRN + TLU,
"group": GroupNorm + ReLU, "none": ReLU with biased convs). Layers are named
`stage{s}_block{b}_{op}`.

Reference: https://arxiv.org/abs/1605.07146
"""

import keras

from fmnist_keras.models._common import (
    NORMS, check_choice, check_rate, classifier_head, norm_act, normalized_input)


def _conv(x, filters, kernel, strides, norm, name):
    return keras.layers.Conv2D(
        filters, kernel, strides=strides, padding="same", use_bias=norm == "none",
        kernel_initializer="he_normal", name=name)(x)


def wide_block(x, filters, strides, norm, dropout, name):
    """One pre-activation wide basic block (norm-act-conv, norm-act-dropout-conv)."""
    pre = norm_act(x, norm, f"{name}_pre")
    if strides != 1 or x.shape[-1] != filters:
        shortcut = _conv(pre, filters, 1, strides, norm, f"{name}_proj_conv")
    else:
        shortcut = x
    y = _conv(pre, filters, 3, strides, norm, f"{name}_conv1")
    y = norm_act(y, norm, f"{name}_conv1")
    if dropout:
        y = keras.layers.Dropout(dropout, name=f"{name}_dropout")(y)
    y = _conv(y, filters, 3, 1, norm, f"{name}_conv2")
    return keras.layers.Add(name=f"{name}_add")([shortcut, y])


def _wrn(name, depth, k, input_shape, num_classes, head, norm, dropout):
    check_choice("norm", norm, NORMS)
    check_rate("dropout", dropout)
    blocks = (depth - 4) // 6
    inputs, x = normalized_input(input_shape)
    x = _conv(x, 16, 3, 1, norm, "stem_conv")
    for stage, filters in enumerate((16 * k, 32 * k, 64 * k)):
        for block in range(blocks):
            strides = 2 if stage > 0 and block == 0 else 1
            x = wide_block(x, filters, strides, norm, dropout, f"stage{stage + 1}_block{block + 1}")
    x = norm_act(x, norm, "head")
    x = keras.layers.GlobalAveragePooling2D(name="head_pool")(x)
    return keras.Model(inputs, classifier_head(x, num_classes, head), name=name)


_DOC = """
    Args:
        input_shape: `(H, W, C)` of [0, 1] images.
        num_classes: outputs.
        head: "softmax" or "sigmoid".
        norm: "batch", "frn", "group" or "none"; chooses the activation too.
        dropout: rate between the two convs of every block.

    Returns:
        A functional `keras.Model` returning probabilities.

    Reference:
        https://arxiv.org/abs/1605.07146
"""


def wrn28_10(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", norm="batch", dropout=0.0):
    return _wrn("wrn28_10", 28, 10, input_shape, num_classes, head, norm, dropout)


def wrn40_4(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", norm="batch", dropout=0.0):
    return _wrn("wrn40_4", 40, 4, input_shape, num_classes, head, norm, dropout)


wrn28_10.__doc__ = "WRN-28-10: 4 blocks per stage, widths 160, 320, 640 (~36.5M parameters).\n" + _DOC
wrn40_4.__doc__ = "WRN-40-4: 6 blocks per stage, widths 64, 128, 256 (~8.9M parameters).\n" + _DOC
