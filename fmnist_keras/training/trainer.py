"""`AugmentingTrainer`: a thin functional wrapper whose train step augments.

Mixing augmentations (RICAP, MixUp, ...) change the labels, so a layer inside
the classifier cannot do them: the trainer one-hot encodes the labels, runs
the `AugmentStack` on the batch (on the device, inside the compiled step) and
then hands the batch to Keras' own `train_step`, so loss scaling, metrics and
distribution strategies behave exactly as in plain Keras. It is built the
functional way (`super().__init__(inputs, outputs)`), and saving goes through
`.classifier`: `model.keras` and exports hold the plain classifier.
"""

import keras
from keras import ops

from fmnist_keras.augment import AugmentStack

PLACEMENTS = ("device", "host")


class AugmentingTrainer(keras.Model):
    """Wraps `classifier`; trains on augmented batches, evaluates on clean ones.

    Args:
        classifier: a functional `keras.Model` that returns probabilities.
        augment: an augmentation stack string (see `parse_augment`) or "".
        augment_on: "device" (inside `train_step`, the default) or "host"
            (the caller maps `self.augmenter` over `tf.data` batches; the
            train step then sees label rows and leaves the batch alone).
        seed: the augmentation stream's seed.

    Labels may be integers `(B,)` or one-hot/soft rows `(B, num_classes)`.
    """

    def __init__(self, classifier, augment="", augment_on="device", seed=0, **kwargs):
        if augment_on not in PLACEMENTS:
            raise ValueError(f"augment_on must be 'device' or 'host'. Received: augment_on={augment_on!r}")
        inputs = keras.Input(shape=classifier.input_shape[1:], name="images")
        super().__init__(inputs, classifier(inputs), name=f"{classifier.name}_trainer", **kwargs)
        self.classifier = classifier
        self.num_classes = classifier.output_shape[-1]
        self.augment_on = augment_on
        self.augmenter = AugmentStack(augment, seed=seed, name="augment")

    def label_rows(self, labels):
        """Integer labels -> float one-hot rows; rows pass through as float."""
        if len(labels.shape) == 1:
            return ops.one_hot(ops.cast(labels, "int32"), self.num_classes, dtype="float32")
        return ops.cast(labels, "float32")

    def augment_batch(self, images, labels):
        """One-hot + augmentation: what both placements apply to a training batch."""
        return self.augmenter(images, self.label_rows(labels))

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if self.augment_on == "device":
            x, y = self.augment_batch(x, y)
        else:
            y = self.label_rows(y)
        return super().train_step(keras.utils.pack_x_y_sample_weight(x, y, sample_weight))

    # Keras builds losses and metrics symbolically from the raw dataset under a
    # distribution strategy, and evaluates with raw labels: both go through
    # these two public hooks, so integer labels become rows there too.
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return super().compute_loss(x, self.label_rows(y), y_pred, sample_weight, training=training)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        return super().compute_metrics(x, self.label_rows(y), y_pred, sample_weight)
