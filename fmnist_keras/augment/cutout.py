"""Cutout (DeVries & Taylor, 2017): a fixed-size square of zeros per image.

The square's centre is uniform over the whole image, so near the borders
only part of it lands inside (as in the paper, which found that this
matters); with `prob < 1` some images are left alone.

Reference: https://arxiv.org/abs/1708.04552
"""

import keras
from keras import ops

from fmnist_keras.augment._boxes import box_mask
from fmnist_keras.augment._prob import check_prob


def check_cutout(size, prob, fill_value):
    if not 0.0 < size <= 1.0:
        raise ValueError(f"size must be in (0, 1]. Received: size={size!r}")
    check_prob(prob)


def sample_cutout(shape, seed, size=0.5, prob=1.0, fill_value=0.0):
    """Clipped boxes `{"top", "left", "height", "width"}` int32 `(B,)` (empty where
    `prob` skips the image), and the `fill_value` that `apply_cutout` paints."""
    check_cutout(size, prob, fill_value)
    batch, height, width = shape[0], shape[1], shape[2]
    box_h = ops.cast(ops.round(ops.cast(height, "float32") * size), "int32")
    box_w = ops.cast(ops.round(ops.cast(width, "float32") * size), "int32")
    u = keras.random.uniform((3, batch), seed=seed)
    cy = ops.minimum(ops.cast(ops.floor(u[0] * ops.cast(height, "float32")), "int32"), height - 1)
    cx = ops.minimum(ops.cast(ops.floor(u[1] * ops.cast(width, "float32")), "int32"), width - 1)
    top = ops.clip(cy - box_h // 2, 0, height)
    bottom = ops.clip(cy - box_h // 2 + box_h, 0, height)
    left = ops.clip(cx - box_w // 2, 0, width)
    right = ops.clip(cx - box_w // 2 + box_w, 0, width)
    on = u[2] < prob
    return {"top": top, "left": left, "height": ops.where(on, bottom - top, 0),
            "width": ops.where(on, right - left, 0), "fill_value": fill_value}


def apply_cutout(images, labels, draw):
    """Paints each image's box with `draw["fill_value"]`."""
    shape = ops.shape(images)
    mask = box_mask(shape[1], shape[2], draw["top"], draw["left"], draw["height"], draw["width"],
                    images.dtype)
    return images * (1 - mask) + ops.cast(draw["fill_value"], images.dtype) * mask, labels


def cutout(images, labels, seed, size=0.5, prob=1.0, fill_value=0.0):
    """Masks a square of side `size` x the image side, centred anywhere.

    Args:
        images: `(B, H, W, C)` floats.
        labels: passed through.
        seed: a `keras.random.SeedGenerator` (or int).
        size: the square's side as a fraction of the image side (the paper:
            16 px of 32 on CIFAR-10, i.e. 0.5; rows and columns scale apart).
        prob: probability that an image gets a square.
        fill_value: the masked pixels' value (0 is the background here).

    Returns:
        `(images, labels)`.
    """
    return apply_cutout(images, labels, sample_cutout(ops.shape(images), seed, size, prob, fill_value))
