"""Box masks and shifts shared by the box-based ops (erasing, RICAP, ...).

Everything is built from index comparisons, so one op serves every box size
and position in a batch without Python control flow on tensors.
"""

from keras import ops


def box_mask(height, width, top, left, box_height, box_width, dtype="float32"):
    """A `(B, H, W, 1)` mask that is 1 inside each image's box.

    Args:
        height, width: image size (Python ints or scalar tensors).
        top, left, box_height, box_width: int tensors of shape `(B,)` or
            `(1,)`; boxes may be empty (size 0).
    """
    rows = ops.arange(height, dtype="int32")[None, :]
    cols = ops.arange(width, dtype="int32")[None, :]
    in_rows = (rows >= top[:, None]) & (rows < (top + box_height)[:, None])
    in_cols = (cols >= left[:, None]) & (cols < (left + box_width)[:, None])
    mask = ops.logical_and(in_rows[:, :, None], in_cols[:, None, :])
    return ops.cast(mask, dtype)[..., None]


def shift(images, dy, dx, flip_h=None, flip_v=None):
    """Moves each image's content down by `dy` and right by `dx` pixels.

    `out[b, i, j] = images[b, i - dy[b], j - dx[b]]`, zero where that falls
    outside. A shift (with or without a mirror) is separable: the source row
    depends only on (b, i) and the source column only on (b, j). So this
    gathers whole rows of the batch, transposes, gathers whole columns and
    transposes back: two gathers of `B * H` contiguous rows instead of one of
    `B * H * W` scalars, 1.8x faster on the CPU without XLA. (Under XLA on
    the CPU the single scalar gather is 2x faster, 1.7M vs 0.8M images/s,
    both far above what a train step needs; measured 2026-11-29.)

    Optional per-image flips are applied *before* the shift in the same
    gathers (`flip` followed by `pad_crop` costs one pass, not three).

    Args:
        images: `(B, H, W, C)` floats.
        dy, dx: int tensors of shape `(B,)` or `(1,)`.
        flip_h, flip_v: optional bool `(B,)`: mirror image b left-right /
            upside down first.
    """
    shape = ops.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    rows = ops.arange(height, dtype="int32")[None, :] - dy[:, None]  # (B, H) source rows
    cols = ops.arange(width, dtype="int32")[None, :] - dx[:, None]  # (B, W) source columns
    if flip_v is not None:  # the mirrored source row; outside stays outside
        rows = ops.where(flip_v[:, None], height - 1 - rows, rows)
    if flip_h is not None:
        cols = ops.where(flip_h[:, None], width - 1 - cols, cols)
    rows = rows + ops.zeros((batch, 1), "int32")  # (1, H) offsets -> one row per image
    cols = cols + ops.zeros((batch, 1), "int32")
    valid = (((rows >= 0) & (rows < height))[:, :, None]
             & ((cols >= 0) & (cols < width))[:, None, :])  # (B, H, W)
    image = ops.arange(batch, dtype="int32")[:, None]
    row_ids = ops.reshape(image * height + ops.clip(rows, 0, height - 1), (-1,))
    col_ids = ops.reshape(image * width + ops.clip(cols, 0, width - 1), (-1,))
    out = ops.take(ops.reshape(images, (batch * height, width * channels)), row_ids, axis=0)
    out = ops.transpose(ops.reshape(out, shape), (0, 2, 1, 3))  # (B, W, H, C)
    out = ops.take(ops.reshape(out, (batch * width, height * channels)), col_ids, axis=0)
    out = ops.transpose(ops.reshape(out, (batch, width, height, channels)), (0, 2, 1, 3))
    return ops.where(valid[..., None], out, ops.zeros((), images.dtype))
