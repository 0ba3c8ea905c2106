"""The op contract, checked for every registered op: the exported sample/apply halves and their
signatures, prob, shape, range, seeds, per-image draws."""

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

import fmnist_keras.augment as augment
from fmnist_keras.augment import OPS, AugmentStack

# Parameters under which each op must be the identity.
IDENTITY = {
    "flip": dict(prob=0.0), "pad_crop": dict(pad=0), "translate": dict(max_fraction=0.0),
    "rotate": dict(prob=0.0), "random_erasing": dict(prob=0.0), "cutout": dict(prob=0.0),
    "mixup": dict(prob=0.0), "cutmix": dict(prob=0.0), "randaugment": dict(num_ops=0),
}
# Parameters that make every image change (for the per-image-draw checks).
ALWAYS = {"random_erasing": dict(prob=1.0), "flip": dict(prob=0.5), "ricap": dict(per_image=True)}
MIXING = ("mixup", "cutmix", "ricap")


def _np(x):
    return keras.ops.convert_to_numpy(x)


def _call(name, images, labels, seed, **params):
    return OPS[name](images, labels, seed, **{**ALWAYS.get(name, {}), **params})


@pytest.mark.parametrize("name", sorted(OPS))
@pytest.mark.parametrize("rgb", [False, True])
def test_shape_range_labels_and_seed(name, rgb, real_batch, real_batch_rgb):
    images, labels = (real_batch_rgb if rgb else real_batch)
    images, labels = images[:32], labels[:32]
    out, out_labels = _call(name, images, labels, keras.random.SeedGenerator(3))
    out, out_labels = _np(out), _np(out_labels)
    assert out.shape == images.shape and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() <= 1.0
    np.testing.assert_allclose(out_labels.sum(axis=1), 1.0, atol=1e-5)
    if name not in MIXING:
        np.testing.assert_array_equal(out_labels, labels)
    again, again_labels = _call(name, images, labels, keras.random.SeedGenerator(3))
    np.testing.assert_array_equal(out, _np(again))
    np.testing.assert_array_equal(out_labels, _np(again_labels))
    other, _ = _call(name, images, labels, keras.random.SeedGenerator(4))
    assert not np.array_equal(out, _np(other))


@pytest.mark.parametrize("name", sorted(IDENTITY))
def test_identity_when_off(name, real_batch):
    images, labels = real_batch[0][:32], real_batch[1][:32]
    out, out_labels = OPS[name](images, labels, keras.random.SeedGenerator(0), **IDENTITY[name])
    np.testing.assert_array_equal(_np(out), images)
    np.testing.assert_array_equal(_np(out_labels), labels)


@pytest.mark.parametrize("name", sorted(OPS))
def test_per_image_draws_in_tf_function_xla_and_tf_data(name, real_batch):
    """A batch of one image repeated: the images (or label rows, for mixing
    ops) must differ within a batch, and between repeated calls of a traced
    function, compiled with XLA and inside tf.data (the trace-time-freeze trap)."""
    x = np.repeat(real_batch[0][:1], 48, axis=0)
    y = np.eye(48, dtype="float32")  # distinct rows reveal who was mixed with whom
    params = ALWAYS.get(name, {})
    layer = AugmentStack(f"{name}({', '.join(f'{k}={v!r}' for k, v in params.items())})", seed=7)
    minimum = 2 if name == "flip" else 8

    def rows(batch):
        images, labels = (_np(t) for t in batch)
        return labels if name in MIXING else images.reshape(len(images), -1)

    def distinct(batch):
        return len({r.round(4).tobytes() for r in rows(batch)})

    fn = tf.function(lambda a, b: layer(a, b), jit_compile=True)
    first, second = fn(x, y), fn(x, y)
    assert distinct(first) >= minimum
    assert not np.array_equal(rows(first), rows(second))
    ds = tf.data.Dataset.from_tensors((x, y)).repeat(2).map(lambda a, b: layer(a, b))
    batches = list(ds)
    assert distinct(batches[0]) >= minimum
    assert not np.array_equal(rows(batches[0]), rows(batches[1]))


def _names(fn):
    return list(inspect.signature(fn).parameters)


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_exports_its_sample_and_apply_halves_with_one_signature(name):
    """`op(images, labels, seed, **p)`, `sample_op(shape, seed, **p)`, `apply_op(images, labels, draw)`:
    the same names in the package, the same parameters and defaults, and every op takes `prob`."""
    entry = OPS[name]
    for prefix, fn in (("", entry.op), ("sample_", entry.sample), ("apply_", entry.apply)):
        assert fn.__name__ == f"{prefix}{name}"  # registry names are the function names
        assert getattr(augment, f"{prefix}{name}") is fn and f"{prefix}{name}" in augment.__all__
    assert _names(entry.op)[:3] == ["images", "labels", "seed"]
    assert _names(entry.apply) == ["images", "labels", "draw"]
    sample = inspect.signature(entry.sample).parameters
    assert list(sample)[:2] == ["shape", "seed"]
    positional = {k: p.default for k, p in sample.items() if p.kind != p.KEYWORD_ONLY}
    assert dict(list(positional.items())[2:]) == entry.params  # same parameters, same defaults
    assert "prob" in entry.params


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_is_its_sample_then_its_apply(name, real_batch):
    images, labels = real_batch[0][:32], real_batch[1][:32]
    params = ALWAYS.get(name, {})
    out = OPS[name](images, labels, keras.random.SeedGenerator(3), **params)
    draw = OPS[name].sample(keras.ops.shape(images), keras.random.SeedGenerator(3), **params)
    halves = OPS[name].apply(images, labels, draw)
    for a, b in zip(out, halves):
        np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("name", sorted(OPS))
def test_prob_zero_is_the_identity_and_prob_one_the_default_draw(name, real_batch):
    images, labels = real_batch[0][:32], real_batch[1][:32]
    out, out_labels = OPS[name](images, labels, keras.random.SeedGenerator(0), prob=0.0)
    np.testing.assert_array_equal(_np(out), images)
    np.testing.assert_array_equal(_np(out_labels), labels)
    if OPS[name].params["prob"] == 1.0:  # flip and random_erasing default to 0.5: see test_augment_reference
        seeds = keras.random.SeedGenerator(4), keras.random.SeedGenerator(4)
        for _ in range(2):  # the second call checks that prob=1 drew no extra coin
            explicit = OPS[name](images, labels, seeds[0], prob=1.0)
            default = OPS[name](images, labels, seeds[1])
            for a, b in zip(explicit, default):
                np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("name", ["pad_crop", "translate", "ricap", "augmix", "autoaugment", "randaugment"])
def test_new_prob_skips_images_and_keeps_the_draws_of_the_rest(name, real_batch):
    """The ops that took no `prob` before draw their coin last: each image is either exactly the
    input (skipped) or exactly what `prob=1` makes of it, and about half are skipped."""
    images, labels = real_batch
    params = {"translate": dict(max_fraction=0.3), "ricap": dict(per_image=True)}.get(name, {})
    half = _np(OPS[name](images, labels, keras.random.SeedGenerator(1), prob=0.5, **params)[0])
    full = _np(OPS[name](images, labels, keras.random.SeedGenerator(1), **params)[0])
    skipped = np.all(half == images, axis=(1, 2, 3))
    assert np.all(skipped | np.all(half == full, axis=(1, 2, 3)))
    changed = ~np.all(full == images, axis=(1, 2, 3))  # images that prob=1 changes
    assert 0.35 < skipped[changed].mean() < 0.65
