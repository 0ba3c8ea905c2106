"""AugMix: per-image draws, exact pixel ops against PIL, the views layout, JSD, the trainer."""

import json
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from fmnist_keras.augment import JensenShannonConsistency, apply_augmix, augmix, sample_augmix
from fmnist_keras.augment import _pixel
from fmnist_keras.augment.augmix import AUGMIX_OPS
from fmnist_keras.training.trainer import AugmentingTrainer


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_draws_cover_every_op_and_depth_and_vary_per_image():
    seed = keras.random.SeedGenerator(0)
    draw_fn = tf.function(lambda: sample_augmix((4, 28, 28, 1), seed))  # repeated calls of one trace
    ops_seen, depths, weights, skips = set(), set(), [], []
    for _ in range(200):
        d = {k: _np(v) for k, v in draw_fn().items() if k not in ("on", "views")}
        ops_seen |= set(d["op_ids"].ravel())
        depths |= set(d["depth"].ravel())
        weights.append(d["weights"][0])
        skips.append(d["skip"][0])
        assert d["level"].min() >= 0.01 and d["level"].max() <= 0.3 + 1e-6  # severity 3
    assert ops_seen == set(range(len(AUGMIX_OPS)))  # Keras/keras-cv miss ops; we must not
    assert depths == {1, 2, 3}
    weights = np.concatenate(weights)  # (800, 3)
    np.testing.assert_allclose(weights.sum(1), 1.0, atol=1e-5)
    assert weights[:, 0].std() > 0.15  # Dirichlet(1, 1, 1): std of a weight ~0.24
    assert len(np.unique(weights[:4, 0].round(5))) == 4  # different images, different weights
    assert np.concatenate(skips).mean() == pytest.approx(0.5, abs=0.05)


def _pil(fn, images):
    from PIL import Image
    rows = [np.asarray(fn(Image.fromarray(np.rint(i[..., 0] * 255).astype(np.uint8))), np.float32)
            for i in images]
    return np.stack(rows)[..., None] / 255.0


def test_pixel_ops_match_pil(real_batch):
    from PIL import ImageOps
    images = np.rint(real_batch[0][:16] * 255) / 255  # exact 8-bit values
    np.testing.assert_allclose(_np(_pixel.equalize(images)), _pil(ImageOps.equalize, images), atol=1e-6)
    np.testing.assert_allclose(_np(_pixel.posterize(images, np.full(16, 3.0))),
                               _pil(lambda i: ImageOps.posterize(i, 3), images), atol=1e-6)
    np.testing.assert_allclose(_np(_pixel.solarize(images, np.full(16, 0.5))),
                               _pil(lambda i: ImageOps.solarize(i, 128), images), atol=1e-6)
    # PIL rounds autocontrast to 8 bits; ours stays float.
    np.testing.assert_allclose(_np(_pixel.autocontrast(images)), _pil(ImageOps.autocontrast, images),
                               atol=1 / 255 + 1e-6)


def _hand_draw(batch, op, level, sign=1.0, weights=(1.0, 0.0, 0.0), skip=1.0, depth=1):
    full = lambda v, dt="float32": ops.convert_to_tensor(np.full((1, 3, 3, batch), v, dt))
    return {"op_ids": full(AUGMIX_OPS.index(op), "int32"), "level": full(level), "sign": full(sign),
            "depth": ops.convert_to_tensor(np.full((1, 3, batch), depth, "int32")),
            "weights": ops.convert_to_tensor(np.tile(np.array(weights, "float32"), (1, batch, 1))),
            "skip": ops.convert_to_tensor(np.full((1, batch), skip, "float32")), "views": 1}


def test_apply_exact_for_hand_built_draws(real_batch):
    images = real_batch[0][:4]
    # translate_x moves level * (1/3) * 28 pixels: this level gives exactly 3.
    level = 3 / 28 * 3
    out = _np(apply_augmix(images, None, _hand_draw(4, "translate_x", level))[0])
    expected = np.zeros_like(images)
    expected[:, :, 3:] = images[:, :, :-3]
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # Level 0 solarizes at threshold 256: nothing, at any depth and mixing weight.
    out = _np(apply_augmix(images, None, _hand_draw(4, "solarize", 0.0, depth=2, skip=0.5))[0])
    np.testing.assert_allclose(out, images, atol=1e-6)
    # Depth 2 of a whole-pixel translation moves twice as far.
    out = _np(apply_augmix(images, None, _hand_draw(4, "translate_y", 1 / 28 * 3, depth=2))[0])
    expected = np.zeros_like(images)
    expected[:, 2:] = images[:, :-2]
    np.testing.assert_allclose(out, expected, atol=1e-5)
    out = _np(apply_augmix(images, None, _hand_draw(4, "autocontrast", 0.1, skip=0.25,
                                                    weights=(0.5, 0.5, 0.0)))[0])
    np.testing.assert_allclose(out, 0.75 * images + 0.25 * _np(_pixel.autocontrast(images)), atol=1e-6)


def test_views_are_interleaved_with_labels_repeated(real_batch):
    images, labels = real_batch[0][:8], real_batch[1][:8]
    out, rows = augmix(images, labels, keras.random.SeedGenerator(0), views=3)
    out, rows = _np(out), _np(rows)
    assert out.shape == (24, 28, 28, 1) and rows.shape == (24, 10)
    np.testing.assert_array_equal(out[0::3], images)  # the clean views
    np.testing.assert_array_equal(rows[1::3], labels)
    assert not np.allclose(out[1::3], out[2::3])  # two independent AugMix copies


def test_jsd_zero_symmetric_and_hand_computed():
    loss = JensenShannonConsistency()
    p = np.array([[0.7, 0.2, 0.1]], "float32")
    same = np.stack([p, p, p], axis=1)
    assert float(loss(p, same)) == pytest.approx(0.0, abs=1e-6)
    q, r = np.array([[0.1, 0.8, 0.1]], "float32"), np.array([[0.2, 0.2, 0.6]], "float32")
    views = np.stack([p, q, r], axis=1)
    m = (p + q + r) / 3
    kl = lambda a: np.sum(a * np.log(a / m))
    expected = 12.0 * (kl(p) + kl(q) + kl(r)) / 3
    assert float(loss(p, views)) == pytest.approx(expected, rel=1e-5)
    assert float(loss(p, np.stack([r, p, q], axis=1))) == pytest.approx(expected, rel=1e-5)
    assert float(JensenShannonConsistency(weight=1.0)(p, views)) == pytest.approx(expected / 12, rel=1e-5)
    saturated = np.stack([np.eye(3)[:1], np.eye(3)[1:2], np.eye(3)[:1]], axis=1).astype("float32")
    assert np.isfinite(float(loss(p, saturated)))  # 0 log 0 and the 1e-7 clamp


def _tiny_classifier():
    return keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                             keras.layers.Dense(10, activation="softmax")], name="tiny")


def test_trainer_trains_on_clean_ce_plus_jsd(real_batch):
    images, labels = real_batch
    y = labels.argmax(1)
    trainer = AugmentingTrainer(_tiny_classifier(), "flip,augmix(views=3)", seed=0)
    trainer.compile(optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    history = trainer.fit(images[:128], y[:128], batch_size=32, epochs=1, verbose=0).history
    assert history["jsd_loss"][0] > 0
    assert history["loss"][0] == pytest.approx(history["ce_loss"][0] + history["jsd_loss"][0], rel=1e-4)
    result = trainer.evaluate(images[:64], y[:64], verbose=0, return_dict=True)
    assert result["ce_loss"] == pytest.approx(result["loss"], rel=1e-5)
    plain = AugmentingTrainer(_tiny_classifier(), "flip", seed=0)
    plain.compile(optimizer="sgd", loss="categorical_crossentropy")
    assert "jsd_loss" not in plain.fit(images[:64], y[:64], batch_size=32, verbose=0).history
    with pytest.raises(ValueError, match="must be the last op"):
        AugmentingTrainer(_tiny_classifier(), "augmix(views=3),flip")


_MIRRORED = textwrap.dedent("""
    import json, sys
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras, numpy as np
    from fmnist_keras.augment import augmix
    from fmnist_keras.training.trainer import AugmentingTrainer

    rng = np.random.default_rng(0)
    images = rng.random((16, 28, 28, 1), dtype=np.float32)
    labels = np.eye(10, dtype=np.float32)[np.arange(16) % 10]
    # The views are drawn once, so both runs see the same batch (host placement).
    x, y = (keras.ops.convert_to_numpy(t) for t in augmix(images, labels, 0, views=3))

    def one_step(strategy):
        with strategy.scope():
            keras.utils.set_random_seed(1)
            clf = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(),
                                    keras.layers.Dense(10, activation="softmax")])
            trainer = AugmentingTrainer(clf, "augmix(views=3)", augment_on="host")
            trainer.compile(optimizer=keras.optimizers.SGD(0.5), loss="categorical_crossentropy")
        ds = tf.data.Dataset.from_tensors((x, y))
        h = trainer.fit(ds, epochs=2, verbose=0).history
        return {k: [float(v) for v in h[k]] for k in ("loss", "ce_loss", "jsd_loss")}

    two = one_step(tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"]))
    one = one_step(tf.distribute.OneDeviceStrategy("/cpu:0"))
    print(json.dumps({"one": one, "two": two}))
""")


def test_augmix_jsd_step_same_loss_on_two_replicas():
    """CE + lambda * JSD must not be double-counted under MirroredStrategy (a raw-op term is)."""
    proc = subprocess.run([sys.executable, "-c", _MIRRORED], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("loss", "ce_loss", "jsd_loss"):
        # Epoch 2 checks the gradient step too (same update on one or two replicas).
        np.testing.assert_allclose(result["two"][key], result["one"][key], rtol=1e-4)
    assert result["one"]["jsd_loss"][0] > 0
