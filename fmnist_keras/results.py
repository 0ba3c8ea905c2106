"""What a run reports: one record type, built by the runs and read by everyone else.

A single training run, a repeated run (several seeds), a table of cells, the
speedrun and the tuner all return a `RunResults`; `write` makes it the run
folder's `results.json`, and `from_json` reads any `results.json` back,
including every run recorded in `recipes/runs/` since 2026-11-23. The CLI's
summary line, the ledger and `--evaluate` read its attributes, so a new field
is declared here once instead of in four hand-built dicts.

Words: a run's *results* (this record, `results.json`); the *ledger*
(`recipes/runs/` and its tables, `ledger.py`); a *report* is one of the five
studies we reproduce (docs/recipes.md), never a file we write.
"""

import dataclasses
from pathlib import Path
from typing import Any, Optional

from fmnist_keras import run_folder

# machine.environment()'s keys: results.json keeps them at the top level, as it always has.
ENVIRONMENT_KEYS = ("host", "platform", "python", "cpu_count", "cpu_model", "cpu_flags", "device", "devices",
                    "gpu_names", "tensorflow", "jax", "keras", "keras_backend", "git_commit")
# Written even when None: "no validation split" is an answer, not a missing field.
ALWAYS_WRITTEN = ("recipe", "model", "test_accuracy", "best_val_accuracy", "epochs_run", "train_seconds",
                  "run_dir")


@dataclasses.dataclass(frozen=True)
class RunResults:
    """What a run reports. Fields a kind of run does not have stay None and are left out of the JSON."""

    recipe: str
    model: str
    test_accuracy: float  # the headline: mean over seeds, the best cell's, or the speedrun's TTA number
    epochs_run: Any  # an int; one per seed for a repeated run
    train_seconds: float
    run_dir: str
    best_val_accuracy: Optional[float] = None
    # One training run
    parameters: Optional[int] = None
    augment: Optional[str] = None
    test_loss: Optional[float] = None
    best_epoch: Optional[int] = None
    resumed_at_epoch: Optional[int] = None
    per_class_accuracy: Optional[dict] = None
    train_images: Optional[int] = None
    train_images_per_second: Optional[float] = None  # None for a table: its cells' speeds differ
    wall_seconds: Optional[float] = None
    strategy: Optional[str] = None
    replicas: Optional[int] = None
    processes: Optional[int] = None
    weights_sha256: Optional[str] = None
    # Several seeds (`--repeats`, the speedrun)
    repeats: int = 1
    test_accuracy_std: Optional[float] = None
    test_accuracies: Optional[list] = None
    runs: Optional[list] = None  # the seeds' run folders
    # A table (`training.grid`): each cell's row, and the headline cell (chosen on validation)
    best_cell: Optional[str] = None
    cells: Optional[list] = None
    # The speedrun
    tta: Optional[str] = None
    test_accuracy_single_view: Optional[float] = None
    test_accuracies_single_view: Optional[list] = None
    first_seed_seconds: Optional[float] = None
    # The tuner
    best_run_dir: Optional[str] = None
    best_hyperparameters: Optional[dict] = None
    best_search_val_accuracy: Optional[float] = None
    trials: Optional[int] = None
    search_seconds: Optional[float] = None
    # Added after training: shipping (`--export`), `--evaluate`'s summary, the process's wall time
    export: Optional[dict] = None
    evaluation: Optional[dict] = None
    process_seconds: Optional[float] = None
    # machine.environment(), flattened into results.json
    environment: dict = dataclasses.field(default_factory=dict)

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)

    @property
    def best_cell_row(self):
        """A table's headline cell row (None for other runs)."""
        if not self.cells:
            return None
        return next(row for row in self.cells if row["cell"] == self.best_cell)

    def to_json(self):
        """The results.json dict: set fields in declaration order, then the environment."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if field.name == "environment":
                out.update(value)
            elif value is not None or field.name in ALWAYS_WRITTEN:
                out[field.name] = value
        return out

    def write(self, run_dir=None):
        """Writes `<run_dir>/results.json` (never over an existing one); returns its path."""
        path = Path(run_dir or self.run_dir) / "results.json"
        run_folder.write_json(path, self.to_json())
        return path

    @classmethod
    def from_json(cls, data):
        """A record from a results.json dict; a key this record does not know is an error naming it."""
        names = {f.name for f in dataclasses.fields(cls)} - {"environment"}
        unknown = sorted(set(data) - names - set(ENVIRONMENT_KEYS))
        if unknown:
            raise ValueError(f"results have fields this version does not know: {', '.join(unknown)}; expected "
                             f"fields of fmnist_keras.results.RunResults. Received keys: {sorted(data)}")
        missing = [name for name in ("recipe", "model", "test_accuracy", "epochs_run", "train_seconds", "run_dir")
                   if name not in data]
        if missing:
            raise ValueError(f"results lack {', '.join(missing)}. Received keys: {sorted(data)}")
        fields = {k: v for k, v in data.items() if k in names}
        environment = {k: data[k] for k in ENVIRONMENT_KEYS if k in data}
        return cls(**fields, environment=environment)

    @classmethod
    def load(cls, path):
        """Reads a run folder's results.json (or the file itself)."""
        import json

        path = Path(path)
        if path.is_dir():
            path = path / "results.json"
        return cls.from_json(json.loads(path.read_text()))
