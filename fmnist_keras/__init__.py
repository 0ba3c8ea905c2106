"""fmnist_keras: train, compare, tune and ship Fashion-MNIST classifiers with Keras 3."""

__version__ = "0.1.0"
