"""Losses by name, all `keras.losses.Loss` objects (distribution strategies scale them).

Models return probabilities, so every loss here takes probabilities:
- "ce": cross-entropy on one-hot or soft label rows, with label smoothing.
- "nll": PyTorch's NLLLoss after log_softmax (report 002), which *is* the
  cross-entropy; kept as a name so the report's ablation reads as written.
- "mse": mean squared error between probabilities and label rows (report 002).
- "bce": one-vs-rest binary cross-entropy, the loss of `head="sigmoid"` (report 001).
- "auto": "bce" for a sigmoid head, else "ce".
Keras' own classes are faithful for these, so they are reused, not rewritten.
"""

import keras

from fmnist_keras.choices import LOSSES


def make_loss(name="auto", head="softmax", label_smoothing=0.0):
    """Returns the `keras.losses.Loss` for `name` and the model's head."""
    if name not in LOSSES:
        raise ValueError(f"loss must be one of {LOSSES}. Received: loss={name!r}")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1). Received: label_smoothing={label_smoothing!r}")
    if name == "auto":
        name = "bce" if head == "sigmoid" else "ce"
    if head == "sigmoid" and name != "bce":
        raise ValueError(f"a sigmoid head is trained with loss='bce'. Received: loss={name!r}")
    if name in ("ce", "nll"):
        return keras.losses.CategoricalCrossentropy(label_smoothing=label_smoothing, name=name)
    if name == "mse":
        return keras.losses.MeanSquaredError(name="mse")
    return keras.losses.BinaryCrossentropy(label_smoothing=label_smoothing, name="bce")
