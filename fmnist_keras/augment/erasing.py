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
from fmnist_keras.augment._prob import check_int, check_prob

FILLS = ("random", "constant", "mean")


def check_random_erasing(prob, area, min_aspect, fill, fill_value, max_count):
    check_prob(prob)
    if len(area) != 2 or not 0.0 < area[0] <= area[1] <= 1.0:
        raise ValueError(f"area must be (low, high) with 0 < low <= high <= 1. Received: area={area!r}")
    if not 0.0 < min_aspect <= 1.0:
        raise ValueError(f"min_aspect must be in (0, 1]. Received: min_aspect={min_aspect!r}")
    if fill not in FILLS:
        raise ValueError(f"fill must be one of {FILLS}. Received: fill={fill!r}")
    check_int("max_count", max_count, 1)


def sample_random_erasing(shape, seed, prob=0.5, area=(0.02, 0.4), min_aspect=0.3, fill="random",
                          fill_value=0.0, max_count=1, *, dtype="float32"):
    """Draws the boxes (and, for `fill="random"`, the noise that fills them).

    Returns:
        A dict: int32 boxes `top`, `left`, `height`, `width` of shape `(B,)`
        (`(max_count, B)` with `max_count > 1`; empty boxes where an image is
        not erased), `fill` and `fill_value`, and for the random fill `noise`,
        uniform `shape` values of `dtype`. The noise is pixels, so it is drawn
        in the images' dtype (`random_erasing` passes it): a bfloat16 batch
        gets bfloat16 draws, not rounded float32 ones.
    """
    check_random_erasing(prob, area, min_aspect, fill, fill_value, max_count)
    if max_count == 1:
        draw = _sample_boxes(shape, seed, prob, area, min_aspect)
    else:
        draw = _sample_box_sets(shape, seed, prob, area, min_aspect, max_count)
    draw.update(fill=fill, fill_value=fill_value)
    if fill == "random":
        draw["noise"] = keras.random.uniform(shape, dtype=dtype, seed=seed)
    return draw


def _sample_boxes(shape, seed, prob, area, min_aspect, attempts=10, area_scale=None):
    """One box per image.

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


def _sample_box_sets(shape, seed, prob, area, min_aspect, max_count):
    """Up to `max_count` boxes per image: int32 `(max_count, B)` tensors (unused boxes empty)."""
    batch = shape[0]
    erase = keras.random.uniform((batch,), seed=seed) < prob
    count = ops.minimum(
        ops.cast(ops.floor(keras.random.uniform((batch,), seed=seed) * max_count), "int32") + 1,
        max_count)
    scale = 1.0 / ops.cast(count, "float32")
    boxes = {k: [] for k in ("top", "left", "height", "width")}
    for k in range(max_count):
        one = _sample_boxes(shape, seed, 1.0, area, min_aspect, area_scale=scale)
        used = erase & (k < count)
        one["height"] = ops.where(used, one["height"], 0)
        one["width"] = ops.where(used, one["width"], 0)
        for key in boxes:
            boxes[key].append(one[key])
    return {key: ops.stack(value) for key, value in boxes.items()}


def _uniform_int(shape, upper, seed):
    """Integers uniform in [0, upper) with a per-element (tensor) upper bound."""
    u = keras.random.uniform(shape, seed=seed)
    return ops.minimum(ops.cast(ops.floor(u * ops.cast(upper, "float32")), "int32"), upper - 1)


def _erased_mask(shape, draw):
    """Bool `(B, H, W, 1)`: inside an image's box, or any of its boxes (`(count, B)` draws)."""
    if len(draw["top"].shape) == 1:
        return box_mask(shape[1], shape[2], draw["top"], draw["left"], draw["height"], draw["width"],
                        "bool")
    mask = False
    for k in range(draw["top"].shape[0]):
        mask = ops.logical_or(mask, box_mask(
            shape[1], shape[2], draw["top"][k], draw["left"][k], draw["height"][k],
            draw["width"][k], "bool"))
    return mask


def apply_random_erasing(images, labels, draw):
    """Fills each image's box(es) with the drawn noise, `fill_value` or the batch mean."""
    mask = _erased_mask(ops.shape(images), draw)
    if draw["fill"] == "random":
        values = draw["noise"]
    elif draw["fill"] == "mean":
        values = ops.mean(images, axis=(0, 1, 2), keepdims=True)
    else:
        values = ops.cast(draw["fill_value"], images.dtype)
    return ops.where(mask, values, images), labels


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
    draw = sample_random_erasing(ops.shape(images), seed, prob, area, min_aspect, fill, fill_value,
                                 max_count, dtype=images.dtype)
    return apply_random_erasing(images, labels, draw)
