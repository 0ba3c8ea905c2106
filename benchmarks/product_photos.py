"""Accuracy on test images shown as product photos: predict's two conversions against the images as they are.

Each test image becomes a "product photo" the way Zalando's looked before the
dataset was made from them, by steps chosen to differ from the converter's
(fmnist_keras/photo.py): negated to a dark garment, upscaled 3-8x with Lanczos
(the converter area-averages), pasted off-centre on a non-square canvas of a
random slightly off-white colour (margins up to 1.5x the garment), saved as a
JPEG of quality 75-95 and read back from the JPEG bytes. The model then sees
every photo through `--convert fashion-mnist` (the dataset's six steps) and
`--convert resize` (the whole photo resized to 28x28, the old behaviour).

    python benchmarks/product_photos.py --model runs/resnet_erasing/<stamp> [--limit 1000] [--save DIR]

Prints one line per conversion: accuracy on the first N test images as they are
and as product photos (same images, same model).
"""

import argparse
import io
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402


def product_photo(image, rng):
    """A test image (28, 28) uint8 as JPEG bytes of a dark garment on an off-white, off-centre canvas."""
    factor = int(rng.integers(3, 9))
    side = image.shape[0] * factor, image.shape[1] * factor
    coverage = np.asarray(Image.fromarray(image).resize(side[::-1], Image.Resampling.LANCZOS), "float32") / 255.0
    background = rng.integers(236, 253, size=3).astype("float32")  # slightly off-white, slightly tinted
    margins = rng.integers(0, int(1.5 * max(side)) + 1, size=4)  # top, bottom, left, right
    height, width = side[0] + margins[0] + margins[1], side[1] + margins[2] + margins[3]
    canvas = np.broadcast_to(background, (height, width, 3)).copy()
    garment = background * (1.0 - coverage[..., None])  # a black garment over the background
    canvas[margins[0]:margins[0] + side[0], margins[2]:margins[2] + side[1]] = garment
    buffer = io.BytesIO()
    Image.fromarray(np.clip(np.round(canvas), 0, 255).astype("uint8")).save(
        buffer, format="JPEG", quality=int(rng.integers(75, 96)))
    return buffer.getvalue()


def converted_batches(x, seed=0):
    """Yields (fashion-mnist, resize) uint8 pairs (28, 28) per test image, from its product photo."""
    from fmnist_keras.photo import read_photo, to_fashion_mnist
    from fmnist_keras.predict import to_model_pixels

    rng = np.random.default_rng(seed)
    for image in x:
        pixels, _ = read_photo(io.BytesIO(product_photo(image, rng)))
        yield to_fashion_mnist(pixels)[0], to_model_pixels(pixels[..., :3], (28, 28), "auto")[0]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, action="append", metavar="RUN_DIR",
                        help="run folder, .keras, SavedModel or .tflite (repeat to compare several)")
    parser.add_argument("--limit", type=int, default=10000, help="first N test images (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="photo randomness (default: %(default)s)")
    parser.add_argument("--save", default=None, metavar="DIR", help="also write the first 8 photos there as JPEG")
    args = parser.parse_args(argv)
    if not 1 <= args.limit <= 10000:
        parser.error(f"--limit must be between 1 and 10000. Received: limit={args.limit}")

    from fmnist_keras.data import load_fashion_mnist
    from fmnist_keras.predict import load_predictor

    _, (x, y) = load_fashion_mnist()
    x, y = x[:args.limit], y[:args.limit]
    predictors = [load_predictor(model)[0] for model in args.model]  # bad models fail before the slow part
    if args.save:
        os.makedirs(args.save, exist_ok=True)
        rng = np.random.default_rng(args.seed)
        for i in range(min(8, len(x))):
            with open(os.path.join(args.save, f"photo{i}.jpg"), "xb") as f:  # never over a file
                f.write(product_photo(x[i], rng))
    start = time.perf_counter()
    pairs = list(converted_batches(x, args.seed))
    seconds = time.perf_counter() - start
    views = {"as they are": x, "fashion-mnist": np.stack([p[0] for p in pairs]),
             "resize": np.stack([p[1] for p in pairs])}
    print(f"{len(x)} test images (photos made and converted in {seconds:.0f} s)")
    results = {}
    for model, predictor in zip(args.model, predictors):
        accuracy = {}
        for name, images in views.items():
            probs = np.concatenate([np.asarray(predictor(images[i:i + 500])) for i in range(0, len(images), 500)])
            accuracy[name] = float((probs.argmax(1) == y).mean())
        for name in ("fashion-mnist", "resize"):
            gap = 100 * (accuracy[name] - accuracy["as they are"])
            print(f"{model}: --convert {name:13s}: {100 * accuracy['as they are']:.2f}% as they are, "
                  f"{100 * accuracy[name]:.2f}% as product photos ({gap:+.2f} points)", flush=True)
        results[model] = accuracy
    return results


if __name__ == "__main__":
    main()
