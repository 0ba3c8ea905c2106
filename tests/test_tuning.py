"""Keras Tuner over our trainer: RandomSearch, Hyperband, BayesianOptimization, loud failures,
the tune recipe, and a chief with two workers on localhost."""

import json
import os
import socket
import subprocess
import sys
import time

import keras
import keras_tuner as kt
import numpy as np
import pytest

from fmnist_keras.recipes import tune
from fmnist_keras.keras_tuner_hypermodel import (
    FashionHyperModel, SearchSpace, best_classifier, best_values, make_tuner)

# A fast space: the MLP, one epoch, on a slice.
TINY = dict(models=("mlp",), batch_sizes=(64, 128), epochs=(1, 1))


@pytest.fixture(scope="module")
def data(fmnist):
    (x, y), _ = fmnist
    return (x[:512], y[:512]), (x[512:768], y[512:768])


@pytest.mark.parametrize("kind, trials", [("random", 3), ("bayesian", 2)])
def test_search_completes_and_best_model_loads(kind, trials, data, tmp_path):
    (x, y), (x_val, y_val) = data
    tuner = make_tuner(kind, FashionHyperModel(SearchSpace(**TINY)), tmp_path, max_trials=trials)
    tuner.search(x, y, validation_data=(x_val, y_val), verbose=0)
    done = [t for t in tuner.oracle.trials.values() if t.status == "COMPLETED"]
    assert len(done) == trials
    best = best_values(tuner)
    assert set(best) == {"model", "optimizer", "lr", "weight_decay", "augment", "batch_size", "epochs"}
    assert 1e-4 <= best["lr"] <= 1e-2 and best["batch_size"] in (64, 128)
    classifier = best_classifier(tuner)
    assert isinstance(classifier, keras.Model) and classifier.name == "mlp"
    accuracy = (np.asarray(classifier(x_val[..., None] / 255.0)).argmax(1) == y_val).mean()
    assert accuracy == pytest.approx(tuner.oracle.get_best_trials(1)[0].score, abs=1e-6)


def test_tiny_hyperband(data, tmp_path):
    (x, y), (x_val, y_val) = data
    hypermodel = FashionHyperModel(SearchSpace(**{**TINY, "epochs": (1, 2)}))
    tuner = make_tuner("hyperband", hypermodel, tmp_path, factor=2, hyperband_iterations=1)
    tuner.search(x, y, validation_data=(x_val, y_val), verbose=0)
    trials = list(tuner.oracle.trials.values())
    assert len(trials) >= 3 and all(t.status == "COMPLETED" for t in trials)
    assert {t.hyperparameters.values["tuner/epochs"] for t in trials} == {1, 2}
    assert "epochs" not in best_values(tuner)  # Hyperband sets the epochs, the trial does not draw them
    assert best_classifier(tuner).name == "mlp"


def test_a_failed_trial_fails_the_search(data, tmp_path):
    (x, y), (x_val, y_val) = data
    hypermodel = FashionHyperModel(SearchSpace(**{**TINY, "batch_sizes": (1024,)}))  # > 512 images
    tuner = make_tuner("random", hypermodel, tmp_path, max_trials=3)
    with pytest.raises(kt.errors.FatalError, match="batch_size must not exceed the 512 training images"):
        tuner.search(x, y, validation_data=(x_val, y_val), verbose=0)
    with pytest.raises(kt.errors.FatalError, match="pass validation_data"):
        make_tuner("random", FashionHyperModel(SearchSpace(**TINY)), tmp_path / "b", max_trials=1).search(
            x, y, verbose=0)


def test_build_draws_registry_knobs_conditionally():
    space = SearchSpace(models=("mlp", "resnet18"), knobs=(("width", (8, 16)),),
                        optimizers=("adam", "adamw"), augments=("", "flip"))
    hp = kt.HyperParameters()
    trainer = FashionHyperModel(space).build(hp)
    assert trainer.classifier.name == "mlp" and "width" not in hp.values  # mlp has no width
    hp = kt.HyperParameters()
    hp.Fixed("model", "resnet18")
    hp.Fixed("optimizer", "adamw")
    hypermodel = FashionHyperModel(space)
    assert hypermodel.build(hp).classifier.count_params() < 800_000 and hp.values["width"] == 8
    config = hypermodel.config(hp)
    assert config.l2 == 0 and config.weight_decay == hp.values["weight_decay"]  # decoupled for adamw


@pytest.mark.parametrize("kwargs, message", [
    (dict(models=("resnet99",)), "unknown model 'resnet99'"),
    (dict(lr=(0.0, 1e-2)), "lr must be (min, max) with 0 < min <= max. Received: lr=(0.0, 0.01)"),
    (dict(optimizers=("lbfgs",)), "Received: optimizers=('lbfgs',)"),
    (dict(knobs=(("width", (8,)),)), "knob 'width' needs choices and a model that takes it"),
    (dict(epochs=(0, 3)), "Received: epochs=(0, 3)"),
    (dict(augments=("erasing(p=1)",)), "unknown parameter(s) p for 'erasing'"),
])
def test_bad_space_is_rejected(kwargs, message):
    with pytest.raises(ValueError) as info:
        SearchSpace(**kwargs)
    assert message in str(info.value)


def test_the_old_module_name_is_an_alias_for_a_release():
    from fmnist_keras import keras_tuner_hypermodel, tuning

    for name in tuning.__all__:
        assert getattr(tuning, name) is getattr(keras_tuner_hypermodel, name), name
    assert set(keras_tuner_hypermodel.__all__) <= set(tuning.__all__)


RECIPE_FLAGS = ["--model", "mlp", "--limit-train", "512", "--val-size", "256", "--tuner", "random",
                "--max-trials", "2", "--epochs-min", "1", "--epochs-max", "1", "--batch-sizes", "64"]


def test_recipe_searches_then_trains_and_tests_the_best(tmp_path, capsys):
    out = tmp_path / "tune"
    results = tune.main([*RECIPE_FLAGS, "--output-dir", str(out)])
    trials = json.loads((out / "trials.json").read_text())
    assert len(trials) == 2 and {t["status"] for t in trials} == {"COMPLETED"}
    saved = json.loads((out / "results.json").read_text())
    best = json.loads((out / "best" / "config.json").read_text())
    assert saved["best_hyperparameters"]["lr"] == best["lr"] == results.best_hyperparameters["lr"]
    assert best["batch_size"] == 64 and best["epochs"] == 1 and (out / "best" / "model.keras").is_file()
    assert 0.5 < saved["test_accuracy"] <= 1 and not best["export"]  # a sliced run does not export
    assert "tune: test accuracy" in capsys.readouterr().out


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_distributed_chief_and_two_workers(tmp_path):
    out = tmp_path / "dist"
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "KERASTUNER_ORACLE_IP": "127.0.0.1",
           "KERASTUNER_ORACLE_PORT": str(_free_port())}
    argv = [sys.executable, "-m", "fmnist_keras.recipes.tune", *RECIPE_FLAGS, "--max-trials", "4",
            "--output-dir", str(out), "--worker-wait", "300"]
    procs = {tid: subprocess.Popen(argv, env={**env, "KERASTUNER_TUNER_ID": tid}, stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
             for tid in ("tuner0", "chief", "tuner1")}  # a worker first: it waits for the chief's folder
    start = time.time()
    outputs = {tid: p.communicate(timeout=600) for tid, p in procs.items()}
    for tid, p in procs.items():
        assert p.returncode == 0, (tid, outputs[tid][1][-3000:])
    trials = json.loads((out / "trials.json").read_text())
    assert len(trials) == 4 and {t["status"] for t in trials} == {"COMPLETED"}
    for t in trials:  # trained by the workers: the chief only serves the oracle
        assert (out / "search" / "search" / f"trial_{t['trial_id']}" / "checkpoint.weights.h5").is_file()
    assert "worker tuner0 done" in outputs["tuner0"][0] and "worker tuner1 done" in outputs["tuner1"][0]
    assert "tune: test accuracy" in outputs["chief"][0] and (out / "best" / "model.keras").is_file()
    assert time.time() - start < 600
