"""The model registry: a builder's own function name is its registry and CLI name."""

import inspect

from fmnist_keras.choices import HEADS
from fmnist_keras.models._common import check_choice
from fmnist_keras.models.cnn import cnn1, cnn2, cnn3, cnn4, cnn5
from fmnist_keras.models.mlp import mlp
from fmnist_keras.models.resnet import resnet18, resnet34
from fmnist_keras.models.speednet import speednet
from fmnist_keras.models.vgg import vgg11, vgg16
from fmnist_keras.models.wrn import wrn28_10, wrn40_4

MODELS = {fn.__name__: fn for fn in (
    mlp, cnn1, cnn2, cnn3, cnn4, cnn5, vgg11, vgg16, resnet18, resnet34, wrn28_10, wrn40_4, speednet)}


def list_models():
    """Sorted names of every registered builder."""
    return sorted(MODELS)


def model_knobs(name):
    """The keyword knobs of builder `name` with their defaults."""
    get_builder(name)
    return {k: p.default for k, p in inspect.signature(MODELS[name]).parameters.items()}


def get_builder(name):
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; available: {', '.join(list_models())}. Received: name={name!r}")
    return MODELS[name]


def build_model(name, *, input_shape=(28, 28, 1), num_classes=10, head="softmax", **knobs):
    """Builds a registered functional classifier.

    Args:
        name: a name from `list_models()`.
        input_shape: `(H, W, C)`; the model takes [0, 1] pixels.
        num_classes: number of outputs.
        head: "softmax" or "sigmoid" (one-vs-rest probabilities).
        **knobs: the builder's own keyword arguments (e.g. `width`, `norm`).

    Returns:
        A `keras.Model` that returns class probabilities.

    Raises:
        ValueError: an unknown name or knob, or a bad knob value.
    """
    builder = get_builder(name)
    check_choice("head", head, HEADS)
    allowed = model_knobs(name)
    unknown = sorted(set(knobs) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown knob(s) {', '.join(unknown)} for model {name!r}; it takes "
            f"{', '.join(k for k in allowed if k not in ('input_shape', 'num_classes', 'head'))}. "
            f"Received: {', '.join(f'{k}={knobs[k]!r}' for k in unknown)}")
    return builder(input_shape=tuple(input_shape), num_classes=num_classes, head=head, **knobs)
