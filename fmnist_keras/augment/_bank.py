"""An op chosen per image from a fixed list, as tensors (no trace-time choice).

`apply_op_bank` takes a static tuple of op names and, per image, an op index
and a parameter value. Geometric ops only differ by their matrix, so the
batch picks one matrix per image and is warped once; each pixel op is
computed for the whole batch and kept where its index was drawn (at 28x28 a
candidate costs less than a gather). This is the "apply" half shared by
AugMix, AutoAugment and RandAugment; their "draw" halves pick indices and
strengths with `keras.random`.
"""

from keras import ops

from fmnist_keras.augment import _pixel, _warp

GEOMETRIC = ("rotate", "shear_x", "shear_y", "translate_x", "translate_y")
PIXEL = {
    "identity": None,
    "autocontrast": lambda x, v: _pixel.autocontrast(x),
    "equalize": lambda x, v: _pixel.equalize(x),
    "invert": lambda x, v: _pixel.invert(x),
    "posterize": _pixel.posterize,
    "solarize": _pixel.solarize,
    "brightness": _pixel.brightness,
    "contrast": _pixel.contrast,
    "color": _pixel.color,
    "sharpness": _pixel.sharpness,
}
ALL_OPS = tuple(PIXEL) + GEOMETRIC


def _matrices(name, values, height, width):
    if name == "rotate":
        return _warp.rotation_matrices(values)
    if name in ("shear_x", "shear_y"):
        return _warp.shear_matrices(values, name[-1])
    zeros = ops.zeros_like(values)
    if name == "translate_x":  # values are fractions of the image size
        return _warp.translation_matrices(values * ops.cast(width, "float32"), zeros)
    return _warp.translation_matrices(zeros, values * ops.cast(height, "float32"))


def apply_op_bank(images, names, op_ids, values, originals=None):
    """Applies op `names[op_ids[b]]` with parameter `values[b]` to image b.

    Args:
        images: `(B, H, W, C)` floats in [0, 1].
        names: a tuple of names from `ALL_OPS` (static).
        op_ids: int `(B,)` indices into `names`.
        values: float `(B,)` parameters in the op's units: degrees (rotate),
            shear factor, fraction of the image size (translate), bits
            (posterize), threshold in [0, 1] (solarize), enhance factor.
        originals: optional `(B / n, H, W, C)` images of which `images` is
            `n` stacked copies (an AugMix chain's first step): pixel ops then
            run once per original and are tiled, n times less work.

    Returns:
        The `(B, H, W, C)` images.
    """
    shape = ops.shape(images)
    op_ids = ops.cast(op_ids, "int32")
    values = ops.cast(values, "float32")
    out = images
    geometric = [n for n in names if n in GEOMETRIC]
    if geometric:
        matrices = _warp.identity_matrices(shape[0])
        for name in geometric:
            chosen = (op_ids == names.index(name))[:, None]
            matrices = ops.where(chosen, _matrices(name, values, shape[1], shape[2]), matrices)
        out = _warp.affine_warp(images, matrices)
    for index, name in enumerate(names):
        if name in GEOMETRIC or PIXEL[name] is None:
            continue
        chosen = (op_ids == index)[:, None, None, None]
        if originals is None:
            candidate = PIXEL[name](images, values)
        else:
            copies = shape[0] // ops.shape(originals)[0]
            # Parameters differ per copy: ops whose parameter matters run per row.
            if name in ("autocontrast", "equalize", "invert"):
                candidate = ops.tile(PIXEL[name](originals, None), (copies, 1, 1, 1))
            else:
                candidate = PIXEL[name](images, values)
        out = ops.where(chosen, candidate, out)
    return out


def op_values(names, table, op_ids, level, sign):
    """Per-image parameters `base + slope * level * (sign if signed)`.

    Args:
        names: the op names (static).
        table: `{name: (base, slope, signed)}`; missing names get (0, 0, False).
        op_ids: int `(..., B)` indices into `names`.
        level: float in [0, 1], same shape (the op's strength as a fraction).
        sign: +-1 floats, same shape.
    """
    rows = [table.get(n, (0.0, 0.0, False)) for n in names]
    base = ops.convert_to_tensor([float(r[0]) for r in rows])
    slope = ops.convert_to_tensor([float(r[1]) for r in rows])
    signed = ops.convert_to_tensor([bool(r[2]) for r in rows])
    op_ids = ops.cast(op_ids, "int32")
    direction = ops.where(ops.take(signed, op_ids), sign, 1.0)
    return ops.take(base, op_ids) + ops.take(slope, op_ids) * level * direction


def check_op_names(names, argument):
    unknown = [n for n in names if n not in ALL_OPS]
    if not names or unknown:
        raise ValueError(
            f"{argument} must be a non-empty list of ops from {', '.join(ALL_OPS)}. "
            f"Received: {argument}={names!r}")
