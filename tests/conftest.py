"""Shared fixtures: the real Fashion-MNIST, loaded once per session."""

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest

from fmnist_keras.data import load_fashion_mnist


@pytest.fixture(scope="session")
def fmnist():
    """`(x_train, y_train), (x_test, y_test)` uint8 arrays of the real data."""
    return load_fashion_mnist()


@pytest.fixture(scope="session")
def real_batch(fmnist):
    """256 real training images as float32 (256, 28, 28, 1) in [0, 1] and one-hot labels."""
    (x, y), _ = fmnist
    images = x[:256, :, :, None].astype("float32") / 255.0
    labels = np.eye(10, dtype="float32")[y[:256]]
    return images, labels


@pytest.fixture(scope="session")
def real_batch_rgb(real_batch):
    """The same images as 32x32x3 (padded, channels tinted) to check ops never assume 28x28x1."""
    images, labels = real_batch
    padded = np.pad(images, ((0, 0), (2, 2), (2, 2), (0, 0)))
    rgb = np.concatenate([padded, padded * 0.8, padded * 0.6], axis=-1)
    return rgb.astype("float32"), labels


@pytest.fixture
def jax_env():
    """A subprocess environment with Keras on JAX (CPU) and TensorFlow made unimportable.

    tests/no_tensorflow/sitecustomize.py blocks `import tensorflow`, as on a GPU
    machine that has JAX and CUDA only.
    """
    pytest.importorskip("jax")
    no_tf = str(Path(__file__).parent / "no_tensorflow")
    path = os.pathsep.join(p for p in (no_tf, os.environ.get("PYTHONPATH")) if p)
    return {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu", "PYTHONPATH": path,
            "TF_CPP_MIN_LOG_LEVEL": "3"}
