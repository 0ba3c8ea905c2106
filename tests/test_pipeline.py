"""Splits and tf.data datasets over the real arrays."""

import numpy as np
import pytest

from fmnist_keras import pipeline


def test_split_is_disjoint_stratified_and_seeded(fmnist):
    (x, y), _ = fmnist
    (xt, yt), (xv, yv) = pipeline.train_val_split(x, y, 10000, seed=3)
    assert len(xt) == 50000 and len(xv) == 10000
    assert np.bincount(yv).tolist() == [1000] * 10
    # Disjoint: every original image lands exactly once (images are unique up to a few duplicates,
    # so compare by byte content counts).
    keys = lambda a: {bytes(r) for r in a.reshape(len(a), -1)}
    assert not keys(xt[:2000]) & keys(xv)
    (_, yt2), (_, yv2) = pipeline.train_val_split(x, y, 10000, seed=3)
    np.testing.assert_array_equal(yv, yv2)
    (_, _), (_, yv3) = pipeline.train_val_split(x, y, 10000, seed=4)
    assert not np.array_equal(yv, yv3)


def test_split_edges(fmnist):
    (x, y), _ = fmnist
    (xt, _), (xv, _) = pipeline.train_val_split(x[:1000], y[:1000], 0)
    assert len(xt) == 1000 and len(xv) == 0
    with pytest.raises(ValueError, match="Received: val_size=1000"):
        pipeline.train_val_split(x[:1000], y[:1000], 1000)
    with pytest.raises(ValueError, match="Received: val_size=-1"):
        pipeline.train_val_split(x, y, -1)


def test_limit_train_keeps_class_balance(fmnist):
    (x, y), _ = fmnist
    xs, ys = pipeline.limit_train(x, y, 512, seed=0)
    assert len(xs) == 512
    counts = np.bincount(ys, minlength=10)
    assert counts.min() >= 51 and counts.max() <= 52


def test_training_dataset_batches_shuffles_and_reproduces(fmnist):
    (x, y), _ = fmnist
    x, y = x[:1000], y[:1000]
    ds = pipeline.make_dataset(x, y, 128, training=True, seed=1)
    epoch1 = [(a.numpy(), b.numpy()) for a, b in ds]
    epoch2 = [(a.numpy(), b.numpy()) for a, b in ds]
    assert len(epoch1) == 1000 // 128  # drop_remainder
    images, labels = epoch1[0]
    assert images.shape == (128, 28, 28, 1) and images.dtype == np.float32 and labels.dtype == np.int32
    assert images.min() >= 0 and images.max() <= 1 and images.max() > 0.9
    assert not np.array_equal(epoch1[0][1], epoch2[0][1])  # reshuffled every epoch
    again = [(a.numpy(), b.numpy()) for a, b in pipeline.make_dataset(x, y, 128, training=True, seed=1)]
    np.testing.assert_array_equal(epoch1[0][0], again[0][0])  # same seed, same order
    # Every batch pairs images with their own labels.
    index = {bytes(img): lab for img, lab in zip(x.reshape(1000, -1), y)}
    for img, lab in zip(images, labels):
        assert index[bytes(np.round(img[..., 0] * 255).astype(np.uint8).reshape(-1))] == lab


def test_eval_dataset_keeps_order_and_every_image(fmnist):
    _, (x, y) = fmnist
    batches = list(pipeline.make_dataset(x[:1050], y[:1050], 500, training=False))
    assert [len(b[1]) for b in batches] == [500, 500, 50]
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y[:1050])


def test_batch_map_runs_on_batches(fmnist):
    (x, y), _ = fmnist
    ds = pipeline.make_dataset(x[:256], y[:256], 64, training=True, batch_map=lambda a, b: (a * 0, b))
    assert float(next(iter(ds))[0].numpy().max()) == 0.0


def test_bad_arguments(fmnist):
    (x, y), _ = fmnist
    with pytest.raises(ValueError, match="Received: batch_size=0"):
        pipeline.make_dataset(x[:10], y[:10], 0, training=True)
    with pytest.raises(ValueError, match="batch_size=64"):
        pipeline.make_dataset(x[:10], y[:10], 64, training=True)
    with pytest.raises(ValueError, match="dtype=float32"):
        pipeline.make_dataset(x[:10].astype("float32"), y[:10], 2, training=False)


def test_epoch_stream_is_a_pure_function_of_seed_and_epoch(fmnist):
    (x, y), _ = fmnist
    x, y = x[:640], y[:640]
    full = [b.numpy() for _, b in pipeline.make_dataset(x, y, 64, training=True, seed=7, epochs=3)]
    assert len(full) == 30
    epochs = [np.concatenate(full[i * 10:(i + 1) * 10]) for i in range(3)]
    for e in epochs:  # each epoch is a permutation of all labels
        np.testing.assert_array_equal(np.sort(e), np.sort(y))
    assert not np.array_equal(epochs[0], epochs[1])
    resumed = [b.numpy() for _, b in pipeline.make_dataset(x, y, 64, training=True, seed=7, epochs=3,
                                                           first_epoch=2)]
    np.testing.assert_array_equal(np.concatenate(resumed), epochs[2])
