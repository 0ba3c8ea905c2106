"""`run_evaluation`: one model (plus optional ensemble members and a baseline) through every check.

Loads the models and the real data, then runs corruption robustness,
calibration with temperature scaling, the frontier track (TTA, ensemble)
and error analysis, and writes evaluation.json, the eval_*.png figures and
a self-contained report.html. Nothing existing is overwritten unless asked.
"""

import datetime
import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fmnist_keras import data, machine
from fmnist_keras.evaluation import calibration, errors, plots, robustness, tta
from fmnist_keras.evaluation.corruptions import CORRUPTIONS, SEVERITIES, parse_corruptions, severity_level
from fmnist_keras.evaluation.page import render_html

OUTPUTS = {"json": "evaluation.json", "html": "report.html", "corruptions": "eval_corruptions.png",
           "reliability": "eval_reliability.png", "confusion": "eval_confusion.png",
           "gallery": "eval_misclassified.png"}
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


def _check_severities(severities):
    severities = tuple(severities)
    bad = [s for s in severities if isinstance(s, bool) or not isinstance(s, (int, np.integer)) or not 1 <= s <= 5]
    if bad or not severities or len(set(severities)) != len(severities):
        raise ValueError(f"severities must be distinct integers in 1..5. Received: severities={list(severities)}")
    return severities


def output_paths(out_dir, overwrite=False):
    """`{key: path}` for every output; FileExistsError if one exists and `overwrite` is False."""
    out_dir = Path(out_dir)
    paths = {key: out_dir / name for key, name in OUTPUTS.items()}
    existing = [p.name for p in paths.values() if p.exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{out_dir} already has {', '.join(existing)}; pass --overwrite or --out DIR. "
                              f"Received: out={str(out_dir)!r}")
    return paths


def run_evaluation(models, *, baseline=None, corruptions="all", severities=SEVERITIES, tta_spec="flip,shift",
                   out_dir=None, limit=None, seed=0, export_corrupted=None, overwrite=False, data_dir=None,
                   batch_size=1000, gallery=24, bins=15, log=None):
    """Evaluates `models[0]`; with more models the frontier track adds their ensemble.

    Args:
        models: run folders or .keras files (at least one).
        baseline: a run folder or .keras file for mCE, or None.
        corruptions: "all", "none" or a comma list (see `corruptions.corruption_names`).
        severities: severities 1..5 to run.
        tta_spec: "flip,shift", "flip", "shift" or "none".
        out_dir: where to write; default the first model's folder.
        limit: use only the first `limit` test (and validation) images.
        seed: corruption seed.
        export_corrupted: folder to write the corrupted sets to (NPZ + IDX).
        overwrite: replace an earlier evaluation's files.
        data_dir: Fashion-MNIST IDX folder (default: the usual search).
        batch_size: prediction batch size.
        gallery: number of mistakes shown.
        bins: ECE bins.
        log: optional `fn(str)` for progress.

    Returns:
        The evaluation.json dict (also written, with `outputs` naming the files).
    """
    start = time.time()
    log = log or (lambda message: None)
    if not models:
        raise ValueError("models must name at least one run folder or .keras file. Received: models=[]")
    names = () if corruptions == "none" else parse_corruptions(corruptions)
    severities = _check_severities(severities)
    tta_names = tta.parse_tta(tta_spec)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer. Received: limit={limit!r}")
    if baseline is not None and not names:
        raise ValueError("a baseline is only used for mCE: give corruptions too. Received: corruptions='none'")
    files = [resolve_model_path(m) for m in models]
    if baseline is not None:
        resolve_model_path(baseline)
    out_dir = Path(out_dir) if out_dir else files[0].parent
    paths = output_paths(out_dir, overwrite)

    from fmnist_keras import reporting

    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(data_dir)
    if limit:
        x_test, y_test = x_test[:limit], y_test[:limit]
    loaded = [load_model(m) for m in models]
    primary = loaded[0]
    out_dir.mkdir(parents=True, exist_ok=True)
    predictors = [Predictor(m.model, batch_size) for m in loaded]
    predict = predictors[0]
    timings = {}

    t = time.time()
    probs = predict(x_test)
    clean = calibration.calibration_metrics(probs, y_test, bins)
    log(f"clean: accuracy {clean['accuracy']:.4f}, ECE {clean['ece']:.4f}, NLL {clean['nll']:.4f}")
    x_val, y_val, val_source = validation_set(primary, x_train, y_train, limit)
    val_probs = predict(x_val)
    temperature = calibration.fit_temperature(val_probs, y_val)
    scaled = calibration.apply_temperature(probs, temperature)
    cal = {"temperature": temperature, "bins": bins, "validation_images": int(len(x_val)),
           "validation_source": val_source,
           "validation_nll_before": calibration.negative_log_likelihood(val_probs, y_val),
           "validation_nll_after": calibration.negative_log_likelihood(
               calibration.apply_temperature(val_probs, temperature), y_val),
           "before": clean, "after": calibration.calibration_metrics(scaled, y_test, bins)}
    log(f"temperature {temperature:.3f}: test ECE {clean['ece']:.4f} -> {cal['after']['ece']:.4f}")
    reliability = [dict(calibration.reliability_bins(p, y_test, bins), ece=m["ece"])
                   for p, m in ((probs, clean), (scaled, cal["after"]))]
    plots.plot_reliability(*reliability, paths["reliability"],
                           labels=("as trained", f"temperature T = {temperature:.2f}"))
    timings["clean_and_calibration"] = time.time() - t

    robustness_result = None
    if names:
        t = time.time()
        fns = {"model": predict}
        base_clean = None
        if baseline is not None:
            base = load_model(baseline)
            fns["baseline"] = Predictor(base.model, batch_size)
            base_clean = robustness.accuracy(fns["baseline"](x_test), y_test)
        acc = robustness.evaluate_corruptions(fns, x_test, y_test, names, severities, seed,
                                              export_dir=export_corrupted, log=log)
        errs = {c: [1.0 - a for a in acc["model"][c]] for c in names}
        base_errs = {c: [1.0 - a for a in acc["baseline"][c]] for c in names} if baseline is not None else None
        summary = robustness.mean_corruption_error(
            errs, base_errs, 1.0 - clean["accuracy"], None if base_clean is None else 1.0 - base_clean)
        robustness_result = {
            "seed": seed, "severities": list(severities), "clean_accuracy": clean["accuracy"],
            "per_corruption": {c: {"family": CORRUPTIONS[c][2],
                                   "levels": [severity_level(c, s) for s in severities],
                                   "accuracy": acc["model"][c], "error_mean": summary["error_mean"][c],
                                   **({"baseline_accuracy": acc["baseline"][c]} if baseline is not None else {})}
                               for c in names},
            **{k: v for k, v in summary.items() if k != "error_mean"},
        }
        if baseline is not None:
            robustness_result["baseline"] = {"path": str(baseline), "name": base.name, "clean_accuracy": base_clean}
        if export_corrupted:
            robustness_result["exported_to"] = str(export_corrupted)
        plots.plot_corruption_bars(acc["model"], paths["corruptions"], clean["accuracy"],
                                   acc.get("baseline"), base_clean,
                                   title=f"{primary.name}: accuracy under corruption (severities "
                                         f"{', '.join(map(str, severities))})")
        timings["corruptions"] = time.time() - t
        msg = f"mean corruption error {summary['mean_corruption_error']:.4f}"
        log(msg + (f", mCE {summary['mce']:.4f}" if summary.get("mce") is not None else ""))

    t = time.time()
    frontier = [{"name": "single model", "passes_per_image": 1, **clean}]
    combos = [(n,) for n in tta_names] + ([tta_names] if len(tta_names) > 1 else [])
    for combo in combos:
        chosen = tta.tta_views(combo)
        tta_probs = tta.predict_tta(predict, x_test, chosen)
        frontier.append({"name": f"TTA {'+'.join(combo)}", "views": chosen, "passes_per_image": len(chosen),
                         **calibration.calibration_metrics(tta_probs, y_test, bins)})
    if len(loaded) > 1:
        member_probs = [probs] + [p(x_test) for p in predictors[1:]]
        frontier.append({"name": f"ensemble of {len(loaded)}", "members": [str(m.path) for m in loaded],
                         "passes_per_image": len(loaded),
                         "member_accuracies": [robustness.accuracy(p, y_test) for p in member_probs],
                         **calibration.calibration_metrics(tta.ensemble(member_probs), y_test, bins)})
    timings["frontier"] = time.time() - t

    t = time.time()
    predicted = probs.argmax(axis=1)
    matrix = errors.confusion_matrix(y_test, predicted, data.NUM_CLASSES)
    reporting.plot_confusion(y_test, predicted, data.CLASS_NAMES, paths["confusion"])
    worst = errors.worst_mistakes(probs, y_test, gallery)
    top_idx, top_p = errors.top2(probs)
    plots.plot_gallery(x_test, y_test, top_idx, top_p, worst, data.CLASS_NAMES, paths["gallery"])
    error_result = {
        "confusion_matrix": matrix.tolist(),
        "per_class_accuracy": dict(zip(data.CLASS_NAMES, errors.per_class_accuracy(matrix).tolist())),
        "most_confused": errors.most_confused(matrix, data.CLASS_NAMES, 10),
        "confused_pairs": errors.confused_pairs(matrix, data.CLASS_NAMES, 5),
        "gallery": [{"index": int(i), "true": data.CLASS_NAMES[y_test[i]],
                     "top2": [[data.CLASS_NAMES[c], float(p)] for c, p in zip(top_idx[i], top_p[i])]}
                    for i in worst],
    }
    timings["errors"] = time.time() - t

    passes = sum(p.images for p in predictors) + (fns["baseline"].images if baseline is not None and names else 0)
    environment = machine.environment()
    results = {
        "model": {"name": primary.name, "path": str(primary.path), "run_dir": str(primary.run_dir or ""),
                  "outputs_normalized": predict.normalized},
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "hardware": machine.summary(environment),
        "test_images": int(len(x_test)),
        "clean": clean,
        "calibration": cal,
        "corruptions": robustness_result,
        "frontier": frontier,
        "errors": error_result,
        "forward_images": int(passes),
        "forward_images_per_second": round(sum(p.images for p in predictors) / max(sum(p.seconds for p in predictors), 1e-9), 1),
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "wall_seconds": round(time.time() - start, 2),
        "environment": environment,
    }
    figures = {k: paths[k] for k in ("corruptions", "reliability", "confusion", "gallery") if paths[k].exists()}
    if not names:
        figures.pop("corruptions", None)
    results["outputs"] = {k: str(p) for k, p in paths.items() if k in figures or k in ("json", "html")}
    mode = "w" if overwrite else "x"
    with open(paths["json"], mode) as f:
        json.dump(results, f, indent=2, default=_plain)
        f.write("\n")
    with open(paths["html"], mode, encoding="utf-8") as f:
        f.write(render_html(results, figures))
    return results


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def summary(results):
    """The few numbers a results ledger row carries, from a `run_evaluation` result."""
    rob = results.get("corruptions") or {}
    cal = results["calibration"]
    best_tta = max((f for f in results["frontier"] if f["name"].startswith("TTA")),
                   key=lambda f: f["accuracy"], default=None)
    return {
        "evaluation_json": results["outputs"]["json"],
        "test_images": results["test_images"],
        "accuracy": results["clean"]["accuracy"],
        "ece": cal["before"]["ece"],
        "ece_after_temperature": cal["after"]["ece"],
        "temperature": cal["temperature"],
        "nll": cal["before"]["nll"],
        "brier": cal["before"]["brier"],
        "corruption_seed": rob.get("seed"),
        "mean_corruption_error": rob.get("mean_corruption_error"),
        "mce": rob.get("mce"),
        "mce_baseline": (rob.get("baseline") or {}).get("path"),
        "best_tta": None if best_tta is None else {k: best_tta[k] for k in ("name", "passes_per_image", "accuracy")},
    }


def model_folders(results):
    """The run folders a recipe's results dict points at, for `--evaluate` after training.

    A table (grid) recipe: its headline (best-validation) cell. A repeated run:
    every seed folder (the first is evaluated, all of them form the ensemble).
    """
    folder = Path(results["run_dir"])
    if results.get("cells"):
        folder = Path(next(c["run_dir"] for c in results["cells"] if c["cell"] == results["best_cell"]))
    if (folder / "model.keras").is_file():
        return [folder]
    seeds = [p for p in folder.glob("seed*") if p.name[4:].isdigit() and (p / "model.keras").is_file()]
    if not seeds:
        raise ValueError(f"{folder} holds no model.keras and no seed*/model.keras. Received: run_dir={str(folder)!r}")
    return sorted(seeds, key=lambda p: int(p.name[4:]))
