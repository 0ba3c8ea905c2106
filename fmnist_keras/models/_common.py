"""Pieces every builder shares: input normalization, norm+activation, heads, checks."""

import keras

from fmnist_keras.choices import LAYER_INITS, NORMS
from fmnist_keras.data import PIXEL_MEAN, PIXEL_STD
from fmnist_keras.layers import TLU, FilterResponseNormalization


def check_choice(name, value, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}. Received: {name}={value!r}")


def check_positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")


def check_rate(name, value):
    """A dropout rate in [0, 1)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        raise ValueError(f"{name} must be a number in [0, 1). Received: {name}={value!r}")


def check_units(name, value, allow_empty=True):
    """A tuple of positive layer widths, e.g. `hidden=(400, 400)`."""
    ok = isinstance(value, (tuple, list)) and (allow_empty or len(value) > 0) and all(
        not isinstance(v, bool) and isinstance(v, int) and v > 0 for v in value)
    if not ok:
        raise ValueError(f"{name} must be a tuple of positive integers. Received: {name}={value!r}")
    return tuple(value)


def normalized_input(input_shape, name="input"):
    """`(inputs, x)`: the model takes [0, 1] pixels and standardizes them itself."""
    inputs = keras.Input(shape=tuple(input_shape), name=name)
    x = keras.layers.Rescaling(
        scale=1.0 / PIXEL_STD, offset=-PIXEL_MEAN / PIXEL_STD, name="input_norm")(inputs)
    return inputs, x


def _groups(channels, max_groups=32):
    # The paper's 32 groups where they divide the channels; otherwise the
    # largest divisor below 32 (width=42 gives 21 groups of 2).
    return max(g for g in range(1, min(max_groups, channels) + 1) if channels % g == 0)


def norm_only(x, norm, name):
    """Normalization alone (no activation): before a residual add, for instance.

    Layer names: `{name}_bn` (BatchNorm), `{name}_frn`, `{name}_gn`;
    "none" is the identity.
    """
    if norm == "batch":
        return keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5, name=f"{name}_bn")(x)
    if norm == "frn":
        # Learned epsilon where the map is 1x1 (or unknown), as the paper advises.
        spatial = x.shape[1:-1]
        small = any(s is None for s in spatial) or all(s == 1 for s in spatial)
        return FilterResponseNormalization(learned_epsilon=small, name=f"{name}_frn")(x)
    if norm == "group":
        return keras.layers.GroupNormalization(
            groups=_groups(x.shape[-1]), epsilon=1e-5, name=f"{name}_gn")(x)
    check_choice("norm", norm, NORMS)
    return x


def activation(x, norm, name):
    """The activation that goes with `norm`: TLU for FRN, ReLU otherwise."""
    check_choice("norm", norm, NORMS)
    if norm == "frn":
        return TLU(name=f"{name}_tlu")(x)
    return keras.layers.ReLU(name=f"{name}_relu")(x)


def norm_act(x, norm_name, name):
    """Normalization and its activation, chosen together (STYLE.md point 6).

    "batch": BatchNorm + ReLU; "frn": FRN + TLU; "group": GroupNorm + ReLU;
    "none": ReLU alone.
    """
    return activation(norm_only(x, norm_name, name), norm_name, name)


def layer_init(init, fan_in):
    """Initializer arguments for a Conv/Dense layer whose kernel has `fan_in` inputs per output.

    "keras": Keras' defaults (Glorot-uniform kernel, zero bias). "pytorch":
    `torch.nn.Conv2d`/`Linear`'s defaults, for reproducing PyTorch reports:
    kernel and bias both uniform in +-1/sqrt(fan_in) (Kaiming-uniform with
    a=sqrt(5) is exactly that bound for the kernel).
    """
    check_choice("init", init, LAYER_INITS)
    if init == "keras":
        return {}
    bound = 1.0 / fan_in**0.5
    return {"kernel_initializer": keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform"),
            "bias_initializer": keras.initializers.RandomUniform(-bound, bound)}


def classifier_head(x, num_classes, head, init="keras"):
    """The last Dense; probabilities out, in float32 under mixed precision.

    "softmax": one distribution over classes. "sigmoid": independent
    one-vs-rest probabilities (report 001), trained with binary cross-entropy.
    `init` as in `layer_init`.
    """
    return keras.layers.Dense(num_classes, activation=head, dtype="float32", name="head_dense",
                              **layer_init(init, x.shape[-1]))(x)
