"""The ledger's front-page results table and its command line."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from fmnist_keras import ledger
from fmnist_keras.results import RunResults

ROOT = Path(__file__).resolve().parents[1]


def entry(file, command, accuracy, *, date="2026-12-01", device="CPU", n=1, std=None, cells=None):
    """A ledger entry as `load_entries` reads it, with only the fields the results table reads."""
    recipe = file.split("-")[0]
    results = RunResults(recipe, "m", accuracy, 1, 1.0, "", cells=cells,
                         environment={"device": device, "keras_backend": "tensorflow"})
    return {"file": file + ".json", "recipe": recipe, "command": f"python -m fmnist_keras.recipes.{recipe} {command}",
            "report": 95.0, "test_accuracy": accuracy, "test_accuracy_std": std, "n": n,
            "hardware": f"{device}, 2 cores" if device == "CPU" else "GPU, 1x X", "date": date,
            "results": results.to_json(), "record": results}


def test_committed_front_page_table_is_derived_from_the_records(tmp_path):
    """Nobody edits the README's results table by hand: its rebuild changes nothing."""
    shutil.copytree(ROOT / "recipes", tmp_path / "recipes")
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    ledger.rebuild_results_table(tmp_path / "recipes")
    assert (tmp_path / "README.md").read_text() == (ROOT / "README.md").read_text()
    assert ledger.RESULTS_BEGIN in (ROOT / "README.md").read_text()


def test_command_flags_split_run_flags_from_the_experiment():
    pairs = ledger.command_flags("python -m fmnist_keras.recipes.cnn2_tuned --seed 1 --no-export --record "
                                 "--augment '' --init=pytorch --output-dir runs/x")
    assert ("--augment", "") in pairs and ("--init", "pytorch") in pairs and ("--record", None) in pairs
    assert ledger.experiment_flags(pairs) == (("--augment", ""), ("--init", "pytorch"))
    assert ledger.seeds(pairs, 1) == {1} and ledger.seeds([("--repeats", "3")], 3) == {0, 1, 2}
    assert ledger.is_demo(ledger.command_flags("python -m fmnist_keras.recipes.x --quick --record"))
    with pytest.raises(ValueError, match="Received: command="):
        ledger.command_flags("python train.py --seed 1")


def test_ours_pools_full_length_seeds_once_per_device():
    head = ledger.Headline("000", "rec", "an experiment", flags=("--width 8",), defaults_since="2026-11-30")
    entries = [
        entry("rec-2026-11-01", "--record", 0.50, date="2026-11-01"),  # defaults were something else then
        entry("rec-2026-12-01", "--seed 0 --record", 0.90),
        entry("rec-2026-12-01-2", "--width 8 --seed 1", 0.92),
        entry("rec-2026-12-01-3", "--width 8 --seed 1 --output-dir y", 0.94),  # seed 1 again: newer counts
        entry("rec-2026-12-01-4", "--quick --record", 0.70),  # a demo
        entry("rec-2026-12-01-5", "--width 16", 0.99),  # another configuration
        entry("rec-2026-12-01-6", "--repeats 2 --seed 0", 0.80, device="GPU", n=2, std=0.02),
    ]
    gpu, cpu = ledger.headline_rows(head, entries)
    assert cpu[4:7] == ["92.00% ± 2.83", "2", "CPU, 2 cores"]  # 0.90 and 0.94
    assert "rec-2026-12-01-3.json" in cpu[7] and "rec-2026-12-01-2.json" not in cpu[7]
    assert gpu[4:6] == ["80.00% ± 2.00", "2"]
    assert ledger.pool([(0.9, None, 1), (0.8, 0.02, 2)])[2] == 3


def test_a_table_cell_and_a_recipe_with_only_demos():
    cell = [{"cell": "a", "test_accuracy": 0.6, "report": 61.5}, {"cell": "b", "test_accuracy": 0.7}]
    entries = [entry("tab-2026-12-01", "--quick --record", 0.7, cells=cell)]
    [row] = ledger.headline_rows(ledger.Headline("002", "tab", "cell a", cell="a"), entries)
    assert row[3] == "61.5%" and row[4] == "not run at full length yet"
    assert "60.00%" in row[7] and "runs/tab-2026-12-01.json" in row[7]
    entries.append(entry("tab-2026-12-02", "--cells a", 0.7, cells=cell))
    [row] = ledger.headline_rows(ledger.Headline("002", "tab", "cell a", cell="a"), entries)
    assert row[4:6] == ["60.00%", "1"]


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "fmnist_keras.ledger", *args], capture_output=True, text=True,
                          timeout=600, cwd=ROOT)


def test_cli_help_check_and_rebuild(tmp_path):
    """--help is a usage (it once took "--help" for a folder); --check changes nothing."""
    shutil.copytree(ROOT / "recipes", tmp_path / "recipes")
    page = tmp_path / "README.md"
    page.write_text(f"# Front\n\n{ledger.RESULTS_BEGIN}\nstale\n{ledger.RESULTS_END}\nkept\n")
    before = (tmp_path / "recipes" / "README.md").read_text()
    # In process: the command line's logic, without starting TensorFlow for each call.
    with pytest.raises(SystemExit, match="out of date.*README.md"):
        ledger.main([str(tmp_path / "recipes"), "--check"])
    assert "stale" in page.read_text()
    assert ledger.main([str(tmp_path / "recipes")]) == [page]
    assert "| 000 |" in page.read_text() and page.read_text().endswith("kept\n")
    assert (tmp_path / "recipes" / "README.md").read_text() == before
    assert ledger.main([str(tmp_path / "recipes"), "--check"]) == []
    with pytest.raises(SystemExit, match="has no runs/ folder"):
        ledger.main([str(tmp_path)])
    # One real subprocess: the module answers --help with a usage and exit status 0.
    proc = run_cli("--help")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.startswith("usage: python -m fmnist_keras.ledger")
    for described in ("folder", "--front-page", "--no-front-page", "--check", "recipes/runs/*.json"):
        assert described in proc.stdout
