"""AugMix (Hendrycks et al., 2019), per image, with the views for the JSD loss.

For every image, `chains` chains of 1..`max_depth` ops (depth drawn per
chain and image) are applied to copies of it, mixed with Dirichlet(alpha)
weights, and the mixture is blended with the original by a Beta(alpha,
alpha) weight. Every choice is a tensor drawn per image: the ops are picked
by index and applied through one-hot selection (`_bank.apply_op_bank`), all
chains of the batch run as one stacked batch, so nothing is frozen at trace
time (Keras' `AugMix` layer picks its ops with Python `random` and mixes one
set of weights per batch).

The op set is the paper's minus the ones that overlap the test corruptions,
all grayscale-safe: autocontrast, equalize, posterize, solarize, rotate,
shear_x/y, translate_x/y. As in the paper's code, each op draws its level
uniformly in [0.1, severity] on a 0-10 scale (severity 3: rotations up to
9 degrees, shears up to 0.09, shifts up to a tenth of the image).

Views: `views=3` returns, for the Jensen-Shannon consistency loss, each
image's clean copy and two independent AugMix copies *interleaved along the
batch*: rows `3i, 3i+1, 3i+2` are image i's (clean, augmix_1, augmix_2),
and label row i is repeated three times. Interleaving keeps an image's
views together when a distribution strategy splits a batch between
replicas (a per-replica batch must then be a multiple of 3). A multi-view
op must be the last op of a stack; `AugmentingTrainer` sees
`AugmentStack.views` and trains on CE(clean) + lambda * JSD.

Reference: https://arxiv.org/abs/1912.02781
"""

import keras
from keras import ops

from fmnist_keras.augment._bank import apply_op_bank, op_values
from fmnist_keras.augment._prob import check_int, check_prob, coin
from fmnist_keras.augment._random import beta_sample, dirichlet_sample

AUGMIX_OPS = ("autocontrast", "equalize", "posterize", "solarize", "rotate", "shear_x", "shear_y",
              "translate_x", "translate_y")
# Parameter = base + slope * level (level = paper level / 10), signed ops get a random sign.
AUGMIX_TABLE = {
    "posterize": (4.0, -4.0, False),  # 4 bits, down to 3 at severity 3
    "solarize": (1.0, -1.0, False),  # threshold from 1 down to 0.7
    "rotate": (0.0, 30.0, True),
    "shear_x": (0.0, 0.3, True),
    "shear_y": (0.0, 0.3, True),
    "translate_x": (0.0, 1.0 / 3.0, True),
    "translate_y": (0.0, 1.0 / 3.0, True),
}


def check_augmix(severity, chains, max_depth, alpha, views, prob):
    for name, value, high in (("severity", severity, 10), ("chains", chains, 16),
                              ("max_depth", max_depth, 16), ("views", views, 8)):
        check_int(name, value, 1, high)
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0. Received: alpha={alpha!r}")
    check_prob(prob)


def sample_augmix(shape, seed, severity=3, chains=3, max_depth=3, alpha=1.0, views=1, prob=1.0):
    """Draws the chains of the AugMix copies of a batch (one copy, or `views - 1`).

    Returns:
        A dict: `op_ids` int32, `level` and `sign` float, all of shape
        `(mixes, max_depth, chains, B)`; `depth` int32 `(mixes, chains, B)`
        in `[1, max_depth]`; `weights` `(mixes, B, chains)` (rows sum to 1);
        `skip` `(mixes, B)`, the weight of the mixture against the original;
        `on` bool `(mixes, B)` (False: that copy is the clean image), or None
        at `prob=1`; and `views`.
    """
    check_augmix(severity, chains, max_depth, alpha, views, prob)
    mixes, batch, num_ops = (1 if views == 1 else views - 1), shape[0], len(AUGMIX_OPS)
    steps = (mixes, max_depth, chains, batch)
    u = keras.random.uniform((3,) + steps, seed=seed)
    op_ids = ops.minimum(ops.cast(ops.floor(u[0] * num_ops), "int32"), num_ops - 1)
    level = (0.1 + u[1] * (severity - 0.1)) / 10.0
    sign = ops.where(u[2] < 0.5, -1.0, 1.0)
    depth = ops.cast(ops.floor(keras.random.uniform((mixes, chains, batch), seed=seed) * max_depth), "int32")
    depth = ops.minimum(depth, max_depth - 1) + 1
    weights = dirichlet_sample((mixes, batch), alpha, chains, seed)
    skip = beta_sample((mixes, batch), alpha, alpha, seed)
    return {"op_ids": op_ids, "level": level, "sign": sign, "depth": depth, "weights": weights,
            "skip": skip, "on": coin((mixes, batch), seed, prob), "views": views}


def apply_augmix(images, labels, draw):
    """Runs the drawn chains and mixes them with the originals.

    With `draw["views"] == 1` the AugMix images; with n >= 2 the clean images
    and the n - 1 copies interleaved along the batch (labels repeated).
    """
    copies = _augmix_copies(images, draw)
    if draw["views"] == 1:
        return copies[0], labels
    return interleave_views(images, copies), ops.repeat(labels, draw["views"], axis=0)


def _augmix_copies(images, draw):
    """`(mixes, B, H, W, C)` AugMix copies of `images`."""
    shape = ops.shape(images)
    mixes, max_depth, chains = draw["op_ids"].shape[:3]
    x = ops.tile(images, (mixes * chains, 1, 1, 1))  # rows ordered (mix, chain, image)
    depth = ops.reshape(draw["depth"], (-1,))
    for step in range(max_depth):
        ids = ops.reshape(draw["op_ids"][:, step], (-1,))
        values = op_values(AUGMIX_OPS, AUGMIX_TABLE, ids, ops.reshape(draw["level"][:, step], (-1,)),
                           ops.reshape(draw["sign"][:, step], (-1,)))
        # Step 0 sees copies of the originals: histogram ops run once per image.
        stepped = apply_op_bank(x, AUGMIX_OPS, ids, values, originals=images if step == 0 else None)
        x = ops.where((step < depth)[:, None, None, None], stepped, x)
    x = ops.reshape(x, (mixes, chains, shape[0], shape[1], shape[2], shape[3]))
    weights = ops.cast(ops.transpose(draw["weights"], (0, 2, 1)), images.dtype)  # (mixes, chains, B)
    mixed = ops.sum(weights[..., None, None, None] * x, axis=1)
    skip = ops.cast(draw["skip"], images.dtype)[..., None, None, None]
    out = ops.clip((1.0 - skip) * images[None] + skip * mixed, 0.0, 1.0)
    on = draw.get("on")
    if on is None:
        return out
    return ops.where(on[..., None, None, None], out, images[None])


def augmix(images, labels, seed, severity=3, chains=3, max_depth=3, alpha=1.0, views=1, prob=1.0):
    """AugMix with per-image ops, depths and mixing weights.

    Args:
        images: `(B, H, W, C)` floats in [0, 1].
        labels: `(B, num_classes)` rows.
        seed: a `keras.random.SeedGenerator` (or int).
        severity: op strength on the paper's 1-10 scale (paper: 3).
        chains: number of augmentation chains k (paper: 3).
        max_depth: each chain has a depth uniform in `[1, max_depth]`.
        alpha: Dirichlet and Beta concentration (paper: 1).
        views: 1 returns the AugMix images; n >= 2 returns the clean image
            and n - 1 independent AugMix copies interleaved along the batch
            (`(n * B, H, W, C)`, labels repeated), for the JSD loss.
        prob: probability that an AugMix copy of an image is made at all
            (otherwise the copy is the clean image).

    Returns:
        `(images, labels)`.
    """
    draw = sample_augmix(ops.shape(images), seed, severity, chains, max_depth, alpha, views, prob)
    return apply_augmix(images, labels, draw)


def interleave_views(images, copies):
    """`(B, ...)` clean and `(n, B, ...)` copies -> `((n + 1) * B, ...)`, image-major."""
    shape = ops.shape(images)
    stacked = ops.stack([images] + [copies[i] for i in range(copies.shape[0])], axis=1)
    return ops.reshape(stacked, (-1, shape[1], shape[2], shape[3]))
