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
    python -m fmnist_keras.recipes.mlp_grid --cells optimizer --repeats 3
    python -m fmnist_keras.recipes.mlp_grid --cells "adam lr=0.001,sgd lr=0.1"
    python -m fmnist_keras.recipes.mlp_grid --quick                  # 8 epochs, optimizer study, 1 seed
"""

import dataclasses

from fmnist_keras.choices import MLP_INITIALIZERS
from fmnist_keras.recipes._cli import run_recipe
from fmnist_keras.training.config import TrainConfig, cells_setting, setting
from fmnist_keras.training.grid import pick_cells

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
    hidden: tuple = setting((400, 400), "widths of the hidden layers", "model")
    dropout: float = setting(0.0, "dropout rate after each hidden layer", "model")
    initializer: str = setting("glorot_uniform", "kernel initializer of the dense layers", "model",
                               MLP_INITIALIZERS)
    epochs: int = 40
    batch_size: int = 472  # 106 batches per epoch of 50,000 images, as the report
    lr: float = 0.03
    optimizer: str = "sgd"
    momentum: float = 0.0  # plain SGD (PyTorch's default)
    schedule: str = "constant"
    clean_train_size: int = 0
    cells: str = cells_setting(",".join(STUDIES), f"studies ({', '.join(STUDIES)}) or cell labels "
                                                  "like 'adam lr=0.001'")


QUICK = dict(epochs=8, cells="optimizer")
QUICK_HELP = "CPU preset (~3 min on 2 cores): the optimizer x lr study only, 8 epochs, one seed."


def _study_cells():
    """`{study: {label: (overrides, report's number)}}`, in table order."""
    best = {"optimizer": "adam", "lr": 0.001}
    return {
        "baseline": {"baseline sgd lr=0.03": ({}, 87.2)},
        "optimizer": {f"{opt} lr={lr}": ({"optimizer": opt, "lr": lr}, REPORT_GRID[(opt, lr)])
                      for lr in (0.1, 0.01, 0.001) for opt in ("rmsprop", "adam", "sgd")},
        "dropout": {f"adam 1e-3 dropout={p}": ({**best, "dropout": p}, None) for p in (0.0, 0.2, 0.4)},
        "initializer": {f"adam 1e-3 init={init}": ({**best, "initializer": init}, None)
                        for init in ("random_normal", "glorot_uniform")},
    }


CELLS = {label: cell for study in _study_cells().values() for label, cell in study.items()}
GROUPS = {name: list(study) for name, study in _study_cells().items()}


def cells(config):
    """The chosen cells: (label, overrides, report's number)."""
    return pick_cells(config.cells, CELLS, GROUPS)


def main(argv=None):
    """Runs the chosen studies; returns the best cell's results with the whole table."""
    return run_recipe(argv, Config, __doc__, QUICK, QUICK_HELP, RECIPE, cells=cells, report_number=89.6)


if __name__ == "__main__":
    main()
