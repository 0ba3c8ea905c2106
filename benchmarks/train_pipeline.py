"""The pipeline part: `pipeline.make_dataset` alone (no model), plain and with host
augmentation, against a naive tf.data pipeline re-timed before every row."""

import math
import time

import numpy as np
import tensorflow as tf

from _train_common import describe, log
from fmnist_keras import pipeline
from fmnist_keras.augment import AugmentStack


def naive_dataset(x, y, batch_size, shuffle=False):
    """The tutorial pipeline: per-image cast and scale, then batch."""
    def prep(image, label):
        return tf.cast(image[..., None], tf.float32) / 255.0, tf.cast(label, tf.int32)

    ds = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        ds = ds.shuffle(len(x), seed=0)
    return ds.map(prep, num_parallel_calls=tf.data.AUTOTUNE).batch(batch_size).prefetch(tf.data.AUTOTUNE)


def time_iteration(make, batch_size, warmup, chunks, seconds):
    """Images/s of a fresh iterator of `make()`: median over `chunks` chunks after warmup batches."""
    it = iter(make().repeat())
    start = time.perf_counter()
    for _ in range(warmup):
        next(it)
    per_batch = (time.perf_counter() - start) / warmup
    n = max(2, min(200, math.ceil(seconds / max(per_batch, 1e-6))))
    times = []
    for _ in range(chunks):
        start = time.perf_counter()
        for _ in range(n):
            next(it)
        times.append(time.perf_counter() - start)
    del it
    return n * batch_size / float(np.median(times))


def bench_pipeline(args, data):
    (x_train, y_train), _ = data
    b = args.batch_size
    one_hot = lambda images, labels: (images, tf.one_hot(labels, 10))  # noqa: E731
    cases = [
        ("naive: from_tensor_slices + map(cast, scale; AUTOTUNE) + batch", lambda: naive_dataset(x_train, y_train, b)),
        ("naive + shuffle(60000) before the map", lambda: naive_dataset(x_train, y_train, b, shuffle=True)),
        ("ours, training (shuffled index batches, gather, cast once per batch)",
         lambda: pipeline.make_dataset(x_train, y_train, b, training=True, seed=0, epochs=1)),
        ("ours, evaluation order (no shuffle)",
         lambda: pipeline.make_dataset(x_train, y_train, b, training=False)),
    ]
    for stack in args.augment:
        def make(stack=stack):
            aug = AugmentStack(stack, seed=0)
            return pipeline.make_dataset(x_train, y_train, b, training=True, seed=0, epochs=1,
                                         batch_map=lambda images, labels: aug(*one_hot(images, labels)))
        cases.append((f"ours + host augmentation `{stack}`", make))
    warmup, chunks = 3, max(2, args.rounds)
    rows = []
    start = time.perf_counter()
    for label, make in cases:
        # The naive baseline is re-timed right before each row: each ratio compares neighbours.
        naive = time_iteration(cases[0][1], b, warmup, chunks, args.pipeline_seconds)
        try:
            speed, error = time_iteration(make, b, warmup, chunks, args.pipeline_seconds), None
        except Exception as e:
            speed, error = None, describe(e)
        rows.append({"label": label, "ips": speed, "naive": naive, "error": error})
        log(f"pipeline: {label}: {speed and round(speed)} img/s (naive {naive:.0f})")
    log(f"pipeline part: {time.perf_counter() - start:.0f} s")
    return rows
