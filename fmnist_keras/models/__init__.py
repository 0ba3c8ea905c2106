"""Functional Keras builders for every architecture of the reports, by name."""

from fmnist_keras.models.registry import MODELS, build_model, list_models, model_knobs

__all__ = ["MODELS", "build_model", "list_models", "model_knobs"]
