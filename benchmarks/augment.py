"""Augmentation speed: our batched ops against Keras core's and keras-cv's layers.

Images/second on batches of 256 real Fashion-MNIST training images
(float32 28x28x1 in [0, 1]), each op called inside a `tf.function`, with and
without `jit_compile`, printed as a table with ratios to the alternatives.

    python benchmarks/augment.py [--seconds 1.0] [--markdown out.md] [--only augmix,flip]

keras-cv is optional and never a dependency of the package: it is imported
from `$KERAS_CV_PATH` (a `pip install --target` folder, see below) or the
environment; if it cannot be imported with this Keras, its rows say why.

    .venv/bin/python -m pip download --no-deps keras-cv -d /tmp/kcv
    .venv/bin/python -m pip install --no-deps --target /tmp/bench-kcv /tmp/kcv/keras_cv-*.whl \\
        dm-tree regex kagglehub tensorflow-datasets etils toml promise tensorflow-metadata tqdm \\
        immutabledict
    KERAS_CV_PATH=/tmp/bench-kcv .venv/bin/python benchmarks/augment.py

To compare the ops against an earlier commit of this package instead, see
`benchmarks/augment_vs_commit.py`.

Note what is compared: Keras' AugMix, RandAugment and RandomCrop choose once
per batch (AugMix even once per trace), ours per image; the ratio is the
price or gain of per-image randomness, not of identical work.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fmnist_keras.augment import AugmentStack  # noqa: E402
from fmnist_keras.data import load_fashion_mnist  # noqa: E402

BATCH = 256

# name -> (our stack, Keras core builder, keras-cv builder); builders take no
# arguments and return `fn(images, labels) -> images` (None: no equivalent).
def _keras_cases():
    L = keras.layers
    pad_crop = keras.Sequential([L.ZeroPadding2D(4), L.RandomCrop(28, 28)])
    return {
        "flip": lambda: _images_only(L.RandomFlip("horizontal")),
        "pad_crop": lambda: _images_only(pad_crop),
        "translate": lambda: _images_only(L.RandomTranslation(0.1, 0.1, fill_mode="constant")),
        "rotate": lambda: _images_only(L.RandomRotation(15 / 360, fill_mode="constant")),
        "erasing": lambda: _images_only(L.RandomErasing(value_range=(0, 1))),
        "mixup": lambda: _dict_layer(L.MixUp()),
        "cutmix": lambda: _dict_layer(L.CutMix()),
        "augmix": lambda: _images_only(L.AugMix(value_range=(0, 1))),
        "randaugment": lambda: _images_only(L.RandAugment(value_range=(0, 1))),
    }


def _kcv_cases(kcv):
    L = kcv.layers
    return {
        "flip": lambda: _images_only(L.RandomFlip("horizontal")),
        "translate": lambda: _images_only(L.RandomTranslation(0.1, 0.1, fill_mode="constant")),
        "rotate": lambda: _images_only(L.RandomRotation(15 / 360, fill_mode="constant")),
        "cutout": lambda: _images_only(L.RandomCutout(0.5, 0.5)),
        "mixup": lambda: _dict_layer(L.MixUp()),
        "cutmix": lambda: _dict_layer(L.CutMix()),
        "augmix": lambda: _images_only(L.AugMix(value_range=(0, 1))),
        "randaugment": lambda: _images_only(L.RandAugment(value_range=(0, 1))),
    }


OURS = {
    "flip": "flip",
    "pad_crop": "pad_crop(pad=4)",
    "translate": "translate(max_fraction=0.1)",
    "rotate": "rotate(max_degrees=15)",
    "erasing": "erasing",
    "erasing_x3": "erasing(max_count=3)",
    "cutout": "cutout",
    "mixup": "mixup",
    "cutmix": "cutmix",
    "ricap": "ricap(per_image=False)",
    "ricap_per_image": "ricap(per_image=True)",
    "augmix": "augmix",
    "augmix_views3": "augmix(views=3)",
    "autoaugment": "autoaugment",
    "randaugment": "randaugment",
    "chain": "flip,pad_crop,erasing,ricap(per_image=False)",
    "chain_constant_fill": "flip,pad_crop,erasing(fill='constant'),ricap(per_image=False)",
}


def _images_only(layer):
    return lambda images, labels: layer(images, training=True)


def _dict_layer(layer):
    return lambda images, labels: layer({"images": images, "labels": labels}, training=True)["images"]


def _ours(spec):
    stack = AugmentStack(spec, seed=0)
    return lambda images, labels: stack(images, labels)[0]


def measure(fn, images, labels, jit, seconds):
    """Images/second of `fn` in a `tf.function` (None and the error if it fails)."""
    try:
        compiled = tf.function(fn, jit_compile=jit)
        compiled(images, labels).numpy()  # trace and compile
        compiled(images, labels).numpy()
        calls, start = 0, time.perf_counter()
        while True:
            compiled(images, labels).numpy()
            calls += 1
            elapsed = time.perf_counter() - start
            if elapsed >= seconds and calls >= 3 or elapsed >= 4 * seconds:
                return calls * images.shape[0] / elapsed, None
    except Exception as e:  # an alternative that cannot run here is reported, not fatal
        lines = [line.strip() for line in str(e).splitlines() if line.strip()]
        return None, f"{type(e).__name__}: {(lines or [''])[-1][:100]}"


def _import_keras_cv():
    path = os.environ.get("KERAS_CV_PATH")
    if path:
        sys.path.append(path)  # appended: never shadows this environment's packages
    try:
        import keras_cv
        return keras_cv, None
    except Exception as e:
        return None, f"keras-cv not importable ({type(e).__name__}: {str(e)[:80]})"


def _fmt(rate):
    return "n/a" if rate is None else f"{rate:,.0f}"


def _ratio(a, b):
    return "" if a is None or b is None else f"{a / b:,.2f}x"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time per measurement")
    parser.add_argument("--markdown", default=None, help="also write the table here (Markdown)")
    parser.add_argument("--only", default=None, help="comma-separated case names")
    args = parser.parse_args(argv)
    (x, y), _ = load_fashion_mnist()
    images = tf.constant(x[:BATCH, :, :, None].astype("float32") / 255.0)
    labels = tf.constant(np.eye(10, dtype="float32")[y[:BATCH]])
    keras_cases = _keras_cases()
    kcv, kcv_error = _import_keras_cv()
    kcv_cases = _kcv_cases(kcv) if kcv else {}
    names = list(OURS) if not args.only else args.only.split(",")
    header = ("| op | ours (img/s) | ours, XLA | Keras core | keras-cv | ours / Keras | "
              "ours / keras-cv |")
    lines = [header, "|" + "---|" * 7]
    notes = []
    print(f"TF {tf.__version__}, Keras {keras.__version__}, keras-cv "
          f"{kcv.__version__ if kcv else 'absent'}, batch {BATCH}, {os.cpu_count()} CPUs", flush=True)
    for name in names:
        ours, err = measure(_ours(OURS[name]), images, labels, False, args.seconds)
        ours_xla, err_xla = measure(_ours(OURS[name]), images, labels, True, args.seconds)
        for e in (err, err_xla):
            if e:
                notes.append(f"{name} (ours): {e}")
        best = max([r for r in (ours, ours_xla) if r is not None], default=None)
        core = cv = None
        if name in keras_cases:
            core, e = measure(keras_cases[name](), images, labels, False, args.seconds)
            if e:
                notes.append(f"{name} (Keras): {e}")
        if name in kcv_cases:
            # keras-cv's AugMix/RandAugment run per image in Python-chosen branches: slow, so short.
            cv, e = measure(kcv_cases[name](), images, labels, False, min(args.seconds, 0.5))
            if e:
                notes.append(f"{name} (keras-cv): {e}")
        line = (f"| {name} | {_fmt(ours)} | {_fmt(ours_xla)} | {_fmt(core)} | {_fmt(cv)} | "
                f"{_ratio(best, core)} | {_ratio(best, cv)} |")
        lines.append(line)
        print(line, flush=True)
    if kcv_error:
        notes.append(kcv_error)
    text = "\n".join(lines + [""] + [f"- {n}" for n in notes])
    print("\n".join(f"- {n}" for n in notes))
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
