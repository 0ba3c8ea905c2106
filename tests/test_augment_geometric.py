"""Flip, pad-crop, translate, rotate, cutout and multi-box erasing: exact pixels and statistics."""

import keras
import numpy as np
import pytest
from keras import ops

from fmnist_keras.augment import (
    OPS, AugmentStack, cutout, flip, pad_crop, parse_augment, random_erasing, rotate, translate)
from fmnist_keras.augment import geometric
from fmnist_keras.augment._boxes import shift
from fmnist_keras.augment.cutout import sample_cutout
from fmnist_keras.augment.erasing import sample_random_erasing
from fmnist_keras.augment.geometric import apply_flip, sample_flip, sample_offsets


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _t(values):
    return ops.convert_to_tensor(np.array(values, "int32"))


def test_flip_exact_and_per_image_rate(real_batch):
    images = real_batch[0][:3]
    flips = {"horizontal": ops.convert_to_tensor([True, False, True]),
             "vertical": ops.convert_to_tensor([False, False, True])}
    out = _np(apply_flip(images, None, flips)[0])
    np.testing.assert_array_equal(out[0], images[0, :, ::-1])
    np.testing.assert_array_equal(out[1], images[1])
    np.testing.assert_array_equal(out[2], images[2, ::-1, ::-1])
    seed = keras.random.SeedGenerator(0)
    draws = [{k: _np(v) for k, v in sample_flip((256, 28, 28, 1), seed, prob=0.3, vertical=True).items()}
             for _ in range(8)]
    h = np.concatenate([d["horizontal"] for d in draws])
    v = np.concatenate([d["vertical"] for d in draws])
    assert abs(h.mean() - 0.3) < 0.04 and abs(v.mean() - 0.3) < 0.04  # 2048 draws, ~4 sigma
    assert abs(np.mean(h & v) - 0.09) < 0.03  # independent axes
    assert sample_flip((256, 28, 28, 1), seed)["vertical"] is None  # vertical off by default (and skipped)


def test_pad_crop_equals_numpy_pad_then_crop(real_batch):
    images = real_batch[0][:4]
    pad = 4
    dy, dx = np.array([-4, 0, 3, 4]), np.array([2, -4, 0, 4])
    out = _np(shift(images, _t(dy), _t(dx)))
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    for b in range(4):
        top, left = pad - dy[b], pad - dx[b]  # the crop window that the shift corresponds to
        np.testing.assert_array_equal(out[b], padded[b, top:top + 28, left:left + 28])


def test_pad_crop_offsets_uniform_per_image():
    seed = keras.random.SeedGenerator(1)
    draws = [sample_offsets(512, seed, 2, 3) for _ in range(4)]
    dy = np.concatenate([_np(d["dy"]) for d in draws])
    dx = np.concatenate([_np(d["dx"]) for d in draws])
    assert set(dy) == set(range(-2, 3)) and set(dx) == set(range(-3, 4))
    counts = np.bincount(dy + 2) / len(dy)
    np.testing.assert_allclose(counts, 0.2, atol=0.03)
    assert abs(np.corrcoef(dy, dx)[0, 1]) < 0.1


def test_translate_stays_within_max_fraction(real_batch):
    images, labels = real_batch
    out, _ = translate(images, labels, keras.random.SeedGenerator(2), max_fraction=0.1)
    out = _np(out)
    # Each output is the input moved by at most floor(2.8) = 2 pixels per axis.
    for b in range(16):
        found = any(np.array_equal(out[b], _np(shift(images[b:b + 1], _t([i]), _t([j])))[0])
                    for i in range(-2, 3) for j in range(-2, 3))
        assert found


def test_rotate_quarter_turn_is_exact_and_angles_vary(real_batch):
    images = real_batch[0][:2]
    from fmnist_keras.augment._warp import affine_warp, rotation_matrices
    out = _np(affine_warp(images, rotation_matrices(ops.convert_to_tensor([90.0, 0.0]))))
    np.testing.assert_allclose(out[0], np.rot90(images[0], k=1, axes=(0, 1)), atol=1e-5)
    np.testing.assert_allclose(out[1], images[1], atol=1e-6)
    rotated, _ = rotate(images, real_batch[1][:2], keras.random.SeedGenerator(0), max_degrees=20)
    assert not np.allclose(_np(rotated), images)


def test_cutout_exact_box_and_clipping():
    shape = (4000, 28, 28, 1)
    draw = sample_cutout(shape, keras.random.SeedGenerator(0), 0.5)
    boxes = {k: _np(draw[k]) for k in ("top", "left", "height", "width")}
    assert np.all(boxes["height"] <= 14) and np.all(boxes["width"] <= 14)
    assert np.all(boxes["top"] + boxes["height"] <= 28) and np.all(boxes["left"] + boxes["width"] <= 28)
    full = (boxes["height"] == 14) & (boxes["width"] == 14)
    # Centre uniform over 28 rows: the box fits in rows 7..21, i.e. 15/28 per axis.
    assert abs(full.mean() - (15 / 28) ** 2) < 0.03
    ones = np.ones((1, 8, 8, 1), "float32")
    out, _ = cutout(ones, np.ones((1, 1)), keras.random.SeedGenerator(5), size=0.25)
    zeros = np.argwhere(_np(out)[0, ..., 0] == 0)
    assert 1 <= len(zeros) <= 4  # a 2x2 square, possibly clipped
    assert np.ptp(zeros[:, 0]) <= 1 and np.ptp(zeros[:, 1]) <= 1


def test_erasing_max_count_draws_one_to_max_boxes(real_batch):
    draw = sample_random_erasing((2000, 28, 28, 1), keras.random.SeedGenerator(3), prob=1.0, fill="constant",
                                 max_count=3)
    sets = {k: _np(draw[k]) for k in ("top", "left", "height", "width")}
    used = (sets["height"] > 0).sum(axis=0)  # boxes per image
    assert set(used) <= {1, 2, 3} and np.all(np.bincount(used)[1:] / 2000 > 0.25)
    areas = (sets["height"] * sets["width"]).astype(float)
    per_box = areas.sum(axis=0) / used / 784
    # Each box gets the area law divided by its image's count.
    assert per_box[used == 1].mean() == pytest.approx(0.21, abs=0.03)
    assert per_box[used == 3].mean() == pytest.approx(0.07, abs=0.02)
    images, labels = real_batch
    one, _ = random_erasing(images, labels, keras.random.SeedGenerator(0), prob=1.0, max_count=1)
    legacy, _ = random_erasing(images, labels, keras.random.SeedGenerator(0), prob=1.0)
    np.testing.assert_array_equal(_np(one), _np(legacy))  # max_count=1 is the old op, draw for draw
    with pytest.raises(ValueError, match="Received: max_count=0"):
        random_erasing(images, labels, 0, max_count=0)


def test_flip_and_pad_crop_validate(real_batch):
    images, labels = real_batch
    with pytest.raises(ValueError, match="Received: prob=1.5"):
        flip(images, labels, 0, prob=1.5)
    with pytest.raises(ValueError, match="Received: pad=-1"):
        pad_crop(images, labels, 0, pad=-1)
    with pytest.raises(ValueError, match="Received: size=0"):
        cutout(images, labels, 0, size=0)


@pytest.mark.parametrize("spec", ["flip,pad_crop(pad=3)", "flip(vertical=True, prob=0.7),translate",
                                  "flip(horizontal=False, vertical=True),pad_crop"])
def test_fused_flip_then_shift_is_bit_identical_to_the_two_ops(spec, real_batch, monkeypatch):
    images, labels = real_batch[0][:64], real_batch[1][:64]
    fused = AugmentStack(spec, seed=3)
    calls = []
    real = geometric.flip_then_shift
    monkeypatch.setattr(geometric, "flip_then_shift", lambda *a: calls.append(1) or real(*a))
    (first, first_params), (second, second_params) = parse_augment(spec)
    seed = keras.random.SeedGenerator(3)
    for _ in range(2):  # the second call checks that the seed streams stay in step
        out, _ = fused(images, labels)
        step, _ = OPS[first](images, labels, seed, **first_params)
        step, _ = OPS[second](step, labels, seed, **second_params)
        np.testing.assert_array_equal(_np(out), _np(step))
    assert not np.array_equal(_np(out), images)
    assert len(calls) == 2  # the stack took the fused path


def test_shift_far_outside_the_image_reads_zeros(real_batch):
    images = real_batch[0][:4]
    out = _np(shift(images, _t([40, -40, 0, 27]), _t([0, 0, 55, -27])))
    assert not out[:3].any()
    assert out[3, 27, 0, 0] == images[0 + 3, 0, 27, 0] and out[3].sum() == images[3, 0, 27, 0]
