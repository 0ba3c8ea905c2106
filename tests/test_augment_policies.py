"""AutoAugment and RandAugment: ops chosen per image, policy probabilities, the shared op bank."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fmnist_keras.augment import autoaugment, randaugment
from fmnist_keras.augment._bank import ALL_OPS, apply_op_bank
from fmnist_keras.augment.policies import (
    CIFAR10_POLICY, POLICY_OPS, RANDAUGMENT_OPS, sample_autoaugment, sample_randaugment)


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_autoaugment_sub_policy_per_image_and_step_probabilities():
    seed = keras.random.SeedGenerator(0)
    draw_fn = tf.function(lambda: sample_autoaugment((512, 28, 28, 1), seed))
    draws = [{k: _np(v) for k, v in draw_fn().items() if k != "on"} for _ in range(4)]
    sub = np.concatenate([d["sub_policy"] for d in draws])
    op_ids = np.concatenate([d["op_ids"] for d in draws], axis=1)
    assert set(sub) == set(range(25))  # every sub-policy occurs, chosen per image
    assert not np.array_equal(draws[0]["sub_policy"], draws[1]["sub_policy"])  # not frozen
    # Sub-policy 0 is (invert, 0.1), (contrast, 0.2): applied at those rates, identity otherwise.
    first = op_ids[:, sub == 0]
    assert set(first[0]) <= {0, POLICY_OPS.index("invert")}
    assert np.mean(first[1] == POLICY_OPS.index("contrast")) == pytest.approx(0.2, abs=0.12)
    # Sub-policy 21 is (translate_y, 0.9), (translate_y, 0.7).
    both = op_ids[:, sub == 21]
    assert np.mean(both[0] == POLICY_OPS.index("translate_y")) == pytest.approx(0.9, abs=0.12)
    assert len(CIFAR10_POLICY) == 25


def test_randaugment_ops_per_image_at_fixed_magnitude():
    seed = keras.random.SeedGenerator(1)
    draw = sample_randaugment((256, 28, 28, 1), seed, num_ops=2, magnitude=5)
    assert draw.pop("on") is None  # prob=1: no coin drawn
    draw = {k: _np(v) for k, v in draw.items()}
    assert draw["op_ids"].shape == (2, 256)
    names = {POLICY_OPS[i] for i in draw["op_ids"].ravel()}
    assert names == set(RANDAUGMENT_OPS)  # all 14 ops occur among 512 draws
    np.testing.assert_allclose(draw["level"], 0.5)
    pairs = {tuple(p) for p in draw["op_ids"].T}
    assert len(pairs) > 100  # the pair of ops is chosen per image


@pytest.mark.parametrize("op", [autoaugment, randaugment])
def test_identical_images_get_different_ops(op, real_batch):
    x = np.repeat(real_batch[0][:1], 64, axis=0)
    out, _ = op(x, real_batch[1][:64], keras.random.SeedGenerator(2))
    distinct = len({r.round(4).tobytes() for r in _np(out)})
    assert distinct > 15


def test_op_bank_exact_for_chosen_ops(real_batch):
    images = real_batch[0][:4]
    names = ("identity", "invert", "translate_x", "brightness")
    out = _np(apply_op_bank(images, names, np.array([0, 1, 2, 3]),
                            np.array([0.0, 0.0, 2 / 28, 0.5], "float32")))
    np.testing.assert_array_equal(out[0], images[0])
    np.testing.assert_allclose(out[1], 1 - images[1], atol=1e-7)
    expected = np.zeros_like(images[2])
    expected[:, 2:] = images[2, :, :-2]
    np.testing.assert_allclose(out[2], expected, atol=1e-5)
    np.testing.assert_allclose(out[3], images[3] * 0.5, atol=1e-6)
    assert set(ALL_OPS) == set(POLICY_OPS)


def test_randaugment_validates(real_batch):
    with pytest.raises(ValueError, match="Received: magnitude=11"):
        randaugment(real_batch[0], real_batch[1], 0, magnitude=11)
