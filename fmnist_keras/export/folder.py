"""`export_model`: one export folder (every format, labels.txt, export_report.json), and the
recipes' `--export` hook. Writing formats, verifying and serving live in their own modules."""

import datetime
import json
import logging
import shutil
import time
from pathlib import Path

import numpy as np

from fmnist_keras import machine
from fmnist_keras.export.formats import FILES, FORMATS, parse_formats, write_savedmodel, write_tflite
from fmnist_keras.export.verify import format_report, verify_export

REPORT = "export_report.json"

logger = logging.getLogger("fmnist_keras.export")  # one logger for the whole package, as before the split


def load_classifier(model_or_path):
    """A `keras.Model` from a model, a `.keras` file or a run folder (its model.keras)."""
    import keras

    import fmnist_keras  # noqa: F401  registers the custom layers

    if isinstance(model_or_path, keras.Model):
        return model_or_path
    path = Path(model_or_path)
    if path.is_dir() and (path / "model.keras").is_file():
        path = path / "model.keras"
    if path.suffix != ".keras" or not path.is_file():
        raise ValueError(f"expected a keras.Model, a .keras file or a run folder with model.keras. "
                         f"Received: model={str(model_or_path)!r}")
    return keras.saving.load_model(path)


def default_out_dir(model_or_path):
    """saved_models/<recipe>-<stamp> for a run folder, saved_models/<stem> for a file."""
    path = Path(str(model_or_path))
    if path.is_dir():
        return Path("saved_models") / f"{path.parent.name}-{path.name}"
    return Path("saved_models") / (path.stem if path.suffix == ".keras" else "model")


def prepare_out_dir(out_dir, overwrite=False):
    """Creates `out_dir`; an existing one is an error unless `overwrite`, and even then
    only a folder that holds a previous export (an export_report.json) is replaced."""
    out = Path(out_dir)
    if out.exists():
        if not overwrite:
            raise FileExistsError(f"export folder {str(out)!r} already exists; exports are never "
                                  f"overwritten silently: pass --overwrite or another --out. "
                                  f"Received: out_dir={str(out)!r}")
        if not (out / REPORT).is_file():
            raise FileExistsError(f"{str(out)!r} exists and is not an export folder (no {REPORT}); "
                                  f"refusing to replace it. Received: out_dir={str(out)!r}")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    return out


def _real_calibration_images(n, data_dir=None, seed=0):
    from fmnist_keras.data import load_fashion_mnist

    (x, _), _ = load_fashion_mnist(data_dir or None)
    index = np.random.default_rng(seed).choice(len(x), size=n, replace=False)
    return x[index]


def export_model(model_or_path, out_dir=None, formats=FORMATS, *, overwrite=False, verify=True,
                 calibration_images=500, data_dir=None, seed=0, test_limit=None, latency_runs=200):
    """Exports a classifier and verifies every artifact against it.

    Args:
        model_or_path: a `keras.Model`, a `.keras` file or a run folder.
        out_dir: the export folder (must not exist unless `overwrite`);
            default `saved_models/<recipe>-<stamp>` or `saved_models/<stem>`.
        formats: any of "savedmodel", "tflite", "tflite-fp16", "tflite-int8"
            (a list or a comma-separated string).
        overwrite: replace an existing export folder (only one with an
            export_report.json).
        verify: run the checks of `verify_export` and write export_report.json.
        calibration_images: real training images for int8 calibration.
        data_dir: where the IDX files are (default: the usual search).
        seed: picks the calibration images.
        test_limit: verify on the first N test images (default all 10,000).
        latency_runs: timed batch-1 calls per format.

    Returns:
        The dict written to `out_dir/export_report.json`: artifacts, machine and verification.
    """
    formats = parse_formats(formats)
    if isinstance(calibration_images, bool) or not isinstance(calibration_images, int) or calibration_images < 1:
        raise ValueError(f"calibration_images must be a positive integer. "
                         f"Received: calibration_images={calibration_images!r}")
    model = load_classifier(model_or_path)
    out = prepare_out_dir(out_dir or default_out_dir(model_or_path), overwrite)
    try:
        artifacts = _write_artifacts(model, out, formats, calibration_images, data_dir, seed)
        report = _report(model_or_path, model, out, artifacts, formats, calibration_images)
        if verify:
            report.update(verify_export(model, artifacts, data_dir=data_dir, limit=test_limit,
                                        latency_runs=latency_runs))
        (out / REPORT).write_text(json.dumps(report, indent=2) + "\n")
    except BaseException:  # no half-written export folder (it was created above, so it is ours)
        shutil.rmtree(out, ignore_errors=True)
        raise
    return report


def _report(model_or_path, model, out, artifacts, formats, calibration_images):
    return {
        "source": str(model_or_path) if not hasattr(model_or_path, "layers") else model.name,
        "model": model.name,
        "out_dir": str(out),
        "artifacts": artifacts,
        "calibration_images": calibration_images if "tflite-int8" in formats else None,
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "host": machine.environment(),
    }


def _write_artifacts(model, out, formats, calibration_images, data_dir, seed):
    artifacts = {}
    for fmt in formats:
        start = time.time()
        path = out / FILES[fmt]
        if fmt == "savedmodel":
            write_savedmodel(model, path)
        elif fmt == "tflite-int8":
            write_tflite(model, path, "int8", _real_calibration_images(calibration_images, data_dir, seed))
        else:
            write_tflite(model, path, "fp16" if fmt == "tflite-fp16" else "float32")
        artifacts[fmt] = str(path)
        logger.info("export: wrote %s in %.1f s", path, time.time() - start)
    (out / "labels.txt").write_text("\n".join(_class_names()) + "\n")
    return artifacts


def _class_names():
    from fmnist_keras.data import CLASS_NAMES

    return CLASS_NAMES


def export_summary(report):
    """The few numbers of an export_report.json that go into a run's results.json."""
    return {"out_dir": report["out_dir"],
            "formats": {fmt: {k: row[k] for k in ("accuracy", "agreement", "size_bytes", "latency_ms", "passed")}
                        for fmt, row in report.get("formats", {}).items()}}


def export_stage(classifier, run_dir, config):
    """A finish stage for `runner.fit_and_evaluate(config, finish=[export_stage])` (the recipes'
    `--export`): `{"export": export_run(...)}` when `config.export` is set, else nothing."""
    if not config.export:
        return {}
    return {"export": export_run(classifier, run_dir, config)}


def export_run(classifier, run_dir, config):
    """A recipe's export into `<run_dir>/export` (`--export`): prints the table and
    returns the summary; a failure is logged and recorded, not raised, so the trained run
    still gets its results.json."""
    try:
        report = export_model(classifier, Path(run_dir) / "export", data_dir=config.data_dir, seed=config.seed)
    except Exception as e:
        logger.error("export failed: %s: %s", type(e).__name__, e)
        return {"error": f"{type(e).__name__}: {e}"}
    print(format_report(report), flush=True)
    return export_summary(report)
