"""Recipes: one module per report, run as `python -m fmnist_keras.recipes.<name>`."""
