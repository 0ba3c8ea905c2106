"""One statement of what a model takes: every path scales pixels with `data.to_model_input`."""

import re
from pathlib import Path

import numpy as np

from fmnist_keras import data

PACKAGE = Path(data.__file__).parent
# Files whose 255s are not model input: pixel arithmetic inside augmentation ops
# and corruptions (which return uint8 pixels again), and photo conversion (0-255 in, 0-255 out).
PIXEL_ARITHMETIC = {"augment/_pixel.py", "evaluation/corruptions.py", "photo.py", "data.py"}


def test_scaling_is_the_training_form_on_numpy_and_tensorflow(fmnist):
    import tensorflow as tf

    _, (x, _) = fmnist
    every_level = np.arange(256, dtype=np.uint8)
    expected = every_level.astype(np.float32) * np.float32(1.0 / 255.0)
    np.testing.assert_array_equal(data.to_model_input(every_level), expected)
    np.testing.assert_array_equal(data.to_model_input(tf.constant(every_level)).numpy(), expected)
    traced = tf.function(data.to_model_input, autograph=False)
    np.testing.assert_array_equal(traced(tf.constant(x[:64])).numpy(), data.to_model_input(x[:64]))
    assert data.to_model_input(x[:2]).dtype == np.float32 and data.to_model_input(x[:2]).shape == (2, 28, 28)
    # 0-255 floats (a photo, an exported signature's float input) scale the same as uint8.
    np.testing.assert_array_equal(data.to_model_input(x[:4].astype(np.float32)), data.to_model_input(x[:4]))


def test_training_evaluation_and_export_paths_feed_identical_input(fmnist):
    """The tf.data pipeline, the NumPy batches, the evaluation predictor and the
    exported graph all hand a model the same bits for the same real images."""
    import tensorflow as tf

    from fmnist_keras import batches, pipeline
    from fmnist_keras.evaluation.suite import Predictor
    from fmnist_keras.export.formats import probabilities_fn

    _, (x, y) = fmnist
    x, y = x[:300], y[:300]
    want = data.to_model_input(x[..., None])
    from_pipeline = np.concatenate([b.numpy() for b, _ in pipeline.make_dataset(x, y, 100, training=False)])
    from_batches = np.concatenate([batches.ArrayBatches(x, y, 100, training=False)[i][0] for i in range(3)])
    seen = []

    class Recorder:
        def predict(self, images, batch_size, verbose):
            seen.append(np.asarray(images))
            return np.full((len(images), 10), 0.1)

        def __call__(self, images, training):
            seen.append(np.asarray(images))
            return tf.fill((tf.shape(images)[0], 10), 0.1)

    Predictor(Recorder())(x)
    probabilities_fn(Recorder())(tf.constant(x[..., None]))
    probabilities_fn(Recorder(), channel_axis=False)(tf.constant(x.astype(np.float32)))
    for got in (from_pipeline, from_batches, *seen):
        np.testing.assert_array_equal(got, want)


def test_no_module_scales_pixels_by_itself():
    """A `/ 255` (or `* (1 / 255)`) outside `to_model_input` would be a second
    answer to "what does a model take"; pixel arithmetic that stays in 0-255 is
    listed above, or says so on its line ("stays 0-255")."""
    pattern = re.compile(r"/\s*255(\.0*)?\b(?!\s*-)|1(\.0*)?\s*/\s*255")
    offenders = []
    for path in sorted(PACKAGE.rglob("*.py")):
        name = path.relative_to(PACKAGE).as_posix()
        if name in PIXEL_ARITHMETIC:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            code, _, comment = line.partition("#")
            if pattern.search(code) and "stays 0-255" not in comment:
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "scale pixels with data.to_model_input:\n" + "\n".join(offenders)
