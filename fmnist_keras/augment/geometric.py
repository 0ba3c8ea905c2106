"""Geometric ops: flips, pad-and-crop, translations and rotations, per image.

Keras' `RandomCrop` draws one offset per batch; here every image gets its
own flip coins, crop offset, shift or angle. Each op is its draw/apply pair:
`op(images, labels, seed, **params) == apply_op(images, labels,
sample_op(ops.shape(images), seed, **params))` (see docs/augmentation.md).
"""

import keras
from keras import ops

from fmnist_keras.augment import _warp
from fmnist_keras.augment._boxes import shift
from fmnist_keras.augment._prob import check_int, check_prob, coin


def check_flip(prob, horizontal, vertical):
    check_prob(prob)


def sample_flip(shape, seed, prob=0.5, horizontal=True, vertical=False):
    """Per-image coins: `{"horizontal", "vertical"}` bool `(B,)`, or None for an
    axis that is off (statically, so it costs nothing in `apply_flip`)."""
    check_flip(prob, horizontal, vertical)
    coins = keras.random.uniform((2, shape[0]), seed=seed) < prob
    return {"horizontal": coins[0] if horizontal else None, "vertical": coins[1] if vertical else None}


def apply_flip(images, labels, draw):
    """Mirrors image b left-right where `draw["horizontal"][b]`, upside down where `draw["vertical"][b]`."""
    out = images
    if draw["horizontal"] is not None:
        out = ops.where(draw["horizontal"][:, None, None, None], ops.flip(out, axis=2), out)
    if draw["vertical"] is not None:
        out = ops.where(draw["vertical"][:, None, None, None], ops.flip(out, axis=1), out)
    return out, labels


def flip(images, labels, seed, prob=0.5, horizontal=True, vertical=False):
    """Mirrors each image left-right (and/or upside down) with probability `prob`.

    Args:
        images: `(B, H, W, C)` floats.
        labels: passed through.
        seed: a `keras.random.SeedGenerator` (or int).
        prob: probability of each enabled flip, drawn per image and axis.
        horizontal: flip left-right.
        vertical: flip upside down (off by default: garments have an up).

    Returns:
        `(images, labels)`.
    """
    return apply_flip(images, labels, sample_flip(ops.shape(images), seed, prob, horizontal, vertical))


def sample_offsets(batch, seed, max_dy, max_dx):
    """Integer shifts uniform in `[-max, max]` per image: `{"dy", "dx"}` int32 `(B,)`."""
    u = keras.random.uniform((2, batch), seed=seed)
    dy = ops.floor(u[0] * (2 * ops.cast(max_dy, "float32") + 1)) - ops.cast(max_dy, "float32")
    dx = ops.floor(u[1] * (2 * ops.cast(max_dx, "float32") + 1)) - ops.cast(max_dx, "float32")
    # u < 1, so floor(u * (2m + 1)) <= 2m; the min guards float rounding.
    dy = ops.minimum(ops.cast(dy, "int32"), ops.cast(max_dy, "int32"))
    dx = ops.minimum(ops.cast(dx, "int32"), ops.cast(max_dx, "int32"))
    return {"dy": dy, "dx": dx}


def _skip_shifts(offsets, batch, seed, prob):
    """Offsets of 0 (the identity) for the images that `prob` skips."""
    on = coin((batch,), seed, prob)
    if on is None:
        return offsets
    return {k: ops.where(on, v, 0) for k, v in offsets.items()}


def _apply_shift(images, labels, draw):
    return shift(images, draw["dy"], draw["dx"]), labels


def check_pad_crop(pad, prob):
    check_int("pad", pad, 0)
    check_prob(prob)


def sample_pad_crop(shape, seed, pad=4, prob=1.0):
    """Crop offsets as shifts: `{"dy", "dx"}` int32 `(B,)` uniform in `[-pad, pad]`."""
    check_pad_crop(pad, prob)
    return _skip_shifts(sample_offsets(shape[0], seed, pad, pad), shape[0], seed, prob)


def apply_pad_crop(images, labels, draw):
    """Shifts image b by `(draw["dy"][b], draw["dx"][b])` with zero fill: a padded crop."""
    return _apply_shift(images, labels, draw)


def pad_crop(images, labels, seed, pad=4, prob=1.0):
    """Zero-pads by `pad` pixels and crops back at a random offset per image.

    Equivalent to shifting each image by an integer offset uniform in
    `[-pad, pad]` on both axes with zero fill (what a padded random crop is),
    done as one gather.

    Args:
        images: `(B, H, W, C)` floats.
        labels: passed through.
        seed: a `keras.random.SeedGenerator` (or int).
        pad: padding in pixels on each side (CIFAR/Fashion-MNIST practice: 2-4).
        prob: probability that an image is cropped at all.

    Returns:
        `(images, labels)`.
    """
    return apply_pad_crop(images, labels, sample_pad_crop(ops.shape(images), seed, pad, prob))


def check_translate(max_fraction, prob):
    if not 0.0 <= max_fraction <= 1.0:
        raise ValueError(f"max_fraction must be in [0, 1]. Received: max_fraction={max_fraction!r}")
    check_prob(prob)


def sample_translate(shape, seed, max_fraction=0.1, prob=1.0):
    """Whole-pixel shifts `{"dy", "dx"}` int32 `(B,)`, up to `max_fraction` of each side."""
    check_translate(max_fraction, prob)
    max_dy = ops.floor(ops.cast(shape[1], "float32") * max_fraction)
    max_dx = ops.floor(ops.cast(shape[2], "float32") * max_fraction)
    return _skip_shifts(sample_offsets(shape[0], seed, max_dy, max_dx), shape[0], seed, prob)


def apply_translate(images, labels, draw):
    """Shifts image b by `(draw["dy"][b], draw["dx"][b])` with zero fill."""
    return _apply_shift(images, labels, draw)


def translate(images, labels, seed, max_fraction=0.1, prob=1.0):
    """Shifts each image by whole pixels, up to `max_fraction` of its size per axis.

    Args:
        images: `(B, H, W, C)` floats.
        labels: passed through.
        seed: a `keras.random.SeedGenerator` (or int).
        max_fraction: largest shift as a fraction of height (rows) and width
            (columns); uncovered pixels are 0.
        prob: probability that an image is shifted at all.

    Returns:
        `(images, labels)`.
    """
    return apply_translate(images, labels, sample_translate(ops.shape(images), seed, max_fraction, prob))


def check_rotate(max_degrees, prob):
    check_prob(prob)
    if not 0.0 <= max_degrees <= 180.0:
        raise ValueError(f"max_degrees must be in [0, 180]. Received: max_degrees={max_degrees!r}")


def sample_rotate(shape, seed, max_degrees=15.0, prob=1.0):
    """Angles in degrees `{"angle"}` float `(B,)`, 0 for the images that `prob` skips."""
    check_rotate(max_degrees, prob)
    angle = keras.random.uniform((shape[0],), -max_degrees, max_degrees, seed=seed)
    # Rotate always drew its coin, also at prob=1: kept, so its draws stay as they were.
    return {"angle": ops.where(keras.random.uniform((shape[0],), seed=seed) < prob, angle, 0.0)}


def apply_rotate(images, labels, draw):
    """Rotates image b by `draw["angle"][b]` degrees: one bilinear warp, zero fill."""
    return _warp.affine_warp(images, _warp.rotation_matrices(draw["angle"])), labels


def rotate(images, labels, seed, max_degrees=15.0, prob=1.0):
    """Rotates each image about its centre by an angle uniform in `[-max, max]`.

    Bilinear sampling with zero fill, one warp for the whole batch.

    Args:
        images: `(B, H, W, C)` floats.
        labels: passed through.
        seed: a `keras.random.SeedGenerator` (or int).
        max_degrees: largest angle in degrees.
        prob: probability that an image is rotated at all.

    Returns:
        `(images, labels)`.
    """
    return apply_rotate(images, labels, sample_rotate(ops.shape(images), seed, max_degrees, prob))


# Ops that are whole-pixel shifts: `flip` followed by one of them is fused.
SHIFTS = {"pad_crop": sample_pad_crop, "translate": sample_translate}


def flip_then_shift(images, labels, seed, flip_params, shift_name, shift_params):
    """`flip(**flip_params)` then `shift_name(**shift_params)` as one gather.

    Draws exactly what the two ops draw, in the same order, so the result is
    bit-identical to calling them one after the other (a test checks it); it
    only skips the intermediate image. `AugmentStack` uses it for adjacent
    pairs such as "flip,pad_crop".
    """
    shape = ops.shape(images)
    flips = sample_flip(shape, seed, **flip_params)
    offsets = SHIFTS[shift_name](shape, seed, **shift_params)
    return shift(images, offsets["dy"], offsets["dx"], flip_h=flips["horizontal"],
                 flip_v=flips["vertical"]), labels
