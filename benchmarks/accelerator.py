"""Accelerator benchmark without TensorFlow: our trainer against plain Keras `fit`, as ratios.

Built for the GPU machine (JAX, no TensorFlow), where the question is how much
of the chip a run uses. In one process, on the same model, precision and
batches (`batches.ArrayBatches` over the real training images), it times:

plain      the bare classifier, `compile(SGD(momentum=0.9), sparse categorical
           cross-entropy)`, `fit` (Keras' own loop, XLA on JAX);
ours spe=k what the recipes build (`runner.build_trainer`: AugmentingTrainer,
           our optimizer, schedule, loss and metric) with `--augment` inside the
           step and k train steps per compiled call (`--steps-per-execution`),
           with the images on the host (copied each step) and, on JAX, resident
           on the device (`--data-on device`: each batch gathered there).

Each variant is compiled and warmed up first (not timed), then timed over
`--steps` steps in `--rounds` interleaved rounds (order reversed every other
round); the table gives the median images/second, the ratio to plain, and
the achieved training FLOP rate: 6 x the model's multiply-adds per image
(forward, and twice that backward; `models.count_mult_adds` counts convolutions
and dense layers) x images/second, as a fraction of `--peak-tflops` when given
(the chip's dense peak for the dtype used: e.g. an H200's ~990 TFLOP/s bf16).

Usage:
    KERAS_BACKEND=jax python benchmarks/accelerator.py --model resnet18 --width 64 --batch-size 256 \\
        --precision bf16 --peak-tflops 990 --spe 1,8
    KERAS_BACKEND=jax python benchmarks/accelerator.py --quick     # smoke run on a CPU, ~1 min
"""

import argparse
import dataclasses
import statistics
import sys
import time

import keras

from fmnist_keras.batches import ArrayBatches
from fmnist_keras.data import load_fashion_mnist
from fmnist_keras.models import build_model, count_mult_adds, model_knobs
from fmnist_keras import machine
from fmnist_keras.training import runner
from fmnist_keras.training.config import TrainConfig

QUICK = dict(model="mlp", width=None, batch_size=64, steps=4, rounds=1, spe="1,2", augment="flip")


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python benchmarks/accelerator.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="resnet18", help="a model name (default: resnet18)")
    parser.add_argument("--width", type=int, default=64, help="width knob, for models that take one (default: 64)")
    parser.add_argument("--batch-size", type=int, default=256, help="images per step (default: 256)")
    parser.add_argument("--precision", default="fp32", choices=("fp32", "bf16"), help="dtype policy (default: fp32)")
    parser.add_argument("--augment", default="erasing(prob=0.5),ricap(beta=0.1, per_image=False)",
                        help="our trainer's augmentation stack (default: report 000's)")
    parser.add_argument("--spe", default="1,8", help="steps per compiled call of ours, comma list (default: 1,8)")
    parser.add_argument("--data-on", default="host,device",
                        help="where ours keeps the training images, comma list of host, device (device: JAX, "
                             "one device; default: host,device)")
    parser.add_argument("--steps", type=int, default=48, help="timed steps per variant and round (default: 48)")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds (default: 3)")
    parser.add_argument("--peak-tflops", type=float, default=None,
                        help="the chip's dense peak for the dtype, to report the fraction used")
    parser.add_argument("--quick", action="store_true", help="a CPU smoke run: mlp, 4 steps, one round")
    args = parser.parse_args(argv)
    if args.quick:
        for name, value in QUICK.items():
            setattr(args, name, value)
    args.spe = [int(k) for k in str(args.spe).split(",") if k.strip()]
    args.data_on = [d.strip() for d in args.data_on.split(",") if d.strip()]
    if not set(args.data_on) <= {"host", "device"} or not args.data_on:
        parser.error(f"--data-on must be a comma list of host, device. Received: {args.data_on}")
    bad = [k for k in args.spe if k < 1 or args.steps % k]
    if bad or args.steps < 1 or args.rounds < 1:
        parser.error(f"--spe values must be >= 1 and divide --steps; --steps and --rounds >= 1. "
                     f"Received: spe={args.spe}, steps={args.steps}, rounds={args.rounds}")
    return args


@dataclasses.dataclass(frozen=True)
class BenchConfig(TrainConfig):
    """The recipes' config plus the width knob (passed only to models that take it)."""

    width: int = 64


def variants(args, input_shape):
    """`{name: compiled model}` under one dtype policy, and the model's multiply-adds per image."""
    knobs = {"width": args.width} if args.width and "width" in model_knobs(args.model) else {}
    built = {}
    with runner.dtype_policy(args.precision):
        plain = build_model(args.model, input_shape=input_shape, **knobs)
        plain.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9),
                      loss="sparse_categorical_crossentropy", jit_compile=True)
        built["plain"] = plain
        for data_on in args.data_on:
            for k in args.spe:
                config = BenchConfig(model=args.model, width=args.width or 64, batch_size=args.batch_size,
                                     augment=args.augment, precision=args.precision, steps_per_execution=k,
                                     schedule="constant", lr=0.01, clean_train_size=0)
                _, built[f"ours {data_on} spe={k}"] = runner.build_trainer(config, input_shape, args.steps)
    return built, count_mult_adds(plain)


def time_fit(model, batches, steps):
    start = time.perf_counter()
    model.fit(batches, epochs=1, steps_per_epoch=steps, verbose=0, shuffle=False)
    return time.perf_counter() - start


def main(argv=None):
    args = parse_args(argv)
    (x, y), _ = load_fashion_mnist()
    n = args.steps * args.batch_size
    if n > len(x):
        raise SystemExit(f"--steps x --batch-size must be <= {len(x)} images. Received: {n}")
    host = ArrayBatches(x[:n], y[:n], args.batch_size, training=True, seed=0)
    resident = (ArrayBatches(x[:n], y[:n], args.batch_size, training=True, seed=0, on_device=True)
                if "device" in args.data_on else None)
    models, macs = variants(args, x.shape[1:] + (1,))
    feeds = {name: resident if " device " in name else host for name in models}
    for name, model in models.items():  # compile and warm up: not timed
        time_fit(model, feeds[name], args.steps)
    seconds = {name: [] for name in models}
    for r in range(args.rounds):
        for name in (list(models) if r % 2 == 0 else list(models)[::-1]):
            seconds[name].append(time_fit(models[name], feeds[name], args.steps))
    devices = keras.config.backend()
    if devices == "jax":
        import jax

        devices += ", " + ", ".join(sorted({d.device_kind for d in jax.devices()}))
    print(f"model {args.model} (width {args.width}), batch {args.batch_size}, {args.precision}, "
          f"augment {args.augment!r}, {macs / 1e6:,.1f}M multiply-adds per image; {devices}; CPU {machine.cpu_model()}; "
          f"median of {args.rounds} rounds of {args.steps} steps")
    print("| variant | images/s | vs plain | TFLOP/s | of peak |")
    print("|---|---|---|---|---|")
    plain = n / statistics.median(seconds["plain"])
    for name, times in seconds.items():
        rate = n / statistics.median(times)
        tflops = 6 * macs * rate / 1e12
        peak = f"{tflops / args.peak_tflops:.1%}" if args.peak_tflops else "–"
        print(f"| {name} | {rate:,.0f} | {rate / plain:.2f}x | {tflops:.2f} | {peak} |")
    return seconds


if __name__ == "__main__":
    main(sys.argv[1:])
