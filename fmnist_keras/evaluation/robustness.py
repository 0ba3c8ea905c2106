"""Corruption robustness: accuracy per corruption and severity, CE and mCE, exported sets.

mCE follows Hendrycks & Dietterich (2019): for each corruption c,
`CE_c = sum_s E(model, c, s) / sum_s E(baseline, c, s)`, and mCE is the mean
of `CE_c` over corruptions (1.0 = as robust as the baseline, lower is
better). Relative mCE subtracts each model's clean error first, so it
measures the *drop* under corruption. Without a baseline we report the
unnormalized mean corruption error: mean over c of mean over s of E.

Reference: https://arxiv.org/abs/1903.12261
"""

import json
from pathlib import Path

import numpy as np

from fmnist_keras.evaluation.corruptions import CORRUPTIONS, corrupt, corruption_seed, severity_level


def corrupted_sets(images, names, severities, seed=0):
    """Yields `(name, severity, uint8 images)` for every pair, corrupting each set once."""
    for name in names:
        for severity in severities:
            yield name, severity, corrupt(images, name, severity, seed)


def accuracy(probs, labels):
    return float(np.mean(np.asarray(probs).argmax(axis=1) == np.asarray(labels)))


def mean_corruption_error(errors, baseline_errors=None, clean_error=None, baseline_clean_error=None):
    """CE per corruption and their mean, normalized by a baseline when one is given.

    Args:
        errors: `{corruption: [error at each severity]}` (errors in [0, 1]).
        baseline_errors: the same for the baseline model, or None.
        clean_error, baseline_clean_error: clean test errors, for relative mCE.

    Returns:
        dict with `error_mean` (per corruption: mean over severities),
        `mean_corruption_error` (their mean); with a baseline also `ce`,
        `mce`, and with clean errors `relative_ce`, `relative_mce`. A ratio
        whose denominator is 0 is None (the baseline made no such error).
    """
    out = {"error_mean": {c: float(np.mean(e)) for c, e in errors.items()}}
    out["mean_corruption_error"] = float(np.mean(list(out["error_mean"].values()))) if errors else None
    if baseline_errors is None:
        return out
    missing = sorted(set(errors) - set(baseline_errors))
    if missing:
        raise ValueError(f"the baseline lacks corruptions {', '.join(missing)}. Received: "
                         f"baseline_errors for {', '.join(sorted(baseline_errors))}")
    out["ce"] = {c: _ratio(np.sum(errors[c]), np.sum(baseline_errors[c])) for c in errors}
    out["mce"] = _mean_or_none(out["ce"].values())
    if clean_error is not None and baseline_clean_error is not None:
        out["relative_ce"] = {
            c: _ratio(np.sum(np.asarray(errors[c]) - clean_error),
                      np.sum(np.asarray(baseline_errors[c]) - baseline_clean_error)) for c in errors}
        out["relative_mce"] = _mean_or_none(out["relative_ce"].values())
    return out


def _ratio(num, den):
    return float(num / den) if den != 0 else None


def _mean_or_none(values):
    values = list(values)
    return None if not values or any(v is None for v in values) else float(np.mean(values))


def evaluate_corruptions(predictors, images, labels, names, severities, seed=0, export_dir=None, log=None):
    """Accuracy of every predictor on every corrupted set (each set is built once).

    Args:
        predictors: `{key: fn}`, fn maps uint8 `(N, H, W)` to probabilities.
        images, labels: the clean test set (uint8, ints).
        names, severities: corruptions and severities (1..5) to run.
        seed: the corruption seed.
        export_dir: also write the sets there (see `export_corrupted`).
        log: optional `fn(str)` for progress lines.

    Returns:
        `{key: {corruption: [accuracy at each severity]}}`.
    """
    result = {key: {name: [] for name in names} for key in predictors}
    writer = _Exporter(export_dir, labels, names, severities, seed) if export_dir else None
    for name, severity, bad in corrupted_sets(images, names, severities, seed):
        if writer:
            writer.add(name, severity, bad)
        for key, predict in predictors.items():
            result[key][name].append(accuracy(predict(bad), labels))
        if log:
            log(f"{name} severity {severity}: " + ", ".join(
                f"{key} {result[key][name][-1]:.4f}" for key in predictors))
    if writer:
        writer.finish()
    return result


def write_idx(path, array):
    """Writes a uint8 array as an IDX file (images `(N, H, W)`: 0x803, labels `(N,)`: 0x801)."""
    array = np.ascontiguousarray(array, np.uint8)
    if array.ndim not in (1, 3):
        raise ValueError(f"IDX needs (N,) labels or (N, H, W) images. Received: shape={array.shape}")
    header = (0x800 + array.ndim).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in array.shape)
    with open(path, "xb") as f:  # never overwrite
        f.write(header + array.tobytes())


class _Exporter:
    """Writes `<dir>/<corruption>.npz` (images `(S, N, H, W)`, labels, severities) and IDX folders."""

    def __init__(self, out_dir, labels, names, severities, seed):
        self.dir = Path(out_dir)
        self.labels = np.asarray(labels, np.uint8)
        self.names, self.severities, self.seed = tuple(names), tuple(severities), seed
        clashes = [p for n in self.names for p in (self.dir / f"{n}.npz", self.dir / "idx" / n) if p.exists()]
        if clashes or (self.dir / "manifest.json").exists():
            raise FileExistsError(f"{self.dir} already holds exported sets ({clashes[0] if clashes else 'manifest.json'}); "
                                  f"pick a new folder. Received: export_corrupted={str(out_dir)!r}")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.pending = {}

    def add(self, name, severity, images):
        folder = self.dir / "idx" / name / f"severity{severity}"
        folder.mkdir(parents=True)
        write_idx(folder / "t10k-images-idx3-ubyte", images.reshape(images.shape[:3]))
        write_idx(folder / "t10k-labels-idx1-ubyte", self.labels)
        self.pending.setdefault(name, []).append(images.reshape(images.shape[:3]))
        if len(self.pending[name]) == len(self.severities):
            with open(self.dir / f"{name}.npz", "xb") as f:
                np.savez_compressed(f, images=np.stack(self.pending.pop(name)), labels=self.labels,
                                    severities=np.asarray(self.severities, np.int64))

    def finish(self):
        manifest = {
            "seed": self.seed,
            "severities": list(self.severities),
            "images": int(len(self.labels)),
            "corruptions": {n: {"levels": [severity_level(n, s) for s in self.severities],
                                "family": CORRUPTIONS[n][2],
                                "rng_seed": [corruption_seed(n, s, self.seed) for s in self.severities]}
                            for n in self.names},
            "layout": "<name>.npz: images (severities, N, H, W) uint8, labels (N,), severities; "
                      "idx/<name>/severity<k>/t10k-{images-idx3,labels-idx1}-ubyte",
        }
        with open(self.dir / "manifest.json", "x") as f:
            json.dump(manifest, f, indent=2, default=str)
