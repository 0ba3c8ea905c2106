"""`fit_and_evaluate(config)`: the one training loop every recipe shares.

Loads the real data, splits, builds the model and the trainer, compiles with
the config's optimizer and schedule, fits with the standard callbacks, tests
the best-validation weights and writes the run folder:
config.json, history.csv, results.json, model.keras, curves.png.
"""

import dataclasses
import logging
import sys
import time

import keras
import numpy as np

from fmnist_keras import data, pipeline, reporting
from fmnist_keras.models import build_model
from fmnist_keras.training.callbacks import CleanTrainMetrics, StopOnNaN
from fmnist_keras.training.optimizers import SGD
from fmnist_keras.training.schedules import WarmupCosine
from fmnist_keras.training.trainer import AugmentingTrainer

logger = logging.getLogger(__name__)


def make_optimizer(config, steps_per_epoch):
    """The config's optimizer on a warmup -> cosine (-> restarts) schedule."""
    restart_steps = round(config.restart_epochs * steps_per_epoch)
    warmup_steps = round(config.warmup_epochs * steps_per_epoch)
    schedule = WarmupCosine(
        peak=config.lr,
        warmup_steps=warmup_steps,
        cosine_steps=config.epochs * steps_per_epoch - warmup_steps - restart_steps,
        warmup_start=config.warmup_start_lr,
        restart_steps=restart_steps,
        restart_lr=config.restart_lr,
        restart_cycle_steps=max(1, restart_steps // max(config.restart_cycles, 1)),
    )
    if config.optimizer == "sgd":
        return SGD(schedule, momentum=config.momentum, nesterov=config.nesterov, l2=config.l2)
    return keras.optimizers.Adam(schedule)


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


def fit_and_evaluate(config, recipe="run", verbose="auto"):
    """Trains and tests one model; returns (and writes) the results dict.

    Args:
        config: a `TrainConfig` (or a recipe's subclass).
        recipe: the recipe name (default run folder and titles).
        verbose: Keras' fit verbosity; "auto" is a progress bar on a terminal
            and one line per epoch in logs and CI.
    """
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    start = time.time()
    keras.utils.set_random_seed(config.seed)
    # Data and model first: a bad data folder or knob fails before a run folder exists.
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = load_splits(config)
    has_val = len(x_val) > 0
    classifier = build_model(config.model, input_shape=x_train.shape[1:] + (1,), **config.builder_knobs())
    run_dir = reporting.make_run_dir(config.output_dir, recipe)
    reporting.write_json(run_dir / "config.json", {"recipe": recipe, **dataclasses.asdict(config)})
    trainer = AugmentingTrainer(classifier, config.augment, config.augment_on, seed=config.seed)
    host_map = trainer.augment_batch if config.augment_on == "host" else None
    train_ds = pipeline.make_dataset(
        x_train, y_train, config.batch_size, training=True, seed=config.seed, batch_map=host_map)
    steps_per_epoch = len(x_train) // config.batch_size
    eval_batch = max(config.batch_size, 500)
    val_ds = pipeline.make_dataset(x_val, y_val, eval_batch, training=False) if has_val else None

    head = getattr(config, "head", "softmax")
    loss = (keras.losses.BinaryCrossentropy() if head == "sigmoid"
            else keras.losses.CategoricalCrossentropy())
    trainer.compile(optimizer=make_optimizer(config, steps_per_epoch), loss=loss,
                    metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")])

    callbacks = []
    if config.clean_train_size:
        n = min(config.clean_train_size, len(x_train))
        callbacks.append(CleanTrainMetrics(
            pipeline.make_dataset(x_train[:n], y_train[:n], eval_batch, training=False)))
    nan_guard = StopOnNaN()
    callbacks += [nan_guard, keras.callbacks.CSVLogger(str(run_dir / "history.csv"))]
    early = None
    if has_val and config.patience:
        early = keras.callbacks.EarlyStopping(
            monitor="val_accuracy", mode="max", patience=config.patience, restore_best_weights=True)
        callbacks.append(early)

    fit_start = time.time()
    history = trainer.fit(train_ds, epochs=config.epochs, validation_data=val_ds,
                          callbacks=callbacks, verbose=verbose, shuffle=False)  # the dataset reshuffles itself
    train_seconds = time.time() - fit_start
    if nan_guard.message:
        raise FloatingPointError(nan_guard.message)
    epochs_run = len(history.history["loss"])

    test_ds = pipeline.make_dataset(x_test, y_test, eval_batch, training=False)
    test = trainer.evaluate(test_ds, verbose=0, return_dict=True)
    classifier.save(run_dir / "model.keras")
    reporting.plot_curves(history.history, run_dir / "curves.png", title=f"{recipe}: {config.model}")

    val_acc = history.history.get("val_accuracy")
    results = {
        "recipe": recipe,
        "model": config.model,
        "parameters": classifier.count_params(),
        "augment": config.augment,
        "test_accuracy": test["accuracy"],
        "test_loss": test["loss"],
        "best_val_accuracy": max(val_acc) if val_acc else None,
        "best_epoch": int(np.argmax(val_acc)) + 1 if val_acc and early else epochs_run,
        "epochs_run": epochs_run,
        "train_images": len(x_train),
        "train_seconds": round(train_seconds, 2),
        "train_images_per_second": round(epochs_run * steps_per_epoch * config.batch_size / train_seconds, 1),
        "wall_seconds": round(time.time() - start, 2),
        "run_dir": str(run_dir),
        **reporting.environment(),
    }
    reporting.write_json(run_dir / "results.json", results)
    return results
