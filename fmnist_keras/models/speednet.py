"""`speednet`: the speedrun's small, fast CNN (in the spirit of airbench).

Three stages of `conv -> max-pool -> BN -> GELU -> conv -> BN -> GELU` at
28, 14 and 7 pixels, a global max-pool and a linear head whose logits are
scaled down (airbench's trick: a small output scale acts like a temperature
and lets a large learning rate train the head stably). Pooling right after
the first conv of a stage runs the BN and GELU on a quarter of the pixels:
the cheapest place for them on a CPU. No biases before BatchNorm.

Width 32 (stages 32/64/128) is about 0.3 M parameters and ~20 M multiply-adds
per image: several times cheaper than CNN_2 and more accurate once trained
with augmentation (see `recipes/speedrun.py`).
"""

import keras

from fmnist_keras.models._common import check_positive_int, classifier_head, normalized_input


def _conv_bn_gelu(x, filters, name, pool=False):
    x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"{name}_conv")(x)
    if pool:
        x = keras.layers.MaxPooling2D(2, name=f"{name}_pool")(x)
    x = keras.layers.BatchNormalization(momentum=0.8, epsilon=1e-5, name=f"{name}_bn")(x)
    return keras.layers.Activation("gelu", name=f"{name}_gelu")(x)


def speednet(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", width=32, logit_scale=0.125):
    """The speedrun CNN.

    Args:
        input_shape: `(H, W, C)` of [0, 1] images.
        num_classes: outputs.
        head: "softmax" or "sigmoid".
        width: channels of the first stage; the next two have 2x and 4x.
        logit_scale: multiplies the head's logits (airbench uses 1/9).

    Returns:
        A functional `keras.Model` returning probabilities.
    """
    check_positive_int("width", width)
    if not isinstance(logit_scale, (int, float)) or isinstance(logit_scale, bool) or not logit_scale > 0:
        raise ValueError(f"logit_scale must be a number > 0. Received: logit_scale={logit_scale!r}")
    inputs, x = normalized_input(input_shape)
    x = _conv_bn_gelu(x, width, "stem")
    for i, filters in enumerate((width, 2 * width, 4 * width), start=1):
        x = _conv_bn_gelu(x, filters, f"stage{i}_a", pool=True)
        x = _conv_bn_gelu(x, filters, f"stage{i}_b")
    x = keras.layers.GlobalMaxPooling2D(name="head_pool")(x)
    # Scaling the head's input scales its logits (up to the bias).
    x = keras.layers.Rescaling(logit_scale, name="head_logit_scale")(x)
    return keras.Model(inputs, classifier_head(x, num_classes, head), name="speednet")
