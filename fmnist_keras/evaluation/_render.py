"""NumPy building blocks the corruptions share: separable filters, resampling, plasma, lines.

Everything is batched over a leading image axis and uses only the `rng`
passed in, so a corruption is a pure function of `(images, seed)`.
"""

import numpy as np


def gaussian_matrix(size, sigma):
    """`(size, size)` matrix `G` with `G @ row` = a Gaussian blur of `row` (zero outside)."""
    idx = np.arange(size)
    dist = idx[:, None] - idx[None, :]
    radius = max(1, int(np.ceil(3.0 * sigma)))
    taps = np.arange(-radius, radius + 1)
    # Normalize over the full kernel (not the clipped one): outside is background 0.
    norm = np.exp(-0.5 * (taps / sigma) ** 2).sum()
    matrix = np.exp(-0.5 * (dist / sigma) ** 2) / norm
    matrix[np.abs(dist) > radius] = 0.0
    return matrix


def separable(x, rows, cols):
    """Applies `rows` (H x H) down the columns and `cols` (W x W) along the rows of `(N, H, W)`."""
    return np.einsum("ij,njk,lk->nil", rows, x, cols, optimize=True)


def area_matrix(size, out):
    """`(out, size)` box-filter weights: output cell i averages input [i*size/out, (i+1)*size/out)."""
    step = size / out
    lo = np.arange(out)[:, None] * step
    starts = np.arange(size)[None, :]
    overlap = np.clip(np.minimum(lo + step, starts + 1) - np.maximum(lo, starts), 0.0, None)
    return overlap / step


def nearest_matrix(size, small):
    """`(size, small)` nearest-neighbour upsampling: pixel r copies cell floor(r * small / size)."""
    matrix = np.zeros((size, small))
    matrix[np.arange(size), (np.arange(size) * small) // size] = 1.0
    return matrix


def plasma(n, size, decay, rng):
    """`(n, size, size)` diamond-square height maps in [0, 1] (size a power of two).

    The fractal "fog" of Hendrycks & Dietterich (2019), batched: every map is
    its own draw. `decay` divides the random amplitude at each finer level.
    """
    if size & (size - 1):
        raise ValueError(f"size must be a power of two. Received: size={size}")
    maps = np.zeros((n, size, size))
    step, wibble = size, 100.0

    def jitter(mean):
        return mean / 4.0 + wibble * rng.uniform(-wibble, wibble, mean.shape)

    while step >= 2:
        half = step // 2
        corners = maps[:, 0:size:step, 0:size:step]
        square = corners + np.roll(corners, -1, axis=1)
        square = square + np.roll(square, -1, axis=2)
        maps[:, half:size:step, half:size:step] = jitter(square)
        centres = maps[:, half:size:step, half:size:step]
        corners = maps[:, 0:size:step, 0:size:step]
        across = centres + np.roll(centres, 1, axis=1) + corners + np.roll(corners, -1, axis=2)
        maps[:, 0:size:step, half:size:step] = jitter(across)
        down = centres + np.roll(centres, 1, axis=2) + corners + np.roll(corners, -1, axis=1)
        maps[:, half:size:step, 0:size:step] = jitter(down)
        step //= 2
        wibble /= decay
    maps -= maps.min(axis=(1, 2), keepdims=True)
    return maps / np.maximum(maps.max(axis=(1, 2), keepdims=True), 1e-12)


def segment_distance(start, end, height, width):
    """Distance from every pixel centre to the segment `start`-`end` ((N, 2) row/col): `(N, H, W)` float32."""
    start = np.asarray(start, np.float32)
    delta = np.asarray(end, np.float32) - start
    rows = np.arange(height, dtype=np.float32)[None, :, None] - start[:, 0, None, None]  # (N, H, 1)
    cols = np.arange(width, dtype=np.float32)[None, None, :] - start[:, 1, None, None]  # (N, 1, W)
    dr, dc = delta[:, 0, None, None], delta[:, 1, None, None]
    inv = 1.0 / np.maximum(dr * dr + dc * dc, 1e-12)
    t = rows * (dr * inv) + cols * (dc * inv)
    np.clip(t, 0.0, 1.0, out=t)
    return np.hypot(rows - t * dr, cols - t * dc)


def stroke_intensity(dist):
    """MNIST-C's anti-aliased stroke profile `log(1 - d / 2.3) + 1`: 1 on the line, 0 beyond ~1.45 px."""
    dist = np.minimum(dist, 2.3 - 1e-6)
    return np.clip(np.log1p(-dist / 2.3) + 1.0, 0.0, 1.0)
