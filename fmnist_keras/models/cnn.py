"""CNN_1 .. CNN_5 of report 001 (Advertima), softmax or one-vs-rest sigmoid head.

The report states the layer widths and the flattened sizes entering the
classifier (3200, 512, 1024) but not the paddings; the paddings below are the
ones that make those sizes, and the stated parameter counts, hold exactly on
28x28x1 input:

- CNN_1: 28 -valid-> 26 -valid-> 24 -same-> 24 -pool-> 12 -valid-> 10 -pool-> 5;
  5x5x128 = 3200. Conv parameters 240,256, FC 3,807,754, total 4,048,010.
- CNN_2: CNN_1 with BatchNorm after every conv: 2 x (32+64+128+128) = 704
  trainable BN parameters (plus 704 moving statistics).
- CNN_3: CNN_2 with Dropout(0.5) after each hidden FC layer.
- CNN_4: 28 -5x5 valid-> 24 -pool-> 12 -5x5 valid-> 8 -pool-> 4 -1x1-> 4 -pool-> 2;
  2x2x128 = 512, 66,442 parameters (65,994 trainable).
- CNN_5: 3x3 convs valid, valid, same (-> 24, pool 12), 5x5 valid twice (-> 4),
  pool -> 2; 2x2x256 = 1024, 1,854,218 parameters.

Layers are named `features_conv{i}_{op}` and `classifier_fc{i}_{op}`.
"""

import keras

from fmnist_keras.models._common import (
    LAYER_INITS, check_choice, check_rate, classifier_head, layer_init, normalized_input)

# (filters, kernel, padding, pool after) per conv layer.
_CNN1_CONVS = ((32, 3, "valid", False), (64, 3, "valid", False), (128, 3, "same", True),
               (128, 3, "valid", True))
_CNN4_CONVS = ((32, 5, "valid", True), (64, 5, "valid", True), (128, 1, "valid", True))
_CNN5_CONVS = ((32, 3, "valid", False), (64, 3, "valid", False), (128, 3, "same", True),
               (128, 5, "valid", False), (256, 5, "valid", True))


def _cnn(name, convs, fc, batch_norm, input_shape, num_classes, head, dropout, init):
    check_rate("dropout", dropout)
    check_choice("init", init, LAYER_INITS)
    inputs, x = normalized_input(input_shape)
    for i, (filters, kernel, padding, pool) in enumerate(convs, start=1):
        prefix = f"features_conv{i}"
        x = keras.layers.Conv2D(filters, kernel, padding=padding, name=f"{prefix}_conv",
                                **layer_init(init, kernel * kernel * x.shape[-1]))(x)
        if batch_norm:
            x = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{prefix}_bn")(x)
        x = keras.layers.ReLU(name=f"{prefix}_relu")(x)
        if pool:
            x = keras.layers.MaxPooling2D(2, name=f"{prefix}_pool")(x)
    x = keras.layers.Flatten(name="classifier_input_flatten")(x)
    for i, units in enumerate(fc, start=1):
        x = keras.layers.Dense(units, name=f"classifier_fc{i}_dense", **layer_init(init, x.shape[-1]))(x)
        x = keras.layers.ReLU(name=f"classifier_fc{i}_relu")(x)
        if dropout:
            x = keras.layers.Dropout(dropout, name=f"classifier_fc{i}_dropout")(x)
    return keras.Model(inputs, classifier_head(x, num_classes, head, init), name=name)


_ARGS_DOC = """
    Args:
        input_shape: `(H, W, C)` of [0, 1] images (the stated sizes hold for 28x28).
        num_classes: outputs.
        head: "softmax", or "sigmoid" for report 001's one-vs-rest head.
        dropout: rate after each hidden FC layer (report: 0.5 in CNN_3 only).
        init: "keras" (Glorot-uniform kernels, zero biases) or "pytorch"
            (PyTorch's layer defaults; report 001 was written in PyTorch).

    Returns:
        A functional `keras.Model` returning probabilities.

    Reference:
        Report 001 (SEEDS.md); BatchNorm: https://arxiv.org/abs/1502.03167
"""


def cnn1(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", dropout=0.0, init="keras"):
    return _cnn("cnn1", _CNN1_CONVS, (1024, 512), False, input_shape, num_classes, head, dropout, init)


def cnn2(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", dropout=0.0, init="keras"):
    return _cnn("cnn2", _CNN1_CONVS, (1024, 512), True, input_shape, num_classes, head, dropout, init)


def cnn3(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", dropout=0.5, init="keras"):
    return _cnn("cnn3", _CNN1_CONVS, (1024, 512), True, input_shape, num_classes, head, dropout, init)


def cnn4(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", init="keras"):
    # No hidden FC layer, so no dropout knob.
    return _cnn("cnn4", _CNN4_CONVS, (), True, input_shape, num_classes, head, 0.0, init)


def cnn5(*, input_shape=(28, 28, 1), num_classes=10, head="softmax", dropout=0.0, init="keras"):
    return _cnn("cnn5", _CNN5_CONVS, (512,), True, input_shape, num_classes, head, dropout, init)


cnn1.__doc__ = ("CNN_1: four 3x3 convs (32, 64, 128, 128; ReLU, two max-pools), FC 3200-1024-512.\n"
                + _ARGS_DOC)
cnn2.__doc__ = "CNN_2: CNN_1 with BatchNorm between every conv and its ReLU.\n" + _ARGS_DOC
cnn3.__doc__ = "CNN_3: CNN_2 with Dropout(0.5) after each hidden FC layer.\n" + _ARGS_DOC
cnn4.__doc__ = ("CNN_4: conv5x5x32, conv5x5x64, conv1x1x128 (each BN-ReLU-pool), FC 512-10.\n"
                + _ARGS_DOC.replace(
                    "        dropout: rate after each hidden FC layer (report: 0.5 in CNN_3 only).\n", ""))
cnn5.__doc__ = ("CNN_5: 3x3 convs 32, 64, 128 (pool), 5x5 convs 128, 256 (pool), all BN-ReLU;\n"
                "    FC 1024-512-10.\n" + _ARGS_DOC)
