"""Report 004: fully connected networks (AMATH 582), baseline 87.2%, best 89.6%.

Source: a 784-400-400-10 ReLU network in PyTorch. Baseline: plain SGD at lr
0.03, 40 epochs, 106 batches per epoch (batch 472 on our 50,000 training
images), constant rate: 87.2% (+-2.1). Then one study at a time, each cell
reported as mean +- std over repeated runs:
  - optimizer {RMSprop, Adam, SGD} x lr {0.1, 0.01, 0.001}: best Adam 1e-3, 89.6% (+-2.0);
  - dropout {0, 0.2, 0.4} and initializers {random normal, Xavier uniform}
    (run here with the best optimizer, Adam 1e-3).
Targets: every cell of the report; the best cell >= 89.6%.

Run:
    python -m fmnist_keras.recipes.mlp_grid --repeats 3              # all studies, 40 epochs
    python -m fmnist_keras.recipes.mlp_grid --studies optimizer --repeats 3
    python -m fmnist_keras.recipes.mlp_grid --quick                  # 8 epochs, optimizer study, 1 seed
"""

import dataclasses

from fmnist_keras.recipes._cli import run_recipe
from fmnist_keras.training.config import TrainConfig
from fmnist_keras.training.grid import run_table

RECIPE = "mlp_grid"
STUDIES = ("baseline", "optimizer", "dropout", "initializer")

# Report 004's numbers, percent: (optimizer, lr) -> mean test accuracy.
REPORT_GRID = {
    ("rmsprop", 0.1): 21.5, ("adam", 0.1): 9.8, ("sgd", 0.1): 88.9,
    ("rmsprop", 0.01): 81.2, ("adam", 0.01): 87.9, ("sgd", 0.01): 85.2,
    ("rmsprop", 0.001): 88.4, ("adam", 0.001): 89.6, ("sgd", 0.001): 76.9,
}


@dataclasses.dataclass(frozen=True)
class Config(TrainConfig):
    model: str = "mlp"
    hidden: tuple = (400, 400)  # widths of the hidden layers
    dropout: float = 0.0
    initializer: str = "glorot_uniform"  # glorot_uniform | random_normal | he_normal
    epochs: int = 40
    batch_size: int = 472  # 106 batches per epoch of 50,000 images, as the report
    lr: float = 0.03
    optimizer: str = "sgd"
    momentum: float = 0.0  # plain SGD (PyTorch's default)
    schedule: str = "constant"
    clean_train_size: int = 0
    studies: str = "baseline,optimizer,dropout,initializer"  # which tables to run


QUICK = dict(epochs=8, studies="optimizer")
QUICK_HELP = "CPU preset (~3 min on 2 cores): the optimizer x lr study only, 8 epochs, one seed."


def cells(config):
    """The table's cells for the chosen studies: (label, overrides, report's number)."""
    chosen = [s.strip() for s in config.studies.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(STUDIES))
    if unknown or not chosen:
        raise ValueError(f"studies must be a comma list of {', '.join(STUDIES)}. Received: studies={config.studies!r}")
    table = []
    if "baseline" in chosen:
        table.append(("baseline sgd lr=0.03", {}, 87.2))
    if "optimizer" in chosen:
        for lr in (0.1, 0.01, 0.001):
            for opt in ("rmsprop", "adam", "sgd"):
                table.append((f"{opt} lr={lr}", {"optimizer": opt, "lr": lr}, REPORT_GRID[(opt, lr)]))
    best = {"optimizer": "adam", "lr": 0.001}
    if "dropout" in chosen:
        for p in (0.0, 0.2, 0.4):
            table.append((f"adam 1e-3 dropout={p}", {**best, "dropout": p}, None))
    if "initializer" in chosen:
        for init in ("random_normal", "glorot_uniform"):
            table.append((f"adam 1e-3 init={init}", {**best, "initializer": init}, None))
    return table


def main(argv=None):
    """Runs the chosen studies; returns the best cell's results with the whole table."""
    return run_recipe(argv, Config, __doc__, QUICK, QUICK_HELP, RECIPE,
                      run=lambda config: run_table(config, cells(config), RECIPE), report_number=89.6)


if __name__ == "__main__":
    main()
