"""RICAP: random image cropping and patching (Takahashi et al., 2018).

Four crops from four random permutations of the batch are patched into the
four regions cut by a boundary point (w, h) with w/W, h/H ~ Beta(beta, beta);
the labels are mixed by the pixel area each source actually contributes,
counted from the masks that are pasted (so rounding is always consistent).

The paper's code draws the boundary and the crop offsets once per batch
(`per_image=False`); by default they are drawn for every image, as every
other op here draws (`per_image` means the same for mixup and cutmix).

Reference: https://arxiv.org/abs/1811.09030
"""

import keras

from keras import ops

from fmnist_keras.augment._prob import check_prob, coin, keep_where_off
from fmnist_keras.augment._random import beta_sample
from fmnist_keras.augment.erasing import _uniform_int


def check_ricap(beta, per_image, prob):
    if not beta > 0:
        raise ValueError(f"beta must be > 0. Received: beta={beta!r}")
    check_prob(prob)


def sample_ricap(shape, seed, beta=0.3, per_image=True, prob=1.0):
    """Draws the boundary, permutations and crop offsets.

    Returns:
        A dict: `boundary` (int32 `(n, 2)` rows of (h, w)), and per region k
        in 0..3 the keys `perm_k` (int32 `(B,)`), `crop_top_k`, `crop_left_k`
        (int32 `(n,)`), where n is B with `per_image` and 1 without; `on`,
        bool `(n,)` (False: the image, or batch, is left as it is), or None
        at `prob=1`.
    """
    check_ricap(beta, per_image, prob)
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
    draw["on"] = coin((n,), seed, prob)
    return draw


def _region_sizes(boundary, height, width):
    h, w = boundary[:, 0], boundary[:, 1]
    return [(h, w), (h, width - w), (height - h, w), (height - h, width - w)]


def apply_ricap(images, labels, draw):
    """Patches the four crops and mixes the labels by the pasted areas.

    One flat gather for the whole batch: each output pixel computes its
    region, the source image of that region and the source pixel. (Four
    takes plus four shifted copies cost eight gathers; XLA also fused them
    badly with a preceding op, down to ~3k images/s on the CPU.) Crops always
    lie inside their source, so no pixel reads outside an image.
    """
    shape = ops.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    boundary = draw["boundary"]
    h, w = boundary[:, 0], boundary[:, 1]
    rows = ops.arange(height, dtype="int32")[None, :, None]  # (1, H, 1)
    cols = ops.arange(width, dtype="int32")[None, None, :]  # (1, 1, W)
    lower = rows >= h[:, None, None]  # (n, H, 1): regions 2 and 3
    right = cols >= w[:, None, None]  # (n, 1, W): regions 1 and 3

    def pick(values):
        """Per pixel, the value of its region from four `(n,)` or `(B,)` tensors."""
        v = [x[:, None, None] for x in values]
        return ops.where(lower, ops.where(right, v[3], v[2]), ops.where(right, v[1], v[0]))

    zeros = ops.zeros_like(h)
    top = pick([zeros, zeros, h, h])
    left = pick([zeros, w, zeros, w])
    source = pick([draw[f"perm_{k}"] for k in range(4)])  # (B, H, W)
    src_row = rows - top + pick([draw[f"crop_top_{k}"] for k in range(4)])
    src_col = cols - left + pick([draw[f"crop_left_{k}"] for k in range(4)])
    flat = (source * height + ops.clip(src_row, 0, height - 1)) * width + ops.clip(src_col, 0, width - 1)
    pixels = ops.reshape(images, (batch * height * width, channels))
    out_images = ops.reshape(ops.take(pixels, ops.reshape(flat, (-1,)), axis=0), shape)
    # Each region's label weight is its pixel count: exactly what was pasted.
    pixels_total = ops.cast(height * width, "float32")
    labels = ops.cast(labels, "float32")
    out_labels = 0.0
    for k, (region_h, region_w) in enumerate(_region_sizes(boundary, height, width)):
        weight = ops.cast(region_h * region_w, "float32") / pixels_total
        weight = weight * ops.ones_like(ops.cast(draw[f"perm_{k}"], "float32"))  # (1,) -> (B,)
        out_labels = out_labels + weight[:, None] * ops.take(labels, draw[f"perm_{k}"], axis=0)
    on = draw.get("on")
    return keep_where_off(on, out_images, images), keep_where_off(on, out_labels, labels)


def ricap(images, labels, seed, beta=0.3, per_image=True, prob=1.0):
    """Random image cropping and patching with area-weighted soft labels.

    Args:
        images: `(B, H, W, C)` floats.
        labels: `(B, num_classes)` one-hot or soft rows.
        seed: a `keras.random.SeedGenerator` (or int).
        beta: the Beta(beta, beta) parameter of the boundary (paper: 0.3;
            report 000 uses 0.1, which pushes the boundary to the edges).
        per_image: draw the boundary and offsets per image (default) or once
            per batch (the paper's code; report 000's recipe pins it).
        prob: probability that an image (per batch: the batch) is patched.

    Returns:
        `(images, labels)` with label rows that sum to 1.
    """
    return apply_ricap(images, labels, sample_ricap(ops.shape(images), seed, beta, per_image, prob))
