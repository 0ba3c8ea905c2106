"""Report 001, Table 1: CNN_1..CNN_5 x {no aug, crop + flip} x {softmax, sigmoid}.

Source: Advertima's study. Every model trained with Adam lr 4e-3, L2 1e-3
(coupled), batch 128, 10 epochs; augmentation is a random crop (pad 4) and a
horizontal flip; "sigmoid" is a one-vs-rest head trained with binary
cross-entropy. The best-validation model of each cell is tested. The
report's table (test accuracy %, softmax no-aug / aug / sigmoid no-aug / aug):
CNN_1 89.16/89.13/84.11/83.38, CNN_2 90.25/89.43/85.85/86.61,
CNN_3 88.50/88.37/81.56/84.72, CNN_4 86.95/85.59/81.20/79.39,
CNN_5 88.23/88.01/85.93/84.98.

Run:
    python -m fmnist_keras.recipes.cnn_table                         # 20 cells x 10 epochs (hours on a CPU)
    python -m fmnist_keras.recipes.cnn_table --cells cnn2,cnn4       # a few rows (4 cells each)
    python -m fmnist_keras.recipes.cnn_table --cells "cnn2 softmax no-aug"   # one cell
    python -m fmnist_keras.recipes.cnn_table --quick                 # CNN_4 rows, 2 epochs on 10,000 images
"""

import dataclasses

from fmnist_keras.recipes._cli import run_recipe
from fmnist_keras.training.config import TrainConfig, cells_setting
from fmnist_keras.training.grid import pick_cells

RECIPE = "cnn_table"
MODELS = ("cnn1", "cnn2", "cnn3", "cnn4", "cnn5")
REPORT = {
    "cnn1": (89.16, 89.13, 84.11, 83.38), "cnn2": (90.25, 89.43, 85.85, 86.61),
    "cnn3": (88.50, 88.37, 81.56, 84.72), "cnn4": (86.95, 85.59, 81.20, 79.39),
    "cnn5": (88.23, 88.01, 85.93, 84.98),
}
CROP_FLIP = "pad_crop(pad=4),flip"
VARIANTS = (("softmax", ""), ("softmax", CROP_FLIP), ("sigmoid", ""), ("sigmoid", CROP_FLIP))


def _label(model, head, augment):
    return f"{model} {head} {'crop+flip' if augment else 'no-aug'}"


# label -> (overrides, report's number); each model's four cells form a group named after it.
CELLS = {_label(model, head, augment): ({"model": model, "head": head, "augment": augment}, REPORT[model][i])
         for model in MODELS for i, (head, augment) in enumerate(VARIANTS)}
GROUPS = {model: [_label(model, head, augment) for head, augment in VARIANTS] for model in MODELS}


@dataclasses.dataclass(frozen=True)
class Config(TrainConfig):
    model: str = "cnn1"  # replaced per cell
    cells: str = cells_setting(",".join(MODELS), "models (their four cells each) or cell labels "
                                                 "like 'cnn2 softmax no-aug'")
    epochs: int = 10
    batch_size: int = 128
    lr: float = 4e-3
    optimizer: str = "adam"
    l2: float = 1e-3
    schedule: str = "constant"
    clean_train_size: int = 0


QUICK = dict(epochs=2, limit_train=10000, cells="cnn4")  # with cnn2 too it ran over 7 min on 2 AMD EPYC cores
QUICK_HELP = "CPU preset: the CNN_4 rows (4 cells), 2 epochs on 10,000 training images (~2 min on 2 cores)."


def cells(config):
    return pick_cells(config.cells, CELLS, GROUPS)


def main(argv=None):
    return run_recipe(argv, Config, __doc__, QUICK, QUICK_HELP, RECIPE, cells=cells, report_number=90.25)


if __name__ == "__main__":
    main()
