"""The GPU plans checked on the CPU, so that no GPU minute is lost to a typo.

Every plan's commands must parse into valid configs. `scripts/gpu_plan.sh
--rehearse PLAN` runs a plan's real commands from the package's wheel, on JAX
with TensorFlow blocked (as on the GPU machine), each on a tiny slice; what
comes back must hold every run's record. The headline plan is rehearsed in
full here (the others differ in flags, which the parse check covers, and
would cost minutes each).
"""

import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLANS = sorted((ROOT / "scripts" / "gpu_plans").glob("*.plan"))
DATA = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """A .gpu/ as scripts/prepare_gpu.sh makes it, less the downloaded wheels (the venv has Keras)."""
    pytest.importorskip("jax")
    folder = tmp_path_factory.mktemp("gpu")
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                            "-w", str(folder / "wheels"), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, build.stderr
    data = Path(os.environ.get("FMNIST_DATA_DIR") or DATA)
    (folder / "data").symlink_to(data)
    (folder / "commit").write_text("test\n")
    return folder


def _plan(bundle, out, *args, budget=None):
    env = {**os.environ, "OUT": str(out), "GPU_BUNDLE": str(bundle), "PYTHON": sys.executable}
    command = ["bash", str(ROOT / "scripts" / "gpu_plan.sh"), *args] + ([str(budget)] if budget else [])
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)


def _planned_runs(plan):
    rows = [line.split() for line in plan.read_text().splitlines() if line.strip() and not line.startswith("#")]
    return [(row[1], "--record" in row) for row in rows]


@pytest.mark.parametrize("plan", PLANS, ids=[p.stem for p in PLANS])
def test_every_plan_line_is_a_valid_recipe_command(plan):
    """Each command's flags parse and make a valid config (model, knobs, cells) without training."""
    import importlib
    import shlex

    from fmnist_keras.recipes import _cli

    rows = [line.split(None, 2) for line in plan.read_text().splitlines() if line.strip() and not line.startswith("#")]
    assert rows and rows[0][1] == "smoke", "a plan starts with its smoke run"
    assert len({name for _, name, _ in rows}) == len(rows), "run names must be unique"
    for estimate, name, command in rows:
        assert estimate.isdigit() and int(estimate) <= 510, (name, estimate)
        words = shlex.split(command)
        assert words[0] == "-m" and words[1].startswith("fmnist_keras.recipes."), (name, words[:2])
        assert "--output-dir" not in words, f"{name}: the plan sets --output-dir itself"
        recipe = words[1].rsplit(".", 1)[1]
        module = importlib.import_module(words[1])
        args = _cli.build_parser(module.Config, "", "", recipe).parse_args(words[2:])
        config = _cli.config_from_args(module.Config, args, module.QUICK, recipe)
        if hasattr(module, "cells"):
            _cli.check_cell_flags(module.cells(config), _cli.explicit_settings(module.Config, args))


@pytest.mark.slow
@pytest.mark.parametrize("plan", [ROOT / "scripts" / "gpu_plans" / "headline.plan"], ids=["headline"])
def test_the_headline_plan_rehearses_on_the_cpu_and_returns_every_record(plan, bundle, tmp_path):
    proc = _plan(bundle, tmp_path, "--rehearse", plan.stem)
    log = (tmp_path / "plan.log").read_text()
    assert proc.returncode == 0, proc.stderr + log
    with tarfile.open(tmp_path / "plan.tar.gz") as tar:
        names = set(tar.getnames())
    ledger_rows = [n for n in names if n.startswith("./ledger/runs/") and n.endswith(".json")]
    for name, recorded in _planned_runs(plan):
        assert f"{name}: exit 0" in log, log
        assert f"./{name}/results.json" in names and f"./{name}.log" in names
    assert len(ledger_rows) == sum(recorded for _, recorded in _planned_runs(plan))


def test_a_failed_smoke_run_stops_the_plan(bundle, tmp_path):
    plan = tmp_path / "broken.plan"
    plan.write_text("60 smoke -m fmnist_keras.recipes.speedrun --no-such-flag\n"
                    "60 never -m fmnist_keras.recipes.speedrun\n")
    out = tmp_path / "out"
    out.mkdir()
    proc = _plan(bundle, out, "--rehearse", str(plan))
    log = (out / "plan.log").read_text()
    assert proc.returncode == 1 and "smoke run failed: stopping" in log and "never" not in log
    assert "unrecognized arguments: --no-such-flag" in proc.stderr


def test_runs_that_do_not_fit_the_budget_are_skipped_not_started(bundle, tmp_path):
    proc = _plan(bundle, tmp_path, "--rehearse", "headline", budget=30)
    log = (tmp_path / "plan.log").read_text()
    assert proc.returncode == 0, proc.stderr
    headline = ROOT / "scripts" / "gpu_plans" / "headline.plan"
    assert all(f"{name}: skipped" in log for name, _ in _planned_runs(headline))


def test_an_unknown_plan_is_named(tmp_path):
    proc = subprocess.run(["bash", str(ROOT / "scripts" / "gpu_plan.sh"), "nope"], capture_output=True,
                          text=True, env={**os.environ, "OUT": str(tmp_path)}, timeout=60)
    assert proc.returncode == 2 and "no plan nope" in proc.stderr
