"""Batched, per-image augmentation ops written with `keras.ops`/`keras.random`.

Every op has one contract (docs/augmentation.md): `op(images, labels, seed,
**params) -> (images, labels)` over float `(B, H, W, C)` images and
`(B, classes)` label rows is `apply_op(images, labels, sample_op(shape, seed,
**params))`, and all three are exported for every op. `parse_augment` turns
a string into a stack and `AugmentStack` runs one.
"""

from fmnist_keras.augment.augmix import apply_augmix, augmix, sample_augmix
from fmnist_keras.augment.cutout import apply_cutout, cutout, sample_cutout
from fmnist_keras.augment.erasing import apply_random_erasing, random_erasing, sample_random_erasing
from fmnist_keras.augment.geometric import (
    apply_flip, apply_pad_crop, apply_rotate, apply_translate, flip, pad_crop, rotate, sample_flip,
    sample_pad_crop, sample_rotate, sample_translate, translate)
from fmnist_keras.augment.jsd import JensenShannonConsistency
from fmnist_keras.augment.layer import AugmentLayer, AugmentStack
from fmnist_keras.augment.mixing import (
    apply_cutmix, apply_mixup, cutmix, mixup, sample_cutmix, sample_mixup)
from fmnist_keras.augment.policies import (
    apply_autoaugment, apply_randaugment, autoaugment, randaugment, sample_autoaugment,
    sample_randaugment)
from fmnist_keras.augment.registry import (
    ALIASES, OPS, Op, format_augment, parse_augment, register_op)
from fmnist_keras.augment.ricap import apply_ricap, ricap, sample_ricap

__all__ = [
    "ALIASES", "AugmentLayer", "AugmentStack", "JensenShannonConsistency", "OPS", "Op",
    "format_augment", "parse_augment", "register_op",
    # Each op, then its two halves.
    "flip", "sample_flip", "apply_flip",
    "pad_crop", "sample_pad_crop", "apply_pad_crop",
    "translate", "sample_translate", "apply_translate",
    "rotate", "sample_rotate", "apply_rotate",
    "random_erasing", "sample_random_erasing", "apply_random_erasing",
    "cutout", "sample_cutout", "apply_cutout",
    "mixup", "sample_mixup", "apply_mixup",
    "cutmix", "sample_cutmix", "apply_cutmix",
    "ricap", "sample_ricap", "apply_ricap",
    "augmix", "sample_augmix", "apply_augmix",
    "autoaugment", "sample_autoaugment", "apply_autoaugment",
    "randaugment", "sample_randaugment", "apply_randaugment",
]
