"""Random Erasing (Zhong et al., 2017), batched and per image.

Keras' own `RandomErasing` layer draws the box as two independent side
fractions (no area / aspect-ratio law) and fills 1-channel images badly;
this op follows the paper: with probability `prob` an image gets one box
whose area is uniform in `area` (fraction of the image) and whose aspect
ratio h/w is log-uniform in `[min_aspect, 1 / min_aspect]` (as torchvision;
the paper writes uniform), placed uniformly where it fits.

Reference: https://arxiv.org/abs/1708.04896
"""

import math

import keras
from keras import ops

from fmnist_keras.augment._boxes import box_mask

FILLS = ("random", "constant", "mean")


def sample_erasing_boxes(shape, seed, prob=0.5, area=(0.02, 0.4), min_aspect=0.3, attempts=10,
                         area_scale=None):
    """Draws one box per image: the "draw" half of `random_erasing`.

    The paper retries a draw until the box fits inside the image; here each
    image gets `attempts` candidate (area, aspect) pairs at once and keeps
    the first that fits (about 1 in 5 candidates do not fit at 28x28, so a
    miss on all 10 has probability ~1e-7; then the image is left as is).

    `area_scale` (optional float `(B,)`) multiplies each image's target
    area (used by `max_count` to split the area between several boxes).

    Returns:
        A dict of int32 `(B,)` tensors `top`, `left`, `height`, `width`;
        height and width are 0 for images that are not erased.
    """
    batch, height, width = shape[0], shape[1], shape[2]
    image_area = ops.cast(height * width, "float32")
    area_frac = keras.random.uniform((batch, attempts), area[0], area[1], seed=seed)
    log_aspect = keras.random.uniform(
        (batch, attempts), math.log(min_aspect), -math.log(min_aspect), seed=seed)
    target = area_frac * image_area
    if area_scale is not None:
        target = target * area_scale[:, None]
    aspect = ops.exp(log_aspect)
    box_h = ops.cast(ops.round(ops.sqrt(target * aspect)), "int32")
    box_w = ops.cast(ops.round(ops.sqrt(target / aspect)), "int32")
    fits = (box_h >= 1) & (box_w >= 1) & (box_h <= height) & (box_w <= width)
    first = ops.argmax(ops.cast(fits, "int32"), axis=1)[:, None]
    box_h = ops.take_along_axis(box_h, first, axis=1)[:, 0]
    box_w = ops.take_along_axis(box_w, first, axis=1)[:, 0]
    erase = (keras.random.uniform((batch,), seed=seed) < prob) & ops.any(fits, axis=1)
    box_h = ops.where(erase, box_h, 0)
    box_w = ops.where(erase, box_w, 0)
    top = _uniform_int((batch,), height - box_h + 1, seed)
    left = _uniform_int((batch,), width - box_w + 1, seed)
    return {"top": top, "left": left, "height": box_h, "width": box_w}


def _uniform_int(shape, upper, seed):
    """Integers uniform in [0, upper) with a per-element (tensor) upper bound."""
    u = keras.random.uniform(shape, seed=seed)
    return ops.minimum(ops.cast(ops.floor(u * ops.cast(upper, "float32")), "int32"), upper - 1)


def apply_erasing(images, boxes, fill, seed=None, fill_value=0.0):
    """Fills each image's box: the "apply" half of `random_erasing`."""
    shape = ops.shape(images)
    if len(boxes["top"].shape) == 2:  # (count, B) boxes from `max_count`: their union
        mask = False
        for k in range(boxes["top"].shape[0]):
            mask = ops.logical_or(mask, box_mask(
                shape[1], shape[2], boxes["top"][k], boxes["left"][k], boxes["height"][k],
                boxes["width"][k], "bool"))
    else:
        mask = box_mask(
            shape[1], shape[2], boxes["top"], boxes["left"], boxes["height"], boxes["width"], "bool")
    if fill == "random":
        values = keras.random.uniform(shape, dtype=images.dtype, seed=seed)
    elif fill == "mean":
        values = ops.mean(images, axis=(0, 1, 2), keepdims=True)
    else:
        values = ops.cast(fill_value, images.dtype)
    return ops.where(mask, values, images)


def random_erasing(images, labels, seed, prob=0.5, area=(0.02, 0.4), min_aspect=0.3,
                   fill="random", fill_value=0.0, max_count=1):
    """Erases one random box per image with probability `prob`.

    Args:
        images: `(B, H, W, C)` floats in [0, 1].
        labels: passed through unchanged.
        seed: a `keras.random.SeedGenerator` (or int).
        prob: probability that an image is erased.
        area: range of the erased fraction of the image area.
        min_aspect: aspect ratios h/w lie in `[min_aspect, 1 / min_aspect]`.
        fill: "random" (uniform noise per pixel, the paper's default),
            "constant" (`fill_value`) or "mean" (the batch's per-channel mean,
            standing in for the paper's dataset-mean pixel).
        fill_value: the constant for `fill="constant"`.
        max_count: with more than 1, an erased image gets a number of boxes
            uniform in `[1, max_count]`, each drawn with its target area
            divided by that number (as timm's `max_count`), so the total
            erased area keeps the `area` law apart from overlaps.

    Returns:
        `(images, labels)`.
    """
    _check_erasing_args(prob, area, min_aspect, fill)
    if isinstance(max_count, bool) or not isinstance(max_count, int) or max_count < 1:
        raise ValueError(f"max_count must be an integer >= 1. Received: max_count={max_count!r}")
    if max_count == 1:
        boxes = sample_erasing_boxes(ops.shape(images), seed, prob, area, min_aspect)
    else:
        boxes = sample_erasing_box_sets(ops.shape(images), seed, prob, area, min_aspect, max_count)
    return apply_erasing(images, boxes, fill, seed, fill_value), labels


def sample_erasing_box_sets(shape, seed, prob=0.5, area=(0.02, 0.4), min_aspect=0.3, max_count=2):
    """Up to `max_count` boxes per image: int32 `(max_count, B)` tensors (unused boxes empty)."""
    batch = shape[0]
    erase = keras.random.uniform((batch,), seed=seed) < prob
    count = ops.minimum(
        ops.cast(ops.floor(keras.random.uniform((batch,), seed=seed) * max_count), "int32") + 1,
        max_count)
    scale = 1.0 / ops.cast(count, "float32")
    boxes = {k: [] for k in ("top", "left", "height", "width")}
    for k in range(max_count):
        one = sample_erasing_boxes(shape, seed, 1.0, area, min_aspect, area_scale=scale)
        used = erase & (k < count)
        one["height"] = ops.where(used, one["height"], 0)
        one["width"] = ops.where(used, one["width"], 0)
        for key in boxes:
            boxes[key].append(one[key])
    return {key: ops.stack(value) for key, value in boxes.items()}


def _check_erasing_args(prob, area, min_aspect, fill):
    if not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1]. Received: prob={prob!r}")
    if len(area) != 2 or not 0.0 < area[0] <= area[1] <= 1.0:
        raise ValueError(f"area must be (low, high) with 0 < low <= high <= 1. Received: area={area!r}")
    if not 0.0 < min_aspect <= 1.0:
        raise ValueError(f"min_aspect must be in (0, 1]. Received: min_aspect={min_aspect!r}")
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}. Received: fill={fill!r}")
