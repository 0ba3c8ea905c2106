"""Model statistics counted from layer shapes: parameters and multiply-adds."""

import math

import keras


def _spatial(shape):
    return math.prod(int(d) for d in shape[1:-1])


def count_mult_adds(model):
    """Multiply-accumulates for one image in a forward pass.

    Counts the layers that dominate the cost: `Conv2D` (output positions x
    kernel area x input channels / groups x filters) and `Dense` (inputs x
    units). Normalization, activations, pooling and adds are left out, as
    is customary (they are a few percent of the total for these models).

    Args:
        model: a built functional `keras.Model` with a fixed input size.

    Returns:
        The count as a Python int.
    """
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.Conv2D):
            kh, kw = layer.kernel_size
            cin = int(layer.input.shape[-1]) // layer.groups
            total += _spatial(layer.output.shape) * kh * kw * cin * layer.filters
        elif isinstance(layer, keras.layers.Dense):
            total += int(layer.input.shape[-1]) * layer.units
    return total


def count_trainable_params(model):
    """Trainable parameters (what PyTorch's `parameters()` counts for these models)."""
    return sum(math.prod(w.shape) for w in model.trainable_weights)
