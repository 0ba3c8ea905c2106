"""Checking artifacts against the Keras model on the real test set, and the table of the result.

The bars are reported, not enforced: an export that misses one is still
written, and `passed` says so (report, don't fake).
"""

import time
from pathlib import Path

import numpy as np

from fmnist_keras.export.formats import image_shape, probabilities_fn
from fmnist_keras.export.runtime import TFLiteRunner, serve

# The bars every export is checked against (report, don't fake).
MIN_FLOAT_AGREEMENT = 0.9995  # top-1 agreement with Keras, float formats
MAX_INT8_ACCURACY_DROP = 0.005  # test accuracy lost by full-int8 quantization


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
    pixels = x_test.reshape((-1,) + image_shape(model))
    keras_fn = tf.function(probabilities_fn(model), reduce_retracing=True)
    reference = _batched(lambda b: keras_fn(tf.constant(b, tf.float32)).numpy(), pixels)
    ref_class = reference.argmax(axis=1)
    keras_acc = float((ref_class == y_test).mean())
    report = {"test_images": len(x_test),
              "keras": {"accuracy": keras_acc,
                        "latency_ms": _latency_ms(lambda b: keras_fn(tf.constant(b, tf.float32)).numpy(),
                                                  pixels[:1], latency_runs)},
              "formats": {}}
    for fmt, path in artifacts.items():
        if fmt == "savedmodel":
            loaded = tf.saved_model.load(path)
            run = lambda b, loaded=loaded: serve(loaded, b)[0]  # noqa: E731
            probs = _batched(run, x_test)  # uint8 (B, 28, 28): the signature users call most
        else:
            run = TFLiteRunner(path)
            probs = _batched(run, pixels)
        report["formats"][fmt] = _format_row(fmt, path, probs, reference, ref_class, y_test, keras_acc,
                                             _latency_ms(run, pixels[:1], latency_runs))
    return report


def _format_row(fmt, path, probs, reference, ref_class, y_test, keras_acc, latency_ms):
    """One artifact's numbers and whether it met its bar."""
    agreement = float((probs.argmax(axis=1) == ref_class).mean())
    accuracy = float((probs.argmax(axis=1) == y_test).mean())
    row = {"agreement": agreement, "accuracy": accuracy,
           "accuracy_drop": round(keras_acc - accuracy, 6),
           "max_abs_prob_diff": float(np.abs(probs - reference).max()),
           "size_bytes": _size(path), "latency_ms": latency_ms}
    if fmt == "tflite-int8":
        row["bar"] = f"accuracy drop <= {MAX_INT8_ACCURACY_DROP}"
        row["passed"] = keras_acc - accuracy <= MAX_INT8_ACCURACY_DROP
    else:
        row["bar"] = f"agreement >= {MIN_FLOAT_AGREEMENT}"
        row["passed"] = agreement >= MIN_FLOAT_AGREEMENT
    return row


def format_report(report):
    """The verification as a Markdown table."""
    host = report["host"]
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
