"""Recipes from the command line: a real tiny run, the --quick preset, and every bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from fmnist_keras.recipes import _cli, resnet_erasing

TINY = ["--limit-train", "512", "--epochs", "1", "--width", "8", "--val-size", "500",
        "--clean-train-size", "256", "--batch-size", "64"]


def test_module_runs_end_to_end_and_records(tmp_path):
    out, ledger = tmp_path / "run", tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "README.md").write_text("# L\n\n<!-- ledger:begin -->\n<!-- ledger:end -->\nkept\n")
    proc = subprocess.run(
        [sys.executable, "-m", "fmnist_keras.recipes.resnet_erasing", *TINY, "--output-dir", str(out),
         "--record"], capture_output=True, text=True, timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "FMNIST_LEDGER_DIR": str(ledger)})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "resnet_erasing: test accuracy" in proc.stdout
    assert "IDX files from" in proc.stderr  # the data source is logged
    results = json.loads((out / "results.json").read_text())
    config = json.loads((out / "config.json").read_text())
    assert results["epochs_run"] == 1 and config["width"] == 8
    assert config["augment"] == "erasing(prob=0.5),ricap(beta=0.1, per_image=False)"  # report 000's stack
    assert config["schema"] == 2  # the op contract's defaults (a bare `ricap` draws per image)
    # --epochs 1 of 120 scales the warmup and restart phases with it.
    assert config["warmup_epochs"] == pytest.approx(10 / 120)
    assert config["restart_epochs"] == pytest.approx(10 / 120)
    # The ledger got one JSON and a table row derived from it; text outside the markers is kept.
    [entry] = list((ledger / "runs").glob("resnet_erasing-*.json"))
    saved = json.loads(entry.read_text())
    assert saved["test_accuracy"] == results["test_accuracy"] and saved["report"] == 95.88
    assert "--limit-train 512" in saved["command"] and saved["wall_seconds"] > 0
    assert saved["load_average_15min"] >= 0  # how busy the cores were, shown beside the hardware
    # The instruction sets that change CPU speed several-fold are recorded and shown.
    flags = (Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else "").split()
    assert ("avx512f" in results["cpu_flags"]) == ("avx512f" in flags)
    assert saved["hardware"].startswith("CPU, ") and ("AVX-512" in saved["hardware"]) == ("avx512f" in flags)
    table = (ledger / "README.md").read_text()
    assert f"{100 * results['test_accuracy']:.2f}%" in table and table.rstrip().endswith("kept")


def test_ledger_names_the_gpu_and_takes_a_commit_from_the_environment(monkeypatch):
    """A GPU machine gets a working-tree copy without `.git`: the commit comes from
    $FMNIST_GIT_COMMIT, and the hardware column names the accelerator."""
    from fmnist_keras import ledger, machine

    monkeypatch.setenv("FMNIST_GIT_COMMIT", "abc1234")
    assert machine.git_commit() == "abc1234"
    assert ledger.hardware({"device": "GPU", "gpu_names": ["NVIDIA H200"]}) == "GPU, 1x NVIDIA H200"
    assert ledger.hardware({"device": "GPU", "gpu_names": ["A", "A", "B"]}) == "GPU, 2x A, 1x B"
    assert ledger.hardware({"device": "GPU"}) == "GPU"  # rows recorded before the names were kept
    assert ledger.hardware({"device": "CPU", "cpu_count": 2, "cpu_flags": ["avx2"]}) == "CPU, 2 cores"

def test_committed_ledger_table_is_derived_from_its_records(tmp_path):
    """Nobody edits the table by hand: rebuilding it from recipes/runs/*.json changes nothing."""
    import shutil

    from fmnist_keras import ledger

    committed = Path(__file__).resolve().parents[1] / "recipes"
    copy = tmp_path / "recipes"
    shutil.copytree(committed, copy)
    ledger.rebuild_table(copy)
    assert (copy / "README.md").read_text() == (committed / "README.md").read_text()

def test_quick_preset_then_explicit_flags_win():
    parser = _cli.build_parser(resnet_erasing.Config, "", "")
    config = _cli.config_from_args(resnet_erasing.Config, parser.parse_args(["--quick", "--width", "24"]),
                                   resnet_erasing.QUICK)
    assert config.width == 24 and config.epochs == resnet_erasing.QUICK["epochs"]
    full = _cli.config_from_args(resnet_erasing.Config, parser.parse_args([]), resnet_erasing.QUICK)
    assert (full.epochs, full.batch_size, full.l2, full.patience) == (120, 256, 5e-4, 15)
    assert (full.warmup_epochs, full.restart_epochs, full.warmup_start_lr) == (10, 10, 0.01)


def test_cnn2_tuned_defaults_are_the_reports_pytorch_setup():
    """Report 001 is PyTorch and tuned CNN_2 with augmentation: PyTorch init and a flip by default."""
    from fmnist_keras.recipes import cnn2_tuned

    parser = _cli.build_parser(cnn2_tuned.Config, "", "")
    config = _cli.config_from_args(cnn2_tuned.Config, parser.parse_args([]), cnn2_tuned.QUICK)
    assert (config.model, config.init, config.augment, config.l2_scope) == ("cnn2", "pytorch", "flip", "all")
    assert (config.lr, config.l2, config.batch_size, config.epochs) == (3.593e-4, 3.593e-4, 64, 10)
    plain = _cli.config_from_args(cnn2_tuned.Config, parser.parse_args(["--init", "keras", "--augment", ""]),
                                  cnn2_tuned.QUICK)
    assert (plain.init, plain.augment) == ("keras", "")


@pytest.mark.parametrize("flags, message", [
    (["--batch-size", "0"], "batch_size must be a positive integer. Received: batch_size=0"),
    (["--epochs", "-1"], "Received: epochs=-1"),
    (["--data-dir", "/no/such/folder"], "data_dir '/no/such/folder' does not exist"),
    (["--model", "resnet99"], "unknown model 'resnet99'"),
    (["--augment", "erasing(p=1)"], "unknown parameter(s) p for 'erasing'"),
    (["--width", "0"], "Received: width=0"),
    (["--norm", "layer"], "Received: norm='layer'"),
    (["--l2-scope", "bias"], "l2_scope must be one of all, kernels. Received: l2_scope='bias'"),
    (["--init", "torch"], "init must be one of keras, pytorch. Received: init='torch'"),
    (["--init", "pytorch"], "init='pytorch' needs a model whose builder takes it (cnn1..cnn5). "
                            "Received: model='resnet18'; pass --init keras for it"),
])
def test_bad_input_is_one_clear_line(flags, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        resnet_erasing.main([*TINY, *flags, "--output-dir", str(tmp_path / "r")])
    assert info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("resnet_erasing: error: ") and message in err[-1]
    assert "Traceback" not in "\n".join(err)
    assert not (tmp_path / "r").exists()  # nothing is written for a run that cannot start


def test_existing_output_folder_is_never_touched(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "results.json").write_text("precious")
    with pytest.raises(SystemExit):
        resnet_erasing.main([*TINY, "--output-dir", str(out)])
    assert "already exists" in capsys.readouterr().err
    assert (out / "results.json").read_text() == "precious" and len(list(out.iterdir())) == 1


def test_help_lists_common_flags(capsys):
    with pytest.raises(SystemExit) as info:
        resnet_erasing.main(["--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--epochs", "--batch-size", "--lr", "--limit-train", "--val-size", "--data-dir",
                 "--output-dir", "--seed", "--quick", "95.88"):
        assert flag in text


@pytest.mark.parametrize("recipe, flags", [
    ("cnn2_tuned", []),
    ("mlp_grid", ["--cells", "baseline,dropout"]),
    ("cnn_table", ["--cells", "cnn4"]),
    # Cells that change the optimizer, the loss + augmentation, and the model family.
    ("resnet_ablations", ["--width", "8", "--cells", "sgd,combined,mlp"]),
    ("resnet_augmix", ["--width", "8", "--cells", "augmix,radam"]),
])
def test_every_recipe_runs_on_a_tiny_slice(recipe, flags, tmp_path, capsys):
    import importlib

    module = importlib.import_module(f"fmnist_keras.recipes.{recipe}")
    out = tmp_path / recipe
    results = module.main(["--limit-train", "512", "--epochs", "1", "--val-size", "500",
                           "--output-dir", str(out), *flags])
    assert 0.0 <= results.test_accuracy <= 1.0
    # Its config.json (a table's too) is a valid --config for the recipe, with the flags given.
    from fmnist_keras.training.config import load_config

    recorded = load_config(module.Config, out / "config.json", recipe)
    assert recorded["epochs"] == 1 and recorded["limit_train"] == 512 and module.Config(**recorded)
    runs = [out] if results.cells is None else [out / p.name for p in out.iterdir() if p.is_dir()]
    if results.cells is not None:
        assert (out / "table.md").is_file() and len(runs) == len(results.cells)
        assert "| cell | report |" in capsys.readouterr().out
        # The headline cell is the best on validation, never chosen on test.
        assert results.best_cell == max(results.cells, key=lambda r: r["best_val_accuracy"])["cell"]
    for run in runs:
        for name in ("config.json", "history.csv", "results.json", "model.keras", "curves.png",
                     "confusion.png", "lr.png"):
            assert (run / name).is_file(), (run, name)
    if recipe == "resnet_augmix":  # the three-view step logs both parts of its loss
        header = (out / "augmix" / "history.csv").read_text().splitlines()[0].split(",")
        assert {"ce_loss", "jsd_loss", "val_ce_loss"} <= set(header), header


def test_speedrun_reports_tta_and_repeats(tmp_path, capsys):
    from fmnist_keras.recipes import speedrun

    out = tmp_path / "speedrun"
    results = speedrun.main(["--limit-train", "2048", "--batch-size", "64", "--epochs", "2", "--repeats", "2", "--width", "8",
                             "--output-dir", str(out)])
    printed = capsys.readouterr().out
    assert "seed 0:" in printed and "seed 1:" in printed and "with flip TTA" in printed
    assert results.repeats == 2 and len(results.test_accuracies) == 2
    assert results.test_accuracy == pytest.approx(np.mean(results.test_accuracies))
    assert results.test_accuracies != results.test_accuracies_single_view  # TTA changes predictions
    assert 0.3 < results.test_accuracy <= 1.0  # two short epochs already learn
    assert 0 < results.first_seed_seconds and results.export is None  # full speedruns do not export
    saved = json.loads((out / "results.json").read_text())
    assert "export" not in saved and saved["test_accuracy"] == results.test_accuracy and (out / "config.json").is_file()
    from fmnist_keras.training.config import load_config

    assert load_config(speedrun.Config, out / "config.json", "speedrun")["repeats"] == 2


def test_speedrun_flip_tta_averages_the_image_and_its_mirror(fmnist):
    import keras

    from fmnist_keras.data import to_model_input
    from fmnist_keras.recipes.speedrun import _test_probabilities

    _, (x, _) = fmnist
    x = x[:256]
    model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                              keras.layers.Dense(10, activation="softmax")])
    plain, mirrored = (model.predict(to_model_input(v[..., None]), verbose=0) for v in (x, x[:, :, ::-1]))
    single, flip = _test_probabilities(model, x, "flip")
    np.testing.assert_allclose(single, plain, rtol=1e-6)
    np.testing.assert_allclose(flip, (plain + mirrored) / 2, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_test_probabilities(model, x, "none")[1], plain, rtol=1e-6)

def test_speedrun_refuses_an_unknown_tta():
    from fmnist_keras.recipes.speedrun import Config

    with pytest.raises(ValueError, match="tta must be one of none, flip. Received: tta='shift'"):
        Config(tta="shift")
