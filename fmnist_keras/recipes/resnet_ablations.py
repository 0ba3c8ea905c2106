"""Report 002: ResNet-18 one-factor-at-a-time ablations (EE 562), best 92.86%.

Source: a torchvision ResNet-18 with its first conv changed for 1-channel
28x28 input (`stem="imagenet"`: 7x7 stride-2 conv + max-pool), normalized
input, cross-entropy, Adam 3e-4, 5 epochs: 92.28%. One change at a time:
epochs 10 / 20 (92.69 / 92.34), SGD 1e-3 (88.27), AdamW (92.48), random
flip, loss MSE / NLL (92.5 / 92.25); flip + AdamW + MSE together: 92.86%.
Also the report's other two families: a VGG and a fully connected network.
The report gives no batch size: 64 here.

Run:
    python -m fmnist_keras.recipes.resnet_ablations                       # every cell (GPU advised)
    python -m fmnist_keras.recipes.resnet_ablations --cells baseline,combined
    python -m fmnist_keras.recipes.resnet_ablations --quick               # width 16, 1 epoch, 10k images
"""

import dataclasses

from fmnist_keras.recipes._cli import run_recipe
from fmnist_keras.training.config import TrainConfig, cells_setting, stem_setting, width_setting
from fmnist_keras.training.grid import pick_cells

RECIPE = "resnet_ablations"

# label -> (overrides of the baseline, report's number)
CELLS = {
    "baseline": ({}, 92.28),
    "epochs10": ({"epochs": 10}, 92.69),
    "epochs20": ({"epochs": 20}, 92.34),
    "sgd": ({"optimizer": "sgd", "lr": 1e-3, "momentum": 0.0}, 88.27),
    "adamw": ({"optimizer": "adamw", "weight_decay": 0.01}, 92.48),  # PyTorch AdamW's default decay
    "flip": ({"augment": "flip"}, None),
    "mse": ({"loss": "mse"}, 92.5),
    "nll": ({"loss": "nll"}, 92.25),
    "combined": ({"augment": "flip", "optimizer": "adamw", "weight_decay": 0.01, "loss": "mse"}, 92.86),
    "vgg11": ({"model": "vgg11"}, None),  # ResNet knobs (width, stem) do not apply to these
    "mlp": ({"model": "mlp"}, None),
}


@dataclasses.dataclass(frozen=True)
class Config(TrainConfig):
    model: str = "resnet18"
    stem: str = stem_setting("imagenet")  # torchvision's layout with a 1-channel first conv
    width: int = width_setting(64)
    epochs: int = 5
    batch_size: int = 64
    lr: float = 3e-4
    optimizer: str = "adam"
    schedule: str = "constant"
    clean_train_size: int = 0
    cells: str = cells_setting(",".join(CELLS), ", ".join(CELLS))


QUICK = dict(width=16, epochs=1, limit_train=10000, cells="baseline,mse,combined")
QUICK_HELP = "CPU preset: width-16 ResNet-18, baseline/MSE/combined cells, 1 epoch on 10,000 images."


def cells(config):
    return pick_cells(config.cells, CELLS)


def main(argv=None):
    return run_recipe(argv, Config, __doc__, QUICK, QUICK_HELP, RECIPE, cells=cells, report_number=92.86)


if __name__ == "__main__":
    main()
