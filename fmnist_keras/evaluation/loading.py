"""What an evaluation reads: the model files (run folders or `.keras`), the models, a predictor
that counts forward passes, and the validation split temperature scaling is fitted on."""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fmnist_keras import data
from fmnist_keras.evaluation import calibration

FALLBACK_VAL = 5000  # last training images used for temperature when the run's split is unknown


@dataclass
class LoadedModel:
    path: Path  # what the user passed
    name: str
    model: object  # keras.Model
    run_dir: Path | None
    config: dict | None


def resolve_model_path(path):
    """The `.keras` file for a run folder or `.keras` path; FileNotFoundError/ValueError otherwise."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path} does not exist; expected a run folder or a .keras file. "
                                f"Received: model={str(path)!r}")
    if path.is_dir():
        if (path / "model.keras").is_file():
            return path / "model.keras"
        seeds = sorted(p.name for p in path.glob("seed*") if (p / "model.keras").is_file())
        hint = f" (a repeated run: pass its seed folders {', '.join(seeds)})" if seeds else ""
        raise ValueError(f"{path} holds no model.keras{hint}. Received: model={str(path)!r}")
    if path.suffix != ".keras":
        raise ValueError(f"expected a run folder or a .keras file. Received: model={str(path)!r}")
    return path


def load_model(path):
    """Loads a run folder's model.keras (with its config.json) or a .keras file."""
    import keras

    import fmnist_keras  # noqa: F401  registers the custom layers

    file = resolve_model_path(path)
    run_dir = file.parent if (file.parent / "config.json").is_file() else None
    config = json.loads((run_dir / "config.json").read_text()) if run_dir else None
    model = keras.saving.load_model(file)
    if tuple(model.input_shape[1:]) != (28, 28, 1):
        raise ValueError(f"expected a Fashion-MNIST classifier taking (B, 28, 28, 1). Received: "
                         f"input_shape={model.input_shape} from {file}")
    name = f"{config.get('recipe', 'run')}/{config.get('model', '?')}" if config else model.name
    return LoadedModel(Path(path), name, model, run_dir, config)


class Predictor:
    """uint8 `(N, H, W)` -> probability rows, counting forward passes per image."""

    def __init__(self, model, batch_size=1000):
        self.model, self.batch_size = model, batch_size
        self.images = 0
        self.seconds = 0.0
        self.normalized = False

    def __call__(self, images):
        start = time.time()
        x = data.to_model_input(np.asarray(images)[..., None])
        probs = np.asarray(self.model.predict(x, batch_size=self.batch_size, verbose=0), np.float64)
        sums = probs.sum(axis=1)
        if np.any(np.abs(sums - 1.0) > 1e-3):  # a sigmoid head: one-vs-rest scores, not a distribution
            probs = calibration.normalize_rows(probs)
            self.normalized = True
        self.images += len(x)
        self.seconds += time.time() - start
        return probs


def validation_set(loaded, x_train, y_train, limit=None):
    """The run's own validation split (runner.load_splits), else the last 5000 training images."""
    from fmnist_keras import pipeline

    cfg = loaded.config or {}
    if cfg.get("val_size"):
        (_, _), (x_val, y_val) = pipeline.train_val_split(x_train, y_train, int(cfg["val_size"]),
                                                          seed=int(cfg.get("seed", 0)))
        source = f"the run's validation split (val_size={cfg['val_size']}, seed={cfg.get('seed', 0)})"
    else:
        x_val, y_val = x_train[-FALLBACK_VAL:], y_train[-FALLBACK_VAL:]
        why = "no config.json" if loaded.config is None else "the run had no validation split (val_size=0)"
        source = f"the last {FALLBACK_VAL} training images ({why})"
    if limit:
        x_val, y_val = x_val[:limit], y_val[:limit]
        source += f", first {len(x_val)} (--limit)"
    return x_val, y_val, source
