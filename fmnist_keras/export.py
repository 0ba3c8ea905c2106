"""Export a trained classifier as a SavedModel and TFLite files, then verify them.

Exported artifacts take raw pixels 0-255 (docs/design.md, "Contracts"); the [0, 1]
scaling and the model's own normalization happen inside. The model is always
called with `training=False` (Keras' own `export(format="tf_saved_model")`
serves augmentation layers in training mode).

SavedModel signatures (a signature has one dtype and one rank, so there are four):

| signature | input `pixels` |
|---|---|
| `serving_default` | float32 `(B, H, W, 1)` |
| `serving_uint8` | uint8 `(B, H, W, 1)` |
| `serving_float32_hw` | float32 `(B, H, W)` |
| `serving_uint8_hw` | uint8 `(B, H, W)` |

each returning `probabilities` (float32 `(B, 10)`) and `class_id` (int64 `(B,)`).
`serve(loaded, pixels)` picks the signature from a NumPy array's dtype and rank.

TFLite files: `model_float32.tflite` and `model_fp16.tflite` (float16 weights)
take float32 `(B, H, W, 1)` pixels 0-255; `model_int8.tflite` is full-integer
(int8 weights and activations, calibrated on real training images) and takes
uint8 `(B, H, W, 1)` pixels (input scale 1, zero point 0: the raw bytes). All
return float32 probabilities `(B, 10)`.

Every export is verified on the full test set (`export_report.json`).

Run:
    python -m fmnist_keras.export runs/cnn2_tuned/<stamp>
    python -m fmnist_keras.export model.keras --formats savedmodel,tflite-int8 --out saved_models/mine
"""

import argparse
import datetime
import json
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from fmnist_keras import machine
from fmnist_keras.data import to_model_input

FORMATS = ("savedmodel", "tflite", "tflite-fp16", "tflite-int8")
FILES = {"savedmodel": "savedmodel", "tflite": "model_float32.tflite",
         "tflite-fp16": "model_fp16.tflite", "tflite-int8": "model_int8.tflite"}
REPORT = "export_report.json"
SIGNATURES = {  # name -> (dtype, with channel axis)
    "serving_default": ("float32", True),
    "serving_uint8": ("uint8", True),
    "serving_float32_hw": ("float32", False),
    "serving_uint8_hw": ("uint8", False),
}
# The bars every export is checked against (report, don't fake).
MIN_FLOAT_AGREEMENT = 0.9995  # top-1 agreement with Keras, float formats
MAX_INT8_ACCURACY_DROP = 0.005  # test accuracy lost by full-int8 quantization

logger = logging.getLogger(__name__)


def parse_formats(formats):
    """ "savedmodel,tflite" or a sequence -> a tuple of known format names."""
    names = [f.strip() for f in formats.split(",")] if isinstance(formats, str) else list(formats)
    names = [f for f in names if f]
    unknown = [f for f in names if f not in FORMATS]
    if unknown or not names:
        raise ValueError(f"formats must be a non-empty list of {', '.join(FORMATS)}. Received: formats={formats!r}")
    return tuple(dict.fromkeys(names))


def load_classifier(model_or_path):
    """A `keras.Model` from a model, a `.keras` file or a run folder (its model.keras)."""
    import keras

    import fmnist_keras  # noqa: F401  registers the custom layers

    if isinstance(model_or_path, keras.Model):
        return model_or_path
    path = Path(model_or_path)
    if path.is_dir() and (path / "model.keras").is_file():
        path = path / "model.keras"
    if path.suffix != ".keras" or not path.is_file():
        raise ValueError(f"expected a keras.Model, a .keras file or a run folder with model.keras. "
                         f"Received: model={str(model_or_path)!r}")
    return keras.saving.load_model(path)


def default_out_dir(model_or_path):
    """saved_models/<recipe>-<stamp> for a run folder, saved_models/<stem> for a file."""
    path = Path(str(model_or_path))
    if path.is_dir():
        return Path("saved_models") / f"{path.parent.name}-{path.name}"
    return Path("saved_models") / (path.stem if path.suffix == ".keras" else "model")


def prepare_out_dir(out_dir, overwrite=False):
    """Creates `out_dir`; an existing one is an error unless `overwrite`, and even then
    only a folder that holds a previous export (an export_report.json) is replaced."""
    out = Path(out_dir)
    if out.exists():
        if not overwrite:
            raise FileExistsError(f"export folder {str(out)!r} already exists; exports are never "
                                  f"overwritten silently: pass --overwrite or another --out. "
                                  f"Received: out_dir={str(out)!r}")
        if not (out / REPORT).is_file():
            raise FileExistsError(f"{str(out)!r} exists and is not an export folder (no {REPORT}); "
                                  f"refusing to replace it. Received: out_dir={str(out)!r}")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out


def _image_shape(model):
    shape = tuple(model.input_shape[1:])
    if len(shape) != 3 or None in shape:
        raise ValueError(f"expected a model with input (B, H, W, C). Received: input_shape={model.input_shape}")
    return shape


def _archive(model, endpoints):
    """A Keras `ExportArchive` of `model` with `endpoints` = {name: (fn, TensorSpec)}: the
    TFLite converter's input (its variables convert to constants; a `tf.Module`'s do not)."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, (fn, spec) in endpoints.items():
        archive.add_endpoint(name, fn, input_signature=[spec])
    return archive


def _save(model, path, signatures):
    """Saves `model` behind `signatures` = {name: (fn, TensorSpec)} as a SavedModel.

    A plain `tf.Module` holding the model: Keras' `ExportArchive` stores every
    variable twice (a 16 MB model became a 32 MB SavedModel).
    """
    import tensorflow as tf

    module = tf.Module()
    module.model = model  # tracks the variables once
    concrete = {name: tf.function(fn).get_concrete_function(spec) for name, (fn, spec) in signatures.items()}
    tf.saved_model.save(module, str(path), signatures=concrete)


def _probabilities_fn(model, channel_axis=True):
    """Raw pixels -> float32 probabilities, with the model in inference mode."""
    import tensorflow as tf

    def probabilities(pixels):
        x = to_model_input(pixels)
        if not channel_axis:
            x = x[..., None]
        return tf.cast(model(x, training=False), tf.float32)

    return probabilities


def _serving_fn(model, channel_axis):
    """Raw pixels -> {"probabilities", "class_id"} (one signature's function)."""
    import tensorflow as tf

    probabilities = _probabilities_fn(model, channel_axis)

    def serve(pixels):
        probs = probabilities(pixels)
        return {"probabilities": probs, "class_id": tf.argmax(probs, axis=-1)}

    return serve


def write_savedmodel(model, path):
    """Writes the four serving signatures (see the module docstring)."""
    import tensorflow as tf

    shape = _image_shape(model)
    endpoints = {}
    for name, (dtype, channel_axis) in SIGNATURES.items():
        if not channel_axis and shape[-1] != 1:
            continue  # (B, H, W) only makes sense for 1-channel models
        spec_shape = (None,) + (shape if channel_axis else shape[:-1])
        endpoints[name] = (_serving_fn(model, channel_axis), tf.TensorSpec(spec_shape, dtype, name="pixels"))
    _save(model, path, endpoints)
    return path


def _real_calibration_images(n, data_dir=None, seed=0):
    from fmnist_keras.data import load_fashion_mnist

    (x, _), _ = load_fashion_mnist(data_dir or None)
    index = np.random.default_rng(seed).choice(len(x), size=n, replace=False)
    return x[index]


def write_tflite(model, path, mode="float32", calibration=None):
    """Converts to TFLite: mode "float32", "fp16" (float16 weights) or "int8"
    (full-integer, calibrated on `calibration`: uint8 images (N, H, W) or (N, H, W, 1))."""
    import tensorflow as tf

    shape = _image_shape(model)
    spec = tf.TensorSpec((None,) + shape, "float32", name="pixels")  # batch resizable
    with tempfile.TemporaryDirectory() as tmp:
        _archive(model, {"serve": (_probabilities_fn(model), spec)}).write_out(tmp, verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(tmp)
        if mode == "fp16":
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        elif mode == "int8":
            if calibration is None or len(calibration) == 0:
                raise ValueError("int8 export needs calibration images. Received: calibration=None")
            images = np.asarray(calibration).reshape((-1,) + shape).astype("float32")

            def representative():
                for image in images:
                    yield [image[None]]

            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = representative
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.uint8
            converter.inference_output_type = tf.float32
        elif mode != "float32":
            raise ValueError(f"mode must be float32, fp16 or int8. Received: mode={mode!r}")
        Path(path).write_bytes(converter.convert())
    return path


def export_model(model_or_path, out_dir=None, formats=FORMATS, *, overwrite=False, verify=True,
                 calibration_images=500, data_dir=None, seed=0, test_limit=None, latency_runs=200):
    """Exports a classifier and verifies every artifact against it.

    Args:
        model_or_path: a `keras.Model`, a `.keras` file or a run folder.
        out_dir: the export folder (must not exist unless `overwrite`);
            default `saved_models/<recipe>-<stamp>` or `saved_models/<stem>`.
        formats: any of "savedmodel", "tflite", "tflite-fp16", "tflite-int8"
            (a list or a comma-separated string).
        overwrite: replace an existing export folder (only one with an
            export_report.json).
        verify: run the checks of `verify_export` and write export_report.json.
        calibration_images: real training images for int8 calibration.
        data_dir: where the IDX files are (default: the usual search).
        seed: picks the calibration images.
        test_limit: verify on the first N test images (default all 10,000).
        latency_runs: timed batch-1 calls per format.

    Returns:
        The report dict (also written to `out_dir/export_report.json`).
    """
    formats = parse_formats(formats)
    if isinstance(calibration_images, bool) or not isinstance(calibration_images, int) or calibration_images < 1:
        raise ValueError(f"calibration_images must be a positive integer. "
                         f"Received: calibration_images={calibration_images!r}")
    model = load_classifier(model_or_path)
    out = prepare_out_dir(out_dir or default_out_dir(model_or_path), overwrite)
    try:
        artifacts = _write_artifacts(model, out, formats, calibration_images, data_dir, seed)
        report = _report(model_or_path, model, out, artifacts, formats, calibration_images)
        if verify:
            report.update(verify_export(model, artifacts, data_dir=data_dir, limit=test_limit,
                                        latency_runs=latency_runs))
        (out / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    except BaseException:  # no half-written export folder (it was created above, so it is ours)
        shutil.rmtree(out, ignore_errors=True)
        raise
    return report


def _report(model_or_path, model, out, artifacts, formats, calibration_images):
    return {
        "source": str(model_or_path) if not hasattr(model_or_path, "layers") else model.name,
        "model": model.name,
        "out_dir": str(out),
        "artifacts": artifacts,
        "calibration_images": calibration_images if "tflite-int8" in formats else None,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": machine.environment(),
    }


def _write_artifacts(model, out, formats, calibration_images, data_dir, seed):
    artifacts = {}
    for fmt in formats:
        start = time.time()
        path = out / FILES[fmt]
        if fmt == "savedmodel":
            write_savedmodel(model, path)
        elif fmt == "tflite-int8":
            write_tflite(model, path, "int8", _real_calibration_images(calibration_images, data_dir, seed))
        else:
            write_tflite(model, path, "fp16" if fmt == "tflite-fp16" else "float32")
        artifacts[fmt] = str(path)
        logger.info("export: wrote %s in %.1f s", path, time.time() - start)
    (out / "labels.txt").write_text("\n".join(_class_names()) + "\n")
    return artifacts


def _class_names():
    from fmnist_keras.data import CLASS_NAMES

    return CLASS_NAMES


# ---------------------------------------------------------------- running artifacts


def serve(loaded, pixels):
    """Runs a loaded SavedModel on raw pixels, picking the signature by dtype and rank.

    Args:
        loaded: `tf.saved_model.load(path)` of an export.
        pixels: uint8 or float array `(B, H, W)` or `(B, H, W, 1)` of 0-255 values.

    Returns:
        `(probabilities, class_id)` NumPy arrays.
    """
    pixels = np.asarray(pixels)
    if pixels.dtype == np.uint8:
        dtype = "uint8"
    elif np.issubdtype(pixels.dtype, np.floating) or np.issubdtype(pixels.dtype, np.integer):
        dtype, pixels = "float32", pixels.astype("float32")
    else:
        raise ValueError(f"pixels must be uint8 or float. Received: dtype={pixels.dtype}")
    name = {("float32", 4): "serving_default", ("uint8", 4): "serving_uint8",
            ("float32", 3): "serving_float32_hw", ("uint8", 3): "serving_uint8_hw"}.get((dtype, pixels.ndim))
    signature = loaded.signatures.get(name) if name else None
    spec = None if signature is None else signature.structured_input_signature[1]["pixels"]
    if spec is None or tuple(pixels.shape[1:]) != tuple(spec.shape[1:]):
        expected = loaded.signatures["serving_default"].structured_input_signature[1]["pixels"].shape[1:]
        raise ValueError(f"pixels must have shape (B, {expected[0]}, {expected[1]}) or "
                         f"(B, {', '.join(map(str, expected))}). Received: shape={pixels.shape}")
    out = signature(pixels=pixels)
    return out["probabilities"].numpy(), out["class_id"].numpy()


def make_interpreter(path):
    """A TFLite interpreter: LiteRT's when installed, else TensorFlow's (deprecated)."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # pragma: no cover - depends on the optional extra
        import tensorflow as tf

        Interpreter = tf.lite.Interpreter
    return Interpreter(model_path=str(path))


class TFLiteRunner:
    """Batched inference with a TFLite file; takes raw pixels (B, H, W[, 1])."""

    def __init__(self, path):
        self.interpreter = make_interpreter(path)
        self.input = self.interpreter.get_input_details()[0]
        self.output = self.interpreter.get_output_details()[0]
        self.image_shape = tuple(int(d) for d in self.input["shape"][1:])
        self.batch = None

    def __call__(self, pixels):
        pixels = received = np.asarray(pixels)
        if pixels.ndim == 3 and self.image_shape[-1] == 1:
            pixels = pixels[..., None]
        if pixels.shape[1:] != self.image_shape or not (
                pixels.dtype == np.uint8 or np.issubdtype(pixels.dtype, np.number)):
            raise ValueError(f"pixels must have shape (B, {', '.join(map(str, self.image_shape))}) "
                             f"or (B, {', '.join(map(str, self.image_shape[:-1]))}), uint8 or float. "
                             f"Received: shape={received.shape}, dtype={received.dtype}")
        if self.batch != len(pixels):
            self.interpreter.resize_tensor_input(self.input["index"], (len(pixels),) + self.image_shape)
            self.interpreter.allocate_tensors()
            self.batch = len(pixels)
        dtype = self.input["dtype"]
        if dtype == np.uint8:
            scale, zero = self.input["quantization"]
            x = pixels / scale + zero if scale else pixels
            x = np.clip(np.round(x), 0, 255).astype(np.uint8)
        else:
            x = pixels.astype(dtype)
        self.interpreter.set_tensor(self.input["index"], x)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output["index"]).astype("float32")


def _batched(fn, x, batch=500):
    return np.concatenate([fn(x[i:i + batch]) for i in range(0, len(x), batch)])


def _latency_ms(fn, image, runs):
    for _ in range(5):
        fn(image)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn(image)
        times.append(time.perf_counter() - start)
    return round(1000 * float(np.median(times)), 3)


def _size(path):
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
    return path.stat().st_size


def verify_export(model, artifacts, *, data_dir=None, limit=None, latency_runs=200):
    """Compares every artifact with the Keras model on the real test set.

    Returns:
        {"test_images", "keras": {...}, "formats": {fmt: {...}}} where each
        format has top-1 `agreement` with Keras, `accuracy`, `accuracy_drop`,
        `max_abs_prob_diff`, `size_bytes`, `latency_ms` (median batch-1 call)
        and `passed` with the `bar` it was held to.
    """
    import tensorflow as tf

    from fmnist_keras.data import load_fashion_mnist

    _, (x_test, y_test) = load_fashion_mnist(data_dir or None)
    if limit:
        x_test, y_test = x_test[:limit], y_test[:limit]
    shape = _image_shape(model)
    pixels = x_test.reshape((-1,) + shape)
    keras_fn = tf.function(_probabilities_fn(model), reduce_retracing=True)
    reference = _batched(lambda b: keras_fn(tf.constant(b, tf.float32)).numpy(), pixels)
    ref_class = reference.argmax(axis=1)
    keras_acc = float((ref_class == y_test).mean())
    single = pixels[:1]
    report = {"test_images": len(x_test),
              "keras": {"accuracy": keras_acc,
                        "latency_ms": _latency_ms(lambda b: keras_fn(tf.constant(b, tf.float32)).numpy(),
                                                  single, latency_runs)},
              "formats": {}}
    for fmt, path in artifacts.items():
        if fmt == "savedmodel":
            loaded = tf.saved_model.load(path)
            run = lambda b, loaded=loaded: serve(loaded, b)[0]  # noqa: E731
            probs = _batched(run, x_test)  # uint8 (B, 28, 28): the signature users call most
        else:
            run = TFLiteRunner(path)
            probs = _batched(run, pixels)
        agreement = float((probs.argmax(axis=1) == ref_class).mean())
        accuracy = float((probs.argmax(axis=1) == y_test).mean())
        row = {"agreement": agreement, "accuracy": accuracy,
               "accuracy_drop": round(keras_acc - accuracy, 6),
               "max_abs_prob_diff": float(np.abs(probs - reference).max()),
               "size_bytes": _size(path), "latency_ms": _latency_ms(run, single, latency_runs)}
        if fmt == "tflite-int8":
            row["bar"] = f"accuracy drop <= {MAX_INT8_ACCURACY_DROP}"
            row["passed"] = keras_acc - accuracy <= MAX_INT8_ACCURACY_DROP
        else:
            row["bar"] = f"agreement >= {MIN_FLOAT_AGREEMENT}"
            row["passed"] = agreement >= MIN_FLOAT_AGREEMENT
        report["formats"][fmt] = row
    return report


def export_summary(report):
    """The few numbers of a report that go into a run's results.json."""
    return {"out_dir": report["out_dir"],
            "formats": {fmt: {k: row[k] for k in ("accuracy", "agreement", "size_bytes", "latency_ms", "passed")}
                        for fmt, row in report.get("formats", {}).items()}}


def export_run(classifier, run_dir, config):
    """A recipe's export into `<run_dir>/export` (runner, `--export`): prints the table and
    returns the summary; a failure is logged and recorded, not raised, so the trained run
    still gets its results.json."""
    try:
        report = export_model(classifier, Path(run_dir) / "export", data_dir=config.data_dir, seed=config.seed)
    except Exception as e:
        logger.error("export failed: %s: %s", type(e).__name__, e)
        return {"error": f"{type(e).__name__}: {e}"}
    print(format_report(report), flush=True)
    return export_summary(report)


def format_report(report):
    """The verification as a Markdown table."""
    host = report["host"]  # machine.environment(); reports written before it name the CPU "cpu"
    lines = [f"export of {report['model']} -> {report['out_dir']} "
             f"({report.get('test_images', 0)} test images, {host.get('cpu_model', host.get('cpu'))}, "
             f"{host['cpu_count']} cores)",
             "| format | size | test accuracy | agreement with Keras | max abs prob diff | "
             "batch-1 latency | bar | passed |",
             "|---|---:|---:|---:|---:|---:|---|---|"]
    if "keras" in report:
        k = report["keras"]
        lines.append(f"| keras (tf.function) | - | {100 * k['accuracy']:.2f}% | - | - | "
                     f"{k['latency_ms']:.2f} ms | - | - |")
    for fmt, row in report.get("formats", {}).items():
        lines.append(f"| {fmt} | {row['size_bytes'] / 1e6:.2f} MB | {100 * row['accuracy']:.2f}% | "
                     f"{100 * row['agreement']:.2f}% | {row['max_abs_prob_diff']:.2e} | "
                     f"{row['latency_ms']:.2f} ms | {row['bar']} | {'yes' if row['passed'] else 'NO'} |")
    return "\n".join(lines)


def main(argv=None):
    """Command line: export, verify, print the table; errors are one line, exit 2."""
    from fmnist_keras.data import DataError

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", metavar="RUN_DIR_OR_MODEL", help="a run folder or a .keras file")
    parser.add_argument("--formats", default=",".join(FORMATS), help="(default: %(default)s)")
    parser.add_argument("--out", help="export folder (default: saved_models/<recipe>-<stamp>)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing export folder")
    parser.add_argument("--calibration-images", type=int, default=500,
                        help="real training images for int8 calibration (default: %(default)s)")
    parser.add_argument("--no-verify", dest="verify", action="store_false",
                        help="skip the checks on the test set")
    parser.add_argument("--data-dir", default="", help="folder with the IDX files")
    args = parser.parse_args(argv)
    try:
        report = export_model(args.model, args.out, args.formats, overwrite=args.overwrite,
                              verify=args.verify, calibration_images=args.calibration_images,
                              data_dir=args.data_dir)
    except (ValueError, DataError, FileExistsError, FileNotFoundError) as e:
        print(f"export: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    print(format_report(report))
    return report


if __name__ == "__main__":
    main()
