"""AutoAugment (Cubuk et al., 2019) and RandAugment (Cubuk et al., 2020), per image.

Both choose ops per image as tensors (sub-policy or op indices from
`keras.random`) and apply them through `_bank.apply_op_bank`, so every image
of every batch gets its own choice, also inside `tf.data` and a compiled step
(Keras' `RandAugment` draws per batch).

Magnitudes follow torchvision/timm: shear up to 0.3, translation up to 0.45
of the image side (150/331), rotation up to 30 degrees, enhance factors
1 +- 0.9, posterize from 8 down to 4 bits, solarize threshold from 1 down
to 0; signed ops get a random sign per image. The ops are grayscale-safe
("color" is the identity on 1-channel images).

References:
    - AutoAugment: https://arxiv.org/abs/1805.09501
    - RandAugment: https://arxiv.org/abs/1909.13719
"""

import keras
from keras import ops

from fmnist_keras.augment._bank import apply_op_bank, op_values
from fmnist_keras.augment._prob import check_int, check_prob, coin, keep_where_off

POLICY_OPS = ("identity", "autocontrast", "equalize", "invert", "posterize", "solarize",
              "brightness", "contrast", "color", "sharpness", "rotate", "shear_x", "shear_y",
              "translate_x", "translate_y")
# Parameter = base + slope * level for level in [0, 1] (signed ops get a random sign).
POLICY_TABLE = {
    "posterize": (8.0, -4.0, False),
    "solarize": (1.0, -1.0, False),
    "brightness": (1.0, 0.9, True),
    "contrast": (1.0, 0.9, True),
    "color": (1.0, 0.9, True),
    "sharpness": (1.0, 0.9, True),
    "rotate": (0.0, 30.0, True),
    "shear_x": (0.0, 0.3, True),
    "shear_y": (0.0, 0.3, True),
    "translate_x": (0.0, 150.0 / 331.0, True),
    "translate_y": (0.0, 150.0 / 331.0, True),
}

# The policy found on reduced CIFAR-10 (paper, appendix): 25 sub-policies of
# two (op, probability, magnitude 0-9) steps; magnitude-free ops carry 0.
CIFAR10_POLICY = (
    (("invert", 0.1, 7), ("contrast", 0.2, 6)),
    (("rotate", 0.7, 2), ("translate_x", 0.3, 9)),
    (("sharpness", 0.8, 1), ("sharpness", 0.9, 3)),
    (("shear_y", 0.5, 8), ("translate_y", 0.7, 9)),
    (("autocontrast", 0.5, 8), ("equalize", 0.9, 2)),
    (("shear_y", 0.2, 7), ("posterize", 0.3, 7)),
    (("color", 0.4, 3), ("brightness", 0.6, 7)),
    (("sharpness", 0.3, 9), ("brightness", 0.7, 9)),
    (("equalize", 0.6, 5), ("equalize", 0.5, 1)),
    (("contrast", 0.6, 7), ("sharpness", 0.6, 5)),
    (("color", 0.7, 7), ("translate_x", 0.5, 8)),
    (("equalize", 0.3, 7), ("autocontrast", 0.4, 8)),
    (("translate_y", 0.4, 3), ("sharpness", 0.2, 6)),
    (("brightness", 0.9, 6), ("color", 0.2, 8)),
    (("solarize", 0.5, 2), ("invert", 0.0, 3)),
    (("equalize", 0.2, 0), ("autocontrast", 0.6, 0)),
    (("equalize", 0.2, 8), ("equalize", 0.6, 4)),
    (("color", 0.9, 9), ("equalize", 0.6, 6)),
    (("autocontrast", 0.8, 4), ("solarize", 0.2, 8)),
    (("brightness", 0.1, 3), ("color", 0.7, 0)),
    (("solarize", 0.4, 5), ("autocontrast", 0.9, 3)),
    (("translate_y", 0.9, 9), ("translate_y", 0.7, 9)),
    (("autocontrast", 0.9, 2), ("solarize", 0.8, 3)),
    (("equalize", 0.8, 8), ("invert", 0.1, 3)),
    (("translate_y", 0.7, 9), ("autocontrast", 0.9, 1)),
)

RANDAUGMENT_OPS = ("identity", "autocontrast", "equalize", "rotate", "solarize", "color",
                   "posterize", "contrast", "brightness", "sharpness", "shear_x", "shear_y",
                   "translate_x", "translate_y")


def _policy_tables(policy):
    """(steps, 25) tensors of op index, probability and level for a policy table."""
    op_ids = [[POLICY_OPS.index(step[k][0]) for step in policy] for k in range(2)]
    probs = [[float(step[k][1]) for step in policy] for k in range(2)]
    levels = [[step[k][2] / 9.0 for step in policy] for k in range(2)]
    return (ops.convert_to_tensor(op_ids, dtype="int32"), ops.convert_to_tensor(probs),
            ops.convert_to_tensor(levels))


def check_autoaugment(prob):
    check_prob(prob)


def sample_autoaugment(shape, seed, prob=1.0):
    """Per image a sub-policy and, per step, op index (identity when the step's
    coin fails), level and sign: a dict of `(2, B)` tensors `op_ids`, `level`,
    `sign`, `sub_policy` `(B,)`, and `on` `(B,)` (None at `prob=1`)."""
    check_autoaugment(prob)
    batch = shape[0]
    table_ops, table_probs, table_levels = _policy_tables(CIFAR10_POLICY)
    n = len(CIFAR10_POLICY)
    u = keras.random.uniform((batch,), seed=seed)
    sub = ops.minimum(ops.cast(ops.floor(u * n), "int32"), n - 1)
    coins = keras.random.uniform((2, batch), seed=seed)
    signs = ops.where(keras.random.uniform((2, batch), seed=seed) < 0.5, -1.0, 1.0)
    op_ids = ops.take(table_ops, sub, axis=1)
    applied = coins < ops.take(table_probs, sub, axis=1)
    return {"sub_policy": sub, "op_ids": ops.where(applied, op_ids, 0),
            "level": ops.take(table_levels, sub, axis=1), "sign": signs,
            "on": coin((batch,), seed, prob)}


def _apply_policy(images, draw):
    """Applies the drawn ops step by step: `draw` holds `(steps, B)` tensors."""
    steps = draw["op_ids"].shape[0]
    if steps == 0:
        return images
    out = images
    for step in range(steps):
        values = op_values(POLICY_OPS, POLICY_TABLE, draw["op_ids"][step], draw["level"][step],
                           draw["sign"][step])
        out = apply_op_bank(out, POLICY_OPS, draw["op_ids"][step], values)
    return keep_where_off(draw.get("on"), ops.clip(out, 0.0, 1.0), images)


def apply_autoaugment(images, labels, draw):
    """Runs each image's drawn sub-policy steps."""
    return _apply_policy(images, draw), labels


def autoaugment(images, labels, seed, prob=1.0):
    """AutoAugment's reduced-CIFAR-10 policy with a sub-policy drawn per image.

    Args:
        images: `(B, H, W, C)` floats in [0, 1].
        labels: passed through.
        seed: a `keras.random.SeedGenerator` (or int).
        prob: probability that an image gets its sub-policy at all.

    Returns:
        `(images, labels)`.
    """
    return apply_autoaugment(images, labels, sample_autoaugment(ops.shape(images), seed, prob))


def check_randaugment(num_ops, magnitude, prob):
    check_int("num_ops", num_ops, 0, 8)
    if not 0 <= magnitude <= 10:
        raise ValueError(f"magnitude must be in [0, 10]. Received: magnitude={magnitude!r}")
    check_prob(prob)


def sample_randaugment(shape, seed, num_ops=2, magnitude=9, prob=1.0):
    """`op_ids` (indices into `POLICY_OPS`), `level`, `sign`, all `(num_ops, B)`,
    and `on` `(B,)` (None at `prob=1`). `num_ops=0` draws nothing."""
    check_randaugment(num_ops, magnitude, prob)
    batch = shape[0]
    if num_ops == 0:
        empty = ops.zeros((0, batch))
        return {"op_ids": ops.cast(empty, "int32"), "level": empty, "sign": empty, "on": None}
    k = len(RANDAUGMENT_OPS)
    u = keras.random.uniform((num_ops, batch), seed=seed)
    ids = ops.minimum(ops.cast(ops.floor(u * k), "int32"), k - 1)
    # RandAugment's ids index RANDAUGMENT_OPS; map them into POLICY_OPS' order.
    mapping = ops.convert_to_tensor([POLICY_OPS.index(n) for n in RANDAUGMENT_OPS], dtype="int32")
    signs = ops.where(keras.random.uniform((num_ops, batch), seed=seed) < 0.5, -1.0, 1.0)
    level = ops.full((num_ops, batch), magnitude / 10)
    return {"op_ids": ops.take(mapping, ids), "level": level, "sign": signs,
            "on": coin((batch,), seed, prob)}


def apply_randaugment(images, labels, draw):
    """Runs each image's drawn ops in sequence."""
    return _apply_policy(images, draw), labels


def randaugment(images, labels, seed, num_ops=2, magnitude=9, prob=1.0):
    """RandAugment: `num_ops` ops drawn uniformly per image, all at `magnitude`.

    Args:
        images: `(B, H, W, C)` floats in [0, 1].
        labels: passed through.
        seed: a `keras.random.SeedGenerator` (or int).
        num_ops: N, the number of ops applied in sequence (paper: 1-3).
        magnitude: M on the paper's 0-10 scale (fraction M / 10 of each op's
            range, as timm; 0 leaves geometric and enhance ops inert).
        prob: probability that an image gets its ops at all.

    Returns:
        `(images, labels)`.
    """
    return apply_randaugment(images, labels, sample_randaugment(ops.shape(images), seed, num_ops,
                                                                magnitude, prob))
