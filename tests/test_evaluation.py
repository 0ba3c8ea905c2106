"""Evaluation beyond accuracy: corruptions, calibration, mCE, TTA, errors, and the CLI end to end."""

import io
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from fmnist_keras.data import parse_idx
from fmnist_keras.evaluation import calibration, corruptions, errors, robustness, tta
from fmnist_keras.evaluation.corruptions import corrupt, corruption_names

NAMES = corruption_names()
RANDOM = ("shot_noise", "impulse_noise", "motion_blur", "rotation", "shear", "translation", "fog", "dotted_line",
          "zigzag")


@pytest.fixture(scope="module")
def images(fmnist):
    """48 real test images, uint8 (48, 28, 28), and their labels."""
    _, (x, y) = fmnist
    return x[:48].copy(), y[:48].copy()


def high_freq(x):
    """Mean squared difference of horizontally and vertically adjacent pixels."""
    x = x.astype(np.float64)
    return np.mean(np.diff(x, axis=1) ** 2) + np.mean(np.diff(x, axis=2) ** 2)


def centre_of_mass(x):
    x = x.astype(np.float64)
    mass = x.sum(axis=(1, 2))
    rows = (x.sum(axis=2) * np.arange(x.shape[1])).sum(axis=1) / mass
    cols = (x.sum(axis=1) * np.arange(x.shape[2])).sum(axis=1) / mass
    return rows, cols


def orientation(x):
    """Principal-axis angle from second central moments (radians)."""
    x = x.astype(np.float64)
    r, c = centre_of_mass(x)
    rr = np.arange(x.shape[1])[None, :, None] - r[:, None, None]
    cc = np.arange(x.shape[2])[None, None, :] - c[:, None, None]
    mu20, mu02, mu11 = (x * cc ** 2).sum((1, 2)), (x * rr ** 2).sum((1, 2)), (x * rr * cc).sum((1, 2))
    return 0.5 * np.arctan2(2 * mu11, mu20 - mu02), np.hypot(2 * mu11, mu20 - mu02) / (mu20 + mu02)


# ---------------------------------------------------------------- every corruption


@pytest.mark.parametrize("name", NAMES)
def test_corruption_contract(images, name):
    x, _ = images
    kept = x.copy()
    first = corrupt(x, name, 3, seed=7)
    assert first.tobytes() == corrupt(x, name, 3, seed=7).tobytes()  # same bytes twice
    assert first.dtype == np.uint8 and first.shape == x.shape
    assert not np.array_equal(first, x)
    assert np.array_equal(corrupt(x, name, 0), x)  # severity 0 is the identity
    four = corrupt(x[..., None], name, 3, seed=7)  # (N, H, W, 1) in, same shape out, same pixels
    assert four.shape == x.shape + (1,) and np.array_equal(four[..., 0], first)
    assert np.array_equal(x, kept)  # the input is untouched
    weak, strong = corrupt(x, name, 1), corrupt(x, name, 5)
    change = [np.abs(c.astype(int) - x).mean() for c in (weak, strong)]
    assert change[1] > change[0] > 0, change  # severity 5 changes more than severity 1
    if name in RANDOM:
        assert not np.array_equal(corrupt(x, name, 3, seed=8), first)


@pytest.mark.parametrize("name", NAMES)
def test_corruptions_read_the_image_size(images, name):
    x = np.pad(images[0][:4], ((0, 0), (2, 2), (2, 2)))  # 32x32: nothing may assume 28
    out = corrupt(x, name, 5)
    assert out.shape == (4, 32, 32) and out.dtype == np.uint8


def test_bad_arguments_name_the_argument(images):
    x, _ = images
    with pytest.raises(ValueError, match="severity"):
        corrupt(x, "fog", 6)
    with pytest.raises(ValueError, match="unknown corruption"):
        corrupt(x, "snow", 1)
    with pytest.raises(ValueError, match="uint8"):
        corrupt(x.astype(np.float32), "fog", 1)
    with pytest.raises(ValueError, match="unknown corruption snow"):
        corruptions.parse_corruptions("fog,snow")
    assert corruptions.parse_corruptions("all") == NAMES
    assert corruptions.parse_corruptions("jpeg, fog") == ("jpeg", "fog")


# ---------------------------------------------------------------- families


@pytest.mark.parametrize("name", ["shot_noise", "impulse_noise"])
def test_noise_raises_pixel_variance(images, name):
    x, _ = images
    out = corrupt(x, name, 3)
    assert high_freq(out) > 1.3 * high_freq(x)
    assert out.astype(np.float64).var(axis=(1, 2)).mean() > x.astype(np.float64).var(axis=(1, 2)).mean()


def test_shot_noise_keeps_the_mean_and_impulse_sets_extremes(images):
    x, _ = images
    assert abs(corrupt(x, "shot_noise", 2).mean() - x.mean()) < 2.0  # Poisson is unbiased (up to clipping)
    out = corrupt(x, "impulse_noise", 4)
    changed = out != x
    assert set(np.unique(out[changed])) <= {0, 255}
    assert 0.5 * 0.17 < changed.mean() <= 0.17 + 0.01  # hits that land on an equal value do not show


@pytest.mark.parametrize("name", ["gaussian_blur", "motion_blur", "pixelation"])
def test_blur_lowers_high_frequency_energy(images, name):
    x, _ = images
    energies = [high_freq(corrupt(x, name, s)) for s in (0, 1, 5)]
    assert energies[0] > energies[1] > energies[2]


def test_rotation_turns_the_principal_axis(images):
    x, _ = images
    before, elongation = orientation(x)
    after, _ = orientation(corrupt(x, "rotation", 1))
    turn = np.abs((after - before + np.pi / 2) % np.pi - np.pi / 2)[elongation > 0.2]
    assert len(turn) > 10
    assert 0.12 < np.median(turn) < 0.28  # severity 1 rotates by 0.2 rad, either direction


def test_translation_moves_the_centre_of_mass(images):
    x, _ = images
    r0, c0 = centre_of_mass(x)
    r1, c1 = centre_of_mass(corrupt(x, "translation", 2))
    assert np.median(np.abs(r1 - r0)) > 1.5 and np.median(np.abs(c1 - c0)) > 1.5
    # Whole-pixel shifts are exact: the moved content equals the original where it stays in frame.
    out = corrupt(x, "translation", 1)
    hits = sum(np.array_equal(out[i, 1:-1, 1:-1], np.roll(x[i], (dy, dx), (0, 1))[1:-1, 1:-1])
               for i in range(len(x)) for dy in (-1, 1) for dx in (-1, 1))
    assert hits == len(x)


def test_shear_slants_a_vertical_bar():
    bar = np.zeros((1, 28, 28), np.uint8)
    bar[0, :, 13:15] = 255
    out = corrupt(bar, "shear", 1).astype(np.float64)[0]
    cols = (out * np.arange(28)).sum(1) / np.maximum(out.sum(1), 1e-9)
    assert abs(abs(cols[2] - cols[25]) - 0.2 * 23) < 0.5  # x_in = x +- 0.2 y


def test_scale_shrinks_the_garment(images):
    x, _ = images
    ratio = corrupt(x, "scale", 5).astype(np.float64).sum() / x.sum()
    assert 0.2 < ratio < 0.3  # half the side, a quarter of the area


def test_brightness_raises_the_mean_and_contrast_lowers_the_std(images):
    x, _ = images
    brighter = corrupt(x, "brightness", 1)
    assert brighter.mean() > x.mean() + 20
    assert np.all(brighter[x == 0] == 26)  # 0.1 * 255 on the black background
    flat = corrupt(x, "contrast", 2)
    assert flat.std(axis=(1, 2)).mean() < 0.35 * x.std(axis=(1, 2)).mean()
    assert abs(flat.mean() - x.mean()) < 1.0


def test_fog_lifts_the_background(images):
    x, _ = images
    out = corrupt(x, "fog", 3)
    assert out[x == 0].mean() > 20
    assert out.max() <= 255


def test_stripe_inverts_the_edge_columns(images):
    x, _ = images
    out = corrupt(x, "stripe", 1)  # 2 px each side
    assert np.array_equal(out[:, :, :2], 255 - x[:, :, :2]) and np.array_equal(out[:, :, -2:], 255 - x[:, :, -2:])
    assert np.array_equal(out[:, :, 2:-2], x[:, :, 2:-2])


def test_dotted_line_and_zigzag_only_add_ink(images):
    x, _ = images
    dotted = corrupt(x, "dotted_line", 2)
    assert np.all(dotted >= x) and dotted.sum() > x.sum()
    gaps = (np.arange(28) // 2) % 2 == 0  # 2 px on, 2 px off
    assert np.array_equal(dotted[:, :, gaps], x[:, :, gaps])
    zig = corrupt(x, "zigzag", 2)
    assert np.all(zig >= x) and zig.sum() > x.sum()


def test_pixelation_makes_equal_blocks(images):
    x, _ = images
    two = corrupt(x, "pixelation", 2).astype(int)  # 28 -> 14 -> 28: 2x2 blocks
    blocks = two.reshape(-1, 14, 2, 14, 2)
    assert np.all(blocks == blocks[:, :, :1, :, :1])
    block_means = x.reshape(-1, 14, 2, 14, 2).mean(axis=(2, 4))
    assert np.abs(blocks[:, :, 0, :, 0] - block_means).max() <= 0.5 + 1e-9  # each block is its mean
    four = corrupt(x, "pixelation", 5).astype(int).reshape(-1, 7, 4, 7, 4)  # 28 -> 7: 4x4 blocks
    assert np.all(four == four[:, :, :1, :, :1])


def test_jpeg_is_pillows_encoder(images):
    from PIL import Image

    x, _ = images
    out = corrupt(x[:3], "jpeg", 5)
    for i in range(3):
        buffer = io.BytesIO()
        Image.fromarray(x[i], mode="L").save(buffer, format="JPEG", quality=7)
        assert np.array_equal(out[i], np.asarray(Image.open(io.BytesIO(buffer.getvalue()))))


# ---------------------------------------------------------------- the NumPy warp

WARPED = ("motion_blur", "rotation", "shear", "scale", "translation")


def _eager_affine_warp(x, matrices):
    """The training augmentations' `affine_warp` run eagerly through keras.ops: the warp before NumPy."""
    from fmnist_keras.augment._warp import affine_warp

    out = affine_warp(np.asarray(x[..., None], np.float32), np.asarray(matrices, np.float32))
    return np.asarray(out).astype(np.float64)[..., 0]


@pytest.mark.parametrize("name", WARPED)
def test_numpy_warp_gives_the_bytes_of_affine_warp(fmnist, monkeypatch, name):
    # On all 10,000 test images, every severity, the NumPy warp matched the former
    # tf.function bit for bit (0 of 196M pixels differ). Allowed here: 1 level where
    # float rounding might differ on another CPU, on at most 0.1% of the pixels.
    _, (x, _) = fmnist
    x = x[:300]
    new = np.stack([corrupt(x, name, s, seed=3) for s in corruptions.SEVERITIES]).astype(int)
    monkeypatch.setattr(corruptions, "_warp", _eager_affine_warp)
    old = np.stack([corrupt(x, name, s, seed=3) for s in corruptions.SEVERITIES]).astype(int)
    diff = np.abs(new - old)
    assert diff.max() <= 1 and np.mean(diff > 0) < 1e-3, (diff.max(), np.mean(diff > 0))


def test_numpy_warp_matches_affine_warp_off_square_and_out_of_frame(images):
    x = np.pad(images[0][:16], ((0, 0), (0, 4), (2, 6))).astype(np.float64) / 255.0  # 32 x 36: H != W
    rng = np.random.default_rng(0)
    theta = rng.uniform(-1.0, 1.0, len(x))
    c, s = np.cos(theta), np.sin(theta)
    shift = rng.uniform(-40.0, 40.0, (2, len(x)))  # some images leave the frame entirely
    matrices = np.stack([1.3 * c, -s, shift[0], s, 0.7 * c, shift[1]], axis=1)
    np.testing.assert_allclose(corruptions._warp(x, matrices), _eager_affine_warp(x, matrices), atol=1e-6)
    identity = np.tile([1.0, 0.0, 0.0, 0.0, 1.0, 0.0], (len(x), 1))
    assert np.array_equal(corruptions._warp(x, identity), x.astype(np.float32))
    far = identity.copy()
    far[:, 2] = 100.0
    assert not corruptions._warp(x, far).any()  # outside the image is background 0


def test_hardware_names_cores_and_accelerators_without_asking_tensorflow_first():
    from fmnist_keras import machine

    line = machine.summary()
    assert "cores" in line and "GPU" in line
    assert machine.accelerators("numpy") == []
    gpu = {"cpu_model": "AMD EPYC", "cpu_count": 16, "gpu_names": ["NVIDIA H200"]}
    assert machine.summary(gpu) == "AMD EPYC, 16 cores, 1 GPU (NVIDIA H200)"


# ---------------------------------------------------------------- calibration


def test_ece_is_zero_when_confidence_matches_accuracy():
    # 10 images at confidence 0.8 (8 right) and 10 at 0.6 (6 right).
    probs = np.array([[0.8, 0.2, 0.0]] * 10 + [[0.6, 0.4, 0.0]] * 10)
    labels = np.array([0] * 8 + [1] * 2 + [0] * 6 + [1] * 4)
    assert calibration.expected_calibration_error(probs, labels) == pytest.approx(0.0, abs=1e-12)


def test_ece_nll_brier_by_hand():
    probs = np.array([[0.9, 0.1], [0.9, 0.1], [0.55, 0.45], [0.45, 0.55]])
    labels = np.array([0, 1, 0, 1])
    # Bin (0.867, 0.933]: accuracy 0.5, confidence 0.9; bin (0.533, 0.6]: accuracy 1, confidence 0.55.
    assert calibration.expected_calibration_error(probs, labels) == pytest.approx(0.5 * 0.4 + 0.5 * 0.45)
    assert calibration.negative_log_likelihood(probs, labels) == pytest.approx(
        -np.mean(np.log([0.9, 0.1, 0.55, 0.55])))
    assert calibration.brier_score(probs, labels) == pytest.approx(
        np.mean([2 * 0.1 ** 2, 2 * 0.9 ** 2, 2 * 0.45 ** 2, 2 * 0.45 ** 2]))
    table = calibration.reliability_bins(probs, labels)
    assert table["count"].sum() == 4 and table["count"][13] == 2 and table["count"][8] == 2


def test_temperature_scaling_fixes_an_overconfident_model():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(4000, 10)) * 1.5
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(10, p=p) for p in true])
    over = np.exp(3 * logits) / np.exp(3 * logits).sum(1, keepdims=True)  # 3x sharper than the truth
    t = calibration.fit_temperature(over[:2000], labels[:2000])
    assert 2.6 < t < 3.4
    after = calibration.apply_temperature(over[2000:], t)
    assert calibration.negative_log_likelihood(after, labels[2000:]) < 0.9 * calibration.negative_log_likelihood(
        over[2000:], labels[2000:])
    assert calibration.expected_calibration_error(after, labels[2000:]) < calibration.expected_calibration_error(
        over[2000:], labels[2000:])
    assert np.allclose(calibration.apply_temperature(true, 1.0), true)
    assert np.array_equal(after.argmax(1), over[2000:].argmax(1))  # temperature never changes the prediction


def test_calibration_rejects_bad_inputs():
    with pytest.raises(ValueError, match="probs"):
        calibration.expected_calibration_error(np.ones(5), np.zeros(5, int))
    with pytest.raises(ValueError, match="labels"):
        calibration.negative_log_likelihood(np.full((3, 2), 0.5), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="temperature"):
        calibration.apply_temperature(np.full((3, 2), 0.5), 0.0)


# ---------------------------------------------------------------- mCE, TTA, errors, export


def test_mce_is_one_against_itself_and_by_hand():
    errs = {"fog": [0.1, 0.3, 0.5], "jpeg": [0.05, 0.1, 0.2]}
    same = robustness.mean_corruption_error(errs, errs, 0.05, 0.05)
    assert same["mce"] == pytest.approx(1.0) and same["relative_mce"] == pytest.approx(1.0)
    assert same["mean_corruption_error"] == pytest.approx(np.mean([0.3, 0.35 / 3]))
    other = robustness.mean_corruption_error({"a": [0.1, 0.3], "b": [0.1, 0.1]}, {"a": [0.2, 0.2], "b": [0.2, 0.2]})
    assert other["ce"] == {"a": pytest.approx(1.0), "b": pytest.approx(0.5)} and other["mce"] == pytest.approx(0.75)
    with pytest.raises(ValueError, match="baseline lacks"):
        robustness.mean_corruption_error(errs, {"fog": [0.1, 0.2, 0.3]})


def test_tta_views_and_averaging(images):
    x, _ = images
    assert tta.tta_views(tta.parse_tta("flip,shift")) == [
        "identity", "flip", "shift_up", "shift_down", "shift_left", "shift_right"]
    assert tta.parse_tta("none") == ()
    with pytest.raises(ValueError, match="unknown TTA crop"):
        tta.parse_tta("flip,crop")
    down = tta.VIEWS["shift_down"](x)
    assert np.array_equal(down[:, 1:], x[:, :-1]) and not down[:, 0].any()
    right = tta.VIEWS["shift_right"](x)
    assert np.array_equal(right[:, :, 1:], x[:, :, :-1]) and not right[:, :, 0].any()
    seen = []

    def predict(batch):  # a fake model that records what it was shown
        seen.append(batch)
        return np.tile([[1.0, 0.0]], (len(batch), 1)) if len(seen) == 1 else np.tile([[0.0, 1.0]], (len(batch), 1))

    mean = tta.predict_tta(predict, x, ["identity", "flip"])
    assert np.allclose(mean, 0.5) and np.array_equal(seen[1], x[:, :, ::-1])
    assert np.allclose(tta.ensemble([np.eye(2), np.ones((2, 2)) * 0.5]), [[0.75, 0.25], [0.25, 0.75]])


def test_confusion_and_mistakes():
    labels = np.array([0, 0, 0, 1, 1, 2])
    probs = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.4, 0.6, 0], [0.1, 0.9, 0], [0.95, 0.05, 0], [0, 0, 1]])
    matrix = errors.confusion_matrix(labels, probs.argmax(1), 3)
    assert matrix.tolist() == [[1, 2, 0], [1, 1, 0], [0, 0, 1]]
    assert errors.per_class_accuracy(matrix).tolist() == pytest.approx([1 / 3, 0.5, 1.0])
    top = errors.most_confused(matrix, ["a", "b", "c"])
    assert [(m["true"], m["predicted"], m["count"]) for m in top] == [("a", "b", 2), ("b", "a", 1)]
    assert errors.confused_pairs(matrix, ["a", "b", "c"])[0]["count"] == 3
    assert errors.worst_mistakes(probs, labels).tolist() == [4, 1, 2]  # 0.95, 0.7, 0.6
    idx, p = errors.top2(probs)
    assert idx[4].tolist() == [0, 1] and p[4].tolist() == [0.95, 0.05]


def test_idx_round_trip(tmp_path, images):
    x, y = images
    robustness.write_idx(tmp_path / "images", x)
    robustness.write_idx(tmp_path / "labels", y)
    assert np.array_equal(parse_idx((tmp_path / "images").read_bytes(), "images", "images"), x)
    assert np.array_equal(parse_idx((tmp_path / "labels").read_bytes(), "labels", "labels"), y)
    with pytest.raises(FileExistsError):
        robustness.write_idx(tmp_path / "images", x)


# ---------------------------------------------------------------- the CLI end to end


@pytest.fixture(scope="module")
def tiny_runs(tmp_path_factory, fmnist):
    """Two run folders with a small MLP trained for one epoch on 3000 real images (seeds 0 and 1)."""
    import keras

    from fmnist_keras.models import build_model

    (x, y), _ = fmnist
    folders = []
    for seed in (0, 1):
        keras.utils.set_random_seed(seed)
        model = build_model("mlp", hidden=(64,))
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x[:3000, :, :, None] / 255.0, y[:3000], epochs=1, batch_size=64, verbose=0)
        folder = tmp_path_factory.mktemp(f"run{seed}")
        model.save(folder / "model.keras")
        (folder / "config.json").write_text(json.dumps({"recipe": "tiny", "model": "mlp", "seed": seed,
                                                        "val_size": 10000}))
        folders.append(folder)
    return folders


def test_cli_writes_json_figures_and_self_contained_html(tiny_runs, capsys):
    from fmnist_keras.evaluate import main

    run = tiny_runs[0]
    assert main([str(run), "--limit", "500", "--quiet"]) == 0
    assert "wrote" in capsys.readouterr().out
    results = json.loads((run / "evaluation.json").read_text())
    assert results["test_images"] == 500
    assert set(results["corruptions"]["per_corruption"]) == set(NAMES)
    assert all(len(e["accuracy"]) == 5 for e in results["corruptions"]["per_corruption"].values())
    assert 0.5 < results["clean"]["accuracy"] < 1.0
    cal = results["calibration"]
    assert cal["validation_nll_after"] <= cal["validation_nll_before"] + 1e-9
    assert cal["validation_source"].startswith("the run's validation split (val_size=10000, seed=0)")
    assert [f["passes_per_image"] for f in results["frontier"]] == [1, 2, 5, 6]
    assert len(results["errors"]["gallery"]) == 24
    from fmnist_keras.evaluation import summary

    row = summary(results)
    assert row["mce"] is None and row["best_tta"]["passes_per_image"] in (2, 5, 6)
    assert row["mean_corruption_error"] == results["corruptions"]["mean_corruption_error"]
    for name in ("eval_corruptions.png", "eval_reliability.png", "eval_confusion.png", "eval_misclassified.png"):
        assert (run / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (run / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 4
    assert "<script" not in page and "http://" not in page and "https://" not in page
    assert f"test ECE ({cal['bins']} bins)" in page
    # A second evaluation into the same folder is refused: one line, exit status 2.
    assert main([str(run), "--limit", "500", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert "already has evaluation.json" in err and "--overwrite" in err and len(err.splitlines()) == 1


def test_page_names_the_bins_its_ece_was_measured_with():
    from fmnist_keras.evaluation.page import _ece_label

    assert _ece_label({"bins": 10}) == "test ECE (10 bins)"
    assert _ece_label(None) == "test ECE"  # no calibration recorded: no bin count to claim


def test_cli_baseline_ensemble_and_export(tiny_runs, tmp_path, fmnist):
    from fmnist_keras.evaluate import main

    _, (_, y_test) = fmnist
    a, b = tiny_runs
    export = tmp_path / "fmnist-c"
    argv = [str(a / "model.keras"), str(b), "--baseline", str(a), "--corruptions", "fog,pixelation",
            "--severities", "1,5", "--tta", "flip", "--limit", "200", "--out", str(tmp_path / "out"),
            "--export-corrupted", str(export), "--quiet"]
    assert main(argv) == 0
    results = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    rob = results["corruptions"]
    assert rob["mce"] == pytest.approx(1.0) and rob["relative_mce"] == pytest.approx(1.0)  # baseline == model
    assert results["calibration"]["validation_images"] == 200
    ensemble = results["frontier"][-1]
    assert ensemble["passes_per_image"] == 2 and len(ensemble["member_accuracies"]) == 2
    saved = np.load(export / "fog.npz")
    assert saved["images"].shape == (2, 200, 28, 28) and np.array_equal(saved["labels"], y_test[:200])
    assert saved["severities"].tolist() == [1, 5]
    idx = parse_idx((export / "idx" / "fog" / "severity5" / "t10k-images-idx3-ubyte").read_bytes(), "x", "images")
    assert np.array_equal(idx, saved["images"][1])
    _, (x_test, _) = fmnist
    assert np.array_equal(saved["images"][1], corrupt(x_test[:200], "fog", 5, seed=0))


@pytest.mark.parametrize("argv, message", [
    (["/no/such/run"], "does not exist"),
    (["RUN", "--corruptions", "fog,snow"], "unknown corruption snow"),
    (["RUN", "--severities", "1,7"], "severities must be distinct integers in 1..5"),
    (["RUN", "--tta", "crop"], "unknown TTA crop"),
    (["RUN", "--baseline", "/no/such/baseline"], "does not exist"),
])
def test_cli_bad_inputs_exit_2_with_one_line(tiny_runs, capsys, argv, message):
    from fmnist_keras.evaluate import main

    argv = [str(tiny_runs[1]) if a == "RUN" else a for a in argv]
    assert main(argv + ["--out", "/nonexistent-should-not-be-created"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("error:")


def test_python_m_fmnist_keras_evaluation_is_the_command_and_evaluate_its_alias(tiny_runs, capsys):
    """The CLI is `python -m fmnist_keras.evaluation`; `fmnist_keras.evaluate` (kept for one release)
    is the same command line under its old name."""
    from fmnist_keras.evaluation.cli import main

    env = {**os.environ, "COLUMNS": "100"}
    new, old = (subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True,
                               timeout=120, env=env) for module in ("fmnist_keras.evaluation", "fmnist_keras.evaluate"))
    assert new.returncode == old.returncode == 0, new.stderr + old.stderr
    assert new.stdout.startswith("usage: python -m fmnist_keras.evaluation ")
    assert old.stdout.startswith("usage: python -m fmnist_keras.evaluate ")
    assert new.stdout.split("\n\n", 1)[1] == old.stdout.split("\n\n", 1)[1]  # same description and options
    assert main([str(tiny_runs[1]), "--tta", "crop", "--out", "/nonexistent-should-not-be-created"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "unknown TTA crop" in err and len(err.splitlines()) == 1


def test_model_folders_follow_the_recipe_results(tmp_path):
    from fmnist_keras.evaluation import model_folders
    from fmnist_keras.results import RunResults

    def results(folder, **fields):
        return RunResults("r", "m", 0.9, 1, 1.0, str(tmp_path / folder), **fields)

    for sub in ("single", "rep/seed10", "rep/seed9", "grid/cell_a", "grid/cell_b/seed0"):
        (tmp_path / sub).mkdir(parents=True)
        (tmp_path / sub / "model.keras").write_bytes(b"")
    assert model_folders(results("single")) == [tmp_path / "single"]
    assert model_folders(results("rep")) == [tmp_path / "rep/seed9", tmp_path / "rep/seed10"]
    cells = [{"cell": "a", "run_dir": str(tmp_path / "grid/cell_a")}, {"cell": "b", "run_dir": str(tmp_path / "grid/cell_b")}]
    assert model_folders(results("grid", cells=cells, best_cell="b")) == [tmp_path / "grid/cell_b/seed0"]
    with pytest.raises(ValueError, match="no model.keras"):
        model_folders(results(""))
