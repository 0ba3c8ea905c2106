"""Training: the config, the trainer, its callbacks and the runner every recipe shares.

Importing this package loads nothing heavy; `training.config` stays free of
Keras so that a recipe's `--help` answers without starting TensorFlow.
"""
