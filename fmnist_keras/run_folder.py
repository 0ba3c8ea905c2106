"""Run folders: JSON that is never overwritten, history, curves (the machine: `machine.py`)."""

import datetime
import json
import os
from pathlib import Path

import numpy as np


def check_writer(path):
    """Raises unless this process may write a run's files: in a run over several
    processes only process 0 does (`training.distributed`), so an entry point that
    does not know about processes fails here instead of writing twice."""
    from fmnist_keras.training import distributed

    if not distributed.is_primary():
        raise RuntimeError(
            f"process {distributed.process_id()} of {distributed.num_processes()} would write {str(path)!r}, but "
            f"only process 0 writes a run's files: this entry point does not run over several processes "
            f"(docs/distributed.md). Received: path={str(path)!r}")


def make_run_dir(output_dir, recipe):
    """Creates and returns a fresh run folder; an existing one is an error."""
    if not output_dir:
        stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
        output_dir = Path("runs") / recipe / stamp
    path = Path(output_dir)
    check_writer(path)
    if path.exists():
        raise FileExistsError(
            f"output folder {str(path)!r} already exists; runs are never overwritten: pass a new "
            f"--output-dir. Received: output_dir={str(output_dir)!r}")
    path.mkdir(parents=True)
    return path


def write_json(path, data):
    """Writes `data` as JSON to a file that must not exist yet (on process 0 only, see `check_writer`)."""
    path = Path(path)
    check_writer(path)
    with open(path, "x") as f:  # "x": refuse to overwrite
        json.dump(_plain(data), f, indent=2, sort_keys=False)
        f.write("\n")


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    return value


def plot_curves(history, path, title=""):
    """Loss and accuracy per epoch: augmented train, clean train, validation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    epochs = np.arange(1, len(history.get("loss", [])) + 1)
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, metric in zip(axes, ("loss", "accuracy")):
        for key, label in ((metric, "train (augmented)"), (f"clean_{metric}", "train (clean)"),
                           (f"val_{metric}", "validation")):
            if key in history:
                ax.plot(epochs, history[key], marker="o", markersize=3, label=label)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def save_classifier(model, path):
    """Saves `model` to `path` atomically (temporary file, then rename)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def plot_confusion(y_true, y_pred, class_names, path):
    """Confusion matrix (row-normalized) with per-class accuracy; returns the accuracies."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    k = len(class_names)
    matrix = np.zeros((k, k), int)
    np.add.at(matrix, (np.asarray(y_true), np.asarray(y_pred)), 1)
    per_class = (np.diag(matrix) / np.maximum(matrix.sum(1), 1)).round(4).tolist()
    fig, ax = plt.subplots(figsize=(8, 7))
    ax.imshow(matrix / np.maximum(matrix.sum(1, keepdims=True), 1), cmap="Blues", vmin=0, vmax=1)
    for i in range(k):
        for j in range(k):
            if matrix[i, j]:
                ax.text(j, i, matrix[i, j], ha="center", va="center", fontsize=7,
                        color="white" if i == j else "black")
    ax.set_xticks(range(k), class_names, rotation=45, ha="right")
    ax.set_yticks(range(k), [f"{n} ({a:.1%})" for n, a in zip(class_names, per_class)])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true (per-class accuracy)")
    ax.set_title(f"test accuracy {np.trace(matrix) / matrix.sum():.2%}")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return per_class


def read_history(path):
    """history.csv as {column: [floats]} (empty if the file does not exist)."""
    import csv

    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    columns = {key: [row[key] for row in rows] for key in (rows[0].keys() if rows else [])}
    # CSVLogger writes "NA" for a metric an epoch lacks; such columns are left out.
    return {key: [float(v) for v in values] for key, values in columns.items()
            if all(v not in (None, "", "NA") for v in values)}
