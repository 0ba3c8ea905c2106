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
