"""Data parallelism on JAX: batch parts per process, and real processes on localhost ports.

The slow tests start two copies of a recipe that find each other through
Keras' own variables (KERAS_DISTRIBUTION_*), train over gloo CPU collectives,
and check what docs/distributed.md promises: the same weights on every
process, one run folder written by process 0, a SIGKILLed run that resumes to
the uninterrupted result, and one process over two host devices matching one
device.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from fmnist_keras.batches import ArrayBatches
from fmnist_keras.training import distributed

RECIPE = [sys.executable, "-m", "fmnist_keras.recipes.cnn2_tuned"]
FLAGS = ["--model", "cnn4", "--limit-train", "1024", "--epochs", "2", "--val-size", "500",
         "--clean-train-size", "0", "--no-export", "--strategy", "data_parallel"]
TIMEOUT = 240  # seconds for one multi-process run on 2 busy cores (~60 s measured)


def _stream(batches):
    return [batches[i] for i in range(len(batches))]


def test_process_parts_join_into_the_single_process_batches(fmnist):
    (x, y), _ = fmnist
    x, y = x[:100], y[:100]
    whole = ArrayBatches(x, y, 32, training=True, seed=4, epochs=2)
    parts = [ArrayBatches(x, y, 32, training=True, seed=4, epochs=2, process_index=k, num_processes=2,
                          device_count=2) for k in range(2)]
    assert len(parts[0]) == len(parts[1]) == len(whole)
    for i in range(len(whole)):
        images, labels = whole[i]
        (a, la), (b, lb) = parts[0][i], parts[1][i]
        assert a.shape == (16, 28, 28, 1)
        np.testing.assert_array_equal(np.concatenate([a, b]), images)
        np.testing.assert_array_equal(np.concatenate([la, lb]), labels)


def test_last_evaluation_batch_is_padded_with_zero_weights(fmnist):
    _, (x, y) = fmnist
    x, y = x[:37], y[:37]  # batches of 16, 16, 5: the 5 pad to 6 for 2 devices
    parts = [ArrayBatches(x, y, 16, training=False, process_index=k, num_processes=2, device_count=2)
             for k in range(2)]
    rows, weights = [], []
    for i in range(3):
        (_, la, wa), (_, lb, wb) = parts[0][i], parts[1][i]
        rows.append(np.concatenate([la, lb]))
        weights.append(np.concatenate([wa, wb]))
    labels, weights = np.concatenate(rows), np.concatenate(weights)
    assert len(labels) == 38 and weights.sum() == 37 and weights[-1] == 0
    np.testing.assert_array_equal(labels[weights > 0], y)  # every image once, in order
    # Sizes that split evenly keep the plain (images, labels) batches.
    assert len(ArrayBatches(x[:36], y[:36], 16, training=False, num_processes=2, process_index=1,
                            device_count=2)[2]) == 2


def test_bad_parts_are_named(fmnist):
    (x, y), _ = fmnist
    with pytest.raises(ValueError, match="batch_size must divide evenly between the 4 devices"):
        ArrayBatches(x[:100], y[:100], 30, training=True, num_processes=2, process_index=0, device_count=4)
    with pytest.raises(ValueError, match="process_index must be in 0..num_processes-1"):
        ArrayBatches(x[:100], y[:100], 32, training=True, num_processes=2, process_index=2, device_count=2)


def test_cluster_variables_are_checked():
    env = {distributed.ENV_ADDRESSES: "localhost:1234", distributed.ENV_NUM_PROCESSES: "2",
           distributed.ENV_PROCESS_ID: "1"}
    assert distributed.cluster_from_env(env) == ("localhost:1234", 2, 1)
    assert distributed.cluster_from_env({}) == ("", 1, 0)
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_PROCESS_ID must be in 0..1"):
        distributed.cluster_from_env({**env, distributed.ENV_PROCESS_ID: "2"})
    with pytest.raises(ValueError, match="needs KERAS_DISTRIBUTION_JOB_ADDRESSES"):
        distributed.cluster_from_env({**env, distributed.ENV_ADDRESSES: ""})
    with pytest.raises(ValueError, match="KERAS_DISTRIBUTION_NUM_PROCESSES must be an integer"):
        distributed.cluster_from_env({**env, distributed.ENV_NUM_PROCESSES: "two"})


def test_strategies_a_launch_cannot_run_are_refused():
    with pytest.raises(ValueError, match="keras-team/keras#20585.*KERAS_BACKEND=jax --strategy data_parallel"):
        distributed.check_strategy("multiworker", "tensorflow", {})
    two = {distributed.ENV_ADDRESSES: "localhost:1234", distributed.ENV_NUM_PROCESSES: "2"}
    with pytest.raises(ValueError, match="only --strategy data_parallel on KERAS_BACKEND=jax"):
        distributed.check_strategy("none", "jax", two)
    with pytest.raises(ValueError, match="only --strategy data_parallel on KERAS_BACKEND=jax"):
        distributed.check_strategy("data_parallel", "tensorflow", two)
    distributed.check_strategy("data_parallel", "jax", two)


# --- real processes -----------------------------------------------------------------------------------


def _free_port():
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


class Job:
    """N copies of a command on a localhost port, each in its own process group, logging to files."""

    def __init__(self, args, env, folder, n=2):
        port = _free_port()
        folder.mkdir(parents=True, exist_ok=True)
        self.logs = [folder / f"process{k}.log" for k in range(n)]
        self.procs = []
        self.tmp = folder / "tmp"  # the other processes' temporary folders go here
        self.tmp.mkdir()
        for k, log in enumerate(self.logs):
            penv = {**env, "TMPDIR": str(self.tmp), distributed.ENV_ADDRESSES: f"localhost:{port}",
                    distributed.ENV_NUM_PROCESSES: str(n), distributed.ENV_PROCESS_ID: str(k)}
            with open(log, "w") as out:
                self.procs.append(subprocess.Popen(RECIPE + args, env=penv, stdout=out,
                                                   stderr=subprocess.STDOUT, start_new_session=True))

    def wait(self, timeout=TIMEOUT):
        deadline = time.time() + timeout
        codes = [p.wait(timeout=max(1.0, deadline - time.time())) for p in self.procs]
        return codes

    def text(self, k):
        return self.logs[k].read_text()

    def kill(self):
        for p in self.procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()


def _run_job(args, env, folder):
    job = Job(args, env, folder)
    try:
        codes = job.wait()
    finally:
        job.kill()
    assert codes == [0, 0], "\n\n".join(job.text(k)[-3000:] for k in range(2))
    return job


def _digests(job):
    found = []
    for k in range(2):
        lines = [line for line in job.text(k).splitlines() if "tested weights sha256" in line]
        assert len(lines) == 1, job.text(k)[-2000:]
        found.append(lines[0].split()[-1])
    return found


def _history(run):
    lines = (run / "history.csv").read_text().splitlines()
    header = lines[0].split(",")
    return {key: np.array([float(line.split(",")[i]) for line in lines[1:]]) for i, key in enumerate(header)}


@pytest.mark.slow
def test_two_processes_agree_write_one_folder_and_resume_after_sigkill(tmp_path, jax_env):
    whole = tmp_path / "runs" / "whole"
    job = _run_job(FLAGS + ["--output-dir", str(whole)], jax_env, tmp_path / "logs")
    first, second = _digests(job)
    assert first == second  # every process holds the same weights
    a = json.loads((whole / "results.json").read_text())
    assert a["processes"] == 2 and a["replicas"] == 2 and a["weights_sha256"] == first
    assert a["epochs_run"] == 2 and 0.5 < a["test_accuracy"] <= 1.0
    assert [p.name for p in whole.parent.iterdir()] == ["whole"]  # one run folder, process 0's
    assert not (whole / "backup").exists()
    assert "test accuracy" in job.text(1)  # process 1 trained and tested too
    assert list(job.tmp.iterdir()) == []  # and removed its temporary folder

    cut = tmp_path / "runs" / "cut"
    job = Job(FLAGS + ["--output-dir", str(cut)], jax_env, tmp_path / "cut_logs")
    try:
        meta = cut / "backup" / "training_metadata.json"
        deadline = time.time() + TIMEOUT
        while time.time() < deadline and all(p.poll() is None for p in job.procs):
            if meta.is_file() and json.loads(meta.read_text() or "{}").get("epoch", 0) >= 1:
                time.sleep(0.5)  # into epoch 2
                break
            time.sleep(0.02)
        assert all(p.poll() is None for p in job.procs), "the run ended before it could be killed"
    finally:
        job.kill()  # SIGKILL to both process groups
    assert not (cut / "results.json").exists()

    _run_job(["--resume", str(cut)], jax_env, tmp_path / "resume_logs")
    b = json.loads((cut / "results.json").read_text())
    assert b["resumed_at_epoch"] == 1 and a["epochs_run"] == b["epochs_run"]
    ha, hb = _history(whole), _history(cut)
    # Gloo sums the two processes' gradients in a fixed order, so the resumed run
    # repeats the uninterrupted one to float32 rounding (bit-equal when measured).
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(hb[key], ha[key], rtol=1e-5, atol=1e-6, err_msg=key)
    assert b["test_accuracy"] == pytest.approx(a["test_accuracy"], abs=1e-6)
    assert b["weights_sha256"] == a["weights_sha256"]
    assert sorted(p.name for p in whole.parent.iterdir()) == ["cut", "whole"]


ONE_PROCESS_TWO_DEVICES = """
import json, sys
from fmnist_keras.recipes.cnn2_tuned import Config
from fmnist_keras.training.runner import fit_and_evaluate

out = {}
for strategy in ("none", "data_parallel"):
    config = Config(model="cnn4", epochs=2, limit_train=1024, val_size=500, clean_train_size=0, export=False,
                    strategy=strategy, output_dir=sys.argv[1] + "/" + strategy)
    out[strategy] = fit_and_evaluate(config, verbose=0)
print("RESULT" + json.dumps({k: [v.replicas, v.test_accuracy] for k, v in out.items()}))
"""


@pytest.mark.slow
def test_one_process_over_two_host_devices_matches_one_device(tmp_path, jax_env):
    env = {**jax_env, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    proc = subprocess.Popen([sys.executable, "-c", ONE_PROCESS_TWO_DEVICES, str(tmp_path)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        stdout, stderr = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 0, stderr[-3000:]
    result = json.loads(stdout.split("RESULT")[-1])
    assert result["none"][0] == 1 and result["data_parallel"][0] == 2
    one, two = _history(tmp_path / "none"), _history(tmp_path / "data_parallel")
    # The same global batches and augmentation draws; only the order of the
    # gradient sum differs (float32 rounding), so 1e-4 relative is ample.
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(two[key], one[key], rtol=1e-4, atol=1e-4, err_msg=key)
    assert result["data_parallel"][1] == pytest.approx(result["none"][1], abs=2e-3)
