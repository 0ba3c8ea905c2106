"""Pieces every builder shares: input normalization, norm+activation, heads."""

import keras

from fmnist_keras.data import PIXEL_MEAN, PIXEL_STD

HEADS = ("softmax", "sigmoid")
NORMS = ("batch", "none")


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}. Received: {name}={value!r}")


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")


def normalized_input(input_shape, name="input"):
    """`(inputs, x)`: the model takes [0, 1] pixels and standardizes them itself."""
    inputs = keras.Input(shape=tuple(input_shape), name=name)
    x = keras.layers.Rescaling(
        scale=1.0 / PIXEL_STD, offset=-PIXEL_MEAN / PIXEL_STD, name="input_norm")(inputs)
    return inputs, x


def norm_act(x, norm, name):
    """Normalization and its activation, chosen together (BatchNorm + ReLU)."""
    if norm == "batch":
        x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def classifier_head(x, num_classes, head):
    """The last Dense; probabilities out, in float32 under mixed precision.

    "softmax": one distribution over classes. "sigmoid": independent
    one-vs-rest probabilities (report 001), trained with binary cross-entropy.
    """
    return keras.layers.Dense(num_classes, activation=head, dtype="float32", name="head_dense")(x)
