"""Batched, per-image augmentation ops written with `keras.ops`/`keras.random`.

Every op is a pure function `op(images, labels, seed, **params) ->
(images, labels)` over float `(B, H, W, C)` images and `(B, classes)` label
rows; see docs/design.md. `parse_augment` turns a string into a stack and
`AugmentStack` runs one.
"""

from fmnist_keras.augment.augmix import apply_augmix, augmix, sample_augmix
from fmnist_keras.augment.cutout import cutout, sample_cutout_boxes
from fmnist_keras.augment.erasing import random_erasing, sample_erasing_boxes, apply_erasing
from fmnist_keras.augment.geometric import flip, pad_crop, rotate, translate
from fmnist_keras.augment.jsd import JensenShannonConsistency
from fmnist_keras.augment.layer import AugmentLayer, AugmentStack
from fmnist_keras.augment.mixing import (
    apply_cutmix, apply_mixup, cutmix, mixup, sample_cutmix, sample_mixup)
from fmnist_keras.augment.policies import autoaugment, randaugment
from fmnist_keras.augment.registry import OPS, format_augment, parse_augment, register_op
from fmnist_keras.augment.ricap import apply_ricap, ricap, sample_ricap

__all__ = [
    "AugmentLayer", "AugmentStack", "JensenShannonConsistency", "OPS", "apply_augmix",
    "apply_cutmix", "apply_erasing", "apply_mixup", "apply_ricap", "augmix", "autoaugment",
    "cutmix", "cutout", "flip", "format_augment", "mixup", "pad_crop", "parse_augment",
    "randaugment", "random_erasing", "register_op", "ricap", "rotate", "sample_augmix",
    "sample_cutmix", "sample_cutout_boxes", "sample_erasing_boxes", "sample_mixup",
    "sample_ricap", "translate",
]
