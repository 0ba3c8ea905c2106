"""Functional Keras builders for every architecture of the reports, by name."""

from fmnist_keras.models.registry import MODELS, build_model, list_models, model_knobs
from fmnist_keras.models.stats import count_mult_adds, count_trainable_params

__all__ = ["MODELS", "build_model", "count_mult_adds", "count_trainable_params", "list_models",
           "model_knobs"]
