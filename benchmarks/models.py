"""Model zoo benchmark: parameters, multiply-adds per image, and training images/second.

For every registered model (or those named with --models): the parameter count,
the multiply-accumulates of one 28x28x1 forward pass (Conv2D and Dense layers,
counted from their shapes), and the training throughput of `train_on_batch`
(SGD, batch 128 by default; median over single steps) after warmup steps, which
absorb tracing. A plain-Keras reference (a small Sequential CNN: 2 x [conv-BN-
ReLU x 2, pool], FC-256) is re-timed just before each model in the same process,
and every model's speed is also given as a ratio to it, since absolute numbers
on a shared CPU are noisy.

Usage:
    python benchmarks/models.py                       # all models, print a Markdown table
    python benchmarks/models.py --models cnn2,resnet18 --steps 5
    python benchmarks/models.py --markdown /tmp/readme_models.md
"""

import argparse
import datetime
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from fmnist_keras import machine  # noqa: E402
from fmnist_keras.models import build_model, count_mult_adds, list_models  # noqa: E402

# The report each model comes from (see SEEDS.md).
REPORTS = {
    "mlp": "004", "cnn1": "001", "cnn2": "001", "cnn3": "001", "cnn4": "001", "cnn5": "001",
    "vgg11": "002", "vgg16": "002", "resnet18": "000, 002, 003", "resnet34": "002 (deeper variant)",
    "wrn28_10": "000 (RE paper's model)", "wrn40_4": "000 (RE paper's model)",
}


def reference_cnn(input_shape=(28, 28, 1), num_classes=10):
    """The plain-Keras baseline of NOTES.md: 2 x (conv-BN-ReLU x 2, pool) + FC-256."""
    layers = [keras.Input(input_shape)]
    for filters in (32, 64):
        for _ in range(2):
            layers += [keras.layers.Conv2D(filters, 3, padding="same", use_bias=False),
                       keras.layers.BatchNormalization(), keras.layers.ReLU()]
        layers.append(keras.layers.MaxPooling2D())
    layers += [keras.layers.Flatten(), keras.layers.Dense(256, activation="relu"),
               keras.layers.Dense(num_classes, activation="softmax")]
    return keras.Sequential(layers, name="reference_cnn")


class Timer:
    """Times `train_on_batch` on random [0, 1] images: median images/s over single steps.

    The median of per-step times shrugs off bursts from other jobs on a shared CPU.
    """

    def __init__(self, model, batch_size, input_shape=(28, 28, 1), num_classes=10, seed=0):
        rng = np.random.default_rng(seed)
        self.x = rng.uniform(size=(batch_size,) + tuple(input_shape)).astype("float32")
        self.y = np.eye(num_classes, dtype="float32")[rng.integers(0, num_classes, batch_size)]
        self.model = model
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="categorical_crossentropy")

    def __call__(self, steps, warmup):
        for _ in range(warmup):
            self.model.train_on_batch(self.x, self.y)
        times = []
        for _ in range(steps):
            start = time.perf_counter()
            self.model.train_on_batch(self.x, self.y)
            times.append(time.perf_counter() - start)
        return len(self.x) / float(np.median(times))


def hardware():
    import tensorflow as tf
    return (f"{machine.cpu_model()}, {machine.usable_cores()} cores, TensorFlow {tf.__version__}, "
            f"Keras {keras.__version__}, fp32")


def run(models, batch_size, steps, warmup):
    rows = []
    ref = reference_cnn()
    ref_timer = Timer(ref, batch_size)
    ref_timer(steps, warmup)  # trace once
    ref_speeds = []
    for name in models:
        # The reference is re-timed just before each model, so each ratio compares
        # two measurements taken under the same load.
        ref_speed = ref_timer(steps, 0)
        ref_speeds.append(ref_speed)
        keras.utils.set_random_seed(0)
        model = build_model(name)
        speed = Timer(model, batch_size)(steps, warmup)
        rows.append((name, REPORTS.get(name, ""), model.count_params(), count_mult_adds(model), speed,
                     speed / ref_speed))
        print(f"{name}: {speed:.1f} images/s (reference {ref_speed:.0f})", file=sys.stderr, flush=True)
        del model
    rows.append(("reference_cnn (plain Keras)", "-", ref.count_params(), count_mult_adds(ref),
                 float(np.median(ref_speeds)), 1.0))
    return rows


def markdown(rows, batch_size, steps, warmup, hw, date):
    lines = [
        "## Models",
        "",
        "`fmnist_keras.models.build_model(name, **knobs)` builds any of these by name "
        "(`list_models()` lists them); all take 28x28x1 images in [0, 1] and normalize inside the model.",
        "",
        "| name | report | parameters | mult-adds / image | train images/s | vs plain Keras CNN "
        "| forward G mult-adds/s |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for name, report, params, macs, speed, ratio in rows:
        lines.append(f"| `{name}` | {report} | {params:,} | {macs / 1e6:,.1f} M | {speed:,.0f} "
                     f"| {ratio:.2f}x | {macs * speed / 1e9:,.1f} |")
    lines += [
        "",
        f"Measured {date} on {hw}: `train_on_batch` at batch {batch_size}, SGD, "
        f"median of {steps} timed steps after {warmup} warmup steps; parameters include BatchNorm moving "
        "statistics; mult-adds count Conv2D and Dense layers for one 28x28x1 image (forward pass); "
        "the last column (mult-adds x images/s, forward only: training does about 3x) shows how well "
        "each model uses the CPU. "
        "The CPU was shared with other jobs, so prefer the ratio column: the plain-Keras CNN is re-timed "
        "just before each model (its row shows the median). Rerun with `python benchmarks/models.py`.",
        "",
    ]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="", help="comma-separated names (default: all)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="timed train_on_batch steps per model")
    parser.add_argument("--warmup", type=int, default=2, help="untimed steps first (tracing)")
    parser.add_argument("--markdown", default="", help="also write the Markdown section here")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m] or list_models()
    unknown = sorted(set(models) - set(list_models()))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; available: {', '.join(list_models())}")
    rows = run(models, args.batch_size, args.steps, args.warmup)
    text = markdown(rows, args.batch_size, args.steps, args.warmup, hardware(),
                    datetime.date.today().isoformat())
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    return rows


if __name__ == "__main__":
    main()
