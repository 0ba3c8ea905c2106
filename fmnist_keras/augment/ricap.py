"""RICAP: random image cropping and patching (Takahashi et al., 2018).

Four crops from four random permutations of the batch are patched into the
four regions cut by a boundary point (w, h) with w/W, h/H ~ Beta(beta, beta);
the labels are mixed by the pixel area each source actually contributes,
counted from the masks that are pasted (so rounding is always consistent).

As in the paper's code the boundary and the crop offsets are drawn once per
batch (`per_image=False`); `per_image=True` draws them for every image.

Reference: https://arxiv.org/abs/1811.09030
"""

import keras

from keras import ops

from fmnist_keras.augment._boxes import box_mask, shift
from fmnist_keras.augment._random import beta_sample
from fmnist_keras.augment.erasing import _uniform_int


def sample_ricap(shape, seed, beta=0.3, per_image=False):
    """Draws the boundary, permutations and crop offsets: the "draw" half.

    Returns:
        A dict: `boundary` (int32 `(n, 2)` rows of (h, w)), and per region k
        in 0..3 the keys `perm_k` (int32 `(B,)`), `crop_top_k`, `crop_left_k`
        (int32 `(n,)`), where n is B with `per_image` and 1 without.
    """
    batch, height, width = shape[0], shape[1], shape[2]
    n = batch if per_image else 1
    frac = beta_sample((n, 2), beta, beta, seed)
    size = ops.stack([height, width])[None, :]
    boundary = ops.cast(ops.round(frac * ops.cast(size, "float32")), "int32")
    draw = {"boundary": boundary}
    for k, (region_h, region_w) in enumerate(_region_sizes(boundary, height, width)):
        draw[f"perm_{k}"] = keras.random.shuffle(ops.arange(batch, dtype="int32"), seed=seed)
        draw[f"crop_top_{k}"] = _uniform_int((n,), height - region_h + 1, seed)
        draw[f"crop_left_{k}"] = _uniform_int((n,), width - region_w + 1, seed)
    return draw


def _region_sizes(boundary, height, width):
    h, w = boundary[:, 0], boundary[:, 1]
    return [(h, w), (h, width - w), (height - h, w), (height - h, width - w)]


def apply_ricap(images, labels, draw):
    """Patches the four crops and mixes the labels: the "apply" half."""
    shape = ops.shape(images)
    height, width = shape[1], shape[2]
    boundary = draw["boundary"]
    h, w = boundary[:, 0], boundary[:, 1]
    zeros = ops.zeros_like(h)
    region_origin = [(zeros, zeros), (zeros, w), (h, zeros), (h, w)]
    pixels = ops.cast(height * width, images.dtype)
    out_images, out_labels = 0.0, 0.0
    for k, ((region_h, region_w), (top, left)) in enumerate(
            zip(_region_sizes(boundary, height, width), region_origin)):
        source = ops.take(images, draw[f"perm_{k}"], axis=0)
        moved = shift(source, top - draw[f"crop_top_{k}"], left - draw[f"crop_left_{k}"])
        mask = box_mask(height, width, top, left, region_h, region_w, images.dtype)
        out_images = out_images + mask * moved
        weight = ops.sum(mask, axis=(1, 2, 3)) / pixels
        weight = weight * ops.ones_like(images[:, 0, 0, 0])  # (1,) -> (B,) when per batch
        out_labels = out_labels + weight[:, None] * ops.take(labels, draw[f"perm_{k}"], axis=0)
    return out_images, out_labels


def ricap(images, labels, seed, beta=0.3, per_image=False):
    """Random image cropping and patching with area-weighted soft labels.

    Args:
        images: `(B, H, W, C)` floats.
        labels: `(B, num_classes)` one-hot or soft rows.
        seed: a `keras.random.SeedGenerator` (or int).
        beta: the Beta(beta, beta) parameter of the boundary (paper: 0.3;
            report 000 uses 0.1, which pushes the boundary to the edges).
        per_image: draw the boundary and offsets per image instead of per batch.

    Returns:
        `(images, labels)` with label rows that sum to 1.
    """
    if not beta > 0:
        raise ValueError(f"beta must be > 0. Received: beta={beta!r}")
    draw = sample_ricap(ops.shape(images), seed, beta, per_image)
    return apply_ricap(images, labels, draw)
