"""`TrainConfig`: every knob of a training run, in one frozen dataclass.

A recipe subclasses it with its report's values as defaults; the CLI builds
its flags from the fields, with each field's group, one-line help and
choices taken from its `setting(...)` metadata (one place for defaults and
their meaning); `fit_and_evaluate` reads it. Fields that match a model
builder's keyword (`width`, `norm`, `stem`, ...) are passed to the builder.

This module imports no Keras: `--help` and `--config` checks answer before
TensorFlow starts. Checks that need the model or augmentation registries
import them when a config is made.
"""

import dataclasses
import json
import numbers
import re
import types
import typing
from pathlib import Path

from fmnist_keras.choices import (
    DATA_PLACEMENTS, HEADS, L2_SCOPES, LAYER_INITS, LOSSES, MODELS, NORMS, OPTIMIZERS, PLACEMENTS,
    PRECISIONS, SCHEDULES, STEMS, STRATEGIES)

# config.json's format. 2 (2026-12-02): augmentation strings follow the op contract, where a bare `ricap`
# draws per image; a file without "schema" is 1, from when `ricap` drew one layout per batch.
CONFIG_SCHEMA = 2
_RICAP = re.compile(r"\bricap\b(\(([^)]*)\))?")

# The `--help` groups, in the order they are listed.
GROUPS = ("data", "model", "optimization", "schedule", "augmentation", "run and outputs", "hardware")


def setting(default, help, group, choices=None):
    """A config field with its `--help` line, group and (optionally) allowed values.

    A subclass that only changes the default may redeclare the field plainly
    (`epochs: int = 120`): the CLI finds the help on the class that first
    described it (see `field_doc`).
    """
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}. Received: group={group!r}")
    metadata = {"help": help, "group": group, "choices": tuple(choices) if choices else None}
    return dataclasses.field(default=default, metadata=types.MappingProxyType(metadata))


def field_doc(config_cls, name):
    """`{"help", "group", "choices"}` of field `name`, from the nearest class that described
    it; None for a field declared without `setting` anywhere."""
    for cls in config_cls.__mro__:
        field = getattr(cls, "__dataclass_fields__", {}).get(name)
        if field is not None and "help" in field.metadata:
            return dict(field.metadata)
    return None


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters in the reports' own units (epochs, lr per batch, ...)."""

    # data
    limit_train: int = setting(0, "train on this many images of the training split (0: all)", "data")
    val_size: int = setting(10000, "validation images split off the 60,000 training images "
                                   "(0: train on all 60,000 and test the last epoch)", "data")
    clean_train_size: int = setting(5000, "training images re-evaluated without augmentation after "
                                          "each epoch, for the clean-train curve (0: off)", "data")
    data_dir: str = setting("", "folder with the four Fashion-MNIST IDX files ('': the usual places, "
                                "see docs/data.md)", "data")

    # model
    model: str = setting("resnet18", "the architecture (fmnist_keras.models)", "model", MODELS)
    head: str = setting("softmax", "classifier head; sigmoid is one-vs-rest (report 001)", "model", HEADS)
    init: str = setting("keras", "layer initializers of CNN_1..CNN_5 (pytorch: uniform +-1/sqrt(fan_in))",
                        "model", LAYER_INITS)

    # optimization
    batch_size: int = setting(128, "images per training step", "optimization")
    lr: float = setting(0.1, "peak learning rate, for this batch size", "optimization")
    optimizer: str = setting("sgd", "optimizer (sgdw/adamw decay with --weight-decay, the others with --l2)",
                             "optimization", OPTIMIZERS)
    momentum: float = setting(0.9, "momentum of sgd and sgdw (0: plain SGD)", "optimization")
    nesterov: bool = setting(False, "Nesterov momentum (sgd, sgdw)", "optimization")
    l2: float = setting(0.0, "coupled L2 added to the gradient, as PyTorch's weight_decay "
                             "(sgd, adam, rmsprop, radam, adabound)", "optimization")
    l2_scope: str = setting("all", "what --l2 reaches: every parameter (PyTorch) or conv/dense kernels "
                                   "(Keras' l2(lam) is --l2 2*lam --l2-scope kernels)", "optimization",
                            L2_SCOPES)
    weight_decay: float = setting(0.0, "decoupled weight decay of sgdw and adamw", "optimization")
    loss: str = setting("auto", "loss (auto: cross-entropy for softmax, binary for sigmoid heads)",
                        "optimization", LOSSES)
    label_smoothing: float = setting(0.0, "label smoothing of the cross-entropy", "optimization")

    # schedule
    epochs: int = setting(10, "training epochs (phase lengths in epochs scale with it unless given)",
                          "schedule")
    schedule: str = setting("warmup_cosine", "learning-rate schedule", "schedule", SCHEDULES)
    warmup_epochs: float = setting(0.0, "linear warmup at the start (warmup_cosine)", "schedule")
    warmup_start_lr: float = setting(0.0, "learning rate the warmup starts from", "schedule")
    restart_epochs: float = setting(0.0, "cosine warm-restart phase at the end (warmup_cosine)", "schedule")
    restart_lr: float = setting(0.001, "peak learning rate of the warm restarts", "schedule")
    restart_cycles: int = setting(2, "warm restarts within the restart phase", "schedule")
    sgdr_first_epochs: float = setting(10.0, "first cycle of the sgdr schedule", "schedule")
    sgdr_t_mul: float = setting(2.0, "sgdr: each cycle is this many times longer than the last", "schedule")
    sgdr_m_mul: float = setting(1.0, "sgdr: each cycle's peak is this fraction of the last", "schedule")
    step_epochs: float = setting(30.0, "step schedule: decay every this many epochs", "schedule")
    step_gamma: float = setting(0.1, "step schedule: decay factor", "schedule")
    patience: int = setting(0, "early stopping after this many epochs without a better val accuracy "
                               "(0: off; the best-validation weights are tested either way)", "schedule")

    # augmentation
    augment: str = setting("", "augmentation stack, e.g. 'random_erasing(prob=0.5),ricap(beta=0.1)' "
                               "(docs/augmentation.md)", "augmentation")
    augment_on: str = setting("device", "where augmentation runs: inside the train step, or in tf.data",
                              "augmentation", PLACEMENTS)
    jsd_weight: float = setting(12.0, "AugMix consistency weight, for stacks with views "
                                      "(augmix(views=3))", "augmentation")

    # run and outputs
    seed: int = setting(0, "seed of the split, the model, the data order and the augmentation",
                        "run and outputs")
    repeats: int = setting(1, "runs with seeds seed, seed+1, ...; mean +- std reported", "run and outputs")
    output_dir: str = setting("", "run folder, never overwritten ('': runs/<recipe>/<timestamp>)",
                              "run and outputs")
    tensorboard: bool = setting(False, "also log to <run>/tensorboard", "run and outputs")
    export: bool = setting(False, "SavedModel + TFLite into <run>/export, verified on the test set "
                                  "(default: on for full runs on TensorFlow, off with --quick or "
                                  "--limit-train)", "run and outputs")

    # hardware
    precision: str = setting("fp32", "compute dtype (bf16/fp16: mixed precision)", "hardware", PRECISIONS)
    jit: bool = setting(False, "XLA-compile the train step", "hardware")
    data_on: str = setting("host", "where the training images live: host (NumPy, each batch copied to the device) "
                                   "or device (uploaded once as uint8, each batch gathered there; JAX, one process)",
                           "hardware", DATA_PLACEMENTS)
    steps_per_execution: int = setting(1, "train steps per compiled call (fewer Python dispatches for small "
                                          "models on fast accelerators); must divide an epoch's steps",
                                       "hardware")
    strategy: str = setting("none", "data_parallel: one replica per device over every device there is "
                                    "(MirroredStrategy on TensorFlow; keras.distribution.DataParallel on JAX, "
                                    "across processes too: docs/distributed.md); mirrored: TensorFlow's name "
                                    "for it; multiworker: refused (keras-team/keras#20585)", "hardware", STRATEGIES)

    def __post_init__(self):
        from fmnist_keras.augment import parse_augment
        from fmnist_keras.models import model_knobs

        for name, kind in field_types(type(self)).items():
            object.__setattr__(self, name, coerce(name, getattr(self, name), kind))
        for name in ("epochs", "batch_size", "repeats", "steps_per_execution"):
            value = getattr(self, name)
            if value < 1:
                raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
        for name in ("limit_train", "val_size", "clean_train_size", "patience", "restart_cycles",
                     "l2", "weight_decay", "label_smoothing", "warmup_epochs", "restart_epochs",
                     "warmup_start_lr", "restart_lr", "jsd_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0. Received: {name}={getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0. Received: lr={self.lr!r}")
        knobs = model_knobs(self.model)  # unknown model names fail here, before any work
        for field in dataclasses.fields(self):
            choices = (field_doc(type(self), field.name) or {}).get("choices")
            if choices and getattr(self, field.name) not in choices:
                raise ValueError(f"{field.name} must be one of {', '.join(choices)}. "
                                 f"Received: {field.name}={getattr(self, field.name)!r}")
        if self.init != "keras" and "init" not in knobs:
            raise ValueError(f"init={self.init!r} needs a model whose builder takes it (cnn1..cnn5). "
                             f"Received: model={self.model!r}; pass --init keras for it")
        parse_augment(self.augment)
        if self.schedule == "warmup_cosine" and self.warmup_epochs + self.restart_epochs >= self.epochs:
            raise ValueError(
                "warmup_epochs + restart_epochs must leave room for the cosine phase within "
                f"epochs. Received: epochs={self.epochs}, warmup_epochs={self.warmup_epochs}, "
                f"restart_epochs={self.restart_epochs}")

    def builder_knobs(self):
        """The fields that are keyword knobs of the chosen model's builder."""
        from fmnist_keras.models import model_knobs

        knobs = model_knobs(self.model)
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name in knobs and f.name not in ("input_shape", "num_classes")}

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


# Model knobs that several recipes expose, described once.
def width_setting(default):
    return setting(default, "filters of the first stage (ResNet, WRN, speednet)", "model")


def stem_setting(default):
    return setting(default, "ResNet stem: cifar (3x3, no max-pool) or imagenet (7x7 stride 2 + max-pool)",
                   "model", STEMS)


def norm_setting(default):
    return setting(default, "normalization (frn: Filter Response Normalization + TLU)", "model", NORMS)


def cells_setting(default, what):
    return setting(default, f"which cells of the table to run: a comma list of {what}", "run and outputs")


def field_types(config_cls):
    """`{name: type}` of every field: `int`, `float`, `bool`, `str` or `tuple` (of integers)."""
    hints = typing.get_type_hints(config_cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(config_cls)}


def coerce(name, value, kind):
    """`value` as a field of type `kind` takes it (a JSON list becomes a tuple, 1 becomes 1.0).

    Raises:
        ValueError: naming the field, when the value is of another type.
    """
    is_int = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if kind is bool and isinstance(value, bool) or kind is str and isinstance(value, str):
        return value
    if kind is int and is_int:
        return int(value)
    if kind is float and (is_int or isinstance(value, numbers.Real) and not isinstance(value, bool)):
        return float(value)
    if kind is tuple and isinstance(value, (tuple, list)) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    expected = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
                tuple: "a list of integers"}.get(kind, kind.__name__)
    raise ValueError(f"{name} must be {expected}. Received: {name}={value!r}")


def config_record(recipe, config):
    """What a run folder's config.json holds: the recipe, the file's format and every setting."""
    return {"recipe": recipe, "schema": CONFIG_SCHEMA, **dataclasses.asdict(config)}


def pin_batch_ricap(augment):
    """Schema 1 -> 2: a `ricap` without `per_image` drew once per batch when it was written; say so,
    so that `--resume` and `--config` draw what the run drew."""
    def pin(match):
        params = match.group(2)
        if params is not None and "per_image" in params:
            return match.group(0)
        return f"ricap({params + ', ' if params and params.strip() else ''}per_image=False)"

    return _RICAP.sub(pin, augment)


def load_config(config_cls, path, recipe):
    """The settings recorded in a run's `config.json`, as `{field: value}`.

    Every key must be a field of `config_cls` with a value of its type (lists
    become tuples); the `recipe` key, when present, must name `recipe`. A file
    written before `CONFIG_SCHEMA` 2 gets its `ricap` pinned to the per-batch
    draw it ran with (`pin_batch_ricap`).

    Raises:
        FileNotFoundError: `path` is missing.
        ValueError: not a JSON object, another recipe, or an unknown or ill-typed key.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"no config file at {path}. Received: config={str(path)!r}")
    try:
        saved = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ValueError(f"{path} is not valid JSON ({e}). Received: config={str(path)!r}") from None
    if not isinstance(saved, dict):
        raise ValueError(f"{path} must hold a JSON object of settings. Received: {type(saved).__name__}")
    saved = dict(saved)
    if saved.pop("recipe", recipe) != recipe:
        raise ValueError(f"{path} is a config of recipe {json.loads(path.read_text())['recipe']!r}, not "
                         f"{recipe!r}: run it with that recipe. Received: config={str(path)!r}")
    schema = saved.pop("schema", 1)
    if schema not in (1, CONFIG_SCHEMA):
        raise ValueError(f"{path} has config schema {schema!r}; this version reads 1 and {CONFIG_SCHEMA} "
                         f"(a newer fmnist_keras wrote it?). Received: config={str(path)!r}")
    if schema == 1 and isinstance(saved.get("augment"), str):
        saved["augment"] = pin_batch_ricap(saved["augment"])
    kinds = field_types(config_cls)
    unknown = sorted(set(saved) - set(kinds))
    if unknown:
        raise ValueError(f"{path} has key(s) that {recipe} does not take: {', '.join(unknown)}. "
                         f"Expected settings of {recipe} (see --help)")
    try:
        return {name: coerce(name, value, kinds[name]) for name, value in saved.items()}
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None
