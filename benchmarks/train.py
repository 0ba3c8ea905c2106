"""Training benchmark: our engine against plain Keras, on the real data, as same-process ratios.

Four parts, each printed as a Markdown table:

train     Training images/second of every model in --models (default mlp, cnn2 and
          resnet18 at width 16) for each precision (fp32, bf16 = the
          "mixed_bfloat16" policy) and XLA setting (--jit off/on), ours against
          plain Keras. Plain: the same `build_model` classifier (same policy),
          `model.compile("sgd", "sparse_categorical_crossentropy",
          jit_compile=<same setting>)`, no augmentation. Ours: what
          `training.runner` builds: `AugmentingTrainer(classifier, augment="")`
          compiled with `make_optimizer` (our PyTorch-style SGD, momentum 0.9),
          `make_loss` (categorical cross-entropy on one-hot rows the trainer
          makes from the integer labels) and an accuracy metric, at the
          `TrainConfig` defaults. Both call `fit` on the same batches (one
          `pipeline.make_dataset` stream; its order depends only on the seed),
          with the same `jit_compile`, so the ratio is the price of our train
          step (one-hot labels, momentum, metric, the wrapper model), not of a
          different input pipeline or compiler. Keras' own default
          (`jit_compile="auto"`) is off on a CPU and on on a GPU, so we set it.
augment   The cost of augmentation: step time of the same model (--augment-model,
          fp32, XLA off unless --augment-jit) with each stack in --augment
          applied on the device (inside the compiled train step) and on the host
          (`augment_on="host"`: mapped over batches in tf.data, overlapping the
          step), as a ratio to no augmentation. "augmix(views=3)" triples the
          batch the model sees (and adds the JSD loss), so most of its cost is
          the model, not the augmentation.
pipeline  Input pipeline alone, no model: `pipeline.make_dataset` iterated in
          Python (images/s), plain and with each augmentation stack mapped on the
          host, against a naive tf.data pipeline (`from_tensor_slices` + per-image
          `map` cast/scale with `num_parallel_calls=AUTOTUNE` + `batch` +
          `prefetch`), which is re-timed right before each row.
eval      `evaluate` and `predict` images/second (batches of 500, as the runner
          evaluates) of the same compiled models as the train part: ours is the
          trainer (loss on one-hot rows plus the accuracy metric; `predict`
          through the wrapper), plain the bare classifier.

Timing: a CPU shared with other jobs makes absolute numbers noisy, so every
table reports ratios of variants timed in the same process, interleaved:
all variants of one table (for one model) are traced first (--warmup steps,
not timed; the first step's time, tracing and XLA compilation included, is
reported), then timed in up to --rounds rounds, the order reversed every
other round. A round gives each variant one `fit` (or `evaluate`/`predict`)
call: a single probe step in the first round, then about --chunk-seconds of
steps (at most --steps); a variant leaves the race once it has
--variant-seconds of timed steps, so a 10-second bf16 step is timed once or
twice and a 5 ms MLP step a dozen times (the tables give the counts). A
call's first step, which also starts a fresh input iterator (and on the
host placement waits for a first augmented batch), is not timed unless
steps take 0.5 s or more; the probe counts only for such slow variants.
Step times come from batch-begin/end callbacks, so `fit`'s own set-up is
not counted. Ratios are of median step times, with the ratio of the
fastest steps beside them (other jobs only ever add time). The header line
names the CPU, the versions, the time and the 1-minute load average at
start and end.

Honest caveats: bf16 on a CPU without bf16 arithmetic (no AVX-512 BF16 or
AMX; the header says which) is emulated and slower than fp32; XLA on a CPU
is not always faster (our augmentation ops compile poorly there, see
benchmarks/augment.py); and `TF_ENABLE_ONEDNN_OPTS` (off by default on AMD
CPUs) changes every number, so the header reports it.

Usage:
    python benchmarks/train.py                         # default: ~8 min on 2 shared cores
    python benchmarks/train.py --quick                 # smoke run of every part, ~25 s
    python benchmarks/train.py --parts train,eval --models cnn2 --precisions fp32 --jit off
    python benchmarks/train.py --augment "flip,pad_crop;erasing,ricap(per_image=False)" --augment-model cnn2
    python benchmarks/train.py --markdown /tmp/train_bench.md
    TF_ENABLE_ONEDNN_OPTS=1 python benchmarks/train.py     # with oneDNN kernels, as `make demo`
"""

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, str(Path(__file__).resolve().parent))  # the train_*.py parts beside this file

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

# One module per job, beside this file: train_parts (the train, eval and augment parts),
# train_pipeline (the pipeline part), train_timing (timing variants), train_tables (the
# Markdown) and _train_common (what they share). This file is the command line.
from _train_common import PRECISIONS, model_label  # noqa: E402
from fmnist_keras import pipeline  # noqa: E402
from fmnist_keras.augment import parse_augment  # noqa: E402
from fmnist_keras.data import load_fashion_mnist  # noqa: E402
from fmnist_keras.models import list_models  # noqa: E402
from train_parts import bench_augment, bench_model  # noqa: E402
from train_pipeline import bench_pipeline  # noqa: E402
from train_tables import header, markdown  # noqa: E402

PARTS = ("train", "augment", "pipeline", "eval")

DEFAULTS = dict(models="mlp,cnn2,resnet18", width=16, precisions="fp32,bf16", eval_precisions="fp32",
                jit="off,on", eval_jit="off", augment="flip,pad_crop;erasing,ricap(per_image=False);augmix(views=3)",
                augment_model="resnet18", rounds=3, steps=8, warmup=1, chunk_seconds=1.0,
                variant_seconds=3.0, pipeline_seconds=0.3)
QUICK = dict(models="mlp", augment="flip,pad_crop", augment_model="mlp", rounds=3, steps=3,
             chunk_seconds=0.05, variant_seconds=0.1, pipeline_seconds=0.05)


def _list(text):
    return [s.strip() for s in text.split(",") if s.strip()]


def build_parser():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="\n".join(__doc__.splitlines()[2:]))
    d = DEFAULTS
    parser.add_argument("--quick", action="store_true", help="tiny smoke run of every part (< 1 min)")
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {', '.join(PARTS)}")
    parser.add_argument("--models", help=f"comma-separated (default {d['models']})")
    parser.add_argument("--width", type=int, default=d["width"], help="width of models that take one (16)")
    parser.add_argument("--precisions", help="train part: comma-separated, of fp32, bf16 (default both)")
    parser.add_argument("--eval-precisions", help="eval part: comma-separated (default fp32)")
    parser.add_argument("--jit", help="train part: XLA, comma-separated, of off, on (default both)")
    parser.add_argument("--eval-jit", help="eval part: XLA settings (default off)")
    parser.add_argument("--augment", help=f"stacks separated by ';' (default {d['augment']!r})")
    parser.add_argument("--augment-model", help=f"model of the augment part (default {d['augment_model']})")
    parser.add_argument("--augment-jit", action="store_true", help="XLA in the augment part")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--rounds", type=int, help=f"interleaved timing rounds ({d['rounds']})")
    parser.add_argument("--steps", type=int, help=f"most timed steps per variant and round ({d['steps']})")
    parser.add_argument("--warmup", type=int, help=f"untimed first steps per variant ({d['warmup']})")
    parser.add_argument("--chunk-seconds", type=float, help=f"length of a timed chunk ({d['chunk_seconds']})")
    parser.add_argument("--variant-seconds", type=float,
                        help=f"stop timing a variant after this much timed work ({d['variant_seconds']})")
    parser.add_argument("--pipeline-seconds", type=float, help=f"pipeline chunk ({d['pipeline_seconds']})")
    parser.add_argument("--markdown", default="", help="also write the Markdown tables here")
    return parser


def parse_args(argv=None):
    """The flags with the preset filled in and every name checked before any timing."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if keras.config.backend() != "tensorflow":
        parser.error(f"needs Keras' TensorFlow backend (tf.data, tf.function); this process runs "
                     f"{keras.config.backend()!r}: unset KERAS_BACKEND or set it to tensorflow")

    preset = QUICK if args.quick else {}
    for key, default in DEFAULTS.items():
        if getattr(args, key) is None:
            setattr(args, key, preset.get(key, default))
    args.parts = _list(args.parts)
    args.models = _list(args.models)
    args.precisions = _list(args.precisions)
    args.eval_precisions = _list(args.eval_precisions)
    args.augment = [s.strip() for s in args.augment.split(";") if s.strip()]
    jit_words = {"off": False, "on": True}
    bad = ([p for p in args.parts if p not in PARTS]
           + [m for m in args.models + [args.augment_model] if m not in list_models()]
           + [p for p in args.precisions + args.eval_precisions if p not in PRECISIONS]
           + [j for j in _list(args.jit) + _list(args.eval_jit) if j not in jit_words])
    if bad:
        parser.error(f"unknown value(s) {', '.join(bad)}; parts: {', '.join(PARTS)}; models: "
                     f"{', '.join(list_models())}; precisions: fp32, bf16; jit: off, on")
    args.jit = [jit_words[j] for j in _list(args.jit)]
    args.eval_jit = [jit_words[j] for j in _list(args.eval_jit)]
    for name in ("rounds", "steps", "warmup", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be >= 1")
    for stack in args.augment:
        try:
            parse_augment(stack)  # a bad stack fails before any timing
        except ValueError as e:
            parser.error(str(e))
    return args


def main(argv=None):
    """Runs the chosen parts and prints (and with --markdown writes) their tables."""
    args = parse_args(argv)
    tf.get_logger().setLevel("ERROR")  # "retracing" warnings: every variant traces its own functions
    load_start, t0 = os.getloadavg()[0], time.perf_counter()
    data = load_fashion_mnist()
    (x_train, y_train), _ = data
    report = {}
    if "train" in args.parts or "eval" in args.parts:
        train_ds = pipeline.make_dataset(x_train, y_train, args.batch_size, training=True, seed=0, epochs=1)
        results = []
        for name in args.models:
            cells = bench_model(name, args, data, train_ds)
            for cell in cells:
                cell["model_label"] = model_label(name, args.width)
            results.append(cells)
            keras.backend.clear_session()
        for part in ("train", "eval"):
            if part in args.parts:
                report[part] = results
    if "augment" in args.parts:
        report["augment"] = bench_augment(args, data)
        keras.backend.clear_session()
    if "pipeline" in args.parts:
        report["pipeline"] = bench_pipeline(args, data)
    text = markdown(report, args, header(load_start, os.getloadavg()[0], time.perf_counter() - t0))
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text + "\n")
    return report


if __name__ == "__main__":
    main()
