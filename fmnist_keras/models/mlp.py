"""Fully connected network of report 004 (AMATH 582): 784-400-400-10 by default."""

import keras

from fmnist_keras.choices import MLP_INITIALIZERS as INITIALIZERS
from fmnist_keras.models._common import (
    check_choice, check_rate, check_units, classifier_head, normalized_input)


def mlp(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", hidden=(400, 400),
        dropout=0.0, initializer="glorot_uniform"):
    """Multi-layer perceptron: flatten, then `Dense + ReLU (+ Dropout)` per hidden layer.

    Args:
        input_shape: `(H, W, C)` of [0, 1] images.
        num_classes: outputs.
        head: "softmax" or "sigmoid".
        hidden: widths of the hidden layers (report 004: two of 400).
        dropout: rate after every hidden activation (report 004 tries 0, 0.2, 0.4).
        initializer: kernel initializer of the hidden layers: "glorot_uniform"
            (Xavier uniform, Keras' default), "random_normal" (report 004's
            "random normal", stddev 0.05) or "he_normal".

    Returns:
        A functional `keras.Model` named "mlp" returning probabilities.
    """
    hidden = check_units("hidden", hidden)
    check_rate("dropout", dropout)
    check_choice("initializer", initializer, INITIALIZERS)
    inputs, x = normalized_input(input_shape)
    x = keras.layers.Flatten(name="classifier_input_flatten")(x)
    for i, units in enumerate(hidden, start=1):
        x = keras.layers.Dense(units, kernel_initializer=initializer, name=f"classifier_fc{i}_dense")(x)
        x = keras.layers.ReLU(name=f"classifier_fc{i}_relu")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"classifier_fc{i}_dropout")(x)
    return keras.Model(inputs, classifier_head(x, num_classes, head), name="mlp")
