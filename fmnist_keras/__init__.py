"""fmnist_keras: train, compare, tune and ship Fashion-MNIST classifiers with Keras 3."""

import os
import platform
import time

START_TIME = time.time()  # process start, near enough: recipes report wall time from here

# TensorFlow turns its oneDNN kernels on by itself only on some Intel CPUs; on a
# 2-core AMD EPYC they make a training step 1.35-2x faster (docs/performance.md, "Speed
# on the CPU"). It must be set before TensorFlow loads; a value the user set wins.
if platform.machine().lower() in ("x86_64", "amd64"):
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

__version__ = "0.1.0"

from fmnist_keras._registration import register_when_keras_loads  # noqa: E402

# The custom layers must be registered for .keras files to reload; done when Keras
# loads, so that commands which never need Keras (`--help`) do not start TensorFlow.
register_when_keras_loads()
