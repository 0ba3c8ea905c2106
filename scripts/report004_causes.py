"""Report 004: why four optimizer x lr cells differ from ours, measured (issue 21).

Report 004 (PyTorch, 784-400-400-10 ReLU MLP, 40 epochs, "106 training
batches") and our `mlp_grid` recipe differ by more than both spreads in four
cells: RMSprop 0.1, Adam 0.1, RMSprop 0.01 and SGD 0.001 (ours higher each
time). This script trains the same MLP on the real data with our split and,
per cell, compares our setting (the control) with variants that each change
ONE PyTorch-vs-Keras difference, then all of them together.

The control is what `python -m fmnist_keras.recipes.mlp_grid` does: the model
of `build_model("mlp")` (input standardized inside the model, Glorot-uniform
kernels, zero biases), our `training.optimizers` SGD/Adam/RMSprop with l2=0,
constant lr, batch 472 (106 steps of the 50,000-image split), the seeded
`(seed, epoch)` batch stream of `pipeline.make_dataset`, split seed = run seed.
Every run records, per epoch, validation AND test accuracy, so it yields both
numbers a reader may mean by "test accuracy":

- `test_best_val`: the test accuracy of the best-validation epoch's weights
  (what our recipe reports: it tests the checkpoint of the best epoch);
- `test_last`: the test accuracy after the last epoch (what a plain PyTorch
  training loop reports).

Variants (each changes one thing relative to the control):

- `torch_optimizer`: PyTorch's update rule and defaults for the cell's
  optimizer. RMSprop: `v = 0.99 v + 0.01 g^2; p -= lr g / (sqrt(v) + 1e-8)`
  (Keras: rho 0.9 and `lr g / sqrt(v + 1e-7)`, epsilon INSIDE the root).
  Adam: `p -= lr/(1-b1^t) m / (sqrt(v)/sqrt(1-b2^t) + 1e-8)` (Keras adds its
  1e-7 to sqrt(v) before the bias correction of v). SGD: identical already.
- `rho0.99`: Keras' RMSprop with rho=0.99 only (epsilon form unchanged).
- `adam_eps1e-8`: Keras' Adam with epsilon=1e-8 only.
- `torch_init`: `nn.Linear`'s init, kernel AND bias ~ U(+-1/sqrt(fan_in)).
- `raw_input`: no input standardization: the model sees [0, 1] pixels
  (`transforms.ToTensor()` without `Normalize`).
- `batch106`: batch SIZE 106 (471 steps per epoch) instead of 106 batches.
- `all_torch`: torch_optimizer + torch_init + raw_input (batch 472).
- `all_torch_b106`: all_torch with batch 106.

Run:
    python scripts/report004_causes.py --limit-train 2000 --epochs 2 --seeds 1 --out /tmp/smoke.json
    nice -n 10 python scripts/report004_causes.py --cells "rmsprop lr=0.01" \\
        --variants control,torch_optimizer --seeds 3 --out recipes/studies/report004_causes-2026-12-02.json

With an existing `--out` file, finished (cell, variant, seed) runs are kept
and skipped, and every finished run is written at once, so a stopped session
keeps what finished and a rerun continues.
"""

import argparse
import datetime
import json
import math
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# The four cells (optimizer, lr) and the report's mean +- std, percent.
CELLS = {
    "rmsprop lr=0.1": ("rmsprop", 0.1, 21.5, 2.5),
    "adam lr=0.1": ("adam", 0.1, 9.8, 2.3),
    "rmsprop lr=0.01": ("rmsprop", 0.01, 81.2, 3.1),
    "sgd lr=0.001": ("sgd", 0.001, 76.9, 3.0),
}
# Our recorded recipe cells (recipes/runs/mlp_grid-2026-12-02.json), percent: mean, std.
RECORDED = {
    "rmsprop lr=0.1": (36.47, 6.19),
    "adam lr=0.1": (55.36, 16.46),
    "rmsprop lr=0.01": (87.19, 0.13),
    "sgd lr=0.001": (81.36, 0.28),
}

# variant -> the settings it changes from the control.
CONTROL = {"optimizer_form": "keras", "rho": None, "epsilon": None, "init": "keras",
           "standardize": True, "batch_size": 472}
VARIANTS = {
    "control": {},
    "torch_optimizer": {"optimizer_form": "torch"},
    "rho0.99": {"rho": 0.99},
    "adam_eps1e-8": {"epsilon": 1e-8},
    "torch_init": {"init": "torch"},
    "raw_input": {"standardize": False},
    "batch106": {"batch_size": 106},
    "all_torch": {"optimizer_form": "torch", "init": "torch", "standardize": False},
    "all_torch_b106": {"optimizer_form": "torch", "init": "torch", "standardize": False, "batch_size": 106},
}
# Variants that only make sense for some optimizers.
ONLY_FOR = {"rho0.99": ("rmsprop",), "adam_eps1e-8": ("adam",), "torch_optimizer": ("rmsprop", "adam")}

EPOCHS = 40
VAL_SIZE = 10000


def settings(variant):
    """The full settings of a variant: the control's, with the variant's changes."""
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(VARIANTS)}. Received: {variant!r}")
    return {**CONTROL, **VARIANTS[variant]}


def applies(variant, optimizer):
    return optimizer in ONLY_FOR.get(variant, (optimizer,))


# ---------------------------------------------------------------------------- optimizers


def torch_optimizers():
    """`{"rmsprop": TorchRMSprop, "adam": TorchAdam}`: PyTorch's update rules, in Keras."""
    import keras
    from keras import ops

    from fmnist_keras.training import optimizers as ours

    class TorchRMSprop(keras.optimizers.Optimizer):
        """`torch.optim.RMSprop(lr, alpha=0.99, eps=1e-8)`:
        `v = alpha v + (1 - alpha) g^2; p -= lr g / (sqrt(v) + eps)`."""

        def __init__(self, learning_rate, alpha=0.99, eps=1e-8, name="torch_rmsprop", **kwargs):
            super().__init__(learning_rate=learning_rate, name=name, **kwargs)
            self.alpha, self.eps = alpha, eps

        def build(self, variables):
            if self.built:
                return
            super().build(variables)
            self.vs = self.add_optimizer_variables(variables, "square_avg")

        def update_step(self, gradient, variable, learning_rate):
            lr = ops.cast(learning_rate, variable.dtype)
            g = ops.cast(gradient, variable.dtype)
            v = self.vs[self._get_variable_index(variable)]
            self.assign(v, self.alpha * v + (1.0 - self.alpha) * g * g)
            self.assign_sub(variable, lr * g / (ops.sqrt(v) + self.eps))

    class TorchAdam(ours._AdamMoments):
        """`torch.optim.Adam(lr, betas=(0.9, 0.999), eps=1e-8)`:
        `p -= lr / (1 - b1^t) m / (sqrt(v) / sqrt(1 - b2^t) + eps)`. The moments are
        RAdam's/AdaBound's (`training.optimizers._AdamMoments`, no L2); only the step differs."""

        def __init__(self, learning_rate, beta_1=0.9, beta_2=0.999, eps=1e-8, name="torch_adam", **kwargs):
            super().__init__(learning_rate, beta_1, beta_2, eps, 0.0, name, **kwargs)

        def update_step(self, gradient, variable, learning_rate):
            lr = ops.cast(learning_rate, variable.dtype)
            m, v, t, b1, b2 = self._moments(gradient, variable)
            denom = ops.sqrt(v) / ops.sqrt(1.0 - ops.power(b2, t)) + self.epsilon
            self.assign_sub(variable, (lr / (1.0 - ops.power(b1, t))) * m / denom)

    return {"rmsprop": TorchRMSprop, "adam": TorchAdam}


def make_optimizer(optimizer, lr, s):
    """The control's optimizer (our `training.optimizers`, l2=0) or the variant's."""
    from fmnist_keras.training import optimizers as ours

    if s["optimizer_form"] == "torch" and optimizer in ("rmsprop", "adam"):
        return torch_optimizers()[optimizer](lr)
    if optimizer == "sgd":
        return ours.SGD(lr, momentum=0.0, l2=0.0)
    if optimizer == "adam":
        extra = {} if s["epsilon"] is None else {"epsilon": s["epsilon"]}
        return ours.Adam(lr, l2=0.0, **extra)
    if optimizer == "rmsprop":
        extra = {} if s["rho"] is None else {"rho": s["rho"]}
        return ours.RMSprop(lr, l2=0.0, **extra)
    raise ValueError(f"optimizer must be sgd, adam or rmsprop. Received: {optimizer!r}")


# ---------------------------------------------------------------------------- model


def build_mlp(s):
    """784-400-400-10 ReLU MLP. Control: exactly `build_model("mlp")`."""
    import keras

    from fmnist_keras.data import PIXEL_MEAN, PIXEL_STD
    from fmnist_keras.models import build_model

    if s["init"] == "keras" and s["standardize"]:
        return build_model("mlp", input_shape=(28, 28, 1))
    inputs = keras.Input(shape=(28, 28, 1), name="input")
    x = inputs
    if s["standardize"]:
        x = keras.layers.Rescaling(scale=1.0 / PIXEL_STD, offset=-PIXEL_MEAN / PIXEL_STD, name="input_norm")(x)
    x = keras.layers.Flatten(name="classifier_input_flatten")(x)

    def dense(units, fan_in, name, activation=None):
        init = {}
        if s["init"] == "torch":
            bound = 1.0 / math.sqrt(fan_in)
            init = {"kernel_initializer": keras.initializers.VarianceScaling(1.0 / 3.0, "fan_in", "uniform"),
                    "bias_initializer": keras.initializers.RandomUniform(-bound, bound)}
        return keras.layers.Dense(units, activation=activation, name=name, **init)

    fan_in = 28 * 28
    for i, units in enumerate((400, 400), start=1):
        x = dense(units, fan_in, f"classifier_fc{i}_dense")(x)
        x = keras.layers.ReLU(name=f"classifier_fc{i}_relu")(x)
        fan_in = units
    outputs = dense(10, fan_in, "head_dense", activation="softmax")(x)
    return keras.Model(inputs, outputs, name="mlp")


# ---------------------------------------------------------------------------- one run


def load_split(seed, limit_train=0):
    """Our split (split seed = run seed, as the recipe): uint8 train, and [0, 1] val/test arrays."""
    from fmnist_keras import data, pipeline

    (x, y), (x_test, y_test) = data.load_fashion_mnist()
    (x_train, y_train), (x_val, y_val) = pipeline.train_val_split(x, y, val_size=VAL_SIZE, seed=seed)
    if limit_train:
        x_train, y_train = pipeline.limit_train(x_train, y_train, limit_train, seed=seed)
        x_val, y_val = x_val[:limit_train], y_val[:limit_train]
        x_test, y_test = x_test[:limit_train], y_test[:limit_train]
    prep = lambda images: data.to_model_input(images[..., None])  # noqa: E731
    return (x_train, y_train), (prep(x_val), y_val), (prep(x_test), y_test)


def accuracy(model, x, y, batch=5000):
    """Top-1 accuracy; direct calls, as `predict`'s per-call setup costs more than this MLP's forward pass."""
    hits = sum(int(np.sum(np.asarray(model(x[i:i + batch], training=False)).argmax(axis=1) == y[i:i + batch]))
               for i in range(0, len(x), batch))
    return hits / len(x)


def train_one(cell, variant, seed, epochs=EPOCHS, limit_train=0, verbose=0, splits=None):
    """Trains one (cell, variant, seed); returns its record (accuracies in [0, 1])."""
    import keras

    from fmnist_keras import pipeline

    optimizer, lr = CELLS[cell][:2]
    s = settings(variant)
    keras.utils.set_random_seed(seed)
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = splits or load_split(seed, limit_train)
    batch = s["batch_size"]
    steps = len(x_train) // batch
    if steps < 1:
        raise ValueError(f"{len(x_train)} training images are fewer than one batch of {batch}")
    model = build_mlp(s)
    model.compile(optimizer=make_optimizer(optimizer, lr, s),
                  loss=keras.losses.SparseCategoricalCrossentropy(), metrics=["accuracy"])
    train_ds = pipeline.make_dataset(x_train, y_train, batch, training=True, seed=seed, epochs=epochs)

    curves = {"loss": [], "train_accuracy": [], "val_accuracy": [], "test_accuracy": []}
    nan_epoch = []

    class PerEpoch(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            curves["loss"].append(float(logs["loss"]))
            curves["train_accuracy"].append(float(logs["accuracy"]))
            curves["val_accuracy"].append(accuracy(self.model, x_val, y_val))
            curves["test_accuracy"].append(accuracy(self.model, x_test, y_test))
            if not all(np.isfinite(w).all() for w in self.model.get_weights()):
                nan_epoch.append(epoch + 1)  # weights are NaN: every later epoch predicts the same
                self.model.stop_training = True

    start = time.time()
    model.fit(train_ds, epochs=epochs, steps_per_epoch=steps, callbacks=[PerEpoch()], verbose=verbose,
              shuffle=False)
    seconds = time.time() - start
    for key in curves:  # a NaN run stopped early: its later epochs are its last (NaN weights stay NaN)
        curves[key] += [curves[key][-1]] * (epochs - len(curves[key]))
    best = int(np.argmax(curves["val_accuracy"]))  # the first best epoch, as the recipe's checkpoint
    return {
        "cell": cell, "variant": variant, "seed": seed, "optimizer": optimizer, "lr": lr,
        "settings": s, "optimizer_class": type(model.optimizer).__name__,
        "optimizer_config": {k: v for k, v in model.optimizer.get_config().items()
                             if k in ("rho", "epsilon", "beta_1", "beta_2", "alpha", "eps", "momentum")}
        | {k: getattr(model.optimizer, k) for k in ("alpha", "eps") if hasattr(model.optimizer, k)},
        "batch_size": batch, "steps_per_epoch": steps, "epochs": epochs, "train_images": len(x_train),
        "test_best_val": curves["test_accuracy"][best], "best_epoch": best + 1,
        "best_val_accuracy": curves["val_accuracy"][best], "test_last": curves["test_accuracy"][-1],
        "val_last": curves["val_accuracy"][-1], "nan_at_epoch": nan_epoch[0] if nan_epoch else None,
        "train_seconds": round(seconds, 1), "curves": {k: [round(v, 5) for v in c] for k, c in curves.items()},
    }


# ---------------------------------------------------------------------------- table and file


def mean_std(values):
    """Mean and sample std (0 for one value), in percent."""
    values = [100 * v for v in values]
    if not values:
        return None, None
    return float(np.mean(values)), float(np.std(values, ddof=1)) if len(values) > 1 else 0.0


def summarize(runs):
    """One row per (cell, variant), in the order they first ran."""
    rows = {}
    for run in runs:
        rows.setdefault((run["cell"], run["variant"]), []).append(run)
    table = []
    for (cell, variant), group in rows.items():
        group = sorted(group, key=lambda r: r["seed"])
        row = {"cell": cell, "variant": variant, "seeds": [r["seed"] for r in group],
               "report": list(CELLS[cell][2:]), "recorded_recipe": list(RECORDED[cell])}
        for key in ("test_best_val", "test_last"):
            m, sd = mean_std([r[key] for r in group])
            row[key] = {"mean": m, "std": sd, "per_seed": [round(100 * r[key], 2) for r in group]}
        table.append(row)
    return table


def markdown(table):
    lines = ["| cell | variant | n | test, best-val epoch (recipe's number) | per seed | "
             "test, last epoch | per seed | report | recorded recipe |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in table:
        b, last = row["test_best_val"], row["test_last"]
        lines.append(
            f"| {row['cell']} | {row['variant']} | {len(row['seeds'])} | {b['mean']:.2f} ± {b['std']:.2f} | "
            f"{', '.join(f'{v:.2f}' for v in b['per_seed'])} | {last['mean']:.2f} ± {last['std']:.2f} | "
            f"{', '.join(f'{v:.2f}' for v in last['per_seed'])} | {row['report'][0]} ± {row['report'][1]} | "
            f"{row['recorded_recipe'][0]} ± {row['recorded_recipe'][1]} |")
    return "\n".join(lines)


def write(out, runs, commands, environment, recorded=None):
    doc = {"study": "report004_causes", "issue": 21, "commands": commands,
           "date": datetime.date.today().isoformat(), "environment": environment,
           "load_average": list(os.getloadavg()), "table": summarize(runs), "runs": runs}
    if recorded:
        doc["recorded_recipe_run"] = recorded
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(out.suffix + ".tmp")
    tmp.write_text(json.dumps(doc, indent=1) + "\n")
    tmp.replace(out)
    return doc


def recorded_histories(folder):
    """Per-seed numbers of a recipe run folder (`mlp_grid --output-dir`): the tested (best-validation)
    epoch and its test accuracy from results.json, and the validation accuracy of the best and the
    last epoch from history.csv. Costs no training: the recipe logged validation every epoch."""
    import csv

    found = {}
    for cell in CELLS:
        for seed_dir in sorted((Path(folder) / cell.replace(" ", "_").replace("=", "_")).glob("seed*")):
            results = json.loads((seed_dir / "results.json").read_text())
            with open(seed_dir / "history.csv") as f:
                val = [float(row["val_accuracy"]) for row in csv.DictReader(f)]
            found.setdefault(cell, []).append({
                "seed": int(seed_dir.name[4:]), "test_best_val": results["test_accuracy"],
                "best_epoch": results["best_epoch"], "val_best": max(val), "val_last": val[-1],
                "epochs": len(val)})
    return {"folder": str(folder), "cells": found}


def parse_list(text, choices, what):
    items = [t.strip() for t in text.split(",") if t.strip()]
    for item in items:
        if item not in choices:
            raise SystemExit(f"unknown {what} {item!r}; choose from: {', '.join(choices)}")
    return items


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", default=",".join(CELLS), help="comma-separated cells: " + ", ".join(CELLS))
    parser.add_argument("--variants", default="control,torch_optimizer,torch_init,raw_input,all_torch",
                        help="comma-separated variants: " + ", ".join(VARIANTS))
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (seed k: split, init, data order)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--limit-train", type=int, default=0,
                        help="train on this many images, and val/test on as many (smoke mode)")
    parser.add_argument("--out", type=Path, required=True, help="results JSON (kept and extended if it exists)")
    parser.add_argument("--verbose", type=int, default=0)
    parser.add_argument("--recorded-run", type=Path, default=None,
                        help="also store the per-seed best/last validation accuracy of a recipe run folder "
                             "(e.g. /tmp/runs/mlp_grid_opt_init, the run behind recipes/runs/mlp_grid-2026-12-02.json)")
    args = parser.parse_args(argv)
    cells = parse_list(args.cells, CELLS, "cell")
    variants = parse_list(args.variants, VARIANTS, "variant")

    import keras  # noqa: F401  (before machine.environment, which reads Keras' versions)

    from fmnist_keras import machine

    command = " ".join([Path(sys.argv[0]).name if argv is None else "report004_causes.py",
                        *(sys.argv[1:] if argv is None else argv)])
    runs, commands, recorded = [], [], None
    if args.out.exists():
        previous = json.loads(args.out.read_text())
        runs, commands = previous["runs"], previous["commands"]
        recorded = previous.get("recorded_recipe_run")
    if args.recorded_run is not None:
        recorded = recorded_histories(args.recorded_run)
    commands = commands + [command]
    done = {(r["cell"], r["variant"], r["seed"], r["epochs"], r["train_images"]) for r in runs}
    environment = machine.environment()
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        splits = load_split(seed, args.limit_train)
        for cell in cells:
            for variant in variants:
                if not applies(variant, CELLS[cell][0]):
                    continue
                key = (cell, variant, seed, args.epochs, len(splits[0][0]))
                if key in done:
                    continue
                run = train_one(cell, variant, seed, args.epochs, args.limit_train, args.verbose, splits)
                runs.append(run)
                done.add(key)
                print(f"{cell} | {variant} | seed {seed}: test {100 * run['test_best_val']:.2f} (best-val epoch "
                      f"{run['best_epoch']}), last {100 * run['test_last']:.2f}, {run['train_seconds']} s",
                      flush=True)
                write(args.out, runs, commands, environment, recorded)
    doc = write(args.out, runs, commands, environment, recorded)
    print(markdown(doc["table"]))
    return doc


if __name__ == "__main__":
    main()
