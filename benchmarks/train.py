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
    python benchmarks/train.py --augment "flip,pad_crop;erasing,ricap" --augment-model cnn2
    python benchmarks/train.py --markdown /tmp/train_bench.md
    TF_ENABLE_ONEDNN_OPTS=1 python benchmarks/train.py     # with oneDNN kernels, as `make demo`
"""

import argparse
import datetime
import math
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from fmnist_keras import pipeline  # noqa: E402
from fmnist_keras.augment import AugmentStack, parse_augment  # noqa: E402
from fmnist_keras.data import load_fashion_mnist  # noqa: E402
from fmnist_keras.models import build_model, list_models, model_knobs  # noqa: E402
from fmnist_keras import machine  # noqa: E402
from fmnist_keras.training.config import TrainConfig  # noqa: E402
from fmnist_keras.training.losses import make_loss  # noqa: E402
from fmnist_keras.training.optimizers import make_optimizer  # noqa: E402
from fmnist_keras.training.runner import dtype_policy  # noqa: E402
from fmnist_keras.training.schedules import make_schedule  # noqa: E402
from fmnist_keras.training.trainer import AugmentingTrainer  # noqa: E402

PARTS = ("train", "augment", "pipeline", "eval")
PRECISIONS = ("fp32", "bf16")
EVAL_BATCH = 500  # the runner evaluates in batches of max(batch_size, 500)
SLOW = 0.5  # seconds: from here on, a fresh iterator's first step is timed too (its extra ms are noise)

DEFAULTS = dict(models="mlp,cnn2,resnet18", width=16, precisions="fp32,bf16", eval_precisions="fp32",
                jit="off,on", eval_jit="off", augment="flip,pad_crop;erasing,ricap;augmix(views=3)",
                augment_model="resnet18", rounds=3, steps=8, warmup=1, chunk_seconds=1.0,
                variant_seconds=3.0, pipeline_seconds=0.3)
QUICK = dict(models="mlp", augment="flip,pad_crop", augment_model="mlp", rounds=3, steps=3,
             chunk_seconds=0.05, variant_seconds=0.1, pipeline_seconds=0.05)


def log(message):
    print(message, file=sys.stderr, flush=True)


class StepTimer(keras.callbacks.Callback):
    """Wall time of every batch, begin to end.

    Overriding the batch-end hooks keeps Keras from dispatching them
    asynchronously, and Keras converts the logs to Python numbers before
    calling them, so each time covers the finished step.
    """

    def __init__(self):
        super().__init__()
        self.times = []
        self._start = None

    def _begin(self, batch, logs=None):
        self._start = time.perf_counter()

    def _end(self, batch, logs=None):
        self.times.append(time.perf_counter() - self._start)

    on_train_batch_begin = on_test_batch_begin = on_predict_batch_begin = _begin
    on_train_batch_end = on_test_batch_end = on_predict_batch_end = _end


class Variant:
    """One thing to time: `chunk(n)` runs n steps in one call and returns their times (s)."""

    def __init__(self, label, chunk, host=False):
        self.label = label
        self._chunk = chunk
        self.host = host  # a host-side input map: the first step of a fresh iterator waits for it
        self.times = []
        self.first_step = None
        self.probe = None
        self.error = None

    def warmup(self, steps):
        if self.error:
            return
        try:
            self.first_step = self._chunk(max(steps, 1))[0]
        except Exception as e:  # a variant that cannot run here is reported, not fatal
            self.fail(e)

    def time(self, max_steps, chunk_seconds, budget):
        """One chunk of timed steps, unless this variant has had `budget` seconds already.

        A call's first step also starts a fresh input iterator (10-20 ms on
        two cores) and, on the host placement, waits for a first augmented
        batch, so it is run untimed unless steps take `SLOW` seconds or more.
        The first chunk is a single probe step that sizes the later chunks
        (about `chunk_seconds`, 1 to `max_steps` steps); it counts only for
        slow variants.
        """
        if self.error or sum(self.times) >= budget:
            return
        try:
            if self.probe is None:
                times = self._chunk(1 + self.host)[self.host:]
                self.probe = times[0]
                if self.probe >= SLOW:
                    self.times += times
                return
            est = self.step or self.probe
            n = max(1, min(max_steps, int(chunk_seconds / est)))
            drop = 1 if self.host or est < SLOW else 0
            self.times += self._chunk(n + drop)[drop:]
        except Exception as e:
            self.fail(e)

    def fail(self, e):
        self.error = _describe(e)
        log(f"  {self.label}: failed: {self.error}")

    @property
    def step(self):
        """Median step time (s), or None."""
        return float(np.median(self.times)) if self.times and not self.error else None

    @property
    def fastest(self):
        """Fastest step (s): contention from other jobs only ever adds time."""
        return float(np.min(self.times)) if self.times and not self.error else None


def _describe(e):
    lines = [line.strip() for line in str(e).splitlines() if line.strip()]
    return f"{type(e).__name__}: {(lines or [''])[-1][:120]}"


def race(variants, args, warmup=None):
    """Traces every variant, then times them interleaved, the order reversed every other round."""
    for v in variants:
        v.warmup(args.warmup if warmup is None else warmup)
    for r in range(args.rounds):
        for v in (variants if r % 2 == 0 else variants[::-1]):
            v.time(args.steps, args.chunk_seconds, args.variant_seconds)


def timed_chunk(method, dataset, **kwargs):
    """`n -> per-step times` of `method(dataset, <n steps>)`: a bound fit, evaluate or predict."""
    steps = "steps_per_epoch" if method.__name__ == "fit" else "steps"

    def chunk(n):
        timer = StepTimer()
        method(dataset, verbose=0, callbacks=[timer], **{steps: n}, **kwargs)
        return timer.times
    return chunk


def fit_chunk(model, dataset):
    return timed_chunk(model.fit, dataset, epochs=1, shuffle=False)


def knobs_for(name, width):
    return {"width": width} if "width" in model_knobs(name) else {}


def model_label(name, width):
    return f"{name} (width {width})" if knobs_for(name, width) else name


def build_plain(name, knobs, precision, jit):
    """The baseline: the same classifier, Keras' default compile, no augmentation."""
    with dtype_policy(precision):
        keras.utils.set_random_seed(0)
        model = build_model(name, **knobs)
        model.compile("sgd", "sparse_categorical_crossentropy", jit_compile=jit)
    return model


def build_ours(name, knobs, precision, jit, batch_size, augment="", augment_on="device"):
    """What `training.runner` builds: the trainer, our optimizer, loss, schedule and metric."""
    config = TrainConfig(model=name, batch_size=batch_size, precision=precision, jit=jit,
                         augment=augment, augment_on=augment_on)
    with dtype_policy(precision):
        keras.utils.set_random_seed(0)
        classifier = build_model(name, **knobs)
        trainer = AugmentingTrainer(classifier, augment, augment_on, seed=0, jsd_weight=config.jsd_weight)
        schedule = make_schedule(config, 60000 // batch_size)
        trainer.compile(optimizer=make_optimizer(config, schedule),
                        loss=make_loss(config.loss, config.head, config.label_smoothing),
                        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")], jit_compile=jit)
    return trainer


def bench_model(name, args, data, train_ds):
    """Train and eval variants of one model: every precision x XLA setting, plain and ours."""
    knobs = knobs_for(name, args.width)
    (_, _), (x_test, y_test) = data
    eval_ds = pipeline.make_dataset(x_test, y_test, EVAL_BATCH, training=False)
    predict_ds = eval_ds.map(lambda x, y: x)
    train_on = "train" in args.parts
    cells, train_variants, eval_variants = [], [], []
    for precision in PRECISIONS:
        for jit in (False, True):
            timed_train = train_on and precision in args.precisions and jit in args.jit
            timed_eval = "eval" in args.parts and precision in args.eval_precisions and jit in args.eval_jit
            if not (timed_train or timed_eval):
                continue
            cell = {"model": name, "precision": precision, "jit": jit}
            cells.append(cell)
            try:
                plain = build_plain(name, knobs, precision, jit)
                ours = build_ours(name, knobs, precision, jit, args.batch_size)
            except Exception as e:
                cell["error"] = _describe(e)
                continue
            tag = f"{name} {precision}{' XLA' if jit else ''}"
            if timed_train:
                cell["train"] = (Variant(f"{tag} plain fit", fit_chunk(plain, train_ds)),
                                 Variant(f"{tag} ours fit", fit_chunk(ours, train_ds)))
                train_variants += cell["train"]
            if timed_eval:
                cell["evaluate"] = (Variant(f"{tag} plain evaluate", timed_chunk(plain.evaluate, eval_ds)),
                                    Variant(f"{tag} ours evaluate", timed_chunk(ours.evaluate, eval_ds)))
                cell["predict"] = (Variant(f"{tag} plain predict", timed_chunk(plain.predict, predict_ds)),
                                   Variant(f"{tag} ours predict", timed_chunk(ours.predict, predict_ds)))
                eval_variants += cell["evaluate"] + cell["predict"]
    if train_variants:
        start = time.perf_counter()
        race(train_variants, args)
        log(f"{name}: train part {time.perf_counter() - start:.0f} s")
        for cell in cells:
            if "train" in cell:
                plain, ours = cell["train"]
                log(f"  {cell['precision']} jit={cell['jit']}: plain {_f(_ips(args.batch_size, plain.step))}, "
                    f"ours {_f(_ips(args.batch_size, ours.step))} img/s; timed steps {len(plain.times)}, "
                    f"{len(ours.times)}")
    if eval_variants:
        start = time.perf_counter()
        race(eval_variants, args, warmup=1)  # one batch traces; evaluation has no optimizer to build
        log(f"{name}: eval part {time.perf_counter() - start:.0f} s")
    for cell in cells:  # keep the numbers, drop the models
        for key in ("train", "evaluate", "predict"):
            if key in cell:
                cell[key] = tuple(_summary(v) for v in cell[key])
    return cells


def _summary(v):
    return {"step": v.step, "fastest": v.fastest, "first": v.first_step, "error": v.error, "n": len(v.times)}


def _ips(images, step):
    return None if step is None else images / step


def bench_augment(args, data):
    """Step time of one model with each stack on the device and on the host, vs none."""
    (x_train, y_train), _ = data
    name, jit = args.augment_model, args.augment_jit
    knobs = knobs_for(name, args.width)
    rows = []

    def add(stack, placement):
        trainer = build_ours(name, knobs, "fp32", jit, args.batch_size, stack, placement)
        host_map = trainer.augment_batch if placement == "host" else None
        ds = pipeline.make_dataset(x_train, y_train, args.batch_size, training=True, seed=0,
                                   batch_map=host_map, epochs=1)
        variant = Variant(f"{stack or 'none'} on {placement}", fit_chunk(trainer, ds), host=placement == "host")
        rows.append({"stack": stack, "placement": placement, "variant": variant,
                     "views": trainer.augmenter.views})

    add("", "device")
    for stack in args.augment:
        for placement in ("device", "host"):
            try:
                add(stack, placement)
            except Exception as e:
                rows.append({"stack": stack, "placement": placement, "views": 1,
                             "variant": None, "error": _describe(e)})
    start = time.perf_counter()
    race([r["variant"] for r in rows if r["variant"]], args)
    log(f"augment part ({model_label(name, args.width)}): {time.perf_counter() - start:.0f} s")
    for r in rows:
        v = r.pop("variant")
        r.update(_summary(v) if v else {"step": None, "fastest": None, "first": None, "n": 0})
    return rows


def naive_dataset(x, y, batch_size, shuffle=False):
    """The tutorial pipeline: per-image cast and scale, then batch."""
    def prep(image, label):
        return tf.cast(image[..., None], tf.float32) / 255.0, tf.cast(label, tf.int32)

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=0)
    return ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def time_iteration(make, batch_size, warmup, chunks, seconds):
    """Images/s of a fresh iterator of `make()`: median over `chunks` chunks after warmup batches."""
    it = iter(make().repeat())
    start = time.perf_counter()
    for _ in range(warmup):
        next(it)
    per_batch = (time.perf_counter() - start) / warmup
    n = max(2, min(200, math.ceil(seconds / max(per_batch, 1e-6))))
    times = []
    for _ in range(chunks):
        start = time.perf_counter()
        for _ in range(n):
            next(it)
        times.append(time.perf_counter() - start)
    del it
    return n * batch_size / float(np.median(times))


def bench_pipeline(args, data):
    (x_train, y_train), _ = data
    b = args.batch_size
    one_hot = lambda images, labels: (images, tf.one_hot(labels, 10))  # noqa: E731
    cases = [
        ("naive: from_tensor_slices + map(cast, scale; AUTOTUNE) + batch", lambda: naive_dataset(x_train, y_train, b)),
        ("naive + shuffle(60000) before the map", lambda: naive_dataset(x_train, y_train, b, shuffle=True)),
        ("ours, training (shuffled index batches, gather, cast once per batch)",
         lambda: pipeline.make_dataset(x_train, y_train, b, training=True, seed=0, epochs=1)),
        ("ours, evaluation order (no shuffle)",
         lambda: pipeline.make_dataset(x_train, y_train, b, training=False)),
    ]
    for stack in args.augment:
        def make(stack=stack):
            aug = AugmentStack(stack, seed=0)
            return pipeline.make_dataset(x_train, y_train, b, training=True, seed=0, epochs=1,
                                         batch_map=lambda images, labels: aug(*one_hot(images, labels)))
        cases.append((f"ours + host augmentation `{stack}`", make))
    warmup, chunks = 3, max(2, args.rounds)
    rows = []
    start = time.perf_counter()
    for label, make in cases:
        # The naive baseline is re-timed right before each row: each ratio compares neighbours.
        naive = time_iteration(cases[0][1], b, warmup, chunks, args.pipeline_seconds)
        try:
            speed, error = time_iteration(make, b, warmup, chunks, args.pipeline_seconds), None
        except Exception as e:
            speed, error = None, _describe(e)
        rows.append({"label": label, "ips": speed, "naive": naive, "error": error})
        log(f"pipeline: {label}: {speed and round(speed)} img/s (naive {naive:.0f})")
    log(f"pipeline part: {time.perf_counter() - start:.0f} s")
    return rows


# ---------------------------------------------------------------------------- output

def _f(x, digits=0):
    return "n/a" if x is None else f"{x:,.{digits}f}"


def _r(a, b):
    return "" if a is None or b is None else f"{a / b:.2f}x"


def _speedup(ours, base):
    """Speed ratio ours/base from step times: medians, and fastest steps in brackets."""
    if ours["step"] is None or base["step"] is None:
        return ""
    return f"{base['step'] / ours['step']:.2f}x ({base['fastest'] / ours['fastest']:.2f}x)"


def _errors(pairs):
    return "; ".join(f"{k}: {v['error']}" for k, v in pairs if v["error"])


def _jit(cell):
    return "on" if cell["jit"] else "off"


def train_table(results, args):
    b = args.batch_size
    lines = [
        "| model | precision | XLA | plain Keras img/s | ours img/s | ours / plain | ours vs own fp32 | "
        "timed steps (plain / ours) | first step s (plain / ours) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for cells in results:
        base = {c["jit"]: c["train"][1] for c in cells if c["precision"] == "fp32" and "train" in c}
        for cell in cells:
            head = f"| {cell['model_label']} | {cell['precision']} | {_jit(cell)} "
            if "error" in cell:
                lines.append(head + f"| build failed: {cell['error']} | | | | | |")
                continue
            if "train" not in cell:
                continue
            plain, ours = cell["train"]
            pi, oi = _ips(b, plain["step"]), _ips(b, ours["step"])
            vs_fp32 = _speedup(ours, base[cell["jit"]]) if cell["jit"] in base else ""
            errors = _errors((("plain", plain), ("ours", ours)))
            lines.append(head + f"| {_f(pi)} | {_f(oi)} | {_speedup(ours, plain)} | {vs_fp32} | {plain['n']} / {ours['n']} "
                         f"| {_f(plain['first'], 1)} / {_f(ours['first'], 1)} |" + (f" {errors}" if errors else ""))
    return lines


def eval_table(results, args):
    lines = [
        "| model | precision | XLA | evaluate plain img/s | evaluate ours | ours / plain | "
        "predict plain img/s | predict ours | ours / plain | timed batches |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cells in results:
        for cell in cells:
            if "evaluate" not in cell:
                continue
            row = f"| {cell['model_label']} | {cell['precision']} | {_jit(cell)} "
            counts, errors = [], []
            for key in ("evaluate", "predict"):
                plain, ours = cell[key]
                pi, oi = _ips(EVAL_BATCH, plain["step"]), _ips(EVAL_BATCH, ours["step"])
                row += f"| {_f(pi)} | {_f(oi)} | {_speedup(ours, plain)} "
                counts += [plain["n"], ours["n"]]
                errors.append(_errors(((f"{key} plain", plain), (f"{key} ours", ours))))
            errors = "; ".join(e for e in errors if e)
            lines.append(row + f"| {min(counts)}-{max(counts)} |" + (f" {errors}" if errors else ""))
    return lines


def augment_table(rows, args):
    b = args.batch_size
    none = rows[0]
    lines = ["| augmentation | placement | step ms | source images/s | step time vs none | timed steps |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        note = f" (the model sees {r['views']}x the batch)" if r["views"] > 1 else ""
        step = r["step"]
        slower = "" if none["step"] is None else (
            f"{step / none['step']:.2f}x ({r['fastest'] / none['fastest']:.2f}x)")
        cells = (f"{_f(step and step * 1000, 1)} | {_f(_ips(b, step))} | {slower} | {r['n']}"
                 if step else f"failed: {r.get('error')} | | | ")
        lines.append(f"| `{r['stack'] or 'none'}`{note} | {r['placement']} | {cells} |")
    return lines


def pipeline_table(rows):
    lines = ["| pipeline | images/s | vs naive (re-timed just before) |", "|---|---:|---:|"]
    for r in rows:
        speed = _f(r["ips"]) if r["ips"] else f"failed: {r['error']}"
        lines.append(f"| {r['label']} | {speed} | {_r(r['ips'], r['naive'])} |")
    return lines


def bf16_hardware():
    have = [flag for flag in machine.cpu_flags() if flag in ("avx512_bf16", "amx_bf16")]
    return ", ".join(have) if have else "none (no avx512_bf16/amx_bf16 flag)"


def header(load_start, load_end, seconds):
    cores = machine.usable_cores()
    gpus = tf.config.list_physical_devices("GPU")
    device = f", GPU: {', '.join(g.name for g in gpus)}" if gpus else ""
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
    return (f"Measured {datetime.datetime.now().isoformat(sep=' ', timespec='minutes')} on {machine.cpu_model()}, "
            f"{cores} cores{device}; TensorFlow {tf.__version__}, Keras {keras.__version__}; "
            f"TF_ENABLE_ONEDNN_OPTS={onednn}; bf16 hardware: {bf16_hardware()}; "
            f"1-min load average {load_start:.2f} at start, {load_end:.2f} at end; "
            f"{seconds:.0f} s in all.")


def _timing(args, one="step"):
    return (f"median of per-{one} times, timed interleaved in up to {args.rounds} rounds (first chunk "
            f"one {one}, later ones about {args.chunk_seconds:g} s, at most {args.steps} {one}es) until "
            f"a variant has {args.variant_seconds:g} s of timed {one}es").replace("stepes", "steps")


def markdown(report, args, head):
    b = args.batch_size
    lines = ["## Training benchmarks", "", head, "",
             "Ratios are of median step times, with the ratio of the fastest steps in brackets (other jobs "
             "only ever add time, so the fastest steps are the least disturbed); above 1x means faster "
             "(train, eval) or slower (augmentation).", ""]
    if "train" in report:
        lines += [f"### Training throughput (batch {b})", "",
                  "`fit` on the same real batches. Plain: the `build_model` classifier compiled with "
                  "`compile(\"sgd\", \"sparse_categorical_crossentropy\")`; ours: `AugmentingTrainer` (no "
                  "augmentation) with the runner's optimizer (SGD, momentum 0.9), loss (cross-entropy on "
                  "one-hot rows) and accuracy metric; both with the same `jit_compile` and dtype policy. "
                  f"After {args.warmup} untimed warmup step(s), {_timing(args)}. \"ours vs own fp32\": our "
                  "step at fp32 / our step here, same XLA setting. \"first step\": tracing (and XLA "
                  "compilation) plus one step.", ""]
        lines += train_table(report["train"], args) + [""]
    if "augment" in report:
        lines += [f"### Cost of augmentation ({model_label(args.augment_model, args.width)}, fp32, XLA "
                  f"{'on' if args.augment_jit else 'off'}, batch {b})", "",
                  "Our trainer's step time with each stack on the device (inside the train step) or on the "
                  "host (a tf.data map that overlaps the step, on the same cores), as a ratio to no "
                  f"augmentation; {_timing(args)}.", ""]
        lines += augment_table(report["augment"], args) + [""]
    if "pipeline" in report:
        lines += [f"### Input pipeline alone (batch {b}, no model)", "",
                  "Batches pulled in Python from a fresh iterator after 3 warmup batches; median of "
                  f"{max(2, args.rounds)} chunks of about {args.pipeline_seconds:g} s. The naive pipeline is "
                  "re-timed just before every row.", ""]
        lines += pipeline_table(report["pipeline"]) + [""]
    if "eval" in report:
        xla = "/".join("XLA " + ("on" if j else "off") for j in args.eval_jit)
        lines += [f"### Evaluation throughput (batch {EVAL_BATCH}, {', '.join(args.eval_precisions)}, {xla})", "",
                  "The models of the training table; `evaluate` and `predict` on test batches after one "
                  f"warmup batch; {_timing(args, 'batch')}. Ours evaluates the loss on one-hot rows plus "
                  "accuracy, and predicts through the trainer (the runner predicts with the bare classifier, "
                  "i.e. plain Keras).", ""]
        lines += eval_table(report["eval"], args) + [""]
    return "\n".join(lines)


def _list(text):
    return [s.strip() for s in text.split(",") if s.strip()]


def main(argv=None):
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
