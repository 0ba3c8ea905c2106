"""MixUp and CutMix: label rows equal the pixel fractions actually mixed or pasted."""

import keras
import numpy as np
import pytest
from keras import ops

from fmnist_keras.augment import apply_cutmix, cutmix, mixup, sample_cutmix, sample_mixup


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _tagged(batch=32, size=(28, 28), channels=1):
    """Image i is the constant (i + 1) / 64, so a pixel's value names its source."""
    values = (np.arange(batch, dtype="float32") + 1) / 64
    images = np.broadcast_to(values[:, None, None, None], (batch,) + size + (channels,)).copy()
    return images, np.eye(batch, dtype="float32"), values


@pytest.mark.parametrize("per_image", [True, False])
def test_mixup_labels_match_pixels(per_image):
    images, labels, values = _tagged()
    for seed in range(4):
        out, mixed = mixup(images, labels, keras.random.SeedGenerator(seed), per_image=per_image)
        out, mixed = _np(out), _np(mixed)
        np.testing.assert_allclose(mixed.sum(1), 1.0, atol=1e-6)
        np.testing.assert_allclose(out[:, 0, 0, 0], mixed @ values, atol=1e-6)
    own = np.diag(mixed)  # weight of each image's own label
    assert (len(np.unique(own.round(5))) > 10) == per_image


def test_mixup_weights_follow_beta_and_prob():
    seed = keras.random.SeedGenerator(0)
    w = np.concatenate([_np(sample_mixup((512, 28, 28, 1), seed, alpha=1.0)["weight"]) for _ in range(4)])
    assert w.mean() == pytest.approx(0.5, abs=0.03) and w.std() == pytest.approx(12 ** -0.5, abs=0.03)
    w = np.concatenate([_np(sample_mixup((512, 28, 28, 1), seed, alpha=0.2, prob=0.4)["weight"])
                        for _ in range(4)])
    assert np.mean(w == 0) == pytest.approx(0.6, abs=0.05)  # off images keep weight 0
    assert np.mean((w > 0) & ((w < 0.1) | (w > 0.9))) > 0.2  # Beta(0.2): mostly near the ends


@pytest.mark.parametrize("per_image", [True, False])
@pytest.mark.parametrize("size", [(28, 28), (32, 20)])
def test_cutmix_labels_equal_pasted_fractions(per_image, size):
    images, labels, values = _tagged(size=size)
    for seed in range(5):
        out, mixed = cutmix(images, labels, keras.random.SeedGenerator(seed), per_image=per_image)
        out, mixed = _np(out), _np(mixed)
        np.testing.assert_allclose(mixed.sum(1), 1.0, atol=1e-6)
        source = np.rint(out[..., 0] * 64).astype(int) - 1
        fractions = np.stack([np.bincount(s.ravel(), minlength=32) / s.size for s in source])
        np.testing.assert_allclose(mixed, fractions, atol=1e-6)


def test_cutmix_exact_for_a_hand_built_box():
    images, labels, _ = _tagged(batch=2, size=(6, 6))
    draw = {"perm": ops.convert_to_tensor([1, 0]), **{k: ops.convert_to_tensor(np.array(v, "int32"))
            for k, v in dict(top=[4, 0], left=[3, 0], height=[2, 0], width=[3, 0]).items()}}
    out, mixed = apply_cutmix(images, labels, draw)
    expected = images.copy()
    expected[0, 4:6, 3:6] = images[1, 0, 0]
    np.testing.assert_array_equal(_np(out), expected)
    np.testing.assert_allclose(_np(mixed), [[1 - 6 / 36, 6 / 36], [0, 1]], atol=1e-6)


def test_cutmix_box_area_follows_lambda():
    """Before clipping the box covers 1 - lam; clipping only makes it smaller."""
    seed = keras.random.SeedGenerator(0)
    draw = {k: _np(v) for k, v in sample_cutmix((4000, 28, 28, 1), seed).items()}
    area = draw["height"] * draw["width"] / 784
    assert 0.2 < area.mean() < 0.5  # E[1 - lam] = 0.5 unclipped, less after clipping
    assert area.max() <= 1.0 and np.mean(area == 0) < 0.05
    with pytest.raises(ValueError, match="Received: alpha=0"):
        cutmix(np.zeros((2, 4, 4, 1), "float32"), np.eye(2, dtype="float32"), 0, alpha=0)
