"""The accelerator path without TensorFlow: NumPy batches and recipes on KERAS_BACKEND=jax."""

import json
import subprocess
import sys

import numpy as np
import pytest

from fmnist_keras.batches import ArrayBatches

def _stream(batches):
    return [batches[i] for i in range(len(batches))]


def test_training_stream_is_a_reproducible_permutation_per_epoch(fmnist):
    (x, y), _ = fmnist
    x, y = x[:100], y[:100]
    stream = ArrayBatches(x, y, 32, training=True, seed=5, epochs=3)
    assert len(stream) == 3 * 3  # 100 // 32 steps per epoch, last partial batch dropped
    images, labels = stream[0]
    assert images.shape == (32, 28, 28, 1) and images.dtype == np.float32 and labels.dtype == np.int32
    assert 0.0 <= images.min() and images.max() <= 1.0
    pixels = {bytes(row) for row in x.reshape(100, -1)}
    epochs = []
    for e in range(3):
        images = np.concatenate([img for img, _ in _stream(stream)[e * 3:(e + 1) * 3]])
        rows = [bytes(r) for r in (images.reshape(96, -1) * 255).round().astype(np.uint8)]
        assert len(set(rows)) == 96 and set(rows) <= pixels  # 96 distinct images of x per epoch
        epochs.append(rows)
    assert epochs[0] != epochs[1]  # reshuffled each epoch
    again = ArrayBatches(x, y, 32, training=True, seed=5, epochs=3)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in _stream(again)]),
                                  np.concatenate([b[1] for b in _stream(stream)]))
    resumed = ArrayBatches(x, y, 32, training=True, seed=5, epochs=3, first_epoch=1)
    assert len(resumed) == 6
    for got, want in zip(_stream(resumed), _stream(stream)[3:]):
        np.testing.assert_array_equal(got[0], want[0])


def test_images_keep_their_labels(fmnist):
    (x, y), _ = fmnist
    x, y = x[:64], y[:64]
    lookup = {bytes(img): label for img, label in zip(x.reshape(64, -1), y)}
    for images, labels in _stream(ArrayBatches(x, y, 16, training=True, seed=1, epochs=2)):
        pixels = (images.reshape(16, -1) * 255).round().astype(np.uint8)
        assert [lookup[bytes(p)] for p in pixels] == labels.tolist()


def test_evaluation_batches_keep_order_and_every_image(fmnist):
    _, (x, y) = fmnist
    x, y = x[:70], y[:70]
    batches = ArrayBatches(x, y, 32, training=False)
    assert len(batches) == 3
    images = np.concatenate([b[0] for b in _stream(batches)])
    np.testing.assert_array_equal((images[..., 0] * 255).round().astype(np.uint8), x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in _stream(batches)]), y)
    with pytest.raises(IndexError):
        batches[3]


def test_bad_inputs_are_named(fmnist):
    (x, y), _ = fmnist
    with pytest.raises(ValueError, match="uint8"):
        ArrayBatches(x[:10].astype("float32"), y[:10], 4, training=False)
    with pytest.raises(ValueError, match="batch_size"):
        ArrayBatches(x[:10], y[:10], 32, training=True)


def _recipe(*args, env, timeout=600):
    return subprocess.run([sys.executable, "-m", "fmnist_keras.recipes.resnet_erasing", *args],
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_recipe_trains_end_to_end_on_jax_without_tensorflow(tmp_path, jax_env):
    env = jax_env
    blocked = subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, capture_output=True, text=True)
    assert blocked.returncode != 0 and "blocked" in blocked.stderr  # the simulation holds

    run = tmp_path / "run"
    # The MLP learns in two short epochs, so the accuracy check below can fail.
    done = _recipe("--model", "mlp", "--limit-train", "1024", "--epochs", "2", "--batch-size", "64",
                   "--val-size", "500", "--clean-train-size", "200", "--augment", "flip,erasing,ricap",
                   "--output-dir", str(run), env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    for name in ("config.json", "history.csv", "results.json", "model.keras", "curves.png", "confusion.png",
                 "lr.png"):
        assert (run / name).is_file(), name
    results = json.loads((run / "results.json").read_text())
    assert results["keras_backend"] == "jax" and "jax" in results and "tensorflow" not in results
    assert results["epochs_run"] == 2 and 0.5 < results["test_accuracy"] <= 1.0
    history = (run / "history.csv").read_text().splitlines()
    assert "clean_accuracy" in history[0] and len(history) == 3
    # Four steps per compiled call: the same batches and augmentation draws, so the same run.
    batched = _recipe("--model", "mlp", "--limit-train", "1024", "--epochs", "2", "--batch-size", "64",
                      "--val-size", "500", "--clean-train-size", "200", "--augment", "flip,erasing,ricap",
                      "--steps-per-execution", "4", "--output-dir", str(tmp_path / "spe4"), env=env)
    assert batched.returncode == 0, batched.stderr[-3000:]
    values = [[float(v) for line in (folder / "history.csv").read_text().splitlines()[1:] for v in line.split(",")]
              for folder in (run, tmp_path / "spe4")]
    np.testing.assert_allclose(values[0], values[1], rtol=1e-5)
    assert json.loads((tmp_path / "spe4" / "results.json").read_text())["test_accuracy"] == pytest.approx(
        results["test_accuracy"], abs=1e-4)
    # The images resident on the device, each batch gathered there: bit-identical batches, the same run.
    resident = _recipe("--model", "mlp", "--limit-train", "1024", "--epochs", "2", "--batch-size", "64",
                       "--val-size", "500", "--clean-train-size", "200", "--augment", "flip,erasing,ricap",
                       "--data-on", "device", "--output-dir", str(tmp_path / "resident"), env=env)
    assert resident.returncode == 0, resident.stderr[-3000:]
    assert (tmp_path / "resident" / "history.csv").read_text() == (run / "history.csv").read_text()
    assert json.loads((tmp_path / "resident" / "results.json").read_text())["test_accuracy"] == \
        results["test_accuracy"]

    for flags, needle in ((["--strategy", "mirrored"], "strategy='mirrored' needs the TensorFlow backend"),
                          (["--augment-on", "host"], "augment_on='host' needs the TensorFlow backend"),
                          (["--export"], "export=True needs the TensorFlow backend")):
        refused = _recipe("--limit-train", "512", "--epochs", "1", *flags, "--output-dir",
                          str(tmp_path / flags[0].strip("-")), env=env)
        assert refused.returncode == 2 and needle in refused.stderr, refused.stderr[-2000:]
        assert not (tmp_path / flags[0].strip("-")).exists()  # refused before any folder is made


@pytest.mark.slow
def test_recipe_evaluate_runs_the_whole_suite_without_tensorflow(tmp_path, jax_env):
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "fmnist_keras.recipes.cnn2_tuned", "--model", "cnn4", "--limit-train", "1024",
         "--epochs", "1", "--val-size", "500", "--clean-train-size", "200", "--no-export", "--evaluate",
         "--evaluate-limit", "200", "--output-dir", str(run)],
        env=jax_env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "tensorflow" not in done.stderr.lower(), done.stderr[-3000:]
    results = json.loads((run / "evaluation.json").read_text())
    assert results["test_images"] == 200  # --evaluate-limit reached run_evaluation
    assert results["environment"]["keras_backend"] == "jax" and "tensorflow" not in results["environment"]
    rob = results["corruptions"]
    assert len(rob["per_corruption"]) == 16 and all(len(c["accuracy"]) == 5 for c in rob["per_corruption"].values())
    assert 0.0 < rob["mean_corruption_error"] < 1.0
    cal = results["calibration"]
    assert cal["temperature"] > 0 and 0.0 <= cal["after"]["ece"] <= 1.0
    assert [f["passes_per_image"] for f in results["frontier"]] == [1, 2, 5, 6]  # TTA flip, shift, both
    assert "cores" in results["hardware"] and (run / "report.html").read_text().count("data:image/png") == 4

    # The standalone CLI on the same machine: ensemble, baseline (mCE) and exported sets.
    done = subprocess.run(
        [sys.executable, "-m", "fmnist_keras.evaluation", str(run), str(run / "model.keras"), "--baseline", str(run),
         "--corruptions", "rotation,motion_blur,fog", "--severities", "1,5", "--tta", "flip", "--limit", "100",
         "--out", str(tmp_path / "ensemble"), "--export-corrupted", str(tmp_path / "fmnist-c"), "--quiet"],
        env=jax_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr[-3000:]
    results = json.loads((tmp_path / "ensemble" / "evaluation.json").read_text())
    assert results["corruptions"]["mce"] == pytest.approx(1.0)  # the baseline is the model itself
    assert results["frontier"][-1]["name"] == "ensemble of 2"
    assert (tmp_path / "fmnist-c" / "rotation.npz").is_file()


def test_device_resident_batches_equal_host_batches(jax_env):
    script = (
        "import numpy as np\n"
        "from fmnist_keras.data import load_fashion_mnist\n"
        "from fmnist_keras.batches import ArrayBatches\n"
        "(x, y), _ = load_fashion_mnist()\n"
        "host = ArrayBatches(x[:5000], y[:5000], 128, training=True, seed=3, epochs=2)\n"
        "device = ArrayBatches(x[:5000], y[:5000], 128, training=True, seed=3, epochs=2, on_device=True)\n"
        "for i in range(len(host)):\n"
        "    (a, la), (b, lb) = host[i], device[i]\n"
        "    assert np.array_equal(a, np.asarray(b)) and np.array_equal(la, lb), i\n"
        "print('equal', len(host))\n")
    proc = subprocess.run([sys.executable, "-c", script], env=jax_env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and "equal 78" in proc.stdout, proc.stderr[-3000:]

