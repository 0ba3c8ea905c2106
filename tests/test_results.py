"""The results record: one type for what every run reports, and every recorded run still reads."""

import json
from pathlib import Path

import pytest

from fmnist_keras.results import RunResults

ROOT = Path(__file__).resolve().parents[1]


def test_every_recorded_run_in_the_ledger_reads_back_unchanged():
    """recipes/runs/ holds results written by every version since 2026-11-23: each loads,
    and writing it again keeps every value it had (a null field may be left out; `repeats`
    is now always written)."""
    files = sorted((ROOT / "recipes" / "runs").glob("*.json"))
    assert len(files) >= 30
    kinds = set()
    for path in files:
        saved = json.loads(path.read_text())["results"]
        record = RunResults.from_json(saved)
        again = record.to_json()
        kept = {k: v for k, v in again.items() if v is not None and (k in saved or k != "repeats")}
        assert {k: v for k, v in saved.items() if v is not None} == kept, path
        assert RunResults.from_json(again) == record
        kinds.add("table" if record.cells else "tuner" if record.trials else
                  "speedrun" if record.tta else "seeds" if record.repeats > 1 else "one run")
    assert {"table", "tuner", "speedrun", "one run"} <= kinds


def test_written_results_keep_the_environment_flat_and_say_no_validation_explicitly(tmp_path):
    record = RunResults("r", "cnn2", 0.91, 3, 12.5, str(tmp_path), parameters=1000,
                        environment={"device": "CPU", "keras_backend": "jax", "cpu_count": 2})
    path = record.write()
    saved = json.loads(path.read_text())
    assert saved["device"] == "CPU" and saved["keras_backend"] == "jax" and "environment" not in saved
    assert saved["best_val_accuracy"] is None and "test_accuracy_std" not in saved and saved["repeats"] == 1
    assert RunResults.load(tmp_path) == record
    with pytest.raises(FileExistsError):  # results are never overwritten
        record.write()


def test_unknown_or_missing_fields_are_named():
    good = RunResults("r", "m", 0.9, 1, 1.0, "x").to_json()
    with pytest.raises(ValueError, match="does not know: accuracy_top5"):
        RunResults.from_json({**good, "accuracy_top5": 0.99})
    with pytest.raises(ValueError, match="lack test_accuracy"):
        RunResults.from_json({k: v for k, v in good.items() if k != "test_accuracy"})


def test_a_table_names_its_headline_cell_row():
    cells = [{"cell": "a", "run_dir": "ra"}, {"cell": "b", "run_dir": "rb"}]
    assert RunResults("t", "m", 0.9, 1, 1.0, "x", cells=cells, best_cell="b").best_cell_row["run_dir"] == "rb"
    assert RunResults("t", "m", 0.9, 1, 1.0, "x").best_cell_row is None
