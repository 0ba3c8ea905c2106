"""fmnist_keras: train, compare, tune and ship Fashion-MNIST classifiers with Keras 3."""

import time

START_TIME = time.time()  # process start, near enough: recipes report wall time from here

__version__ = "0.1.0"

import fmnist_keras.layers  # noqa: F401,E402  registers the custom layers so .keras files reload
