"""fmnist_keras.photo on real pixels: the dataset's images survive being made into product photos and back.

Product photos come from benchmarks/product_photos.py, built independently of the
converter (Lanczos upscaling where the converter area-averages, JPEG, random
canvases and positions, off-white tinted backgrounds), so these tests can fail.
"""

import importlib.util
import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fmnist_keras import photo
from fmnist_keras.photo import PhotoError, read_photo, to_fashion_mnist

_SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "product_photos.py"
_spec = importlib.util.spec_from_file_location("product_photos", _SCRIPT)
product_photos = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(product_photos)


def mean_abs(a, b):
    return float(np.abs(a.astype("float64") - b.astype("float64")).mean())


def on_white_canvas(image, factor, top, left, extra=(40, 90)):
    """The test image negated, upscaled `factor`x (nearest) and pasted at (top, left) on white RGB."""
    big = np.kron(255 - image.astype("float32"), np.ones((factor, factor), "float32"))
    canvas = np.full((big.shape[0] + extra[0], big.shape[1] + extra[1], 3), 255.0, "float32")
    canvas[top:top + big.shape[0], left:left + big.shape[1]] = big[..., None]
    return canvas


@pytest.fixture(scope="module")
def test_images(fmnist):
    _, (x_test, y_test) = fmnist
    return x_test, y_test


@pytest.fixture(scope="module")
def photos(test_images):
    """The first 200 test images as decoded JPEG product photos (float32 RGB)."""
    x, _ = test_images
    rng = np.random.default_rng(0)
    return [read_photo(io.BytesIO(product_photos.product_photo(image, rng)))[0] for image in x[:200]]


def test_round_trip_of_an_exact_upscale(test_images):
    # Nearest upscaling then area averaging is exact, so what is left is the trim (faint outer pixels under
    # the tolerance cut, so the garment is rescaled a little) and, with sharpening, sharpening the already
    # sharpened image a second time. Measured on these 100 images (mean |difference|, 0-255): 2.3 without
    # sharpening (median 0.0: most come back exactly), 5.2 with it (median 3.4). Bounds: ~1.5x the means.
    x, _ = test_images
    errors = {True: [], False: []}
    for i, image in enumerate(x[:100]):
        canvas = on_white_canvas(image, factor=4 + i % 3, top=7 + i % 11, left=60 + i % 23)
        for sharpen in errors:
            converted, notes = to_fashion_mnist(canvas, sharpen=sharpen)
            errors[sharpen].append(mean_abs(converted, image))
    assert np.mean(errors[False]) < 3.5 and np.median(errors[False]) < 0.5
    assert np.mean(errors[True]) < 8.0
    assert notes[-1] == "negated (dark garment on a light background)"


def test_round_trip_of_product_photos_beats_a_plain_resize(test_images, photos):
    # Measured on these 200 photos (mean |difference|, 0-255): 9.7 with sharpening (median 8.7, 90th
    # percentile 17.5), 9.9 without. The floor from Lanczos + area averaging alone (box known exactly, no
    # JPEG; first 300 test images) is 2.6 sharpened and 4.1 not: the rest is the trim box, which JPEG noise
    # and faint garment edges move by a fraction of a pixel. Bound 12: the measurement plus ~25% for other
    # Pillow/libjpeg versions. The old plain resize of the whole photo is 67.6 off (a small squashed shape).
    from fmnist_keras.predict import to_model_pixels

    x, _ = test_images
    sharp = [mean_abs(to_fashion_mnist(p)[0], x[i]) for i, p in enumerate(photos)]
    plain = [mean_abs(to_fashion_mnist(p, sharpen=False)[0], x[i]) for i, p in enumerate(photos)]
    resized = [mean_abs(to_model_pixels(p, (28, 28), "auto")[0], x[i]) for i, p in enumerate(photos)]
    assert np.mean(sharp) < 12.0 and np.mean(plain) < 12.0
    assert np.mean(resized) > 4 * np.mean(sharp)


@pytest.mark.slow
def test_accuracy_on_product_photos_matches_the_test_images(fmnist, test_images, photos):
    # A CNN trained for one short epoch on a slice (150 steps of 64 images); its accuracy on the 200 photos
    # through the dataset's conversion stays within 3 points of the same 200 test images as they are.
    # Measured: 86.0% as they are, 86.0% as photos, 14.5% as photos through the old plain resize.
    from fmnist_keras.predict import to_model_pixels
    from test_export import keras_probs, train_small

    x, y = test_images
    model = train_small(fmnist)
    as_they_are = (keras_probs(model, x[:200]).argmax(1) == y[:200]).mean()
    converted = np.stack([to_fashion_mnist(p)[0] for p in photos])
    as_photos = (keras_probs(model, converted).argmax(1) == y[:200]).mean()
    resized = np.stack([to_model_pixels(p, (28, 28), "auto")[0] for p in photos])
    as_resized = (keras_probs(model, resized).argmax(1) == y[:200]).mean()
    assert as_they_are > 0.75
    assert abs(as_photos - as_they_are) <= 0.03, (as_they_are, as_photos)
    assert as_resized < as_they_are - 0.3  # the photos are hard: the test can fail


def test_polarity_comes_from_the_corners(test_images):
    x, _ = test_images
    image = x[1]
    kept, notes = to_fashion_mnist(image)
    np.testing.assert_array_equal(kept, image)  # a dataset image is already converted
    assert notes == ["kept as is: already a 28x28 light-on-dark image"]
    # light on dark on a bigger canvas: trimmed and fitted, never negated
    dark = 255 - on_white_canvas(image, factor=3, top=5, left=30)
    converted, notes = to_fashion_mnist(dark, sharpen=False)
    assert mean_abs(converted, image) < 3.0 and not any("negated" in n for n in notes)
    forced, notes = to_fashion_mnist(dark, sharpen=False, polarity="negate")
    assert mean_abs(forced, 255 - image) < 3.0 and notes[-1] == "negated (forced)"
    light = on_white_canvas(image, factor=3, top=5, left=30)
    assert mean_abs(to_fashion_mnist(light, sharpen=False, polarity="keep")[0], 255 - image) < 40
    with pytest.raises(ValueError, match="Received: polarity='sometimes'"):
        to_fashion_mnist(image, polarity="sometimes")


def test_transparency_is_composited_onto_the_background(test_images):
    x, _ = test_images
    image = x[2]
    alpha = np.kron(image.astype("float32"), np.ones((5, 5), "float32"))  # a black cut-out garment
    cutout = np.zeros(alpha.shape + (4,), "float32")
    cutout[..., 3] = alpha
    cutout = np.pad(cutout, ((20, 3), (3, 40), (0, 0)))  # transparent margins
    converted, notes = to_fashion_mnist(cutout, sharpen=False)
    assert notes[0] == "composited transparency onto the background (RGB 255/255/255)"
    assert mean_abs(converted, image) < 3.0


@pytest.mark.parametrize("pixels, message", [
    (np.zeros((40, 30, 4)), "fully transparent"),
    (np.full((40, 30, 3), 255.0), "single colour (RGB 255/255/255"),
    (np.full((50, 50), 17.0), "single colour (gray 17"),
    (np.zeros((1, 1)), "too small to show a garment: expected at least 8 pixels on the longest side. "
                       "Received: size=1x1"),
    (np.arange(6.0).reshape(2, 3) * 40, "Received: size=3x2"),
])
def test_images_without_a_garment_are_refused(pixels, message):
    with pytest.raises(PhotoError, match=message.replace("(", r"\(")):
        to_fashion_mnist(pixels)


def test_a_little_jpeg_noise_is_not_a_garment(test_images):
    buffer = io.BytesIO()
    noisy = np.random.default_rng(0).normal(245, 4, (60, 80, 3)).clip(0, 255).astype("uint8")
    Image.fromarray(noisy).save(buffer, format="JPEG", quality=70)
    with pytest.raises(PhotoError, match="single colour"):
        to_fashion_mnist(read_photo(io.BytesIO(buffer.getvalue()))[0])


def png_declaring(width, height):
    """A PNG file of a few bytes whose header declares `width x height` pixels (nothing allocated)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_decompression_bombs_are_refused(tmp_path, test_images, monkeypatch):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_declaring(100_000, 100_000))
    with pytest.raises(PhotoError, match="refused .*bomb.png: too many pixels"):
        read_photo(bomb)
    # between Pillow's limit and twice it, Pillow only warns: refused too
    x, _ = test_images
    Image.fromarray(x[0]).resize((300, 300)).save(tmp_path / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 60_000)
    with pytest.raises(PhotoError, match="refused .*big.png: too many pixels"):
        read_photo(tmp_path / "big.png")


def test_cmyk_16bit_and_exif_rotated_files(tmp_path, test_images):
    x, _ = test_images
    canvas = on_white_canvas(x[3], factor=4, top=10, left=50).astype("uint8")
    reference, _ = to_fashion_mnist(canvas)
    Image.fromarray(canvas).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=95)
    pixels, notes = read_photo(tmp_path / "cmyk.jpg")
    assert notes == ["converted CMYK to RGB"]
    assert mean_abs(to_fashion_mnist(pixels)[0], reference) < 4.0

    Image.fromarray(canvas[..., 0].astype("uint16") * 257).save(tmp_path / "deep.png")
    with Image.open(tmp_path / "deep.png") as check:
        assert check.mode.startswith("I")  # really a 16-bit file
    pixels, notes = read_photo(tmp_path / "deep.png")
    assert notes[0].startswith("converted 16-bit")
    np.testing.assert_array_equal(to_fashion_mnist(pixels)[0], reference)

    stored = Image.fromarray(canvas).rotate(90, expand=True)  # as a camera held sideways stores it
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90 degrees clockwise to display
    stored.save(tmp_path / "rotated.jpg", quality=95, exif=exif)
    pixels, notes = read_photo(tmp_path / "rotated.jpg")
    assert notes == ["rotated upright (EXIF orientation)"] and pixels.shape[:2] == canvas.shape[:2]
    assert mean_abs(to_fashion_mnist(pixels)[0], reference) < 4.0


def test_unreadable_files_name_themselves(tmp_path):
    (tmp_path / "notes.png").write_text("not an image")
    with pytest.raises(PhotoError, match=r"cannot read .*notes.png as an image \(UnidentifiedImageError"):
        read_photo(tmp_path / "notes.png")
    truncated = io.BytesIO()
    Image.new("RGB", (64, 64), "white").save(truncated, format="PNG")
    (tmp_path / "cut.png").write_bytes(truncated.getvalue()[:60])
    with pytest.raises(PhotoError, match="cut.png"):
        read_photo(tmp_path / "cut.png")


def test_big_photos_are_reduced_before_the_float_copy(test_images):
    x, _ = test_images
    buffer = io.BytesIO()
    Image.fromarray(x[4]).resize((2100, 1500)).save(buffer, format="PNG")
    pixels, notes = read_photo(io.BytesIO(buffer.getvalue()))
    assert max(pixels.shape[:2]) <= photo.WORKING_SIDE and notes == ["reduced 2100x1500 by 3 (box average)"]
    buffer = io.BytesIO()
    Image.fromarray(x[4]).resize((4000, 3000)).save(buffer, format="JPEG")
    pixels, notes = read_photo(io.BytesIO(buffer.getvalue()))
    assert notes == ["decoded the 4000x3000 JPEG at 2000x1500", "reduced 2000x1500 by 2 (box average)"]
