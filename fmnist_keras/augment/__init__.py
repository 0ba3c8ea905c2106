"""Batched, per-image augmentation ops written with `keras.ops`/`keras.random`.

Every op is a pure function `op(images, labels, seed, **params) ->
(images, labels)` over float `(B, H, W, C)` images and `(B, classes)` label
rows; see DESIGN.md. `parse_augment` turns a string into a stack and
`AugmentStack` runs one.
"""

from fmnist_keras.augment.erasing import random_erasing, sample_erasing_boxes, apply_erasing
from fmnist_keras.augment.layer import AugmentStack
from fmnist_keras.augment.registry import OPS, format_augment, parse_augment, register_op
from fmnist_keras.augment.ricap import apply_ricap, ricap, sample_ricap

__all__ = [
    "AugmentStack", "OPS", "apply_erasing", "apply_ricap", "format_augment", "parse_augment",
    "random_erasing", "register_op", "ricap", "sample_erasing_boxes", "sample_ricap",
]
