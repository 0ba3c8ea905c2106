"""Fashion-MNIST-C style corruptions: 16 kinds x 5 severities, deterministic under a seed.

Each corruption maps uint8 images `(N, H, W)` (or `(N, H, W, 1)`) to uint8
images of the same shape; labels are never touched. Severity 0 is the
identity. The randomness (noise, angles, line positions) comes from a NumPy
generator seeded by `(seed, corruption, severity)`, so the same call gives
the same bytes on every machine and run. The parameters follow MNIST-C (Mu &
Gilmer, 2019) where it defines the corruption and ImageNet-C/CIFAR-C
(Hendrycks & Dietterich, 2019) otherwise, scaled to 28x28 grayscale where the
originals would erase the garment (Gaussian blur sigma, motion blur length).

Geometric corruptions and motion blur warp with the training augmentations'
bilinear `affine_warp` map (zero fill, so whole-pixel translations are
exact), written in NumPy here: the suite runs on any Keras backend, with or
without TensorFlow installed.

Example:

>>> bad = corrupt(x_test, "fog", severity=3, seed=0)

References:
    Mu & Gilmer, "MNIST-C", https://arxiv.org/abs/1906.02337
    Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common
    Corruptions and Perturbations", https://arxiv.org/abs/1903.12261
"""

import io
import zlib

import numpy as np

from fmnist_keras.evaluation import _render

SEVERITIES = (1, 2, 3, 4, 5)


def _check_severity(severity):
    if isinstance(severity, bool) or not isinstance(severity, (int, np.integer)) or not 0 <= severity <= 5:
        raise ValueError(f"severity must be an integer in 0..5 (0 = identity). Received: severity={severity!r}")


_WARP_CHUNK = 256  # images per step: the temporaries stay in cache (about 2x faster than one pass)


def _warp(x, matrices):
    """Bilinear warp of `(N, H, W)` floats by `(N, 6)` output-to-input matrices, zero fill.

    The map of the training augmentations' `augment._warp.affine_warp`: the
    output pixel at centred (x, y) reads the input at `(a0 x + a1 y + a2,
    b0 x + b1 y + b2)`. Written in vectorised NumPy so the suite needs no
    TensorFlow; kept in float32 with `affine_warp`'s order of operations, it
    gives the same bytes as the `tf.function` it replaces (checked on all
    10,000 test images, every warped corruption and severity) and is 1.9x as
    fast on the 2-core CPU (docs/evaluation-jax.md). A corner read from
    outside the image lands on a two-pixel zero border (background), so no
    validity masks.
    """
    chunks = [_warp_chunk(x[i:i + _WARP_CHUNK], matrices[i:i + _WARP_CHUNK])
              for i in range(0, len(x), _WARP_CHUNK)]
    return np.concatenate(chunks).astype(np.float64) if chunks else np.zeros(x.shape)


def _warp_chunk(x, matrices):
    f32 = np.float32
    n, height, width = x.shape
    cy, cx = f32((height - 1) / 2.0), f32((width - 1) / 2.0)  # exact in float32
    ys = np.arange(height, dtype=f32)[:, None] - cy  # (H, 1)
    xs = np.arange(width, dtype=f32)[None, :] - cx  # (1, W)
    m = np.asarray(matrices, f32)[:, :, None, None]  # (N, 6, 1, 1)
    x_in = m[:, 0] * xs + m[:, 1] * ys + m[:, 2] + cx  # (N, H, W)
    y_in = m[:, 3] * xs + m[:, 4] * ys + m[:, 5] + cy
    x0, y0 = np.floor(x_in), np.floor(y_in)
    fx, fy = x_in - x0, y_in - y0
    stride = width + 4
    padded = np.pad(np.asarray(x, f32), ((0, 0), (2, 2), (2, 2))).reshape(-1)
    # Clipping to [-2, side] keeps a corner outside the image outside: it reads the border's 0.
    top_left = ((np.clip(y0, -2, height).astype(np.intp) + 2) * stride
                + np.clip(x0, -2, width).astype(np.intp) + 2
                + (np.arange(n, dtype=np.intp) * ((height + 4) * stride))[:, None, None])
    wx0, wy0 = f32(1.0) - fx, f32(1.0) - fy
    out = padded[top_left] * (wy0 * wx0)
    out += padded[top_left + 1] * (wy0 * fx)
    out += padded[top_left + stride] * (fy * wx0)
    out += padded[top_left + stride + 1] * (fy * fx)
    return out


def _signs(rng, n):
    return rng.choice(np.array([-1.0, 1.0]), size=n)


# Each function: (x float64 (N, H, W) in [0, 1], level, rng) -> floats (clipped later).

def shot_noise(x, photons, rng):
    """Poisson photon noise with `photons` per unit intensity (fewer = noisier)."""
    return rng.poisson(x * photons) / photons


def impulse_noise(x, amount, rng):
    """Salt-and-pepper: a fraction `amount` of pixels set to 0 or 1, half each."""
    hit = rng.random(x.shape) < amount
    salt = rng.random(x.shape) < 0.5
    return np.where(hit, salt.astype(x.dtype), x)


def gaussian_blur(x, sigma, rng):
    """Separable Gaussian blur of standard deviation `sigma` pixels."""
    _, height, width = x.shape
    return _render.separable(x, _render.gaussian_matrix(height, sigma), _render.gaussian_matrix(width, sigma))


def motion_blur(x, length, rng):
    """Average of `length` copies shifted 1 px apart along a random direction in [-45, 45] deg."""
    angle = np.deg2rad(rng.uniform(-45.0, 45.0, len(x)))
    total = np.zeros_like(x)
    for t in np.arange(length) - (length - 1) / 2.0:
        dx, dy = t * np.cos(angle), t * np.sin(angle)
        one, zero = np.ones_like(dx), np.zeros_like(dx)
        total += _warp(x, np.stack([one, zero, -dx, zero, one, -dy], axis=1))
    return total / length


def rotation(x, radians, rng):
    """Rotation by `radians` about the centre, direction random per image (MNIST-C rotate)."""
    theta = radians * _signs(rng, len(x))
    c, s, z = np.cos(theta), np.sin(theta), np.zeros_like(theta)
    return _warp(x, np.stack([c, -s, z, s, c, z], axis=1))


def shear(x, factor, rng):
    """Horizontal shear `x_in = x + f * y` about the centre, sign random per image (MNIST-C shear)."""
    f = factor * _signs(rng, len(x))
    one, zero = np.ones_like(f), np.zeros_like(f)
    return _warp(x, np.stack([one, f, zero, zero, one, zero], axis=1))


def scale(x, factor, rng):
    """Shrinks the garment about the centre to `factor` of its size (MNIST-C scale)."""
    inv = np.full(len(x), 1.0 / factor)
    zero = np.zeros_like(inv)
    return _warp(x, np.stack([inv, zero, zero, zero, inv, zero], axis=1))


def translation(x, pixels, rng):
    """Moves the garment `pixels` px along both axes, signs random per image (MNIST-C translate)."""
    dx, dy = pixels * _signs(rng, len(x)), pixels * _signs(rng, len(x))
    one, zero = np.ones_like(dx), np.zeros_like(dx)
    return _warp(x, np.stack([one, zero, -dx, zero, one, -dy], axis=1))


def brightness(x, delta, rng):
    """Adds `delta` to every pixel (MNIST-C's HSV value shift, which is this on grayscale)."""
    return x + delta


def contrast(x, factor, rng):
    """Pulls each pixel towards its image's mean by `factor` (1 = identity)."""
    mean = x.mean(axis=(1, 2), keepdims=True)
    return (x - mean) * factor + mean


def fog(x, params, rng):
    """Adds a plasma fractal of strength `params[0]`, roughness `params[1]`, then rescales (CIFAR-C fog)."""
    strength, decay = params
    n, height, width = x.shape
    size = 1 << int(np.ceil(np.log2(max(height, width))))
    haze = _render.plasma(n, size, decay, rng)[:, :height, :width]
    top = x.max(axis=(1, 2), keepdims=True)
    return (x + strength * haze) * top / (top + strength)


def stripe(x, width, rng):
    """Inverts a band of `width` px at the left and right edges (MNIST-C stripe uses 7 of 28)."""
    w = max(1, int(round(width * x.shape[2] / 28)))
    out = x.copy()
    out[:, :, :w] = 1.0 - out[:, :, :w]
    out[:, :, -w:] = 1.0 - out[:, :, -w:]
    return out


def dotted_line(x, lines, rng):
    """Adds `lines` dotted strokes across the image, 2 px on / 2 px off (MNIST-C dotted_line)."""
    n, height, width = x.shape
    keep = ((np.arange(width) // 2) % 2 == 1).astype(x.dtype)
    total = np.zeros_like(x)
    for _ in range(lines):
        rows = rng.integers(0, height - 1, size=(n, 2)).astype(np.float64)
        start = np.stack([rows[:, 0], np.zeros(n)], axis=1)
        end = np.stack([rows[:, 1], np.full(n, width - 1.0)], axis=1)
        total += _render.stroke_intensity(_render.segment_distance(start, end, height, width)) * keep
    return x + total


def zigzag(x, lines, rng):
    """Adds `lines` zigzag strokes (2 px legs, 2 px amplitude) along random lines (MNIST-C zigzag)."""
    n, height, width = x.shape
    leg, amplitude = 2.0, 2.0
    c0, c1 = 2.0, width - 3.0
    total = np.zeros_like(x)
    for _ in range(lines):
        r0 = rng.integers(0, height - 1, size=n).astype(np.float64)
        r1 = r0 + rng.integers(-5, 5, size=n)
        theta = np.arctan((r1 - r0) / (c1 - c0))
        run = (c1 - c0) / np.cos(theta)  # (N,)
        count = int(((c1 - c0) / np.cos(np.arctan(5 / (c1 - c0))) - leg) // (2 * leg)) + 1
        along = np.concatenate([[0.0], (2 * np.arange(count) + 1) * leg])[None, :] + np.zeros((n, 1))
        offset = np.concatenate([[0.0], amplitude * (-1.0) ** np.arange(count)])[None, :] + np.zeros((n, 1))
        past = along >= run[:, None]  # vertices beyond the end collapse onto it
        along = np.concatenate([np.where(past, run[:, None], along), run[:, None]], axis=1)
        offset = np.concatenate([np.where(past, 0.0, offset), np.zeros((n, 1))], axis=1)
        cos, sin = np.cos(theta)[:, None], np.sin(theta)[:, None]
        cols = c0 + along * cos - offset * sin
        rows = r0[:, None] + along * sin + offset * cos
        dist = None  # to the nearest leg: the profile falls with distance, so one profile suffices
        for k in range(along.shape[1] - 1):
            start = np.stack([rows[:, k], cols[:, k]], axis=1)
            end = np.stack([rows[:, k + 1], cols[:, k + 1]], axis=1)
            leg_dist = _render.segment_distance(start, end, height, width)
            dist = leg_dist if dist is None else np.minimum(dist, leg_dist)
        total += _render.stroke_intensity(dist)
    return x + total


def pixelation(x, fraction, rng):
    """Box-downsamples to `fraction` of the side, then blows back up with nearest neighbours."""
    _, height, width = x.shape
    small_h, small_w = max(1, int(height * fraction)), max(1, int(width * fraction))
    down = _render.separable(x, _render.area_matrix(height, small_h), _render.area_matrix(width, small_w))
    return _render.separable(down, _render.nearest_matrix(height, small_h), _render.nearest_matrix(width, small_w))


def jpeg(x, quality, rng):
    """Baseline JPEG at `quality` (Pillow's encoder, grayscale)."""
    from PIL import Image

    pixels = _to_uint8(x)
    out = np.empty_like(pixels)
    for i, image in enumerate(pixels):
        buffer = io.BytesIO()
        Image.fromarray(image, mode="L").save(buffer, format="JPEG", quality=int(quality))
        buffer.seek(0)
        out[i] = np.asarray(Image.open(buffer).convert("L"))
    return out / 255.0


# name -> (function, levels for severities 1..5, family)
CORRUPTIONS = {
    "shot_noise": (shot_noise, (60, 25, 12, 5, 3), "noise"),
    "impulse_noise": (impulse_noise, (0.03, 0.06, 0.09, 0.17, 0.27), "noise"),
    "gaussian_blur": (gaussian_blur, (0.5, 0.75, 1.0, 1.5, 2.0), "blur"),
    "motion_blur": (motion_blur, (3, 5, 7, 9, 11), "blur"),
    "rotation": (rotation, (0.2, 0.4, 0.6, 0.8, 1.0), "geometric"),
    "shear": (shear, (0.2, 0.4, 0.6, 0.8, 1.0), "geometric"),
    "scale": (scale, (0.9, 0.8, 0.7, 0.6, 0.5), "geometric"),
    "translation": (translation, (1, 2, 3, 4, 5), "geometric"),
    "brightness": (brightness, (0.1, 0.2, 0.3, 0.4, 0.5), "photometric"),
    "contrast": (contrast, (0.4, 0.3, 0.2, 0.1, 0.05), "photometric"),
    "fog": (fog, ((1.5, 2.0), (2.0, 2.0), (2.5, 1.7), (2.5, 1.5), (3.0, 1.4)), "weather"),
    "stripe": (stripe, (2, 3, 4, 5, 7), "occlusion"),
    "dotted_line": (dotted_line, (1, 2, 3, 4, 5), "occlusion"),
    "zigzag": (zigzag, (1, 2, 3, 4, 5), "occlusion"),
    "pixelation": (pixelation, (0.6, 0.5, 0.4, 0.3, 0.25), "digital"),
    "jpeg": (jpeg, (25, 18, 15, 10, 7), "digital"),
}


def corruption_names():
    """All corruption names, in the order reports list them."""
    return tuple(CORRUPTIONS)


def parse_corruptions(spec):
    """`"all"` or `"fog,jpeg"` -> a tuple of names; unknown names raise ValueError."""
    if spec in (None, "", "all"):
        return corruption_names()
    names = tuple(s.strip() for s in str(spec).split(",") if s.strip())
    unknown = [s for s in names if s not in CORRUPTIONS]
    if unknown or not names:
        raise ValueError(f"unknown corruption {', '.join(unknown) or '(none)'}; expected 'all' or a "
                         f"comma list of {', '.join(CORRUPTIONS)}. Received: corruptions={spec!r}")
    return names


def severity_level(name, severity):
    """The parameter a severity means for a corruption (e.g. the blur sigma), for reports."""
    _check_name(name)
    _check_severity(severity)
    return None if severity == 0 else CORRUPTIONS[name][1][severity - 1]


def _check_name(name):
    if name not in CORRUPTIONS:
        raise ValueError(f"unknown corruption; expected one of {', '.join(CORRUPTIONS)}. Received: name={name!r}")


def _to_uint8(x):
    return np.round(np.clip(x, 0.0, 1.0) * 255.0).astype(np.uint8)


def corruption_seed(name, severity, seed=0):
    """The NumPy seed sequence entropy used for `(name, severity)` under `seed`."""
    return [int(seed), zlib.crc32(name.encode()), int(severity)]


def corrupt(images, name, severity, seed=0):
    """Applies one corruption at one severity.

    Args:
        images: uint8 `(N, H, W)` or `(N, H, W, 1)` images (Fashion-MNIST's
            light garment on a dark background).
        name: one of `corruption_names()`.
        severity: 0 (identity) to 5 (strongest).
        seed: with `(name, severity)` it seeds the only randomness used.

    Returns:
        uint8 images of the same shape; a new array.
    """
    _check_name(name)
    _check_severity(severity)
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] != 1):
        raise ValueError("images must be uint8 (N, H, W) or (N, H, W, 1). Received: images with "
                         f"dtype={images.dtype}, shape={images.shape}")
    if severity == 0 or len(images) == 0:
        return images.copy()
    fn, levels, _ = CORRUPTIONS[name]
    rng = np.random.default_rng(corruption_seed(name, severity, seed))
    x = images.reshape(images.shape[:3]).astype(np.float64) / 255.0
    out = _to_uint8(fn(x, levels[severity - 1], rng))
    return out.reshape(images.shape)
