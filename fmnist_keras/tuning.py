"""The old name of `fmnist_keras.keras_tuner_hypermodel` (the Keras Tuner integration), kept for one release."""

from fmnist_keras.keras_tuner_hypermodel import (
    DECOUPLED, OBJECTIVE, TUNERS, FashionHyperModel, SearchSpace, best_classifier, best_values, make_tuner)

__all__ = ["FashionHyperModel", "SearchSpace", "make_tuner", "best_classifier", "best_values", "TUNERS",
           "DECOUPLED", "OBJECTIVE"]
