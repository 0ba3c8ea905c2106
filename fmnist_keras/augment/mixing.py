"""MixUp (Zhang et al., 2018) and CutMix (Yun et al., 2019).

Both pair each image with one from a random permutation of the batch (as
the papers' code does) and mix the label rows by the weight of each source.
The papers draw one mixing weight per batch; by default a weight (and for
CutMix a box) is drawn per image instead, which costs nothing batched;
`per_image=False` gives the papers' per-batch draw. CutMix's label weight is
the fraction of pixels actually pasted after the box is clipped to the image.

References:
    - MixUp: https://arxiv.org/abs/1710.09412
    - CutMix: https://arxiv.org/abs/1905.04899
"""

import keras
from keras import ops

from fmnist_keras.augment._boxes import box_mask
from fmnist_keras.augment._prob import check_prob
from fmnist_keras.augment._random import beta_sample


def check_mixup(alpha, prob, per_image):
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0. Received: alpha={alpha!r}")
    check_prob(prob)


check_cutmix = check_mixup  # the same parameters, checked the same way


def _mix_labels(labels, perm, weight):
    """`(1 - w) * own + w * partner`, with `w` `(B,)` or `(1,)`."""
    labels = ops.cast(labels, "float32")
    weight = ops.cast(weight, "float32") * ops.ones_like(labels[:, 0])
    return (1.0 - weight[:, None]) * labels + weight[:, None] * ops.take(labels, perm, axis=0)


def sample_mixup(shape, seed, alpha=1.0, prob=1.0, per_image=True):
    """A partner permutation `perm` int32 `(B,)` and the partner's `weight` `(n,)`
    (n = B per image, 1 per batch; 0 where `prob` skips)."""
    check_mixup(alpha, prob, per_image)
    batch = shape[0]
    n = batch if per_image else 1
    perm = keras.random.shuffle(ops.arange(batch, dtype="int32"), seed=seed)
    lam = beta_sample((n,), alpha, alpha, seed)
    on = keras.random.uniform((n,), seed=seed) < prob
    return {"perm": perm, "weight": ops.where(on, 1.0 - lam, 0.0)}


def apply_mixup(images, labels, draw):
    """Blends each image and label row with its partner's by `draw["weight"]`."""
    weight = ops.cast(draw["weight"], images.dtype)[:, None, None, None]
    partner = ops.take(images, draw["perm"], axis=0)
    return (1.0 - weight) * images + weight * partner, _mix_labels(labels, draw["perm"], draw["weight"])


def mixup(images, labels, seed, alpha=1.0, prob=1.0, per_image=True):
    """Blends each image and its label row with a random partner's.

    Args:
        images: `(B, H, W, C)` floats.
        labels: `(B, num_classes)` one-hot or soft rows.
        seed: a `keras.random.SeedGenerator` (or int).
        alpha: the Beta(alpha, alpha) law of the mixing weight (the paper:
            1.0 on CIFAR-10, 0.1-0.4 on ImageNet).
        prob: probability that an image is mixed at all.
        per_image: one weight per image (default) or one per batch (paper).

    Returns:
        `(images, labels)` with label rows that sum to 1.
    """
    return apply_mixup(images, labels, sample_mixup(ops.shape(images), seed, alpha, prob, per_image))


def sample_cutmix(shape, seed, alpha=1.0, prob=1.0, per_image=True):
    """A partner permutation `perm` `(B,)` and clipped boxes `top, left, height,
    width` `(n,)` (n = B per image, 1 per batch; empty where `prob` skips)."""
    check_cutmix(alpha, prob, per_image)
    batch, height, width = shape[0], shape[1], shape[2]
    n = batch if per_image else 1
    perm = keras.random.shuffle(ops.arange(batch, dtype="int32"), seed=seed)
    lam = beta_sample((n,), alpha, alpha, seed)
    on = keras.random.uniform((n,), seed=seed) < prob
    ratio = ops.sqrt(1.0 - lam)  # the box covers 1 - lam of the image before clipping
    h_f, w_f = ops.cast(height, "float32"), ops.cast(width, "float32")
    cut_h = ops.cast(ops.floor(h_f * ratio), "int32")
    cut_w = ops.cast(ops.floor(w_f * ratio), "int32")
    u = keras.random.uniform((2, n), seed=seed)
    cy = ops.minimum(ops.cast(ops.floor(u[0] * h_f), "int32"), height - 1)
    cx = ops.minimum(ops.cast(ops.floor(u[1] * w_f), "int32"), width - 1)
    top, bottom = ops.clip(cy - cut_h // 2, 0, height), ops.clip(cy + cut_h - cut_h // 2, 0, height)
    left, right = ops.clip(cx - cut_w // 2, 0, width), ops.clip(cx + cut_w - cut_w // 2, 0, width)
    return {"perm": perm, "top": top, "left": left,
            "height": ops.where(on, bottom - top, 0), "width": ops.where(on, right - left, 0)}


def apply_cutmix(images, labels, draw):
    """Pastes each partner's box; label weights are the pixel fractions pasted."""
    shape = ops.shape(images)
    mask = box_mask(shape[1], shape[2], draw["top"], draw["left"], draw["height"], draw["width"],
                    images.dtype)
    partner = ops.take(images, draw["perm"], axis=0)
    out = images * (1 - mask) + partner * mask
    # The weight is counted from the mask that was pasted, so clipping at the
    # border and integer rounding can never disagree with the pixels.
    weight = ops.sum(mask, axis=(1, 2, 3)) / ops.cast(shape[1] * shape[2], images.dtype)
    return out, _mix_labels(labels, draw["perm"], weight)


def cutmix(images, labels, seed, alpha=1.0, prob=1.0, per_image=True):
    """Pastes a box from a random partner image; labels by pasted area.

    Args:
        images: `(B, H, W, C)` floats.
        labels: `(B, num_classes)` one-hot or soft rows.
        seed: a `keras.random.SeedGenerator` (or int).
        alpha: the Beta(alpha, alpha) law of the kept fraction (paper: 1.0).
        prob: probability that an image is mixed (paper: 0.5 on CIFAR).
        per_image: one box per image (default) or one per batch (paper).

    Returns:
        `(images, labels)` with label rows that sum to 1 and equal the
        pixel fractions of the two sources.
    """
    return apply_cutmix(images, labels, sample_cutmix(ops.shape(images), seed, alpha, prob, per_image))
