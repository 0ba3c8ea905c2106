"""`fit_and_evaluate(config)`: the one training loop every recipe shares.

Loads the real data, splits, builds the model and the trainer (inside the
config's data parallelism and dtype policy), compiles with the
config's optimizer, schedule and loss, fits with the standard callbacks,
tests the best-validation weights and writes the run folder: config.json,
history.csv, results.json, model.keras, curves.png, confusion.png, lr.png.
With `repeats > 1` it runs seeds `seed, seed+1, ...` in sub-folders and
reports mean +- std. It returns a `results.RunResults`.

The runner trains and reports; it knows nothing of shipping or evaluation.
What happens to the tested classifier next is the caller's: `finish` stages
`fn(classifier, run_dir, config) -> {results field: value}` run before
results.json is written (the recipes pass their `--export` stage, see
`recipes/_cli.py`), and `--evaluate` runs from the written folder after.

Under data parallelism over several processes (JAX, see
`training.distributed`) every process trains and tests, but only process 0
writes the run folder; the others keep their files in a temporary folder
that they remove, and read the shared run folder only to resume.
"""

import contextlib
import json
import hashlib
import logging
import shutil
import sys
import tempfile
import time
from pathlib import Path

import keras
import numpy as np

from fmnist_keras import batches, data, machine, pipeline, run_folder
from fmnist_keras.models import build_model
from fmnist_keras.results import RunResults
from fmnist_keras.training import distributed
from fmnist_keras.training.callbacks import (
    BestClassifierCheckpoint, CleanTrainMetrics, ResumableEarlyStopping, SameLogsEverywhere, StopOnNaN)
from fmnist_keras.training.config import config_record, load_config
from fmnist_keras.training.losses import make_loss
from fmnist_keras.training.optimizers import make_optimizer
from fmnist_keras.training.schedules import make_schedule, plot_schedule
from fmnist_keras.training.trainer import AugmentingTrainer

logger = logging.getLogger(__name__)

BACKUP = "backup"
_POLICIES = {"fp32": "float32", "bf16": "mixed_bfloat16", "fp16": "mixed_float16"}


def load_splits(config):
    """Train/val/test uint8 arrays from the real data, per the config."""
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(config.data_dir or None)
    if config.val_size:
        (x_train, y_train), (x_val, y_val) = pipeline.train_val_split(
            x_train, y_train, config.val_size, seed=config.seed)
    else:
        x_val, y_val = x_train[:0], y_train[:0]
    if config.limit_train:
        x_train, y_train = pipeline.limit_train(x_train, y_train, config.limit_train, seed=config.seed)
    return (x_train, y_train), (x_val, y_val), (x_test, y_test)


def uses_tensorflow():
    """Whether the Keras backend is TensorFlow (`tf.data`, `tf.distribute`, export)."""
    return keras.config.backend() == "tensorflow"


def check_backend(config):
    """Fails before any work on knobs the current Keras backend (or launch) cannot honour."""
    backend = keras.config.backend()
    distributed.check_strategy(config.strategy, backend)
    if config.data_on == "device" and (backend != "jax" or config.strategy != "none"):
        raise ValueError(
            "data_on='device' keeps the training images on the one device of a JAX run (tf.data already "
            f"prefetches batches to the device on TensorFlow); this run has backend {backend!r} and "
            f"strategy {config.strategy!r}. Received: data_on='device'; use --data-on host here")
    if uses_tensorflow():
        return
    needs_tf = {"strategy": config.strategy == "mirrored", "augment_on": config.augment_on == "host",
                "export": config.export}
    for name, needed in needs_tf.items():
        if needed:
            raise ValueError(
                f"{name}={getattr(config, name)!r} needs the TensorFlow backend (tf.distribute, tf.data "
                f"or the TFLite converter); this process runs Keras on {backend!r}. Use the defaults "
                f"(augment_on='device', --no-export), strategy 'none' or 'data_parallel' (JAX's name for "
                f"several devices), or KERAS_BACKEND=tensorflow.")


def make_batches(x, y, batch_size, on_device=False, **kwargs):
    """`tf.data` on the TensorFlow backend, NumPy `PyDataset` batches elsewhere (JAX).

    `on_device` (JAX) keeps the images on the device; `check_backend` refuses it elsewhere.
    """
    if uses_tensorflow():
        return pipeline.make_dataset(x, y, batch_size, **kwargs)
    kwargs.pop("batch_map", None)  # host placement is refused earlier (check_backend)
    return batches.ArrayBatches(x, y, batch_size, on_device=on_device, **kwargs)


@contextlib.contextmanager
def dtype_policy(precision):
    """Sets the global dtype policy for the block and restores it after."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(_POLICIES[precision])
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)


def fit_and_evaluate(config, recipe="run", verbose="auto", finish=()):
    """Trains and tests one model (or `config.repeats` seeds); returns its `RunResults`.

    Args:
        config: a `TrainConfig` (or a recipe's subclass).
        recipe: the recipe name (default run folder and titles).
        verbose: Keras' fit verbosity; "auto" is a progress bar on a terminal
            and one line per epoch in logs and CI.
        finish: stages run on each tested classifier before its results.json is
            written, `fn(classifier, run_dir, config) -> {field: value}` (e.g. an export).
    """
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    check_backend(config)
    if config.repeats == 1:
        return _single_run(config, recipe, verbose, finish)
    return _repeated_runs(config, recipe, verbose, finish)


def _repeated_runs(config, recipe, verbose, finish):
    load_splits(config)  # fail on bad data before any folder exists
    parallel = distributed.make_parallelism(config.strategy)
    top = _shared_run_dir(parallel, config.output_dir, recipe)
    if parallel.is_primary:
        run_folder.write_json(top / "config.json", config_record(recipe, config))
    runs = []
    for k in range(config.repeats):
        seed = config.seed + k
        sub = config.replace(seed=seed, repeats=1, output_dir=str(top / f"seed{seed}"))
        runs.append(_single_run(sub, recipe, verbose, finish))
    accs = np.array([r.test_accuracy for r in runs])
    summary = RunResults(
        recipe=recipe,
        model=config.model,
        repeats=config.repeats,
        test_accuracy=float(accs.mean()),
        test_accuracy_std=float(accs.std(ddof=1)),
        test_accuracies=accs.tolist(),
        epochs_run=[r.epochs_run for r in runs],
        train_seconds=round(sum(r.train_seconds for r in runs), 2),
        best_val_accuracy=(float(np.mean([r.best_val_accuracy for r in runs]))
                           if runs[0].best_val_accuracy is not None else None),
        train_images_per_second=float(np.mean([r.train_images_per_second for r in runs])),
        run_dir=str(top),
        runs=[r.run_dir for r in runs],
        environment=machine.environment(),
    )
    if parallel.is_primary:
        summary.write()
    return summary


def _shared_run_dir(parallel, output_dir, recipe):
    """Process 0 makes the run folder; every process gets its path, or process 0's error.

    The others must not check the folder themselves: process 0 may have made it
    already. They raise process 0's error instead of waiting for a collective
    step that process 0 never reaches.
    """
    if parallel.num_processes == 1:
        return run_folder.make_run_dir(output_dir, recipe)
    made, error = "", ""
    if parallel.is_primary:
        try:
            made = str(run_folder.make_run_dir(output_dir, recipe))
        except (FileExistsError, OSError) as e:
            error = str(e)
    error = distributed.broadcast_text(error)
    if error:
        raise FileExistsError(error)
    return Path(distributed.broadcast_text(made))


@contextlib.contextmanager
def _own_folder(parallel, run_dir, resume):
    """Where this process writes: the run folder on process 0, a temporary folder elsewhere.

    A resumed run's other processes start from copies of the shared history
    and backup, so that their callbacks restore the same state as process 0.
    """
    if parallel.is_primary:
        yield run_dir
        return
    own = Path(tempfile.mkdtemp(prefix=f"fmnist-process{parallel.process_id}-"))
    try:
        if resume:
            if (run_dir / "history.csv").is_file():
                shutil.copy(run_dir / "history.csv", own / "history.csv")
            if (run_dir / BACKUP).is_dir():
                shutil.copytree(run_dir / BACKUP, own / BACKUP)
        yield own
    finally:
        shutil.rmtree(own, ignore_errors=True)


def weights_digest(model):
    """SHA-256 of the model's weights: equal on every process of a data-parallel run."""
    digest = hashlib.sha256()
    for weight in model.get_weights():
        digest.update(np.ascontiguousarray(weight).tobytes())
    return digest.hexdigest()


def _single_run(config, recipe, verbose, finish=(), resume=False):
    # Kept whole (66 lines): one call per step, load -> build -> fit -> test -> record, and the
    # record is a flat list of fields; split further, the steps' order would be harder to follow.
    start = time.time()
    keras.utils.set_random_seed(config.seed)
    # Data and model first: a bad data folder or knob fails before a run folder exists.
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_splits(config)
    check_backend(config)
    parallel = distributed.make_parallelism(config.strategy)
    if parallel.shards_data and config.batch_size % parallel.device_count:
        raise ValueError(f"batch_size must divide evenly between the {parallel.device_count} devices of "
                         f"strategy={config.strategy!r}. Received: batch_size={config.batch_size!r}")
    input_shape = x_train.shape[1:] + (1,)
    steps_per_epoch = len(x_train) // config.batch_size
    check_steps_per_execution(config, steps_per_epoch)
    with dtype_policy(config.precision), parallel.scope():
        classifier, trainer = build_trainer(config, input_shape, steps_per_epoch)
    run_dir, first_epoch = _open_run_dir(config, parallel, recipe, resume)
    with _own_folder(parallel, run_dir, resume) as own_dir:
        history, train_seconds, best_weights = _fit(
            config, parallel, trainer, classifier, own_dir, first_epoch, verbose,
            (x_train, y_train), (x_val, y_val), steps_per_epoch)
    epochs_run = len(history["loss"])
    if parallel.shards_data:
        # Test on one device in every process: no collectives, the same numbers everywhere.
        with dtype_policy(config.precision):
            classifier, trainer = build_trainer(config, input_shape, steps_per_epoch)
    classifier.set_weights(best_weights)
    digest = weights_digest(classifier)
    if parallel.num_processes > 1:
        logger.info("process %d/%d: tested weights sha256 %s", parallel.process_id, parallel.num_processes,
                    digest)
    test, predictions = _test(config, classifier, trainer, x_test, y_test)

    val_acc = history.get("val_accuracy")
    results = RunResults(
        recipe=recipe,
        model=config.model,
        parameters=classifier.count_params(),
        augment=config.augment,
        test_accuracy=test["accuracy"],
        test_loss=test["loss"],
        best_val_accuracy=max(val_acc) if val_acc else None,
        best_epoch=int(np.argmax(val_acc)) + 1 if val_acc else epochs_run,
        epochs_run=epochs_run,
        resumed_at_epoch=first_epoch or None,
        train_images=len(x_train),
        train_seconds=round(train_seconds, 2),
        train_images_per_second=round(
            (epochs_run - first_epoch) * steps_per_epoch * config.batch_size / train_seconds, 1),
        strategy=config.strategy,
        replicas=parallel.device_count,
        processes=parallel.num_processes,
        weights_sha256=digest,
        run_dir=str(run_dir),
        environment=machine.environment(),
    )
    if not parallel.is_primary:
        return results.replace(wall_seconds=round(time.time() - start, 2))
    run_folder.plot_curves(history, run_dir / "curves.png", title=f"{recipe}: {config.model}")
    per_class = run_folder.plot_confusion(y_test, predictions, data.CLASS_NAMES, run_dir / "confusion.png")
    plot_schedule(config, steps_per_epoch, run_dir / "lr.png")
    results = results.replace(per_class_accuracy=dict(zip(data.CLASS_NAMES, per_class)),
                              wall_seconds=round(time.time() - start, 2))
    for stage in finish:  # what the caller composes after testing (the recipes: export)
        results = results.replace(**stage(classifier, run_dir, config))
    results.write()
    return results


def _open_run_dir(config, parallel, recipe, resume):
    """`(run_dir, first_epoch)`: a resumed run's own folder and epoch, or a fresh folder with config.json."""
    if resume:
        run_dir = Path(config.output_dir)
        return run_dir, resume_point(run_dir)
    run_dir = _shared_run_dir(parallel, config.output_dir, recipe)
    if parallel.is_primary:
        run_folder.write_json(run_dir / "config.json", config_record(recipe, config))
    return run_dir, 0


def _test(config, classifier, trainer, x_test, y_test):
    """`(metrics, predicted classes)` of the tested weights on the test set."""
    test_ds = make_batches(x_test, y_test, max(config.batch_size, 500), training=False)
    test = trainer.evaluate(test_ds, verbose=0, return_dict=True)
    return test, classifier.predict(test_ds, verbose=0).argmax(axis=1)


def _fit(config, parallel, trainer, classifier, own_dir, first_epoch, verbose, train, val, steps_per_epoch):
    """Fits inside the parallelism's scope, writing logs and checkpoints to `own_dir`.

    Returns `(history, train_seconds, weights)`: the history read back from
    history.csv and the classifier weights to test (the best validation
    epoch's, or the last epoch's without validation data).
    """
    (x_train, y_train), (x_val, y_val) = train, val
    has_val = len(x_val) > 0
    part = parallel.batch_part()  # this process's part of each global batch (JAX data parallelism)
    past = run_folder.read_history(own_dir / "history.csv") if first_epoch else {}
    host_map = trainer.augment_batch if config.augment_on == "host" else None
    train_ds = make_batches(x_train, y_train, config.batch_size, training=True, seed=config.seed,
                            batch_map=host_map, epochs=config.epochs, first_epoch=first_epoch,
                            on_device=config.data_on == "device", **part)
    eval_batch = max(config.batch_size, 500)
    val_ds = make_batches(x_val, y_val, eval_batch, training=False, **part) if has_val else None

    callbacks = []
    if config.clean_train_size:  # first: the callbacks after it read its logs
        n = min(config.clean_train_size, len(x_train))
        callbacks.append(CleanTrainMetrics(
            make_batches(x_train[:n], y_train[:n], eval_batch, training=False, **part)))
    if parallel.num_processes > 1:  # before the callbacks that decide from the logs
        callbacks.append(SameLogsEverywhere(distributed.check_same_everywhere))
    nan_guard = StopOnNaN()
    callbacks += [nan_guard, keras.callbacks.CSVLogger(str(own_dir / "history.csv"), append=bool(first_epoch))]
    if has_val:
        callbacks.append(BestClassifierCheckpoint(
            classifier, own_dir / "model.keras", best=max(past.get("val_accuracy", []), default=None)))
        if config.patience:
            callbacks.append(ResumableEarlyStopping(past.get("val_accuracy", []), patience=config.patience))
    if config.tensorboard and parallel.is_primary:
        callbacks.append(keras.callbacks.TensorBoard(str(own_dir / "tensorboard")))
    # Last, so that it saves after the epoch's logs and checkpoint are written.
    callbacks.append(keras.callbacks.BackupAndRestore(str(own_dir / BACKUP), save_freq="epoch"))

    with parallel.scope():
        fit_start = time.time()
        trainer.fit(train_ds, epochs=config.epochs, steps_per_epoch=steps_per_epoch, initial_epoch=first_epoch,
                    validation_data=val_ds, callbacks=callbacks, verbose=verbose, shuffle=False)
        train_seconds = time.time() - fit_start
    if nan_guard.message:
        raise FloatingPointError(nan_guard.message)
    if has_val:  # the best-validation epoch's weights, kept in model.keras
        weights = keras.saving.load_model(own_dir / "model.keras").get_weights()
    else:
        run_folder.save_classifier(classifier, own_dir / "model.keras")
        weights = classifier.get_weights()
    return run_folder.read_history(own_dir / "history.csv"), train_seconds, weights


def check_steps_per_execution(config, steps_per_epoch):
    """Several steps per call must not straddle epochs: each epoch's batches are one
    `(seed, epoch)` stream, and a call that crossed into the next epoch would shift them."""
    if steps_per_epoch % config.steps_per_execution:
        raise ValueError(f"steps_per_execution must divide the {steps_per_epoch} steps of an epoch "
                         f"({config.limit_train or 'all'} training images // batch size {config.batch_size}). "
                         f"Received: steps_per_execution={config.steps_per_execution}")


def build_trainer(config, input_shape, steps_per_epoch):
    """The config's classifier in a compiled `AugmentingTrainer`: `(classifier, trainer)`.

    Call it inside the dtype policy (and strategy scope) the run uses.
    """
    classifier = build_model(config.model, input_shape=input_shape, **config.builder_knobs())
    trainer = AugmentingTrainer(classifier, config.augment, config.augment_on, seed=config.seed,
                                jsd_weight=config.jsd_weight)
    trainer.compile(optimizer=make_optimizer(config, make_schedule(config, steps_per_epoch)),
                    loss=make_loss(config.loss, config.head, config.label_smoothing),
                    metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                    steps_per_execution=config.steps_per_execution,
                    # JAX steps are always XLA-compiled (eager JAX is far slower).
                    jit_compile=config.jit or not uses_tensorflow())
    return classifier, trainer


def resume_point(run_dir):
    """The epoch an interrupted run folder resumes at (its last backed-up epoch)."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise FileNotFoundError(f"{run_dir} is not a run folder (no config.json). Received: resume={str(run_dir)!r}")
    if (run_dir / "results.json").exists():
        raise ValueError(f"{run_dir} has finished already (results.json exists). Received: resume={str(run_dir)!r}")
    meta = run_dir / BACKUP / "training_metadata.json"
    return json.loads(meta.read_text())["epoch"] if meta.is_file() else 0


def resume(run_dir, config_cls, recipe, verbose="auto", finish=()):
    """Continues an interrupted run in its own folder; returns its results.

    The backup (weights, optimizer state with the schedule position, and the
    augmentation RNG state) is written at every epoch end, and each epoch's
    data order depends only on `(seed, epoch)`, so the resumed run repeats
    exactly what the uninterrupted run would have done from that epoch on.
    Work since the last completed epoch is redone.
    """
    resume_point(run_dir)
    saved = load_config(config_cls, Path(run_dir) / "config.json", recipe)
    config = config_cls(**{**saved, "output_dir": str(run_dir)})
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    return _single_run(config, recipe, verbose, finish, resume=True)
