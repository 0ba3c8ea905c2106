"""Splits and `tf.data` pipelines over in-memory uint8 Fashion-MNIST arrays.

The pipeline shuffles *indices* and gathers whole batches from the uint8
arrays, then casts and scales per batch: one gather and one multiply per
batch instead of per-image work, so the host never limits the step rate.
Batches are float32 NHWC in [0, 1] with int32 labels (the contract in docs/design.md).
TensorFlow is imported only by `make_dataset`: the splits serve the JAX
path (`fmnist_keras.batches`) on machines without it.
"""

import numpy as np

from fmnist_keras import data


def _check_int(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}. Received: {name}={value!r}")


def train_val_split(x, y, val_size=10000, seed=0):
    """Splits off a seeded, stratified validation set (report 001: 50k + 10k).

    Args:
        x, y: images and integer labels.
        val_size: number of validation images; 0 gives an empty validation set.
        seed: the split's seed (independent of the training seed).

    Returns:
        `(x_train, y_train), (x_val, y_val)`, disjoint, in a shuffled order.
    """
    _check_int("val_size", val_size, 0)
    if val_size >= len(x):
        raise ValueError(
            f"val_size must be smaller than the {len(x)} training images. Received: "
            f"val_size={val_size}")
    val_idx = _stratified_indices(y, val_size, np.random.default_rng(seed))
    mask = np.ones(len(x), bool)
    mask[val_idx] = False
    train_idx = np.random.default_rng(seed + 1).permutation(np.flatnonzero(mask))
    return (x[train_idx], y[train_idx]), (x[val_idx], y[val_idx])


def limit_train(x, y, n, seed=0):
    """Keeps a stratified random subset of `n` images (for quick runs)."""
    _check_int("limit_train", n, 1)
    if n >= len(x):
        return x, y
    idx = _stratified_indices(y, n, np.random.default_rng(seed))
    return x[idx], y[idx]


def _stratified_indices(y, n, rng):
    """`n` indices whose class counts follow `y`'s proportions (largest remainder)."""
    classes, counts = np.unique(y, return_counts=True)
    quota = counts * n / len(y)
    take = np.floor(quota).astype(int)
    take[np.argsort(take - quota)[: n - take.sum()]] += 1
    picked = [rng.choice(np.flatnonzero(y == c), k, replace=False) for c, k in zip(classes, take)]
    return rng.permutation(np.concatenate(picked))


def make_dataset(x, y, batch_size, *, training, seed=0, batch_map=None, epochs=None, first_epoch=0):
    """Batched `(images, labels)` from uint8 arrays.

    Args:
        x: uint8 images `(N, H, W)` or `(N, H, W, C)`.
        y: integer labels `(N,)`.
        batch_size: images per batch.
        training: shuffle every epoch (reproducibly under `seed`) and drop the
            last partial batch; otherwise keep the order and every image.
        seed: the shuffle seed.
        batch_map: optional `fn(images, labels) -> (images, labels)` applied
            to float batches on the host (the `augment_on="host"` placement).
        epochs: training only. None: one epoch, reshuffled at every iteration.
            An int: one stream of the batches of epochs `first_epoch ..
            epochs - 1` (pass `steps_per_epoch` to `fit`), where each epoch's
            order is a pure function of `(seed, epoch)`, so a run resumed at
            an epoch sees exactly the batches an uninterrupted run would.
        first_epoch: the first epoch of that stream.

    Returns:
        A `tf.data.Dataset` of float32 `(B, H, W, C)` images in [0, 1] and
        int32 labels `(B,)`, prefetched.
    """
    import tensorflow as tf

    x, y = check_images(x, y, batch_size, training)
    if x.ndim == 3:
        x = x[..., None]
    images = tf.constant(x)
    labels = tf.constant(np.asarray(y, np.int32))
    if training and epochs is not None:
        ds = _epoch_stream(len(x), batch_size, seed, first_epoch, epochs)
    else:
        ds = tf.data.Dataset.range(len(x))
        if training:
            ds = ds.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        ds = ds.batch(batch_size, drop_remainder=training)

    def gather(idx):
        batch = data.to_model_input(tf.gather(images, idx))
        return batch, tf.gather(labels, idx)

    ds = ds.map(gather, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if batch_map is not None:
        # Sequential on purpose: the augmentation's SeedGenerator is stateful.
        ds = ds.map(batch_map)
    return ds.prefetch(tf.data.AUTOTUNE)


def check_images(x, y, batch_size, training):
    """Validates a batching request; returns `x` and `y` as arrays."""
    _check_int("batch_size", batch_size, 1)
    x = np.asarray(x)
    if x.dtype != np.uint8 or x.ndim not in (3, 4):
        raise ValueError(
            f"x must be uint8 images (N, H, W) or (N, H, W, C). Received: x with dtype={x.dtype}, "
            f"shape={x.shape}")
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length. Received: {len(x)} and {len(y)}")
    if training and len(x) < batch_size:
        raise ValueError(
            f"batch_size must not exceed the {len(x)} training images (the last partial batch "
            f"is dropped). Received: batch_size={batch_size}")
    return x, np.asarray(y)


def _epoch_stream(n, batch_size, seed, first_epoch, epochs):
    """Index batches for epochs `first_epoch .. epochs - 1`, each shuffled by `(seed, epoch)`."""
    import tensorflow as tf

    steps = n // batch_size

    def one_epoch(epoch):
        keys = tf.random.stateless_uniform([n], seed=tf.stack([tf.cast(seed, tf.int64), epoch]))
        order = tf.argsort(keys)[: steps * batch_size]
        return tf.data.Dataset.from_tensor_slices(tf.reshape(tf.cast(order, tf.int64), (steps, batch_size)))

    return tf.data.Dataset.range(first_epoch, epochs).flat_map(one_epoch)
