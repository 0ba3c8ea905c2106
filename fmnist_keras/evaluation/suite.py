"""`run_evaluation`: one model (plus optional ensemble members and a baseline) through every check.

The stages run in order, each a function of its own: check the options and the
output files (before anything is loaded), load the data and the models, clean
metrics with temperature scaling, corruption robustness, the frontier track (TTA,
ensemble), error analysis, then write the results (evaluation.json), the eval_*.png
figures and the self-contained page (report.html). Nothing existing is
overwritten unless asked.
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
from fmnist_keras.evaluation.loading import Predictor, load_model, resolve_model_path, validation_set
from fmnist_keras.evaluation.page import render_html

OUTPUTS = {"json": "evaluation.json", "html": "report.html", "corruptions": "eval_corruptions.png",
           "reliability": "eval_reliability.png", "confusion": "eval_confusion.png",
           "gallery": "eval_misclassified.png"}


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
    names, severities, tta_names = check_options(models, baseline, corruptions, severities, tta_spec, limit)
    out_dir, paths = plan_outputs(models, baseline, out_dir, overwrite)
    inputs = load_inputs(models, out_dir, paths, data_dir=data_dir, limit=limit, batch_size=batch_size, bins=bins,
                         log=log or (lambda message: None))
    timings = {}
    probs, clean, cal = _timed(timings, "clean_and_calibration", clean_and_calibration, inputs, limit)
    robustness_result = base = None
    if names:
        robustness_result, base = _timed(timings, "corruptions", corruption_robustness, inputs, clean, names,
                                         severities, baseline=baseline, seed=seed, export_corrupted=export_corrupted)
    frontier_rows = _timed(timings, "frontier", frontier, inputs, probs, clean, tta_names)
    error_result = _timed(timings, "errors", error_analysis, inputs, probs, gallery)
    parts = {"clean": clean, "calibration": cal, "corruptions": robustness_result, "frontier": frontier_rows,
             "errors": error_result}
    results = assemble(inputs, parts, baseline_predictor=base, timings=timings, start=start)
    write_outputs(results, paths, corruptions_run=bool(names), overwrite=overwrite)
    return results


def _timed(timings, key, stage, *args, **kwargs):
    """Runs one stage and records its wall time under `timings[key]` (evaluation.json's "seconds")."""
    t = time.time()
    out = stage(*args, **kwargs)
    timings[key] = time.time() - t
    return out


# ---------------------------------------------------------------- the stages, in the order they run


@dataclass
class Inputs:
    """What the stages after loading share: the models (the first is evaluated), their
    predictors, the real data (test set cut to --limit) and where the figures go."""
    loaded: list
    predictors: list
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    paths: dict
    batch_size: int
    bins: int
    log: object  # fn(str)

    @property
    def primary(self):
        return self.loaded[0]

    @property
    def predict(self):
        return self.predictors[0]


def check_options(models, baseline, corruptions, severities, tta_spec, limit):
    """Every option is checked before anything is read, so a typo costs no model loading.

    Returns:
        `(corruption names, severities, TTA names)`; no corruption names for "none".
    """
    if not models:
        raise ValueError("models must name at least one run folder or .keras file. Received: models=[]")
    names = () if corruptions == "none" else parse_corruptions(corruptions)
    severities = _check_severities(severities)
    tta_names = tta.parse_tta(tta_spec)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise ValueError(f"limit must be a positive integer. Received: limit={limit!r}")
    if baseline is not None and not names:
        raise ValueError("a baseline is only used for mCE: give corruptions too. Received: corruptions='none'")
    return names, severities, tta_names


def plan_outputs(models, baseline, out_dir, overwrite):
    """The model paths exist and the output files are free (or `overwrite`), still before loading.

    Returns:
        `(out_dir, {key: path})`; out_dir defaults to the first model's folder.
    """
    files = [resolve_model_path(m) for m in models]
    if baseline is not None:
        resolve_model_path(baseline)
    out_dir = Path(out_dir) if out_dir else files[0].parent
    return out_dir, output_paths(out_dir, overwrite)


def load_inputs(models, out_dir, paths, *, data_dir, limit, batch_size, bins, log):
    """Reads the real data and every model, then creates `out_dir` (nothing is created before
    the models load)."""
    (x_train, y_train), (x_test, y_test) = data.load_fashion_mnist(data_dir)
    if limit:
        x_test, y_test = x_test[:limit], y_test[:limit]
    loaded = [load_model(m) for m in models]
    out_dir.mkdir(parents=True, exist_ok=True)
    predictors = [Predictor(m.model, batch_size) for m in loaded]
    return Inputs(loaded, predictors, x_train, y_train, x_test, y_test, paths, batch_size, bins, log)


def clean_and_calibration(inputs, limit):
    """Clean test metrics, a temperature fitted on the run's validation split, the reliability figure.

    Returns:
        `(test probabilities, clean metrics, the "calibration" dict)`.
    """
    x_test, y_test, bins, log = inputs.x_test, inputs.y_test, inputs.bins, inputs.log
    probs = inputs.predict(x_test)
    clean = calibration.calibration_metrics(probs, y_test, bins)
    log(f"clean: accuracy {clean['accuracy']:.4f}, ECE {clean['ece']:.4f}, NLL {clean['nll']:.4f}")
    x_val, y_val, val_source = validation_set(inputs.primary, inputs.x_train, inputs.y_train, limit)
    val_probs = inputs.predict(x_val)
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
    plots.plot_reliability(*reliability, inputs.paths["reliability"],
                           labels=("as trained", f"temperature T = {temperature:.2f}"))
    return probs, clean, cal


def corruption_robustness(inputs, clean, names, severities, *, baseline, seed, export_corrupted):
    """Accuracy under every corruption and severity, CE and mCE (relative to `baseline` when
    given), the corrupted sets written to `export_corrupted`, the bar figure.

    Returns:
        `(the "corruptions" dict, the baseline's Predictor or None)`.
    """
    x_test, y_test = inputs.x_test, inputs.y_test
    fns = {"model": inputs.predict}
    base = base_clean = None
    if baseline is not None:
        base = load_model(baseline)
        fns["baseline"] = Predictor(base.model, inputs.batch_size)
        base_clean = robustness.accuracy(fns["baseline"](x_test), y_test)
    acc = robustness.evaluate_corruptions(fns, x_test, y_test, names, severities, seed,
                                          export_dir=export_corrupted, log=inputs.log)
    errs = {c: [1.0 - a for a in acc["model"][c]] for c in names}
    base_errs = {c: [1.0 - a for a in acc["baseline"][c]] for c in names} if baseline is not None else None
    summary = robustness.mean_corruption_error(
        errs, base_errs, 1.0 - clean["accuracy"], None if base_clean is None else 1.0 - base_clean)
    result = {
        "seed": seed, "severities": list(severities), "clean_accuracy": clean["accuracy"],
        "per_corruption": {c: {"family": CORRUPTIONS[c][2],
                               "levels": [severity_level(c, s) for s in severities],
                               "accuracy": acc["model"][c], "error_mean": summary["error_mean"][c],
                               **({"baseline_accuracy": acc["baseline"][c]} if baseline is not None else {})}
                           for c in names},
        **{k: v for k, v in summary.items() if k != "error_mean"},
    }
    if baseline is not None:
        result["baseline"] = {"path": str(baseline), "name": base.name, "clean_accuracy": base_clean}
    if export_corrupted:
        result["exported_to"] = str(export_corrupted)
    plots.plot_corruption_bars(acc["model"], inputs.paths["corruptions"], clean["accuracy"],
                               acc.get("baseline"), base_clean,
                               title=f"{inputs.primary.name}: accuracy under corruption (severities "
                                     f"{', '.join(map(str, severities))})")
    msg = f"mean corruption error {summary['mean_corruption_error']:.4f}"
    inputs.log(msg + (f", mCE {summary['mce']:.4f}" if summary.get("mce") is not None else ""))
    return result, fns.get("baseline")


def frontier(inputs, probs, clean, tta_names):
    """The frontier track, apart from single-model numbers: each TTA view set alone and all
    together, and the ensemble of every model given (two or more)."""
    x_test, y_test, bins, loaded = inputs.x_test, inputs.y_test, inputs.bins, inputs.loaded
    rows = [{"name": "single model", "passes_per_image": 1, **clean}]
    combos = [(n,) for n in tta_names] + ([tta_names] if len(tta_names) > 1 else [])
    for combo in combos:
        chosen = tta.tta_views(combo)
        tta_probs = tta.predict_tta(inputs.predict, x_test, chosen)
        rows.append({"name": f"TTA {'+'.join(combo)}", "views": chosen, "passes_per_image": len(chosen),
                     **calibration.calibration_metrics(tta_probs, y_test, bins)})
    if len(loaded) > 1:
        member_probs = [probs] + [p(x_test) for p in inputs.predictors[1:]]
        rows.append({"name": f"ensemble of {len(loaded)}", "members": [str(m.path) for m in loaded],
                     "passes_per_image": len(loaded),
                     "member_accuracies": [robustness.accuracy(p, y_test) for p in member_probs],
                     **calibration.calibration_metrics(tta.ensemble(member_probs), y_test, bins)})
    return rows


def error_analysis(inputs, probs, gallery):
    """Confusions, per-class accuracy and the `gallery` most confident mistakes, with their figures."""
    from fmnist_keras import run_folder

    x_test, y_test, names = inputs.x_test, inputs.y_test, data.CLASS_NAMES
    predicted = probs.argmax(axis=1)
    matrix = errors.confusion_matrix(y_test, predicted, data.NUM_CLASSES)
    run_folder.plot_confusion(y_test, predicted, names, inputs.paths["confusion"])
    worst = errors.worst_mistakes(probs, y_test, gallery)
    top_idx, top_p = errors.top2(probs)
    plots.plot_gallery(x_test, y_test, top_idx, top_p, worst, names, inputs.paths["gallery"])
    return {
        "confusion_matrix": matrix.tolist(),
        "per_class_accuracy": dict(zip(names, errors.per_class_accuracy(matrix).tolist())),
        "most_confused": errors.most_confused(matrix, names, 10),
        "confused_pairs": errors.confused_pairs(matrix, names, 5),
        "gallery": [{"index": int(i), "true": names[y_test[i]],
                     "top2": [[names[c], float(p)] for c, p in zip(top_idx[i], top_p[i])]}
                    for i in worst],
    }


def assemble(inputs, parts, *, baseline_predictor, timings, start):
    """The results dict (evaluation.json): the stages' `parts` (clean, calibration, corruptions,
    frontier, errors), the machine, forward passes and times."""
    predictors = inputs.predictors
    passes = sum(p.images for p in predictors) + (baseline_predictor.images if baseline_predictor else 0)
    primary = inputs.primary
    environment = machine.environment()
    return {
        "model": {"name": primary.name, "path": str(primary.path), "run_dir": str(primary.run_dir or ""),
                  "outputs_normalized": inputs.predict.normalized},
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "hardware": machine.summary(environment),
        "test_images": int(len(inputs.x_test)),
        **parts,
        "forward_images": int(passes),
        "forward_images_per_second": round(sum(p.images for p in predictors)
                                           / max(sum(p.seconds for p in predictors), 1e-9), 1),
        "seconds": {k: round(v, 2) for k, v in timings.items()},
        "wall_seconds": round(time.time() - start, 2),
        "environment": environment,
    }


def write_outputs(results, paths, *, corruptions_run, overwrite):
    """Adds `outputs` (the files written) to `results`, then writes evaluation.json and report.html;
    mode "x" unless `overwrite`, so a file that appeared meanwhile is not replaced."""
    figures = {k: paths[k] for k in ("corruptions", "reliability", "confusion", "gallery") if paths[k].exists()}
    if not corruptions_run:
        figures.pop("corruptions", None)  # an earlier evaluation's figure, not this one's
    results["outputs"] = {k: str(p) for k, p in paths.items() if k in figures or k in ("json", "html")}
    mode = "w" if overwrite else "x"
    with open(paths["json"], mode) as f:
        json.dump(results, f, indent=2, default=_plain)
        f.write("\n")
    with open(paths["html"], mode, encoding="utf-8") as f:
        f.write(render_html(results, figures))


def _plain(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def summary(results):
    """The few numbers a ledger row carries, from `run_evaluation`'s results."""
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
    """The run folders a recipe's `RunResults` points at, for `--evaluate` after training.

    A table (grid) recipe: its headline (best-validation) cell. A repeated run:
    every seed folder (the first is evaluated, all of them form the ensemble).
    """
    folder = Path(results.run_dir)
    if results.cells:
        folder = Path(results.best_cell_row["run_dir"])
    if (folder / "model.keras").is_file():
        return [folder]
    seeds = [p for p in folder.glob("seed*") if p.name[4:].isdigit() and (p / "model.keras").is_file()]
    if not seeds:
        raise ValueError(f"{folder} holds no model.keras and no seed*/model.keras. Received: run_dir={str(folder)!r}")
    return sorted(seeds, key=lambda p: int(p.name[4:]))
