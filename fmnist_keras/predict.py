"""Classify image files with any saved or exported model.

Models: a `.keras` file, a run folder (its model.keras), a SavedModel folder
(or an export folder holding `savedmodel/`) and a `.tflite` file. Inputs:
PNG/JPEG (anything Pillow reads) and `.npy` arrays `(H, W)`, `(H, W, 1|3|4)`.

`--convert fashion-mnist` (default) turns each photo into the image the
dataset would contain, by the dataset's own steps (fmnist_keras/photo.py):
trim to the garment, longest edge to 28, sharpen, centre, negate dark-on-light
photos (the corners decide; `--invert yes|no` forces it), 8-bit grayscale.
`--convert resize` is the old plain conversion: grayscale, invert when the
border is brighter than mid-grey (`--invert auto`, or yes/no), resize the whole
picture. Every change is noted per file (`--json` carries the notes);
`--show OUT.png` draws each input, what the model saw and its top classes.
See docs/predict.md.

Run:
    python -m fmnist_keras.predict runs/cnn2_tuned/<stamp> shirt.png boot.jpg
    python -m fmnist_keras.predict saved_models/mine/model_int8.tflite img.npy --json
    python -m fmnist_keras.predict RUN photo.jpg --show what_it_saw.png [--overwrite]

Exit status: 0 when every file was answered, 1 when some could not be read
(one line each on stderr; the others are still answered), 2 for a bad model,
flag or an existing --show file.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from fmnist_keras import data
from fmnist_keras.photo import PhotoError, read_photo, to_fashion_mnist

INVERT = ("auto", "yes", "no")
CONVERSIONS = ("fashion-mnist", "resize")
_POLARITY = {"auto": "auto", "yes": "negate", "no": "keep"}  # --invert as to_fashion_mnist's polarity
_LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R 601, what Pillow's "L" mode uses


class InputError(PhotoError):
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
        return (lambda x: np.asarray(model(data.to_model_input(x[..., None]), training=False))), (height, width)
    raise ValueError("expected a .keras file, a run folder, a SavedModel (or export) folder or a .tflite "
                     f"file. Received: model={str(path)!r}")


def read_image(path):
    """A file as a float array (H, W) or (H, W, C) of 0-255 values, plus notes.

    Images go through `photo.read_photo` (EXIF rotation, CMYK, 16-bit, decompression bombs).
    """
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
        return read_photo(path)
    except PhotoError as e:
        raise InputError(str(e)) from None


def to_model_pixels(array, size=(28, 28), invert="auto"):
    """`--convert resize`: grayscale, resize the whole picture and optionally invert: uint8 (H, W), notes."""
    from PIL import Image

    notes = []
    if array.ndim == 3:
        channels = array.shape[-1]
        if channels in (2, 4):  # composite on black, the Fashion-MNIST background
            array = array[..., :-1] * (array[..., -1:] / 255.0)  # alpha weights: stays 0-255
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


def convert_file(file, size=(28, 28), convert="fashion-mnist", invert="auto"):
    """`(original, pixels, notes)`: the file as read and the uint8 (H, W) image the model sees.

    Raises:
        InputError: the file cannot be read or converted (the message names it).
    """
    array, notes = read_image(file)
    try:
        if convert == "fashion-mnist":
            pixels, more = to_fashion_mnist(array, size, polarity=_POLARITY[invert])
        else:
            pixels, more = to_model_pixels(array, size, invert)
    except PhotoError as e:
        raise InputError(f"{file}: {e}") from None
    return array, pixels, notes + more


def classify_files(predictor, size, files, invert="auto", top=3, convert="fashion-mnist", keep_pixels=False):
    """Yields one answer dict per file: {"file", "top": [...], "notes"} or {"file", "error"}.

    With `keep_pixels`, answers also hold "original" and "pixels" arrays (for `--show`; not JSON).
    """
    from fmnist_keras.data import CLASS_NAMES

    if convert not in CONVERSIONS:
        raise ValueError(f"convert must be one of {', '.join(CONVERSIONS)}. Received: convert={convert!r}")
    if invert not in INVERT:
        raise ValueError(f"invert must be one of {', '.join(INVERT)}. Received: invert={invert!r}")
    for file in files:
        try:
            original, pixels, notes = convert_file(file, size, convert, invert)
        except InputError as e:
            yield {"file": str(file), "error": str(e)}
            continue
        probs = np.asarray(predictor(pixels[None]))[0]
        order = np.argsort(-probs)[:top]
        answer = {"file": str(file), "notes": notes,
                  "top": [{"class": CLASS_NAMES[i], "class_id": int(i), "probability": float(probs[i])}
                          for i in order]}
        if keep_pixels:
            answer.update(original=original, pixels=pixels)
        yield answer


def draw_answers(answers, out):
    """Writes one PNG with a row per input: the original, the 28x28 the model saw, the top classes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(answers), 3, figsize=(8, 2.2 * len(answers)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 1, 1.6]})
    for row, answer in zip(axes, answers):
        for ax in row:
            ax.set_xticks([])
            ax.set_yticks([])
        row[0].set_title(Path(answer["file"]).name, fontsize=8)
        row[1].set_title("what the model saw" if "pixels" in answer else "", fontsize=8)
        if "error" in answer:
            row[2].text(0, 0.5, _wrap(answer["error"], 40), fontsize=7, color="firebrick", va="center")
        else:
            original = answer["original"]
            if original.ndim == 3 and original.shape[-1] in (1, 2):
                original = original[..., 0]
            shown = np.clip(original[..., :3] if original.ndim == 3 else original, 0, 255).astype("uint8")
            row[0].imshow(shown, cmap="gray", vmin=0, vmax=255)
            row[1].imshow(answer["pixels"], cmap="gray", vmin=0, vmax=255)
            lines = [f"{t['class']}: {100 * t['probability']:.1f}%" for t in answer["top"]]
            row[2].text(0, 0.5, "\n".join(lines), fontsize=9, va="center")
        row[2].axis("off")
    fig.tight_layout()
    fig.savefig(out, dpi=90)
    plt.close(fig)


def _wrap(text, width):
    import textwrap

    return "\n".join(textwrap.wrap(text, width)[:8])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help=".keras file, run folder, SavedModel/export folder or .tflite file")
    parser.add_argument("files", nargs="+", metavar="FILE", help="PNG/JPEG/... images or .npy arrays")
    parser.add_argument("--convert", choices=CONVERSIONS, default="fashion-mnist",
                        help="fashion-mnist: the dataset's own steps (trim, fit, sharpen, centre, negate); "
                             "resize: the whole picture resized (default: %(default)s)")
    parser.add_argument("--invert", choices=INVERT, default="auto",
                        help="make dark-on-light images light-on-dark: auto decides by the corners "
                             "(fashion-mnist) or the border mean (resize); yes/no force it (default: %(default)s)")
    parser.add_argument("--show", default=None, metavar="OUT.png",
                        help="also draw each input, its converted image and top classes into OUT.png")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --show file")
    parser.add_argument("--top", type=int, default=3, help="classes to print (default: %(default)s)")
    parser.add_argument("--json", action="store_true", help="print one JSON list instead of text")
    args = parser.parse_args(argv)
    try:
        if not 1 <= args.top <= 10:
            raise ValueError(f"--top must be between 1 and 10. Received: top={args.top}")
        if args.show and Path(args.show).exists() and not args.overwrite:
            raise ValueError(f"{args.show} already exists; pictures are never overwritten silently: "
                             f"pass --overwrite or another --show path. Received: show={args.show!r}")
        if args.show and Path(args.show).suffix.lower() != ".png":
            raise ValueError(f"--show must name a .png file. Received: show={args.show!r}")
        predictor, size = load_predictor(args.model)
    except (ValueError, OSError) as e:
        print(f"predict: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    answers, failed = [], 0
    for answer in classify_files(predictor, size, args.files, args.invert, args.top, args.convert,
                                 keep_pixels=bool(args.show)):
        if "error" in answer:
            failed += 1
            print(f"predict: error: {answer['error']}", file=sys.stderr)
        elif not args.json:
            best = ", ".join(f"{t['class']} {100 * t['probability']:.1f}%" for t in answer["top"])
            notes = f"  ({'; '.join(answer['notes'])})" if answer["notes"] else ""
            print(f"{answer['file']}: {best}{notes}", flush=True)
        answers.append(answer)
    if args.show:
        Path(args.show).parent.mkdir(parents=True, exist_ok=True)
        draw_answers(answers, args.show)
        answers = [{k: v for k, v in a.items() if k not in ("original", "pixels")} for a in answers]
        print(f"predict: drew {len(answers)} rows into {args.show}", file=sys.stderr)
    if args.json:
        print(json.dumps(answers, indent=2))
    if failed:
        raise SystemExit(1)
    return answers


if __name__ == "__main__":
    main()
