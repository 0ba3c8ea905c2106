"""The `prob` parameter that every op takes, and the checks the ops share.

An op skipped for an image leaves that image (and its label row) exactly as
it was. Ops that always drew a coin (flip, rotate, erasing, cutout, mixup,
cutmix) keep their own; the others draw one only when `prob < 1`, so at
`prob=1` they consume the random stream exactly as before `prob` existed.
"""

import numbers

import keras
from keras import ops


def check_prob(prob):
    if not isinstance(prob, numbers.Real) or not 0.0 <= prob <= 1.0:
        raise ValueError(f"prob must be in [0, 1]. Received: prob={prob!r}")


def check_int(name, value, low, high=None):
    """`value` must be an int (not a bool) in `[low, high]` (`high=None`: no upper bound)."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low or (
            high is not None and value > high):
        bounds = f">= {low}" if high is None else f"in [{low}, {high}]"
        raise ValueError(f"{name} must be an integer {bounds}. Received: {name}={value!r}")


def coin(shape, seed, prob):
    """Bools of `shape`: True where the op runs; None at `prob >= 1`, with no draw
    (the seed stream stays where it was, so a stack draws what it drew before)."""
    if prob >= 1.0:
        return None
    return keras.random.uniform(shape, seed=seed) < prob


def keep_where_off(on, new, old):
    """`new` where `on` (one bool per leading row, `(n,)` with n = B or 1), else `old`."""
    if on is None:
        return new
    on = ops.reshape(on, (-1,) + (1,) * (len(new.shape) - 1))
    return ops.where(on, new, old)
