"""`TrainConfig`: every knob of a training run, in one frozen dataclass.

A recipe subclasses it with its report's values as defaults; the CLI builds
its flags from the fields (one place for defaults); `fit_and_evaluate`
reads it. Fields that match a model builder's keyword (`width`, `norm`,
`stem`, ...) are passed to the builder.
"""

import dataclasses

from fmnist_keras.augment import parse_augment
from fmnist_keras.models import model_knobs
from fmnist_keras.models._common import LAYER_INITS
from fmnist_keras.training.losses import LOSSES
from fmnist_keras.training.optimizers import L2_SCOPES, OPTIMIZERS
from fmnist_keras.training.schedules import SCHEDULES
from fmnist_keras.training.trainer import PLACEMENTS

PRECISIONS = ("fp32", "bf16", "fp16")
STRATEGIES = ("none", "mirrored", "multiworker")


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Hyperparameters in the reports' own units (epochs, lr per batch, ...)."""

    model: str = "resnet18"  # a name from fmnist_keras.models.list_models()
    epochs: int = 10
    batch_size: int = 128
    lr: float = 0.1  # peak learning rate for this batch size
    optimizer: str = "sgd"  # sgd | sgdw | adam | adamw | rmsprop | radam | adabound
    momentum: float = 0.9
    nesterov: bool = False
    l2: float = 0.0  # coupled L2 (PyTorch's weight_decay): sgd, adam, rmsprop, radam, adabound
    l2_scope: str = "all"  # all (PyTorch) | kernels (conv/dense kernels: Keras' l2(lam) is --l2 2*lam)
    weight_decay: float = 0.0  # decoupled decay (Keras' weight_decay): sgdw, adamw
    schedule: str = "warmup_cosine"  # warmup_cosine | sgdr | step | constant
    warmup_epochs: float = 0.0  # phase lengths scale with --epochs (see phase_epochs)
    warmup_start_lr: float = 0.0
    restart_epochs: float = 0.0  # cosine warm-restart phase at the end
    restart_lr: float = 0.001
    restart_cycles: int = 2  # warm restarts within the restart phase
    sgdr_first_epochs: float = 10.0  # schedule=sgdr: first cycle
    sgdr_t_mul: float = 2.0
    sgdr_m_mul: float = 1.0
    step_epochs: float = 30.0  # schedule=step: decay every step_epochs by step_gamma
    step_gamma: float = 0.1
    head: str = "softmax"  # softmax | sigmoid (one-vs-rest, report 001)
    init: str = "keras"  # keras | pytorch: layer initializers of the CNN_1..CNN_5 builders
    loss: str = "auto"  # auto | ce | nll | mse | bce
    label_smoothing: float = 0.0
    augment: str = ""  # e.g. "erasing,ricap(beta=0.1)"
    augment_on: str = "device"  # device | host
    jsd_weight: float = 12.0  # AugMix consistency lambda; used when the stack has views (augmix(views=3))
    patience: int = 0  # early stopping on val accuracy; 0 disables
    limit_train: int = 0  # 0: all training images
    val_size: int = 10000
    clean_train_size: int = 5000  # clean-train accuracy slice per epoch; 0 disables
    data_dir: str = ""
    output_dir: str = ""  # default runs/<recipe>/<timestamp>
    seed: int = 0
    repeats: int = 1  # runs with seeds seed, seed+1, ...; mean +- std reported
    precision: str = "fp32"  # fp32 | bf16 | fp16 (mixed precision)
    jit: bool = False  # XLA-compile the train step
    strategy: str = "none"  # none | mirrored | multiworker (tf.distribute)
    tensorboard: bool = False  # also log to <run>/tensorboard
    export: bool = False  # SavedModel + TFLite into <run>/export, verified; the CLI turns it on for full runs

    def __post_init__(self):
        for name in ("epochs", "batch_size", "repeats"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer. Received: {name}={value!r}")
        for name in ("limit_train", "val_size", "clean_train_size", "patience", "restart_cycles",
                     "l2", "weight_decay", "label_smoothing", "warmup_epochs", "restart_epochs",
                     "warmup_start_lr", "restart_lr", "jsd_weight"):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0. Received: {name}={getattr(self, name)!r}")
        if not self.lr > 0:
            raise ValueError(f"lr must be > 0. Received: lr={self.lr!r}")
        for name, choices in (("optimizer", OPTIMIZERS), ("schedule", SCHEDULES), ("loss", LOSSES),
                              ("precision", PRECISIONS), ("strategy", STRATEGIES),
                              ("augment_on", PLACEMENTS), ("head", ("softmax", "sigmoid")),
                              ("l2_scope", L2_SCOPES), ("init", LAYER_INITS)):
            if getattr(self, name) not in choices:
                raise ValueError(
                    f"{name} must be one of {', '.join(choices)}. Received: {name}={getattr(self, name)!r}")
        knobs = model_knobs(self.model)  # unknown model names fail here, before any work
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
        knobs = model_knobs(self.model)
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name in knobs and f.name not in ("input_shape", "num_classes")}

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)
