"""Classify image files with any saved or exported model.

Models: a `.keras` file, a run folder (its model.keras), a SavedModel folder
(or an export folder holding `savedmodel/`) and a `.tflite` file. Inputs:
PNG/JPEG (anything Pillow reads) and `.npy` arrays `(H, W)`, `(H, W, 1|3|4)`;
any size and colour become the model's grayscale 28x28 (each change is noted).
Fashion-MNIST garments are light on a dark background, so photos of dark
garments on white paper are inverted: `--invert auto` (default) does it when
the image border is brighter than mid-grey.

Run:
    python -m fmnist_keras.predict runs/cnn2_tuned/<stamp> shirt.png boot.jpg
    python -m fmnist_keras.predict saved_models/mine/model_int8.tflite img.npy --json

Exit status: 0 when every file was answered, 1 when some could not be read
(one line each on stderr; the others are still answered), 2 for a bad model
or flag.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

INVERT = ("auto", "yes", "no")
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, what Pillow's "L" mode uses


class InputError(ValueError):
    """An input file that cannot be classified (reported per file)."""


def load_predictor(path):
    """`(fn, (H, W))`: fn maps uint8 pixels (B, H, W) to probabilities (B, classes).

    Raises:
        ValueError: `path` is none of the model kinds this tool reads.
    """
    path = Path(path)
    if path.suffix == ".tflite" and path.is_file():
        from fmnist_keras.export import TFLiteRunner

        runner = TFLiteRunner(path)
        return runner, runner.image_shape[:2]
    savedmodel = next((p for p in (path, path / "savedmodel") if (p / "saved_model.pb").is_file()), None)
    if savedmodel is not None:
        import tensorflow as tf

        from fmnist_keras.export import serve

        loaded = tf.saved_model.load(str(savedmodel))
        if "serving_uint8_hw" not in loaded.signatures:
            raise ValueError(f"{savedmodel} is a SavedModel without the fmnist_keras serving signatures "
                             f"(export it with `python -m fmnist_keras.export`). Received: model={str(path)!r}")
        shape = loaded.signatures["serving_uint8_hw"].structured_input_signature[1]["pixels"].shape
        return (lambda x: serve(loaded, x)[0]), (int(shape[1]), int(shape[2]))
    if (path.suffix == ".keras" and path.is_file()) or (path / "model.keras").is_file():
        from fmnist_keras.export import load_classifier

        model = load_classifier(path)
        height, width, channels = model.input_shape[1:]
        if channels != 1:
            raise ValueError(f"expected a 1-channel model. Received: input_shape={model.input_shape}")
        return (lambda x: np.asarray(model(x[..., None].astype("float32") / 255.0, training=False))), (height, width)
    raise ValueError("expected a .keras file, a run folder, a SavedModel (or export) folder or a .tflite "
                     f"file. Received: model={str(path)!r}")


def read_image(path):
    """A file as a float array (H, W) or (H, W, C) of 0-255 values, plus notes."""
    path = Path(path)
    notes = []
    if path.suffix.lower() == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise InputError(f"cannot read {path} as a NumPy array ({e})") from None
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise InputError(f"{path}: expected a numeric array. Received: dtype={array.dtype}")
        if array.ndim == 3 and array.shape[-1] in (1, 3, 4):
            pass
        elif array.ndim != 2:
            raise InputError(f"{path}: expected an image array (H, W) or (H, W, 1|3|4). "
                             f"Received: shape={array.shape}")
        integer = np.issubdtype(array.dtype, np.integer)
        array = array.astype("float64")
        if array.size == 0 or not np.isfinite(array).all():
            raise InputError(f"{path}: the array is empty or has NaN/inf values. Received: shape={array.shape}")
        if array.min() < 0 or array.max() > 255:
            raise InputError(f"{path}: expected pixel values in 0-255 (or 0-1). "
                             f"Received: min={array.min():g}, max={array.max():g}")
        if array.max() <= 1.0 and not integer:
            array = array * 255.0
            notes.append("scaled 0-1 values to 0-255")
        return array, notes
    try:
        from PIL import Image, UnidentifiedImageError

        with Image.open(path) as image:
            image.load()
            mode = image.mode
            if mode not in ("L", "RGB", "RGBA", "LA", "I", "I;16", "F"):
                image = image.convert("RGBA" if "A" in image.getbands() else "RGB")
            array = np.asarray(image.convert("RGB") if image.mode == "LA" else image, dtype="float64")
    except (OSError, UnidentifiedImageError) as e:
        raise InputError(f"cannot read {path} as an image ({e.__class__.__name__}: {e})") from None
    if array.ndim == 2 and array.max(initial=0) > 255:  # 16-bit or float grayscale
        array = array * (255.0 / array.max())
        notes.append("rescaled high bit depth to 0-255")
    return array, notes


def to_model_pixels(array, size=(28, 28), invert="auto"):
    """Grayscale, resize and optionally invert: uint8 (H, W) for the model, plus notes."""
    from PIL import Image

    notes = []
    if array.ndim == 3:
        channels = array.shape[-1]
        if channels == 4:  # composite on black, the Fashion-MNIST background
            array = array[..., :3] * (array[..., 3:] / 255.0)
            notes.append("dropped alpha")
        if channels in (3, 4):
            array = array[..., :3] @ _LUMA
            notes.append("converted colour to grayscale")
        else:
            array = array[..., 0]
    gray = np.clip(np.round(array), 0, 255).astype("uint8")
    if invert not in INVERT:
        raise ValueError(f"invert must be one of {', '.join(INVERT)}. Received: invert={invert!r}")
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]).mean()
    if invert == "yes" or (invert == "auto" and border > 127):
        gray = 255 - gray
        notes.append("inverted (dark on light)" if invert == "auto" else "inverted")
    if gray.shape != tuple(size):
        notes.append(f"resized {gray.shape[1]}x{gray.shape[0]} -> {size[1]}x{size[0]}")
        gray = np.asarray(Image.fromarray(gray).resize((size[1], size[0]), Image.Resampling.LANCZOS))
    return gray, notes


def classify_files(predictor, size, files, invert="auto", top=3):
    """Yields one answer dict per file: {"file", "top": [...], "notes"} or {"file", "error"}."""
    from fmnist_keras.data import CLASS_NAMES

    for file in files:
        try:
            array, notes = read_image(file)
            pixels, more = to_model_pixels(array, size, invert)
        except InputError as e:
            yield {"file": str(file), "error": str(e)}
            continue
        probs = np.asarray(predictor(pixels[None]))[0]
        order = np.argsort(-probs)[:top]
        yield {"file": str(file), "notes": notes + more,
               "top": [{"class": CLASS_NAMES[i], "class_id": int(i), "probability": float(probs[i])}
                       for i in order]}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help=".keras file, run folder, SavedModel/export folder or .tflite file")
    parser.add_argument("files", nargs="+", metavar="FILE", help="PNG/JPEG/... images or .npy arrays")
    parser.add_argument("--invert", choices=INVERT, default="auto",
                        help="make dark-on-light images light-on-dark (default: %(default)s, by border mean)")
    parser.add_argument("--top", type=int, default=3, help="classes to print (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of text")
    args = parser.parse_args(argv)
    try:
        if not 1 <= args.top <= 10:
            raise ValueError(f"--top must be between 1 and 10. Received: top={args.top}")
        predictor, size = load_predictor(args.model)
    except (ValueError, OSError) as e:
        print(f"predict: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    answers, failed = [], 0
    for answer in classify_files(predictor, size, args.files, args.invert, args.top):
        if "error" in answer:
            failed += 1
            print(f"predict: error: {answer['error']}", file=sys.stderr)
        elif not args.json:
            best = ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in answer["top"])
            notes = f"  ({'; '.join(answer['notes'])})" if answer["notes"] else ""
            print(f"{answer['file']}: {best}{notes}", flush=True)
        answers.append(answer)
    if args.json:
        print(json.dumps(answers, indent=2))
    if failed:
        raise SystemExit(1)
    return answers


if __name__ == "__main__":
    main()
