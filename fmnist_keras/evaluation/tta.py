"""Test-time augmentation and ensembles: the "frontier track", reported apart from single-model numbers.

Both buy accuracy with forward passes, so every result carries
`passes_per_image`; a TTA or ensemble number is not comparable to a
one-pass number without it.
"""

import numpy as np


def _shift(images, dy, dx):
    """Moves content down `dy` and right `dx` pixels, zero fill (Fashion-MNIST's background)."""
    out = np.zeros_like(images)
    height, width = images.shape[1:3]
    src_r = slice(max(0, -dy), height - max(0, dy))
    dst_r = slice(max(0, dy), height - max(0, -dy))
    src_c = slice(max(0, -dx), width - max(0, dx))
    dst_c = slice(max(0, dx), width - max(0, -dx))
    out[:, dst_r, dst_c] = images[:, src_r, src_c]
    return out


VIEWS = {
    "identity": lambda x: x,
    "flip": lambda x: x[:, :, ::-1].copy(),  # left-right: garments are near-symmetric
    "shift_up": lambda x: _shift(x, -1, 0),
    "shift_down": lambda x: _shift(x, 1, 0),
    "shift_left": lambda x: _shift(x, 0, -1),
    "shift_right": lambda x: _shift(x, 0, 1),
}
# A --tta name -> the views it adds to the identity.
TTA = {"flip": ("flip",), "shift": ("shift_up", "shift_down", "shift_left", "shift_right")}


def parse_tta(spec):
    """`"flip,shift"` -> ("flip", "shift"); "" or "none" -> (); unknown names raise ValueError."""
    if spec in (None, "", "none"):
        return ()
    names = tuple(s.strip() for s in str(spec).split(",") if s.strip())
    unknown = [s for s in names if s not in TTA]
    if unknown:
        raise ValueError(f"unknown TTA {', '.join(unknown)}; expected 'none' or a comma list of "
                         f"{', '.join(TTA)}. Received: tta={spec!r}")
    return names


def tta_views(names):
    """The views (identity first) that the TTA names in `names` average over."""
    views = ["identity"]
    for name in names:
        views += [v for v in TTA[name] if v not in views]
    return views


def predict_tta(predict, images, views):
    """Mean probabilities over the views; `predict` maps uint8 `(N, H, W)` to `(N, K)`."""
    if not views:
        raise ValueError("views must name at least one view. Received: views=[]")
    total = None
    for view in views:
        probs = np.asarray(predict(VIEWS[view](images)), np.float64)
        total = probs if total is None else total + probs
    return total / len(views)


def ensemble(prob_list):
    """Mean of several models' probabilities (same images, same order)."""
    shapes = {np.shape(p) for p in prob_list}
    if len(shapes) != 1:
        raise ValueError(f"ensemble members must predict the same (N, classes). Received: shapes={sorted(shapes)}")
    return np.mean(np.stack([np.asarray(p, np.float64) for p in prob_list]), axis=0)
