"""The Keras Tuner integration: `FashionHyperModel` over our registries, and `make_tuner`.

(Formerly `fmnist_keras.tuning`, which stays an alias for one release; the
recipe that runs a search is `recipes/tune.py`.)

`build(hp)` draws the architecture from the model registry (plus builder
knobs), the optimizer, a log-scale learning rate, weight decay and the
augmentation stack, and returns a compiled `AugmentingTrainer` (the same
trainer, optimizers, schedules and losses as `training.runner`). `fit(hp,
model, x, y, validation_data=(x_val, y_val))` draws the batch size and the
epochs (unless the tuner sets them, as Hyperband does) and trains on
`pipeline.make_dataset` batches. The objective is `val_accuracy`.

A trial that raises fails the whole search (`fail_fast=True`): Keras Tuner
would otherwise mark it invalid and go on, and a search whose every trial
crashed (e.g. without `tensorboard`) returns as if nothing happened.

Example:

```python
from fmnist_keras.keras_tuner_hypermodel import FashionHyperModel, SearchSpace, make_tuner, best_classifier

space = SearchSpace(models=("cnn2",), lr=(1e-4, 1e-2), weight_decay=(1e-5, 1e-2),
                    batch_sizes=(32, 64, 128, 256), epochs=(2, 10))
tuner = make_tuner("bayesian", FashionHyperModel(space), "tuning", max_trials=20)
tuner.search(x_train, y_train, validation_data=(x_val, y_val))   # uint8 arrays
classifier = best_classifier(tuner)   # the plain keras.Model, best weights
```

Distributed tuning: start the same script on every machine with
`KERASTUNER_ORACLE_IP`/`KERASTUNER_ORACLE_PORT` naming the chief and
`KERASTUNER_TUNER_ID` set to "chief" on one process and "tuner0", "tuner1",
... on the workers; all must see the same `directory`. The chief serves the
oracle and does not train; `search()` returns on the chief when every trial
is done (see `recipes/tune.py`).
"""

import dataclasses
import warnings

import keras
import keras_tuner as kt

from fmnist_keras import pipeline
from fmnist_keras.augment import parse_augment
from fmnist_keras.choices import TUNERS
from fmnist_keras.models import build_model, model_knobs
from fmnist_keras.training.config import TrainConfig
from fmnist_keras.training.losses import make_loss
from fmnist_keras.training.optimizers import OPTIMIZERS, make_optimizer
from fmnist_keras.training.schedules import make_schedule
from fmnist_keras.training.trainer import AugmentingTrainer

DECOUPLED = ("sgdw", "adamw")  # their weight decay is Keras' decoupled `weight_decay`
OBJECTIVE = "val_accuracy"


@dataclasses.dataclass(frozen=True)
class SearchSpace:
    """What a trial may draw. A one-element tuple or an equal range fixes the value.

    Attributes:
        models: registry names.
        knobs: `((knob, (choices...)), ...)`, drawn only for models whose
            builder takes the knob, e.g. `(("width", (8, 16, 32)),)`.
        optimizers: names from `training.optimizers.OPTIMIZERS`.
        lr: `(min, max)`, sampled log-uniformly.
        weight_decay: `(min, max)`, log-uniform: the coupled L2 (`l2`) of
            sgd/adam/rmsprop/radam/adabound, the decoupled `weight_decay` of
            sgdw/adamw. `(0, 0)` disables it.
        augments: augmentation stacks ("" = none), e.g. `("", "flip,pad_crop")`.
        batch_sizes: choices, drawn in `fit`.
        epochs: `(min, max)` integers, drawn in `fit` unless the tuner sets epochs.
    """

    models: tuple = ("cnn2",)
    knobs: tuple = ()
    optimizers: tuple = ("adam",)
    lr: tuple = (1e-4, 1e-2)
    weight_decay: tuple = (1e-5, 1e-2)
    augments: tuple = ("",)
    batch_sizes: tuple = (64, 128, 256)
    epochs: tuple = (2, 10)

    def __post_init__(self):
        for name in ("models", "optimizers", "augments", "batch_sizes"):
            if not isinstance(getattr(self, name), tuple) or not getattr(self, name):
                raise ValueError(f"{name} must be a non-empty tuple. Received: {name}={getattr(self, name)!r}")
        for name in self.models:
            model_knobs(name)  # unknown names fail here
        bad = [o for o in self.optimizers if o not in OPTIMIZERS]
        if bad:
            raise ValueError(f"optimizers must be among {', '.join(OPTIMIZERS)}. Received: optimizers={self.optimizers!r}")
        for stack in self.augments:
            parse_augment(stack)
        for knob, choices in self.knobs:
            if not any(knob in model_knobs(m) for m in self.models) or not choices:
                raise ValueError(f"knob {knob!r} needs choices and a model that takes it "
                                 f"(models: {', '.join(self.models)}). Received: knobs={self.knobs!r}")
        for name in ("lr", "weight_decay"):
            bounds = tuple(getattr(self, name))
            disabled = name == "weight_decay" and bounds == (0, 0)
            if not disabled and not (len(bounds) == 2 and 0 < bounds[0] <= bounds[1]):
                raise ValueError(f"{name} must be (min, max) with 0 < min <= max. Received: {name}={bounds!r}")
        lo, hi = self.epochs
        if not 1 <= lo <= hi:
            raise ValueError(f"epochs must be (min, max) with 1 <= min <= max. Received: epochs={self.epochs!r}")
        if any(isinstance(b, bool) or not isinstance(b, int) or b < 1 for b in self.batch_sizes):
            raise ValueError(f"batch_sizes must be positive integers. Received: batch_sizes={self.batch_sizes!r}")


def _log_float(hp, name, bounds):
    lo, hi = bounds
    if lo == hi:
        return hp.Fixed(name, float(lo))
    return hp.Float(name, float(lo), float(hi), sampling="log")


class FashionHyperModel(kt.HyperModel):
    """A `kt.HyperModel` whose trials run our trainer on uint8 Fashion-MNIST arrays.

    Args:
        space: a `SearchSpace`.
        base: a `TrainConfig` for everything not drawn (schedule, loss, head,
            momentum, label smoothing, augmentation placement, seed).
        fail_fast: re-raise a trial's exception as `kt.errors.FatalError`,
            which stops the search (Keras Tuner otherwise skips the trial).
        **kwargs: `kt.HyperModel` arguments (`name`, `tunable`).
    """

    def __init__(self, space=None, base=None, *, fail_fast=True, **kwargs):
        super().__init__(**kwargs)
        self.space = space or SearchSpace()
        self.base = base or TrainConfig(model=self.space.models[0], optimizer=self.space.optimizers[0],
                                        schedule="constant", clean_train_size=0)
        self.fail_fast = fail_fast

    def config(self, hp, batch_size=None, epochs=None):
        """The trial's `TrainConfig` (its model knobs are in `knobs(hp)`)."""
        values = hp.values
        optimizer = values["optimizer"]
        decay = float(values.get("weight_decay", 0.0))
        changes = {"model": values["model"], "optimizer": optimizer, "lr": float(values["lr"]),
                   "augment": values["augment"], "l2": 0.0 if optimizer in DECOUPLED else decay,
                   "weight_decay": decay if optimizer in DECOUPLED else 0.0}
        if batch_size:
            changes["batch_size"] = batch_size
        if epochs:
            changes["epochs"] = epochs
        return self.base.replace(**changes)

    def knobs(self, hp):
        takes = model_knobs(hp.values["model"])
        return {k: hp.values[k] for k, _ in self.space.knobs if k in takes and k in hp.values}

    def build(self, hp):
        try:
            return self.build_trainer(hp)
        except Exception as e:
            raise self._fatal(e) from e

    def build_trainer(self, hp):
        """The compiled `AugmentingTrainer` of the trial (`build` adds fail-fast)."""
        space = self.space
        name = hp.Choice("model", list(space.models))
        for knob, choices in space.knobs:
            takers = [m for m in space.models if knob in model_knobs(m)]
            with hp.conditional_scope("model", takers):
                hp.Choice(knob, list(choices))
        hp.Choice("optimizer", list(space.optimizers))
        _log_float(hp, "lr", space.lr)
        if space.weight_decay != (0, 0):
            _log_float(hp, "weight_decay", space.weight_decay)
        hp.Choice("augment", list(space.augments))
        config = self.config(hp)
        # Knobs the base config sets (a recipe's `width`, ...), then the drawn ones.
        classifier = build_model(name, **{**config.builder_knobs(), **self.knobs(hp)})  # incl. head
        trainer = AugmentingTrainer(classifier, config.augment, config.augment_on, seed=config.seed)
        self._compile(trainer, config, steps_per_epoch=1)
        return trainer

    def _compile(self, trainer, config, steps_per_epoch):
        trainer.compile(optimizer=make_optimizer(config, make_schedule(config, steps_per_epoch)),
                        loss=make_loss(config.loss, config.head, config.label_smoothing),
                        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
                        jit_compile=config.jit)

    def fit(self, hp, model, x, y, validation_data=None, epochs=None, initial_epoch=0, callbacks=None,
            verbose=0, **kwargs):
        """Trains `model` (from `build`) on uint8 `x (N, H, W)`, int `y`; returns the History.

        `epochs`/`initial_epoch` come from tuners that schedule training
        (Hyperband); otherwise the trial draws `epochs`.
        """
        try:
            return self.fit_trainer(hp, model, x, y, validation_data, epochs, initial_epoch, callbacks, verbose, kwargs)
        except Exception as e:
            raise self._fatal(e) from e

    def fit_trainer(self, hp, model, x, y, validation_data, epochs, initial_epoch, callbacks, verbose, kwargs):
        if kwargs:
            raise ValueError(f"unexpected fit arguments {', '.join(sorted(kwargs))}; pass x, y and "
                             f"validation_data=(x_val, y_val). Received: {sorted(kwargs)}")
        if validation_data is None or len(validation_data) != 2:
            raise ValueError("the objective is val_accuracy: pass validation_data=(x_val, y_val). "
                             f"Received: validation_data={type(validation_data).__name__}")
        batch_size = hp.Choice("batch_size", list(self.space.batch_sizes))
        if epochs is None:
            lo, hi = self.space.epochs
            epochs = hp.Fixed("epochs", lo) if lo == hi else hp.Int("epochs", lo, hi)
        config = self.config(hp, batch_size, epochs)
        steps = len(x) // batch_size
        if config.schedule != "constant":  # the schedule's length needs the batch size and epochs
            self._compile(model, config, steps)
        train = pipeline.make_dataset(x, y, batch_size, training=True, seed=config.seed, epochs=epochs,
                                      first_epoch=initial_epoch)
        x_val, y_val = validation_data
        val = pipeline.make_dataset(x_val, y_val, max(batch_size, 500), training=False)
        return model.fit(train, epochs=epochs, steps_per_epoch=steps, initial_epoch=initial_epoch,
                         validation_data=val, callbacks=[*(callbacks or []), keras.callbacks.TerminateOnNaN()],
                         verbose=verbose, shuffle=False)

    def _fatal(self, error):
        if not self.fail_fast or isinstance(error, kt.errors.FatalError):
            return error
        return kt.errors.FatalRuntimeError(f"a trial failed, so the search stops (fail_fast=True): "
                                           f"{type(error).__name__}: {error}")


def make_tuner(kind, hypermodel, directory, *, project_name="search", max_trials=10, max_epochs=None,
               seed=0, overwrite=False, **kwargs):
    """A Keras Tuner on `val_accuracy`: kind "random", "hyperband" or "bayesian".

    `max_trials` bounds RandomSearch/BayesianOptimization; Hyperband's
    budget is `max_epochs` (default: the space's largest epochs) and its
    `factor`/`hyperband_iterations` kwargs. Other kwargs go to the tuner.
    """
    common = dict(objective=kt.Objective(OBJECTIVE, "max"), directory=str(directory),
                  project_name=project_name, seed=seed, overwrite=overwrite, **kwargs)
    if kind == "random":
        return kt.RandomSearch(hypermodel, max_trials=max_trials, **common)
    if kind == "bayesian":
        return kt.BayesianOptimization(hypermodel, max_trials=max_trials, **common)
    if kind == "hyperband":
        max_epochs = max_epochs or getattr(getattr(hypermodel, "space", None), "epochs", (None, 10))[1]
        return kt.Hyperband(hypermodel, max_epochs=max_epochs, **common)
    raise ValueError(f"kind must be one of {', '.join(TUNERS)}. Received: kind={kind!r}")


def best_classifier(tuner):
    """The best trial's plain classifier (the trainer's `.classifier`), with its weights."""
    with warnings.catch_warnings():  # the checkpoint holds the trial's optimizer state, not needed here
        warnings.filterwarnings("ignore", message="Skipping variable loading for optimizer")
        model = tuner.get_best_models(1)[0]
    return getattr(model, "classifier", model)


def best_values(tuner):
    """The best trial's hyperparameter values without Keras Tuner's bookkeeping (`tuner/...`)."""
    [best] = tuner.get_best_hyperparameters(1)
    return {k: v for k, v in best.values.items() if not k.startswith("tuner/")}


__all__ = ["FashionHyperModel", "SearchSpace", "make_tuner", "best_classifier", "best_values", "TUNERS"]
