"""Geometric ops: flips, pad-and-crop, translations and rotations, per image.

Keras' `RandomCrop` draws one offset per batch; here every image gets its
own flip coins, crop offset, shift or angle.
"""

import inspect

import keras
from keras import ops

from fmnist_keras.augment import _warp
from fmnist_keras.augment._boxes import shift


def _check_prob(prob):
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1]. Received: prob={prob!r}")


def sample_flips(batch, seed, prob=0.5, horizontal=True, vertical=False):
    """Per-image booleans `{"horizontal": (B,), "vertical": (B,)}`."""
    coins = keras.random.uniform((2, batch), seed=seed) < prob
    return {"horizontal": coins[0] & horizontal, "vertical": coins[1] & vertical}


def apply_flips(images, flips, horizontal=True, vertical=True):
    """Mirrors image b where `flips[axis][b]`; an axis that is statically off costs nothing."""
    out = images
    if horizontal:
        out = ops.where(flips["horizontal"][:, None, None, None], ops.flip(out, axis=2), out)
    if vertical:
        out = ops.where(flips["vertical"][:, None, None, None], ops.flip(out, axis=1), out)
    return out


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
    _check_prob(prob)
    flips = sample_flips(ops.shape(images)[0], seed, prob, horizontal, vertical)
    return apply_flips(images, flips, horizontal is not False, vertical is not False), labels


def sample_offsets(batch, seed, max_dy, max_dx):
    """Integer shifts uniform in `[-max, max]` per image: `{"dy", "dx"}` int32 `(B,)`."""
    u = keras.random.uniform((2, batch), seed=seed)
    dy = ops.floor(u[0] * (2 * ops.cast(max_dy, "float32") + 1)) - ops.cast(max_dy, "float32")
    dx = ops.floor(u[1] * (2 * ops.cast(max_dx, "float32") + 1)) - ops.cast(max_dx, "float32")
    # u < 1, so floor(u * (2m + 1)) <= 2m; the min guards float rounding.
    dy = ops.minimum(ops.cast(dy, "int32"), ops.cast(max_dy, "int32"))
    dx = ops.minimum(ops.cast(dx, "int32"), ops.cast(max_dx, "int32"))
    return {"dy": dy, "dx": dx}


def pad_crop(images, labels, seed, pad=4):
    """Zero-pads by `pad` pixels and crops back at a random offset per image.

    Equivalent to shifting each image by an integer offset uniform in
    `[-pad, pad]` on both axes with zero fill (what a padded random crop is),
    done as one gather.

    Args:
        images: `(B, H, W, C)` floats.
        labels: passed through.
        seed: a `keras.random.SeedGenerator` (or int).
        pad: padding in pixels on each side (CIFAR/Fashion-MNIST practice: 2-4).

    Returns:
        `(images, labels)`.
    """
    offsets = _pad_crop_offsets(ops.shape(images), seed, pad)
    return shift(images, offsets["dy"], offsets["dx"]), labels


def _pad_crop_offsets(shape, seed, pad):
    if isinstance(pad, bool) or not isinstance(pad, int) or pad < 0:
        raise ValueError(f"pad must be an integer >= 0. Received: pad={pad!r}")
    return sample_offsets(shape[0], seed, pad, pad)


def translate(images, labels, seed, max_fraction=0.1):
    """Shifts each image by whole pixels, up to `max_fraction` of its size per axis.

    Args:
        images: `(B, H, W, C)` floats.
        labels: passed through.
        seed: a `keras.random.SeedGenerator` (or int).
        max_fraction: largest shift as a fraction of height (rows) and width
            (columns); uncovered pixels are 0.

    Returns:
        `(images, labels)`.
    """
    offsets = _translate_offsets(ops.shape(images), seed, max_fraction)
    return shift(images, offsets["dy"], offsets["dx"]), labels


def _translate_offsets(shape, seed, max_fraction):
    if not 0.0 <= max_fraction <= 1.0:
        raise ValueError(f"max_fraction must be in [0, 1]. Received: max_fraction={max_fraction!r}")
    max_dy = ops.floor(ops.cast(shape[1], "float32") * max_fraction)
    max_dx = ops.floor(ops.cast(shape[2], "float32") * max_fraction)
    return sample_offsets(shape[0], seed, max_dy, max_dx)


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
    _check_prob(prob)
    if not 0.0 <= max_degrees <= 180.0:
        raise ValueError(f"max_degrees must be in [0, 180]. Received: max_degrees={max_degrees!r}")
    batch = ops.shape(images)[0]
    angle = keras.random.uniform((batch,), -max_degrees, max_degrees, seed=seed)
    angle = ops.where(keras.random.uniform((batch,), seed=seed) < prob, angle, 0.0)
    return _warp.affine_warp(images, _warp.rotation_matrices(angle)), labels


# Ops that are whole-pixel shifts: `flip` followed by one of them is fused.
SHIFTS = {"pad_crop": (pad_crop, _pad_crop_offsets), "translate": (translate, _translate_offsets)}


def _with_defaults(op, params):
    """`params` completed with `op`'s own defaults (one source of truth for both paths)."""
    bound = inspect.signature(op).bind(None, None, None, **params)
    bound.apply_defaults()
    return dict(list(bound.arguments.items())[3:])


def flip_then_shift(images, labels, seed, flip_params, shift_name, shift_params):
    """`flip(**flip_params)` then `shift_name(**shift_params)` as one gather.

    Draws exactly what the two ops draw, in the same order, so the result is
    bit-identical to calling them one after the other (a test checks it); it
    only skips the intermediate image. `AugmentStack` uses it for adjacent
    pairs such as "flip,pad_crop".
    """
    flip_args = _with_defaults(flip, flip_params)
    _check_prob(flip_args["prob"])
    shape = ops.shape(images)
    flips = sample_flips(shape[0], seed, **flip_args)
    shift_op, offsets_of = SHIFTS[shift_name]
    offsets = offsets_of(shape, seed, **_with_defaults(shift_op, shift_params))
    return shift(images, offsets["dy"], offsets["dx"],
                 flip_h=flips["horizontal"] if flip_args["horizontal"] is not False else None,
                 flip_v=flips["vertical"] if flip_args["vertical"] is not False else None), labels
