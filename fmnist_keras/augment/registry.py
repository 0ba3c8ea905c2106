"""Names for augmentation ops and a parser for stacks such as "random_erasing,ricap(beta=0.1)".

Every op has one contract (docs/augmentation.md): the op itself,
`op(images, labels, seed, **params) -> (images, labels)`, is its two halves
`sample_op(shape, seed, **params) -> draw` and `apply_op(images, labels, draw)
-> (images, labels)`, and `OPS` keeps all three (and the parameter check)
under the op's function name. `parse_augment` checks every name, parameter
and value, so a typo fails before training starts and the message lists what
exists.
"""

import ast
import dataclasses
import importlib
import inspect
import re
from typing import Callable


@dataclasses.dataclass(frozen=True)
class Op:
    """A registered op: calling it runs `op`; `sample`/`apply` are its halves.

    `check(**params)` raises ValueError for values the op cannot run (it gets
    every parameter, defaults filled in); `mixes_labels` marks ops that change
    label rows, which cannot live inside a model (`AugmentLayer`).
    """

    op: Callable
    sample: Callable
    apply: Callable
    check: Callable
    mixes_labels: bool = False

    def __call__(self, images, labels, seed, **params):
        return self.op(images, labels, seed, **params)

    @property
    def params(self):
        """The op's keyword parameters with their defaults."""
        signature = inspect.signature(self.op)
        return {k: p.default for k, p in list(signature.parameters.items())[3:]}


def _op(module, name, mixes_labels=False):
    """The record of op `name` in `augment.<module>`: `name`, `sample_name`, `apply_name`, `check_name`."""
    # By module path: the package rebinds `augment.augmix` (and others) to the op function.
    found = importlib.import_module(f"fmnist_keras.augment.{module}")
    return Op(*(getattr(found, f"{prefix}{name}") for prefix in ("", "sample_", "apply_", "check_")),
              mixes_labels=mixes_labels)


# Registry names are the function names.
OPS = {
    "flip": _op("geometric", "flip"),
    "pad_crop": _op("geometric", "pad_crop"),
    "translate": _op("geometric", "translate"),
    "rotate": _op("geometric", "rotate"),
    "random_erasing": _op("erasing", "random_erasing"),
    "cutout": _op("cutout", "cutout"),
    "mixup": _op("mixing", "mixup", mixes_labels=True),
    "cutmix": _op("mixing", "cutmix", mixes_labels=True),
    "ricap": _op("ricap", "ricap", mixes_labels=True),
    "augmix": _op("augmix", "augmix"),
    "autoaugment": _op("policies", "autoaugment"),
    "randaugment": _op("policies", "randaugment"),
}
# Older spellings, still parsed (configs and ledgers record them); they parse to the name.
ALIASES = {"erasing": "random_erasing"}

_ITEM = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*?)\))?\s*(?:,|$)")


def register_op(name, op, sample, apply, check=None, mixes_labels=False):
    """Adds an op under `name` with its `sample`/`apply` halves (the contract of
    docs/augmentation.md); refuses to replace an existing name or alias."""
    if name in ALIASES or (name in OPS and OPS[name].op is not op):
        raise ValueError(f"an augmentation named {name!r} is already registered. Received: name={name!r}")
    OPS[name] = Op(op, sample, apply, check or (lambda **params: None), mixes_labels)
    return op


def canonical_name(name, context=None):
    """The registry name for `name` or one of its aliases; ValueError for an unknown name."""
    if ALIASES.get(name, name) not in OPS:
        aliases = ", ".join(f"{old} = {new}" for old, new in sorted(ALIASES.items()))
        raise ValueError(f"unknown augmentation {name!r}; available: {', '.join(sorted(OPS))} "
                         f"(aliases: {aliases}). Received: {context or f'op={name!r}'}")
    return ALIASES.get(name, name)


def op_params(name):
    """The keyword parameters of op `name` (or an alias) with their defaults."""
    return OPS[canonical_name(name)].params


def check_op(name, params, context=None):
    """Checks a name, its parameter names and their values before any tensor exists.

    Returns:
        The registry name (aliases resolved).

    Raises:
        ValueError: naming the bad part and what is accepted; `context` (e.g.
            "augment='...'") ends the message.
    """
    canonical = canonical_name(name, context)
    allowed = op_params(canonical)
    unknown = sorted(set(params) - set(allowed))
    context = context or f"op={name!r}, params={params!r}"
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(unknown)} for {name!r}; it takes "
            f"{', '.join(f'{k}={v!r}' for k, v in allowed.items())}. Received: {context}")
    try:
        OPS[canonical].check(**{**allowed, **params})
    except (TypeError, ValueError) as e:
        raise ValueError(f"bad value for {name!r}: {e} (in {context})") from None
    return canonical


def parse_augment(spec):
    """Parses "name(key=value, ...),name,..." into `[(name, params), ...]`.

    Values are Python literals (numbers, strings, tuples, booleans). Names come
    back as registry names (an alias such as "erasing" as "random_erasing").
    An empty string, "none" or None means no augmentation.

    Raises:
        ValueError: an unknown op or parameter, a malformed value, or a value
            the op cannot run (e.g. `prob=2`).
    """
    if spec is None or not spec.strip() or spec.strip().lower() == "none":
        return []
    stack, pos = [], 0
    context = f"augment={spec!r}"
    while pos < len(spec):
        match = _ITEM.match(spec, pos)
        if match is None or match.end() == pos:
            raise ValueError(
                f"cannot parse the augmentation stack at character {pos}: expected "
                f"name or name(key=value, ...). Received: {context}")
        name, args = match.group(1), match.group(2)
        canonical_name(name, context)
        params = _literal_params(name, args or "", context)
        stack.append((check_op(name, params, context), params))
        pos = match.end()
    return stack


def _literal_params(name, args, context):
    """The keyword values written between `name`'s brackets."""
    try:
        call = ast.parse(f"f({args})", mode="eval").body
        if call.args:
            raise ValueError("positional values are not allowed")
        return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords}
    except (SyntaxError, ValueError) as e:
        raise ValueError(
            f"bad parameters for {name!r} ({e}); write {name}(key=value, ...). Received: {context}") from None


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
    """The inverse of `parse_augment` (for configs and logs), with registry names."""
    parts = []
    for name, params in stack:
        args = ", ".join(f"{k}={v!r}" for k, v in params.items())
        parts.append(f"{ALIASES.get(name, name)}({args})" if args else ALIASES.get(name, name))
    return ",".join(parts)
