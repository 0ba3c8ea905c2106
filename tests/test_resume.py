"""A run killed with SIGKILL mid-epoch and resumed ends exactly like an uninterrupted one."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

FLAGS = ["--limit-train", "1536", "--epochs", "4", "--width", "8", "--val-size", "500",
         "--clean-train-size", "0", "--batch-size", "32", "--patience", "2", "--seed", "3"]
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def _cmd(*args):
    return [sys.executable, "-m", "fmnist_keras.recipes.resnet_erasing", *args]


def _history(run):
    lines = (run / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    return {k: np.array([float(line.split(",")[i]) for line in lines[1:]]) for i, k in enumerate(header)}


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["tensorflow", "jax"])
def test_sigkill_then_resume_equals_uninterrupted(tmp_path, backend, request):
    # On JAX the train step carries the augmentation seed in its state.
    env = request.getfixturevalue("jax_env") if backend == "jax" else ENV
    whole = tmp_path / "whole"
    subprocess.run(_cmd(*FLAGS, "--output-dir", str(whole)), check=True, env=env, capture_output=True,
                   timeout=600)

    cut = tmp_path / "cut"
    proc = subprocess.Popen(_cmd(*FLAGS, "--output-dir", str(cut)), env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    meta = cut / "backup" / "training_metadata.json"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None:
        if meta.is_file() and json.loads(meta.read_text() or "{}").get("epoch", 0) >= 2:
            time.sleep(0.5)  # into epoch 3
            break
        time.sleep(0.02)
    assert proc.poll() is None, "the run ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (cut / "results.json").exists()

    resumed = subprocess.run(_cmd("--resume", str(cut)), env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    a, b = json.loads((whole / "results.json").read_text()), json.loads((cut / "results.json").read_text())
    assert b["resumed_at_epoch"] == 2 and a["epochs_run"] == b["epochs_run"]
    ha, hb = _history(whole), _history(cut)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert b["test_accuracy"] == pytest.approx(a["test_accuracy"], abs=1e-6)
    assert not (cut / "backup").exists()  # removed once the run has finished

    again = subprocess.run(_cmd("--resume", str(cut)), env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 2 and "has finished already" in again.stderr
