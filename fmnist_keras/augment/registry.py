"""Names for augmentation ops and a parser for stacks such as "erasing,ricap(beta=0.1)".

The registry maps a short name to a pure op `op(images, labels, seed, **params)`.
`parse_augment` checks every name and parameter against the op's own signature,
so a typo fails before training starts and the message lists what exists.
"""

import ast
import inspect
import re

from fmnist_keras.augment.augmix import augmix
from fmnist_keras.augment.cutout import cutout
from fmnist_keras.augment.erasing import random_erasing
from fmnist_keras.augment.geometric import flip, pad_crop, rotate, translate
from fmnist_keras.augment.mixing import cutmix, mixup
from fmnist_keras.augment.policies import autoaugment, randaugment
from fmnist_keras.augment.ricap import ricap

OPS = {
    "flip": flip,
    "pad_crop": pad_crop,
    "translate": translate,
    "rotate": rotate,
    "erasing": random_erasing,
    "cutout": cutout,
    "mixup": mixup,
    "cutmix": cutmix,
    "ricap": ricap,
    "augmix": augmix,
    "autoaugment": autoaugment,
    "randaugment": randaugment,
}
# Ops that change label rows: they cannot live inside a model (`AugmentLayer`).
MIXING = frozenset({"mixup", "cutmix", "ricap"})

_ITEM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*?)\))?\s*(?:,|$)")


def register_op(name, fn):
    """Adds `fn` to the registry under `name` (refuses to replace an existing name)."""
    if name in OPS and OPS[name] is not fn:
        raise ValueError(f"an augmentation named {name!r} is already registered. Received: name={name!r}")
    OPS[name] = fn
    return fn


def op_params(name):
    """The keyword parameters of op `name` with their defaults."""
    signature = inspect.signature(OPS[name])
    return {k: p.default for k, p in list(signature.parameters.items())[3:]}


def parse_augment(spec):
    """Parses "name(key=value, ...),name,..." into `[(name, params), ...]`.

    Values are Python literals (numbers, strings, tuples, booleans). An empty
    string, "none" or None means no augmentation.

    Raises:
        ValueError: an unknown op or parameter, or a malformed value.
    """
    if spec is None or not spec.strip() or spec.strip().lower() == "none":
        return []
    stack, pos = [], 0
    while pos < len(spec):
        match = _ITEM.match(spec, pos)
        if match is None or match.end() == pos:
            raise ValueError(
                f"cannot parse the augmentation stack at character {pos}: expected "
                f"name or name(key=value, ...). Received: augment={spec!r}")
        name, args = match.group(1), match.group(2)
        if name not in OPS:
            raise ValueError(
                f"unknown augmentation {name!r}; available: {', '.join(sorted(OPS))}. "
                f"Received: augment={spec!r}")
        stack.append((name, _parse_params(name, args or "", spec)))
        pos = match.end()
    return stack


def _parse_params(name, args, spec):
    allowed = op_params(name)
    try:
        call = ast.parse(f"f({args})", mode="eval").body
        if call.args:
            raise ValueError("positional values are not allowed")
        params = {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    except (SyntaxError, ValueError) as e:
        raise ValueError(
            f"bad parameters for {name!r} ({e}); write {name}(key=value, ...). "
            f"Received: augment={spec!r}") from None
    unknown = sorted(set(params) - set(allowed))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)} for {name!r}; it takes "
            f"{', '.join(f'{k}={v!r}' for k, v in allowed.items())}. Received: augment={spec!r}")
    return params


def stack_views(stack):
    """How many views per image a parsed stack emits (AugMix's `views`), checking
    that a multi-view op comes last (a later op would mix the views up)."""
    views = 1
    for position, (name, params) in enumerate(stack):
        n = params.get("views", 1) if name == "augmix" else 1
        if n > 1 and position != len(stack) - 1:
            raise ValueError(
                f"an op that returns several views ({name}(views={n})) must be the last op "
                f"of the stack. Received: augment={format_augment(stack)!r}")
        views *= n
    return views


def format_augment(stack):
    """The inverse of `parse_augment` (for configs and logs)."""
    parts = []
    for name, params in stack:
        args = ", ".join(f"{k}={v!r}" for k, v in params.items())
        parts.append(f"{name}({args})" if args else name)
    return ",".join(parts)
