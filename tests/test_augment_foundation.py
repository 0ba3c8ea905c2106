"""Random Erasing and RICAP: statistics over many draws, exact pixels for hand-built draws."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from fmnist_keras.augment import (
    AugmentStack, apply_random_erasing, apply_ricap, parse_augment, random_erasing, ricap,
    sample_random_erasing, sample_ricap)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_erasing_statistics_follow_the_paper(real_batch):
    images, labels = real_batch
    seed = keras.random.SeedGenerator(0)
    heights, widths = [], []
    for _ in range(10):
        draw = sample_random_erasing((256, 28, 28, 1), seed, prob=0.5, fill="constant")  # no noise drawn
        boxes = {k: _np(draw[k]) for k in ("top", "left", "height", "width")}
        heights.append(boxes["height"])
        widths.append(boxes["width"])
        assert np.all(boxes["top"] + boxes["height"] <= 28) and np.all(boxes["left"] + boxes["width"] <= 28)
        assert np.all(boxes["top"] >= 0) and np.all(boxes["left"] >= 0)
    h, w = np.concatenate(heights), np.concatenate(widths)
    erased = h > 0
    assert abs(erased.mean() - 0.5) < 0.04  # 2560 draws: 4 sigma ~ 0.04
    area = h[erased] * w[erased] / 784
    aspect = h[erased] / w[erased]
    # Integer rounding widens the continuous ranges by at most half a pixel per side.
    assert area.min() >= 0.02 * 0.6 and area.max() <= 0.4 * 1.3
    assert aspect.min() >= 0.3 * 0.7 and aspect.max() <= (1 / 0.3) * 1.4
    assert area.mean() == pytest.approx(0.21, abs=0.03)  # uniform in [0.02, 0.4]
    assert np.median(np.log(aspect)) == pytest.approx(0.0, abs=0.15)  # log-uniform, symmetric


def test_erasing_exact_pixels_for_a_hand_built_box(real_batch):
    images = real_batch[0][:2]
    boxes = {k: ops.convert_to_tensor(np.array(v, "int32")) for k, v in
             dict(top=[3, 0], left=[5, 0], height=[4, 0], width=[2, 0]).items()}
    out = _np(apply_random_erasing(images, None, {**boxes, "fill": "constant", "fill_value": 0.5})[0])
    expected = images.copy()
    expected[0, 3:7, 5:7, :] = 0.5
    np.testing.assert_array_equal(out, expected)


@pytest.mark.parametrize("fill", ["random", "constant", "mean"])
def test_erasing_fills_identity_and_determinism(real_batch, fill):
    images, labels = real_batch
    out, out_labels = random_erasing(images, labels, keras.random.SeedGenerator(1), prob=1.0, fill=fill)
    out = _np(out)
    changed = np.any(out != images, axis=(1, 2, 3))
    assert changed.mean() > 0.95 and np.all((out >= 0) & (out <= 1))
    np.testing.assert_array_equal(_np(out_labels), labels)
    again, _ = random_erasing(images, labels, keras.random.SeedGenerator(1), prob=1.0, fill=fill)
    np.testing.assert_array_equal(out, _np(again))
    same, _ = random_erasing(images, labels, keras.random.SeedGenerator(1), prob=0.0, fill=fill)
    np.testing.assert_array_equal(_np(same), images)


def test_erasing_on_rgb_32x32(real_batch_rgb):
    images, labels = real_batch_rgb
    out, _ = random_erasing(images, labels, keras.random.SeedGenerator(2), prob=1.0, fill="random")
    out = _np(out)
    assert out.shape == (256, 32, 32, 3)
    diff = np.any(out != images, axis=-1)
    # Random fill draws each channel independently.
    erased_pixels = out[diff]
    assert np.mean(np.ptp(erased_pixels, axis=-1) > 0) > 0.9


def _identical_batch(real_batch, n=64):
    images, labels = real_batch
    return np.repeat(images[:1], n, axis=0), np.repeat(labels[:1], n, axis=0)


def _distinct(images):
    return len({bytes(np.asarray(i)) for i in images})


@pytest.mark.parametrize("stack", ["erasing(prob=1.0)", "ricap(per_image=True)"])
def test_per_image_draws_in_tf_function_and_tf_data(real_batch, stack):
    """The trace-time-freeze trap: repeated calls of one traced function must differ."""
    images, labels = real_batch
    layer = AugmentStack(stack, seed=5)
    # Different images in a batch of *distinct* inputs get different draws: check via a batch of
    # copies for erasing; RICAP mixes batch members, so use the real batch and compare label rows.
    x, y = _identical_batch(real_batch) if stack.startswith("erasing") else (images[:64], labels[:64])
    fn = tf.function(lambda a, b: layer(a, b))
    first, second = fn(x, y), fn(x, y)
    assert not np.array_equal(_np(first[0]), _np(second[0]))
    if stack.startswith("erasing"):
        assert _distinct(_np(first[0])) > 50
    else:
        assert len({tuple(np.round(r, 4)) for r in _np(first[1])}) > 50
    ds = tf.data.Dataset.from_tensors((x, y)).repeat(2).map(lambda a, b: layer(a, b))
    batches = [_np(a) for a, _ in ds]
    assert not np.array_equal(batches[0], batches[1])


def test_ricap_labels_equal_pasted_pixel_fractions(real_batch):
    """Each image is a constant tagged by its index, so pixel values reveal the sources."""
    batch = 32
    images = np.broadcast_to((np.arange(batch, dtype="float32") + 1)[:, None, None, None] / 64,
                             (batch, 28, 28, 1)).copy()
    labels = np.eye(batch, dtype="float32")
    for per_image in (False, True):
        for seed in range(5):
            out, mixed = ricap(images, labels, keras.random.SeedGenerator(seed), beta=0.3,
                               per_image=per_image)
            out, mixed = _np(out), _np(mixed)
            np.testing.assert_allclose(mixed.sum(axis=1), 1.0, atol=1e-6)
            source = np.rint(out[..., 0] * 64).astype(int) - 1  # (B, H, W) source index
            assert source.min() >= 0  # every pixel comes from some image
            fractions = np.stack([np.bincount(s.ravel(), minlength=batch) / 784 for s in source])
            np.testing.assert_allclose(mixed, fractions, atol=1e-6)


def test_ricap_exact_patch_for_a_hand_built_draw(real_batch):
    images, labels = real_batch
    images, labels = images[:4], labels[:4]
    perm = [np.array([1, 2, 3, 0]), np.array([2, 3, 0, 1]), np.array([3, 0, 1, 2]), np.array([0, 1, 2, 3])]
    draw = {"boundary": np.array([[10, 20]], "int32")}
    for k in range(4):
        draw[f"perm_{k}"] = perm[k].astype("int32")
    for k, (t, l) in enumerate([(5, 3), (0, 0), (2, 1), (7, 0)]):
        draw[f"crop_top_{k}"] = np.array([t], "int32")
        draw[f"crop_left_{k}"] = np.array([l], "int32")
    draw = {k: ops.convert_to_tensor(v) for k, v in draw.items()}
    out, mixed = apply_ricap(images, labels, draw)
    out = _np(out)
    b = 0
    np.testing.assert_array_equal(out[b, :10, :20], images[1, 5:15, 3:23])   # top-left: 10x20
    np.testing.assert_array_equal(out[b, :10, 20:], images[2, 0:10, 0:8])    # top-right: 10x8
    np.testing.assert_array_equal(out[b, 10:, :20], images[3, 2:20, 1:21])   # bottom-left: 18x20
    np.testing.assert_array_equal(out[b, 10:, 20:], images[0, 7:25, 0:8])    # bottom-right: 18x8
    expected = (200 * labels[1] + 80 * labels[2] + 360 * labels[3] + 144 * labels[0]) / 784
    np.testing.assert_allclose(_np(mixed)[b], expected, atol=1e-6)


def test_ricap_boundary_follows_beta(real_batch):
    seed = keras.random.SeedGenerator(0)
    fractions = np.concatenate([_np(sample_ricap((8, 28, 28, 1), seed, beta=0.1, per_image=False)["boundary"]) / 28
                                for _ in range(400)])
    # Beta(0.1, 0.1) is U-shaped: most boundaries sit near the edges, mean 0.5.
    assert fractions.mean() == pytest.approx(0.5, abs=0.05)
    assert np.mean((fractions < 0.1) | (fractions > 0.9)) > 0.6


def test_stack_compiles_with_xla(real_batch):
    images, labels = real_batch
    layer = AugmentStack("erasing,ricap(beta=0.1)", seed=0)
    out, mixed = tf.function(lambda a, b: layer(a, b), jit_compile=True)(images, labels)
    assert out.shape == images.shape
    np.testing.assert_allclose(_np(mixed).sum(axis=1), 1.0, atol=1e-5)


def test_parser_errors_name_what_exists():
    assert parse_augment("erasing(prob=0.25, fill='mean'),ricap") == [
        ("random_erasing", {"prob": 0.25, "fill": "mean"}), ("ricap", {})]
    assert parse_augment("") == [] and parse_augment("none") == []
    with pytest.raises(ValueError, match="unknown augmentation 'erasin'; available: .*erasing"):
        parse_augment("erasin")
    with pytest.raises(ValueError, match="unknown parameter.*p for 'erasing'; it takes prob=0.5"):
        parse_augment("erasing(p=0.5)")
    with pytest.raises(ValueError, match="Received: prob=2"):
        random_erasing(np.zeros((1, 4, 4, 1), "float32"), np.zeros((1, 2)), 0, prob=2)
