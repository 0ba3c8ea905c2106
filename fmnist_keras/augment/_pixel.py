"""PIL-style pixel ops on batches, each with a per-image parameter.

The AugMix, AutoAugment and RandAugment op sets are built from these. All
take `(B, H, W, C)` floats in [0, 1] and a `(B,)` parameter tensor, so every
image can get its own strength; they keep values in [0, 1]. "Enhance" ops
(brightness, contrast, color, sharpness) blend with a degenerate image by a
factor (1 = identity), as PIL's ImageEnhance does.
"""

from keras import ops


def _per_image(value, images):
    return ops.cast(value, images.dtype)[:, None, None, None]


def autocontrast(images):
    """Stretches each image's channels to the full [0, 1] range."""
    lo = ops.min(images, axis=(1, 2), keepdims=True)
    hi = ops.max(images, axis=(1, 2), keepdims=True)
    span = hi - lo
    # A constant channel has nothing to stretch: leave it as it is.
    return ops.where(span > 0, (images - lo) / ops.maximum(span, 1e-6), images)


def equalize(images):
    """Histogram equalization per image and channel on 256 levels (PIL's rule).

    The histogram is one scatter-add over the whole batch (`segment_sum`),
    not a `(pixels x 256)` one-hot, which would cost ~50M flops per batch.
    """
    shape = ops.shape(images)
    batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
    levels = ops.cast(ops.clip(ops.round(images * 255.0), 0, 255), "int32")
    if images.shape[-1] == 1:  # static: skip the transposes for grayscale
        per_row = ops.reshape(levels, (batch, height * width))
    else:
        per_row = ops.reshape(ops.transpose(levels, (0, 3, 1, 2)), (batch * channels, height * width))
    rows = batch * channels
    ids = ops.arange(rows, dtype="int32")[:, None] * 256 + per_row
    ids = ops.reshape(ids, (-1,))
    hist = ops.segment_sum(ops.ones_like(ids, dtype="float32"), ids, num_segments=rows * 256)
    hist = ops.reshape(hist, (rows, 256))
    top = ops.max(per_row, axis=1, keepdims=True)
    last = ops.take_along_axis(hist, top, axis=1)  # count of the brightest level
    step = ops.floor((ops.cast(height * width, "float32") - last) / 255.0)  # (rows, 1)
    cdf = ops.cumsum(hist, axis=1)
    lut = ops.floor((cdf + ops.floor(step / 2.0)) / ops.maximum(step, 1.0))
    # PIL shifts the table by one level: level 0 maps to 0.
    lut = ops.concatenate([ops.zeros_like(lut[:, :1]), lut[:, :-1]], axis=1)
    lut = ops.clip(lut, 0.0, 255.0)
    mapped = ops.take_along_axis(lut, per_row, axis=1) / 255.0
    # step == 0 (a flat histogram) means PIL returns the image unchanged.
    mapped = ops.where(step > 0, mapped, ops.cast(per_row, "float32") / 255.0)
    if images.shape[-1] == 1:
        mapped = ops.reshape(mapped, (batch, height, width, 1))
    else:
        mapped = ops.transpose(ops.reshape(mapped, (batch, channels, height, width)), (0, 2, 3, 1))
    return ops.cast(mapped, images.dtype)


def posterize(images, bits):
    """Keeps the top `bits` (B,) of each 8-bit pixel value."""
    bits = ops.clip(ops.round(ops.cast(bits, "float32")), 1.0, 8.0)
    step = _per_image(2.0 ** (8.0 - bits), images)
    levels = ops.floor(ops.round(images * 255.0) / step) * step
    return levels / 255.0


def solarize(images, threshold):
    """Inverts pixels at or above `threshold` (B,) in units of 256 levels.

    `threshold * 256` is PIL's threshold: 1 inverts nothing, 0.5 inverts
    8-bit values >= 128, 0 inverts everything.
    """
    levels = ops.round(images * 255.0)
    return ops.where(levels >= _per_image(threshold, images) * 256.0, 1.0 - images, images)


def invert(images):
    return 1.0 - images


def _blend(degenerate, images, factor):
    return ops.clip(degenerate + _per_image(factor, images) * (images - degenerate), 0.0, 1.0)


def grayscale(images):
    """Luminance (ITU-R 601) for 3 channels, the channel mean otherwise."""
    channels = images.shape[-1]
    if channels == 3:
        weights = ops.convert_to_tensor([0.299, 0.587, 0.114], dtype=images.dtype)
        return ops.sum(images * weights, axis=-1, keepdims=True) + ops.zeros_like(images)
    return ops.mean(images, axis=-1, keepdims=True) + ops.zeros_like(images)


def brightness(images, factor):
    return _blend(ops.zeros_like(images), images, factor)


def contrast(images, factor):
    mean = ops.mean(grayscale(images), axis=(1, 2, 3), keepdims=True)
    return _blend(mean + ops.zeros_like(images), images, factor)


def color(images, factor):
    """Saturation; the identity on 1-channel images (they are their own gray)."""
    return _blend(grayscale(images), images, factor)


def sharpness(images, factor):
    """Blends with PIL's 3x3 smoothing filter (centre 5, ring 1, /13); borders kept."""
    shape = ops.shape(images)
    height, width = shape[1], shape[2]
    padded = ops.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)))
    total = 4.0 * images
    for dy in range(3):
        for dx in range(3):
            total = total + padded[:, dy:dy + height, dx:dx + width, :]
    smooth = total / 13.0
    rows = ops.arange(height)[:, None]
    cols = ops.arange(width)[None, :]
    inner = (rows > 0) & (rows < height - 1) & (cols > 0) & (cols < width - 1)
    smooth = ops.where(inner[None, :, :, None], smooth, images)
    return _blend(smooth, images, factor)
