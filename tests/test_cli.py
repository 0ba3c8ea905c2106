"""The recipe command line as a newcomer meets it: --help, --config, table cells, quiet start."""

import dataclasses
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from fmnist_keras.recipes import _cli
from fmnist_keras.training import grid
from fmnist_keras.training.config import GROUPS, field_doc, load_config

RECIPES = ("cnn2_tuned", "cnn_table", "mlp_grid", "resnet_ablations", "resnet_augmix", "resnet_erasing",
           "speedrun", "tune")
TINY = ["--model", "cnn4", "--limit-train", "512", "--epochs", "1", "--val-size", "500",
        "--clean-train-size", "0"]
TF_STARTUP = ("I0000", "All log messages before absl::InitializeLog()", "cuda drivers", "cuInit")


def _recipe(name):
    import importlib

    return importlib.import_module(f"fmnist_keras.recipes.{name}")


def test_every_help_answers_without_keras_grouped_and_described():
    """One process asks every recipe for --help: no Keras (so no TensorFlow) is loaded, no log line."""
    script = textwrap.dedent(f"""
        import contextlib, io, runpy, sys
        for name in {RECIPES!r}:
            sys.argv = ["x", "--help"]
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                try:
                    runpy.run_module("fmnist_keras.recipes." + name, run_name="__main__")
                except SystemExit as e:
                    assert e.code == 0, (name, e.code)
            print("=== " + name)
            print(out.getvalue())
        assert "keras" not in sys.modules and "tensorflow" not in sys.modules, "help loaded Keras"
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr
    assert not any(marker in proc.stdout + proc.stderr for marker in TF_STARTUP)
    pages = dict(page.split("\n", 1) for page in proc.stdout.split("=== ")[1:])
    for name, text in pages.items():
        assert f"usage: python -m fmnist_keras.recipes.{name} " in text
        headings = [g for g in GROUPS if f"\n{g}:\n" in text]
        assert headings == [g for g in GROUPS if g in headings] and len(headings) >= 6, (name, headings)
        assert "--optimizer {sgd,sgdw,adam,adamw,rmsprop,radam,adabound}" in text
        assert "--config CONFIG_JSON" in text and "--verbose" in text


@pytest.mark.parametrize("name", RECIPES)
def test_every_setting_has_a_group_a_help_and_a_shown_default(name):
    config_cls = _recipe(name).Config
    for field in dataclasses.fields(config_cls):
        doc = field_doc(config_cls, field.name)
        assert doc and doc["group"] in GROUPS and len(doc["help"]) > 10, field.name
    text = _cli.build_parser(config_cls, "", "", name).format_help()
    assert text.count("(default:") >= len(dataclasses.fields(config_cls)) - 1  # --export explains its own


def test_table_cells_are_chosen_with_one_flag_and_groups_expand():
    cnn_table, mlp_grid = _recipe("cnn_table"), _recipe("mlp_grid")
    rows = cnn_table.cells(cnn_table.Config(cells="cnn4,cnn2 sigmoid no-aug"))
    assert [r[0] for r in rows] == ["cnn4 softmax no-aug", "cnn4 softmax crop+flip", "cnn4 sigmoid no-aug",
                                    "cnn4 sigmoid crop+flip", "cnn2 sigmoid no-aug"]
    assert rows[0][2] == 86.95 and rows[4][2] == 85.85  # each cell carries its own report number
    assert len(mlp_grid.cells(mlp_grid.Config())) == 1 + 9 + 3 + 2
    assert [r[0] for r in mlp_grid.cells(mlp_grid.Config(cells="adam lr=0.001"))] == ["adam lr=0.001"]
    with pytest.raises(ValueError, match=r"cells must be a comma list of baseline, optimizer, .*"
                                         r"Received: cells='momentum'"):
        mlp_grid.cells(mlp_grid.Config(cells="momentum"))


@pytest.mark.parametrize("recipe, flags, clash", [
    ("cnn_table", ["--model", "cnn2"], "--model is set by cell(s) cnn1 softmax no-aug"),
    ("cnn_table", ["--cells", "cnn4", "--augment", "flip"], "--augment is set by cell(s) cnn4 softmax no-aug"),
    ("mlp_grid", ["--cells", "optimizer", "--lr", "0.05"], "--lr is set by cell(s) rmsprop lr=0.1"),
    ("resnet_ablations", ["--cells", "baseline,sgd", "--optimizer", "adamw"], "--optimizer is set by cell(s) sgd"),
])
def test_flags_that_a_cell_overrides_are_refused_before_any_work(recipe, flags, clash, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        _recipe(recipe).main([*flags, "--output-dir", str(tmp_path / "t")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert clash in err and "Traceback" not in err
    assert not (tmp_path / "t").exists()


def test_a_flag_no_chosen_cell_sets_is_kept():
    mlp_grid = _recipe("mlp_grid")
    parser = _cli.build_parser(mlp_grid.Config, "", "", "mlp_grid")
    args = parser.parse_args(["--cells", "baseline", "--lr", "0.05"])
    config = _cli.config_from_args(mlp_grid.Config, args, mlp_grid.QUICK, "mlp_grid")
    _cli.check_cell_flags(mlp_grid.cells(config), _cli.explicit_settings(mlp_grid.Config, args))
    assert config.lr == 0.05


def _write(path, settings):
    path.write_text(json.dumps(settings))
    return path


@pytest.mark.parametrize("settings, message", [
    ({"recipe": "cnn2_tuned", "epochz": 3}, "has key(s) that cnn2_tuned does not take: epochz"),
    ({"recipe": "cnn2_tuned", "epochs": "3"}, "epochs must be an integer. Received: epochs='3'"),
    ({"recipe": "cnn2_tuned", "nesterov": 1}, "nesterov must be true or false. Received: nesterov=1"),
    ({"recipe": "mlp_grid", "epochs": 3}, "is a config of recipe 'mlp_grid', not 'cnn2_tuned'"),
    ({"recipe": "cnn2_tuned", "schema": 3}, "has config schema 3; this version reads 1 and 2"),
    ([1, 2], "must hold a JSON object of settings"),
])
def test_config_file_errors_name_the_key(settings, message, tmp_path):
    path = _write(tmp_path / "config.json", settings)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config(_recipe("cnn2_tuned").Config, path, "cnn2_tuned")


def test_config_lists_become_tuples_and_ints_become_floats(tmp_path):
    mlp_grid = _recipe("mlp_grid")
    path = _write(tmp_path / "config.json", {"recipe": "mlp_grid", "hidden": [32, 16], "lr": 1})
    assert load_config(mlp_grid.Config, path, "mlp_grid") == {"hidden": (32, 16), "lr": 1.0}


@pytest.mark.parametrize("written, schema, read", [
    ("erasing(prob=0.5),ricap(beta=0.1)", None, "erasing(prob=0.5),ricap(beta=0.1, per_image=False)"),
    ("flip,ricap", None, "flip,ricap(per_image=False)"),
    ("ricap()", None, "ricap(per_image=False)"),
    ("ricap(per_image=True)", None, "ricap(per_image=True)"),
    ("ricap(beta=0.1)", 2, "ricap(beta=0.1)"),  # written after the op contract: per image, as it says
])
def test_configs_from_before_the_op_contract_resume_with_their_per_batch_ricap(tmp_path, written, schema, read):
    """`ricap` drew one layout per batch until its default became per image (like mixup and cutmix):
    a config.json written before says so when it is read, so --resume and --config draw what the run drew."""
    settings = {"recipe": "resnet_erasing", "augment": written}
    if schema is not None:
        settings["schema"] = schema
    path = _write(tmp_path / "config.json", settings)
    assert load_config(_recipe("resnet_erasing").Config, path, "resnet_erasing") == {"augment": read}


def test_config_with_quick_is_refused(tmp_path, capsys):
    path = _write(tmp_path / "config.json", {"recipe": "cnn2_tuned"})
    with pytest.raises(SystemExit):
        _recipe("cnn2_tuned").main(["--config", str(path), "--quick"])
    assert "--config runs the recorded settings, which --quick would change" in capsys.readouterr().err


@pytest.mark.slow
def test_a_run_rerun_from_its_config_json_reproduces_its_accuracy(tmp_path):
    """Same machine, same backend: the recorded settings give the same test accuracy to the last digit,
    in a fresh folder (the first run's is left alone); a flag beside --config wins."""
    cnn2_tuned = _recipe("cnn2_tuned")
    first = cnn2_tuned.main([*TINY, "--output-dir", str(tmp_path / "first")])
    before = sorted(p.name for p in (tmp_path / "first").iterdir())
    again = cnn2_tuned.main(["--config", str(tmp_path / "first" / "config.json"),
                             "--output-dir", str(tmp_path / "again")])
    assert again.test_accuracy == first.test_accuracy
    assert sorted(p.name for p in (tmp_path / "first").iterdir()) == before
    recorded = json.loads((tmp_path / "again" / "config.json").read_text())
    assert {k: v for k, v in recorded.items() if k != "output_dir"} == {
        k: v for k, v in json.loads((tmp_path / "first" / "config.json").read_text()).items() if k != "output_dir"}
    changed = cnn2_tuned.main(["--config", str(tmp_path / "first"), "--seed", "1",
                               "--output-dir", str(tmp_path / "seed1")])
    assert json.loads((tmp_path / "seed1" / "config.json").read_text())["seed"] == 1
    assert changed.run_dir == str(tmp_path / "seed1")


def test_a_table_folder_is_not_resumed_as_one_run(tmp_path):
    (tmp_path / "cnn4_softmax_no-aug").mkdir()
    (tmp_path / "cnn4_softmax_no-aug" / "config.json").write_text("{}")
    with pytest.raises(ValueError, match="is a table's folder: resume one cell's folder"):
        grid.check_not_table_folder(tmp_path)


def _run_recipe(args, env_extra=None, cwd=None, timeout=240):
    env = {**os.environ, **(env_extra or {})}
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell has it
    return subprocess.run([sys.executable, "-m", "fmnist_keras.recipes.cnn2_tuned", *args],
                          capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd)


@pytest.mark.slow
def test_a_run_is_quiet_by_default_and_verbose_on_request(tmp_path):
    quiet = _run_recipe([*TINY, "--epochs", "1", "--output-dir", str(tmp_path / "q")])
    assert quiet.returncode == 0, quiet.stderr
    assert not any(marker in quiet.stderr + quiet.stdout for marker in TF_STARTUP), quiet.stderr
    assert "cnn2_tuned: test accuracy" in quiet.stdout
    loud = _run_recipe(["--limit-train", "0", "--output-dir", str(tmp_path / "v"), "--epochs", "0"],
                       env_extra={"FMNIST_VERBOSE": "1"})
    assert loud.returncode == 2 and "epochs must be a positive integer" in loud.stderr
    assert "All log messages before absl::InitializeLog()" in loud.stderr  # TensorFlow's own start-up lines


def test_a_broken_tensorflow_still_explains_itself(tmp_path):
    """The start-up log is hidden only when TensorFlow loads: a failing import shows what it printed."""
    fake = tmp_path / "tensorflow"
    fake.mkdir()
    (fake / "__init__.py").write_text(
        "import os\nos.write(2, b'fake-tensorflow: libcudnn.so.9 not found\\n')\n"
        "raise ImportError('fake-tensorflow is broken')\n")
    proc = _run_recipe([*TINY, "--output-dir", str(tmp_path / "r")],
                       env_extra={"PYTHONPATH": str(tmp_path), "KERAS_BACKEND": "tensorflow"}, timeout=120)
    assert proc.returncode != 0
    assert "fake-tensorflow: libcudnn.so.9 not found" in proc.stderr
    assert not (tmp_path / "r").exists()


def test_a_table_row_stands_beside_its_best_cells_own_report_number():
    from fmnist_keras.results import RunResults

    def results(**fields):
        return RunResults("mlp_grid", "mlp", 0.9, 40, 1.0, "run", **fields)

    cells = [{"cell": "rmsprop lr=0.1", "report": 21.5}, {"cell": "adam lr=0.001", "report": 89.6},
             {"cell": "adam 1e-3 dropout=0.2", "report": None}]
    assert _cli.ledger_report_number(results(cells=cells, best_cell="rmsprop lr=0.1"), 89.6, None, "mlp") == 21.5
    assert _cli.ledger_report_number(results(cells=cells, best_cell="adam 1e-3 dropout=0.2"), 89.6, None,
                                     "mlp") is None
    assert _cli.ledger_report_number(results(), 92.91, "cnn4", "cnn2") is None  # another model than the report's
    assert _cli.ledger_report_number(results(), 92.91, "cnn2", "cnn2") == 92.91


@pytest.mark.parametrize("flags, message", [
    (["--evaluate-limit", "200"], "--evaluate-limit applies to --evaluate; add --evaluate or drop it"),
    (["--evaluate", "--evaluate-limit", "0"], "--evaluate-limit must be a positive integer"),
])
def test_evaluate_limit_is_checked_before_training(flags, message, tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        _recipe("cnn2_tuned").main([*TINY, *flags, "--output-dir", str(tmp_path / "r")])
    assert info.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "r").exists()



def test_import_registers_the_custom_layers_when_keras_loads(tmp_path):
    """`import fmnist_keras` loads no Keras, yet a .keras file with FRN layers reloads once Keras is imported."""
    path = tmp_path / "frn.keras"
    save = ("from fmnist_keras.models import build_model\n"
            f"build_model('resnet18', width=4, norm='frn').save({str(path)!r})\n")
    load = ("import sys\n"
            "import fmnist_keras\n"
            "assert 'keras' not in sys.modules, 'import fmnist_keras loaded Keras'\n"
            "import keras\n"
            f"model = keras.saving.load_model({str(path)!r})\n"
            "print(sorted({type(l).__name__ for l in model.layers if 'Filter' in type(l).__name__}))\n")
    for script in (save, load):
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=180)
        assert proc.returncode == 0, proc.stderr[-3000:]
    assert "FilterResponseNormalization" in proc.stdout
