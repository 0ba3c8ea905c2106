"""The parts that time a model: train and eval (plain Keras against our trainer, per precision
and XLA setting) and augment (each stack on the device and on the host, against none)."""

import time

import keras

from _train_common import EVAL_BATCH, PRECISIONS, describe, fmt, ips, knobs_for, log, model_label
from fmnist_keras import pipeline
from fmnist_keras.models import build_model
from fmnist_keras.training.config import TrainConfig
from fmnist_keras.training.losses import make_loss
from fmnist_keras.training.optimizers import make_optimizer
from fmnist_keras.training.runner import dtype_policy
from fmnist_keras.training.schedules import make_schedule
from fmnist_keras.training.trainer import AugmentingTrainer
from train_timing import Variant, fit_chunk, race, summarize, timed_chunk


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
                cell["error"] = describe(e)
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
                log(f"  {cell['precision']} jit={cell['jit']}: plain {fmt(ips(args.batch_size, plain.step))}, "
                    f"ours {fmt(ips(args.batch_size, ours.step))} img/s; timed steps {len(plain.times)}, "
                    f"{len(ours.times)}")
    if eval_variants:
        start = time.perf_counter()
        race(eval_variants, args, warmup=1)  # one batch traces; evaluation has no optimizer to build
        log(f"{name}: eval part {time.perf_counter() - start:.0f} s")
    for cell in cells:  # keep the numbers, drop the models
        for key in ("train", "evaluate", "predict"):
            if key in cell:
                cell[key] = tuple(summarize(v) for v in cell[key])
    return cells


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
                             "variant": None, "error": describe(e)})
    start = time.perf_counter()
    race([r["variant"] for r in rows if r["variant"]], args)
    log(f"augment part ({model_label(name, args.width)}): {time.perf_counter() - start:.0f} s")
    for r in rows:
        v = r.pop("variant")
        r.update(summarize(v) if v else {"step": None, "fastest": None, "first": None, "n": 0})
    return rows
