"""Per-image affine warps with bilinear sampling, for rotate/shear/translate.

Each image gets its own 2x3 matrix that maps an *output* pixel (x, y),
measured from the image centre, to the *input* point it reads from, so
rotations and shears keep the garment in the frame. One flat gather per
bilinear corner serves the whole batch (no Python loop over images); pixels
read from outside the image are 0 (Fashion-MNIST's background).
"""

import math

from keras import ops


def identity_matrices(batch):
    """`(B, 6)` identity rows `[a0, a1, a2, b0, b1, b2]`."""
    eye = ops.convert_to_tensor([1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
    return ops.zeros((batch, 6)) + eye[None, :]


def rotation_matrices(degrees):
    """Rotates content by `degrees` (B,) counter-clockwise about the centre."""
    theta = degrees * (math.pi / 180.0)
    c, s = ops.cos(theta), ops.sin(theta)
    z = ops.zeros_like(theta)
    # Inverse map: output (x, y) reads input R(-theta) (x, y); y points down.
    return ops.stack([c, -s, z, s, c, z], axis=1)


def shear_matrices(factor, axis):
    """Shears along x (`axis="x"`: x_in = x + f * y) or y (y_in = y + f * x)."""
    z, o = ops.zeros_like(factor), ops.ones_like(factor)
    if axis == "x":
        return ops.stack([o, factor, z, z, o, z], axis=1)
    return ops.stack([o, z, z, factor, o, z], axis=1)


def translation_matrices(dx, dy):
    """Moves content right by `dx` and down by `dy` pixels (floats, (B,))."""
    z, o = ops.zeros_like(dx), ops.ones_like(dx)
    return ops.stack([o, z, -dx, z, o, -dy], axis=1)


def affine_warp(images, matrices):
    """Warps each image by its matrix with bilinear interpolation and zero fill.

    Args:
        images: `(B, H, W, C)` floats.
        matrices: `(B, 6)` rows `[a0, a1, a2, b0, b1, b2]`: the output pixel
            at centred coordinates (x, y) reads the input at
            `(a0 x + a1 y + a2, b0 x + b1 y + b2)` (also centred).

    Returns:
        The warped `(B, H, W, C)` images. Integer-valued maps (identity,
        whole-pixel translations) reproduce the input pixels exactly.
    """
    shape = ops.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    cy = (ops.cast(height, "float32") - 1.0) / 2.0
    cx = (ops.cast(width, "float32") - 1.0) / 2.0
    ys = ops.arange(height, dtype="float32")[None, :, None] - cy  # (1, H, 1)
    xs = ops.arange(width, dtype="float32")[None, None, :] - cx  # (1, 1, W)
    m = [matrices[:, i][:, None, None] for i in range(6)]
    x_in = m[0] * xs + m[1] * ys + m[2] + cx  # (B, H, W)
    y_in = m[3] * xs + m[4] * ys + m[5] + cy
    x0, y0 = ops.floor(x_in), ops.floor(y_in)
    fx, fy = x_in - x0, y_in - y0
    x0, y0 = ops.cast(x0, "int32"), ops.cast(y0, "int32")
    pixels = ops.reshape(images, (batch * height * width, channels))
    base = ops.arange(batch, dtype="int32")[:, None, None] * (height * width)
    out = 0.0
    for dy, wy in ((0, 1.0 - fy), (1, fy)):
        for dx, wx in ((0, 1.0 - fx), (1, fx)):
            r, c = y0 + dy, x0 + dx
            valid = (r >= 0) & (r < height) & (c >= 0) & (c < width)
            flat = base + ops.clip(r, 0, height - 1) * width + ops.clip(c, 0, width - 1)
            corner = ops.reshape(ops.take(pixels, ops.reshape(flat, (-1,)), axis=0), shape)
            weight = ops.where(valid, wy * wx, 0.0)
            out = out + corner * ops.cast(weight, images.dtype)[..., None]
    return out
