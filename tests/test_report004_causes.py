"""scripts/report004_causes.py: its smoke mode on real data, and that each variant changes what it claims."""

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def causes():
    spec = importlib.util.spec_from_file_location("report004_causes", ROOT / "scripts" / "report004_causes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_smoke_mode_writes_the_table_and_json(causes, tmp_path, capsys):
    out = tmp_path / "causes.json"
    argv = ["--cells", "rmsprop lr=0.01,sgd lr=0.001", "--variants", "control,torch_optimizer,raw_input",
            "--seeds", "1", "--epochs", "1", "--limit-train", "1000", "--out", str(out)]
    doc = causes.main(argv)
    printed = capsys.readouterr().out
    assert json.loads(out.read_text()) == json.loads(json.dumps(doc))
    assert doc["environment"]["cpu_model"] and "keras" in doc["environment"]
    assert doc["commands"] and "--limit-train 1000" in doc["commands"][0]
    # torch_optimizer does not apply to SGD (PyTorch's plain SGD is ours already): 3 + 2 runs.
    assert [(r["cell"], r["variant"]) for r in doc["runs"]] == [
        ("rmsprop lr=0.01", "control"), ("rmsprop lr=0.01", "torch_optimizer"), ("rmsprop lr=0.01", "raw_input"),
        ("sgd lr=0.001", "control"), ("sgd lr=0.001", "raw_input")]
    for run in doc["runs"]:
        assert run["train_images"] == 1000 and run["epochs"] == 1 and run["seed"] == 0
        assert run["steps_per_epoch"] == 1000 // 472
        for key in ("test_best_val", "test_last", "best_val_accuracy"):
            assert 0.0 <= run[key] <= 1.0
        assert len(run["curves"]["test_accuracy"]) == 1
    assert doc["runs"][1]["optimizer_class"] == "TorchRMSprop"
    assert doc["runs"][1]["optimizer_config"]["alpha"] == 0.99
    assert doc["runs"][0]["optimizer_config"]["rho"] == 0.9
    assert len(doc["table"]) == 5
    row = doc["table"][0]
    assert row["report"] == [81.2, 3.1] and row["recorded_recipe"] == [87.19, 0.13]
    assert row["test_best_val"]["per_seed"] == [round(100 * doc["runs"][0]["test_best_val"], 2)]
    assert "| rmsprop lr=0.01 | torch_optimizer | 1 |" in printed

    # A rerun keeps finished runs and skips them.
    again = causes.main(argv)
    assert len(again["runs"]) == 5 and len(again["commands"]) == 2


def test_the_control_is_the_recipe_model(causes):
    from fmnist_keras.models import build_model

    control = causes.build_mlp(causes.settings("control"))
    recipe = build_model("mlp")
    assert [type(layer).__name__ for layer in control.layers] == [type(layer).__name__ for layer in recipe.layers]
    assert control.count_params() == recipe.count_params() == 784 * 400 + 400 + 400 * 400 + 400 + 4010
    assert all(not np.any(w) for w in control.get_weights()[1::2])  # zero biases


def test_torch_init_draws_kernels_and_biases_in_the_linear_bound(causes):
    model = causes.build_mlp(causes.settings("torch_init"))
    weights = model.get_weights()
    assert any(type(layer).__name__ == "Rescaling" for layer in model.layers)  # input still standardized
    for kernel, bias in zip(weights[::2], weights[1::2]):
        bound = 1.0 / math.sqrt(kernel.shape[0])
        assert np.abs(kernel).max() <= bound and np.abs(bias).max() <= bound
        assert np.abs(kernel).max() > 0.9 * bound and np.abs(bias).max() > 0.5 * bound  # nonzero biases
        assert abs(kernel.std() - bound / math.sqrt(3)) < 0.05 * bound  # U(-b, b) has std b / sqrt(3)


def test_raw_input_drops_the_standardization_only(causes):
    raw = causes.build_mlp(causes.settings("raw_input"))
    assert not any(type(layer).__name__ == "Rescaling" for layer in raw.layers)
    assert all(not np.any(w) for w in raw.get_weights()[1::2])  # Keras init kept
    assert causes.settings("batch106")["batch_size"] == 106
    assert causes.settings("all_torch") == {**causes.CONTROL, "optimizer_form": "torch", "init": "torch",
                                            "standardize": False}


def test_optimizer_variants(causes):
    rms = causes.make_optimizer("rmsprop", 0.01, causes.settings("rho0.99"))
    assert rms.rho == 0.99 and rms.epsilon == 1e-7 and type(rms).__name__ == "RMSprop"
    assert causes.make_optimizer("rmsprop", 0.01, causes.settings("control")).rho == 0.9
    adam = causes.make_optimizer("adam", 0.1, causes.settings("adam_eps1e-8"))
    assert adam.epsilon == 1e-8 and causes.make_optimizer("adam", 0.1, causes.settings("control")).epsilon == 1e-7
    sgd = causes.make_optimizer("sgd", 0.001, causes.settings("torch_optimizer"))
    assert type(sgd).__name__ == "SGD" and sgd.momentum == 0.0
    assert not causes.applies("torch_optimizer", "sgd") and not causes.applies("rho0.99", "adam")


def _steps(optimizer, grads):
    import keras

    var = keras.Variable(np.array([1.0, -2.0, 0.5], "float32"))
    for g in grads:
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(np.asarray(g, "float32")), var)])
    return np.asarray(var)


def test_torch_rmsprop_is_pytorchs_update(causes):
    grads = [[0.3, -1e-6, 2.0], [0.1, 0.0, -1.0]]
    got = _steps(causes.make_optimizer("rmsprop", 0.01, causes.settings("torch_optimizer")), grads)
    p, v = np.array([1.0, -2.0, 0.5]), np.zeros(3)
    for g in map(np.array, grads):  # torch.optim.RMSprop(lr=0.01), alpha 0.99, eps 1e-8 outside the root
        v = 0.99 * v + 0.01 * g * g
        p = p - 0.01 * g / (np.sqrt(v) + 1e-8)
    np.testing.assert_allclose(got, p, rtol=1e-5)
    # The first step is lr / sqrt(1 - alpha) = 10 lr per weight (1/1.1 of that for a 1e-6 gradient,
    # where eps 1e-8 is a tenth of sqrt(v)); Keras' RMSprop (rho 0.9, epsilon 1e-7 INSIDE the root,
    # a floor of 3.2e-4 on the denominator) moves the first two by 3.2 lr and 0.0032 lr.
    first = _steps(causes.make_optimizer("rmsprop", 0.01, causes.settings("torch_optimizer")), grads[:1])
    np.testing.assert_allclose(np.abs(first - [1.0, -2.0, 0.5]), [0.1, 0.1 / 1.1, 0.1], rtol=1e-3)
    keras_first = _steps(causes.make_optimizer("rmsprop", 0.01, causes.settings("control")), grads[:1])
    np.testing.assert_allclose(np.abs(keras_first - [1.0, -2.0, 0.5])[:2],
                               [0.01 * 0.3 / math.sqrt(0.1 * 0.09 + 1e-7), 0.01 * 1e-6 / math.sqrt(1e-7)],
                               rtol=1e-2)  # float32 rounding of -2 + 3e-5


def test_torch_adam_is_pytorchs_update(causes):
    grads = [[0.3, -1e-6, 2.0], [0.1, 0.0, -1.0], [-0.2, 1e-5, 0.5]]
    got = _steps(causes.make_optimizer("adam", 0.1, causes.settings("torch_optimizer")), grads)
    p, m, v = np.array([1.0, -2.0, 0.5]), np.zeros(3), np.zeros(3)
    for t, g in enumerate(map(np.array, grads), start=1):
        m = 0.9 * m + 0.1 * g
        v = 0.999 * v + 0.001 * g * g
        p = p - 0.1 / (1 - 0.9**t) * m / (np.sqrt(v) / np.sqrt(1 - 0.999**t) + 1e-8)
    np.testing.assert_allclose(got, p, rtol=1e-5)


def test_recorded_histories_reads_a_recipe_run_folder(causes, tmp_path):
    seed_dir = tmp_path / "adam_lr_0.1" / "seed1"
    seed_dir.mkdir(parents=True)
    (seed_dir / "results.json").write_text(json.dumps({"test_accuracy": 0.55, "best_epoch": 2}))
    (seed_dir / "history.csv").write_text("epoch,val_accuracy\n0,0.3\n1,0.56\n2,0.1\n")
    found = causes.recorded_histories(tmp_path)["cells"]
    assert found == {"adam lr=0.1": [{"seed": 1, "test_best_val": 0.55, "best_epoch": 2, "val_best": 0.56,
                                      "val_last": 0.1, "epochs": 3}]}
