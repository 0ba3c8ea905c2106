"""The AugMix Jensen-Shannon consistency loss as a `keras.losses.Loss`.

Being a `Loss`, it is reduced and divided by the replica count like the
compiled cross-entropy, so under `MirroredStrategy` the sum CE + lambda * JSD
keeps its meaning (a term written with raw ops would be counted once per
replica).

Reference: https://arxiv.org/abs/1912.02781
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="fmnist_keras")
class JensenShannonConsistency(keras.losses.Loss):
    """lambda * JS(p_clean, p_aug1, p_aug2), the AugMix consistency term.

    As in the paper's code: with M the mean of the view distributions,
    `lambda / n * sum_v KL(p_v || M)`, where `log M` is taken of
    `clip(M, 1e-7, 1)`.

    Args:
        weight: lambda (paper: 12).
        reduction, name, dtype: as for any `keras.losses.Loss`.

    Call args:
        y_true: ignored (the term needs no labels); pass the clean labels.
        y_pred: probabilities `(B, n_views, num_classes)`.

    Returns:
        The reduced loss (per-sample values `(B,)` with `reduction=None`).
    """

    def __init__(self, weight=12.0, reduction="sum_over_batch_size", name="jsd_loss", dtype=None):
        if not weight >= 0:
            raise ValueError(f"weight must be >= 0. Received: weight={weight!r}")
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.weight = weight

    def call(self, y_true, y_pred):
        views = y_pred.shape[1]
        mixture = ops.mean(y_pred, axis=1, keepdims=True)
        log_mixture = ops.log(ops.clip(mixture, 1e-7, 1.0))
        # p log p with p floored inside the log: 0 * log 0 = 0 (saturated
        # softmax outputs) with a finite gradient.
        p_log_p = y_pred * ops.log(ops.maximum(y_pred, 1e-30))
        kl = ops.sum(p_log_p - y_pred * log_mixture, axis=-1)  # (B, views)
        return self.weight * ops.sum(kl, axis=1) / views

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}
