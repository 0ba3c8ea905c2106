"""Learning-rate schedules, per optimizer step, serializable.

`WarmupCosine` covers report 000's three phases in one object: a linear
warmup from `warmup_start` to `peak`, a cosine decay to 0 (PyTorch's
CosineAnnealingLR with eta_min=0), and an optional "warm retrain" phase of
cosine annealing with warm restarts (CosineAnnealingWarmRestarts) that
starts again at `restart_lr` every `restart_cycle_steps`.
"""

import math

import keras
from keras import ops

from fmnist_keras.choices import SCHEDULES


@keras.saving.register_keras_serializable(package="fmnist_keras")
class WarmupCosine(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warmup -> cosine to 0 -> optional cosine warm restarts.

    Args:
        peak: the learning rate reached after warmup.
        warmup_steps: steps of linear warmup (0 starts at `peak`).
        cosine_steps: steps of cosine decay from `peak` to 0.
        warmup_start: the learning rate at step 0.
        restart_steps: steps of the warm-restart phase (0: none; after the
            last phase the rate stays at 0).
        restart_lr: the rate at each restart.
        restart_cycle_steps: length of one restart cycle (default: the phase).
    """

    def __init__(self, peak, warmup_steps, cosine_steps, warmup_start=0.0, restart_steps=0,
                 restart_lr=0.0, restart_cycle_steps=None):
        for name, value in (("warmup_steps", warmup_steps), ("cosine_steps", cosine_steps),
                            ("restart_steps", restart_steps)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0. Received: {name}={value!r}")
        if cosine_steps == 0:
            raise ValueError(f"cosine_steps must be > 0. Received: cosine_steps={cosine_steps!r}")
        self.peak = float(peak)
        self.warmup_steps = int(warmup_steps)
        self.cosine_steps = int(cosine_steps)
        self.warmup_start = float(warmup_start)
        self.restart_steps = int(restart_steps)
        self.restart_lr = float(restart_lr)
        self.restart_cycle_steps = int(restart_cycle_steps or restart_steps or 1)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        warmup = max(self.warmup_steps, 1)
        warm_lr = self.warmup_start + (self.peak - self.warmup_start) * step / warmup
        t = ops.clip((step - self.warmup_steps) / self.cosine_steps, 0.0, 1.0)
        cos_lr = 0.5 * self.peak * (1.0 + ops.cos(math.pi * t))
        restart_t = step - self.warmup_steps - self.cosine_steps
        cycle_t = ops.mod(ops.maximum(restart_t, 0.0), self.restart_cycle_steps) / self.restart_cycle_steps
        restart_lr = 0.5 * self.restart_lr * (1.0 + ops.cos(math.pi * cycle_t))
        restart_lr = ops.where(restart_t < self.restart_steps, restart_lr, 0.0)
        lr = ops.where(step < self.warmup_steps, warm_lr, cos_lr)
        return ops.where(restart_t >= 0, restart_lr, lr)

    def get_config(self):
        return {
            "peak": self.peak, "warmup_steps": self.warmup_steps, "cosine_steps": self.cosine_steps,
            "warmup_start": self.warmup_start, "restart_steps": self.restart_steps,
            "restart_lr": self.restart_lr, "restart_cycle_steps": self.restart_cycle_steps,
        }


def make_schedule(config, steps_per_epoch):
    """The config's learning-rate schedule, in optimizer steps.

    - "warmup_cosine": `WarmupCosine` (warmup -> cosine -> optional restarts).
    - "sgdr": Loshchilov & Hutter's warm restarts, Keras' `CosineDecayRestarts`
      (first cycle `sgdr_first_epochs`, then `t_mul`/`m_mul`); faithful, so reused.
    - "step": multiply by `step_gamma` every `step_epochs` (Keras' staircase
      `ExponentialDecay`).
    - "constant": `config.lr` throughout.
    """
    name = config.schedule
    if name == "warmup_cosine":
        restart_steps = round(config.restart_epochs * steps_per_epoch)
        warmup_steps = round(config.warmup_epochs * steps_per_epoch)
        return WarmupCosine(
            peak=config.lr,
            warmup_steps=warmup_steps,
            cosine_steps=config.epochs * steps_per_epoch - warmup_steps - restart_steps,
            warmup_start=config.warmup_start_lr,
            restart_steps=restart_steps,
            restart_lr=config.restart_lr,
            restart_cycle_steps=max(1, restart_steps // max(config.restart_cycles, 1)),
        )
    if name == "sgdr":
        return keras.optimizers.schedules.CosineDecayRestarts(
            config.lr, max(1, round(config.sgdr_first_epochs * steps_per_epoch)),
            t_mul=config.sgdr_t_mul, m_mul=config.sgdr_m_mul)
    if name == "step":
        return keras.optimizers.schedules.ExponentialDecay(
            config.lr, max(1, round(config.step_epochs * steps_per_epoch)), config.step_gamma,
            staircase=True)
    if name == "constant":
        return float(config.lr)
    raise ValueError(f"schedule must be one of {SCHEDULES}. Received: schedule={name!r}")


def schedule_values(config, steps_per_epoch):
    """The learning rate at every step of the run (for plots and tests)."""
    import numpy as np

    schedule = make_schedule(config, steps_per_epoch)
    steps = np.arange(config.epochs * steps_per_epoch)
    if isinstance(schedule, float):
        return steps, np.full(len(steps), schedule)
    return steps, np.asarray(ops.convert_to_numpy(schedule(ops.convert_to_tensor(steps))), "float64")


def plot_schedule(config, steps_per_epoch, path, title=""):
    """Writes the learning rate against epochs as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps, lrs = schedule_values(config, steps_per_epoch)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(steps / steps_per_epoch, lrs)
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title(title or f"{config.schedule}, {config.epochs} epochs")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv=None):
    """`python -m fmnist_keras.training.schedules --recipe resnet_erasing --out lr.png`."""
    import argparse
    import importlib
    import sys

    parser = argparse.ArgumentParser(description="Plot a recipe's learning-rate schedule.")
    parser.add_argument("--recipe", required=True, help="a module name in fmnist_keras.recipes")
    parser.add_argument("--out", default="lr.png", help="the PNG to write (must not exist)")
    parser.add_argument("--quick", action="store_true", help="the recipe's --quick preset")
    args = parser.parse_args(argv)
    try:
        module = importlib.import_module(f"fmnist_keras.recipes.{args.recipe}")
    except ImportError:
        print(f"schedules: error: no recipe named {args.recipe!r}. Received: recipe={args.recipe!r}",
              file=sys.stderr)
        raise SystemExit(2) from None
    from pathlib import Path

    if Path(args.out).exists():
        print(f"schedules: error: {args.out} already exists (never overwritten)", file=sys.stderr)
        raise SystemExit(2)
    config = module.Config(**module.QUICK) if args.quick else module.Config()
    train_images = (config.limit_train or 60000 - config.val_size)
    steps = max(1, train_images // config.batch_size)
    plot_schedule(config, steps, args.out, title=f"{args.recipe}: {config.schedule}, {config.epochs} epochs")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
