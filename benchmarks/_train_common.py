"""What the parts of benchmarks/train.py share: constants, the model knobs, number formats.

A plain module beside train.py (benchmarks/ is not a package): train.py puts
this folder on sys.path, so `python benchmarks/train.py` finds it.
"""

import sys

from fmnist_keras.models import model_knobs

PRECISIONS = ("fp32", "bf16")
EVAL_BATCH = 500  # the runner evaluates in batches of max(batch_size, 500)


def log(message):
    print(message, file=sys.stderr, flush=True)


def describe(e):
    """An error in one line, for a table cell: its type and its last line."""
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"{type(e).__name__}: {(lines or [''])[-1][:120]}"


def ips(images, step):
    """Images per second from a step time (s); None stays None."""
    return None if step is None else images / step


def fmt(x, digits=0):
    """A number with thousands separators, or "n/a"."""
    return "n/a" if x is None else f"{x:,.{digits}f}"


def knobs_for(name, width):
    return {"width": width} if "width" in model_knobs(name) else {}


def model_label(name, width):
    return f"{name} (width {width})" if knobs_for(name, width) else name
