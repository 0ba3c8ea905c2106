"""`AugmentingTrainer`: a thin functional wrapper whose train step augments.

Mixing augmentations (RICAP, MixUp, ...) change the labels, so a layer inside
the classifier cannot do them: the trainer one-hot encodes the labels, runs
the `AugmentStack` on the batch (on the device, inside the compiled step) and
then hands the batch to Keras' own `train_step`, so loss scaling, metrics and
distribution strategies behave exactly as in plain Keras. It is built the
functional way (`super().__init__(inputs, outputs)`), and saving goes through
`.classifier`: `model.keras` and exports hold the plain classifier.
"""

import contextlib

import keras
from keras import ops

from fmnist_keras.augment import AugmentStack, JensenShannonConsistency
from fmnist_keras.choices import PLACEMENTS


def unscale_loss_for_distribution(value):
    """The loss as Keras logs it: times the replica count under `tf.distribute`.

    A compiled `Loss` is divided by the number of replicas so that gradients sum
    to the global mean; Keras multiplies it back before logging. Its helper for
    that lives in a private module (`keras.src`), which a Keras release may move
    without notice, so the two lines are ours.
    """
    if keras.config.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            value = ops.multiply(value, ops.cast(replicas, value.dtype))
    return value


class AugmentingTrainer(keras.Model):
    """Wraps `classifier`; trains on augmented batches, evaluates on clean ones.

    Args:
        classifier: a functional `keras.Model` that returns probabilities.
        augment: an augmentation stack string (see `parse_augment`) or "".
        augment_on: "device" (inside `train_step`, the default) or "host"
            (the caller maps `self.augmenter` over `tf.data` batches; the
            train step then sees label rows and leaves the batch alone).
        seed: the augmentation stream's seed.
        jsd_weight: lambda of the AugMix consistency term, used when the
            stack emits several views per image (`augmix(views=3)`): the
            loss is then the compiled loss on the clean views plus
            `lambda * JSD` over all views, logged as `ce_loss` and `jsd_loss`.

    Labels may be integers `(B,)` or one-hot/soft rows `(B, num_classes)`.
    """

    def __init__(self, classifier, augment="", augment_on="device", seed=0, jsd_weight=12.0,
                 **kwargs):
        if augment_on not in PLACEMENTS:
            raise ValueError(f"augment_on must be 'device' or 'host'. Received: augment_on={augment_on!r}")
        inputs = keras.Input(shape=classifier.input_shape[1:], name="images")
        super().__init__(inputs, classifier(inputs), name=f"{classifier.name}_trainer", **kwargs)
        self.classifier = classifier
        self.num_classes = classifier.output_shape[-1]
        self.augment_on = augment_on
        self.augmenter = AugmentStack(augment, seed=seed, name="augment")
        self._views_step = False
        if self.augmenter.views > 1:
            # Created only for multi-view stacks, so other runs log what they always did.
            self.jsd = JensenShannonConsistency(jsd_weight)
            self.ce_tracker = keras.metrics.Mean(name="ce_loss")
            self.jsd_tracker = keras.metrics.Mean(name="jsd_loss")

    def label_rows(self, labels):
        """Integer labels -> float one-hot rows; rows pass through as float."""
        if len(labels.shape) == 1:
            return ops.one_hot(ops.cast(labels, "int32"), self.num_classes, dtype="float32")
        return ops.cast(labels, "float32")

    def augment_batch(self, images, labels):
        """One-hot + augmentation: what both placements apply to a training batch."""
        return self.augmenter(images, self.label_rows(labels))

    def train_step(self, *args):
        # JAX's trainer is stateless: its step takes and returns the variables' values.
        if keras.config.backend() == "jax":
            return self._jax_train_step(*args)
        (data,) = args
        x, y, sample_weight = self._prepare_batch(data)
        with self._views():
            return super().train_step(keras.utils.pack_x_y_sample_weight(x, y, sample_weight))

    def _jax_train_step(self, state, data):
        """The augmentation's random stream is a variable, so under JAX it has to
        flow through the step's state: augment inside a `StatelessScope` over the
        non-trainable values and hand the advanced seed on to Keras' own step."""
        trainable, non_trainable, optimizer_vars, metrics_vars = state
        mapping = list(zip(self.non_trainable_variables, non_trainable))
        with keras.StatelessScope(state_mapping=mapping) as scope:
            x, y, sample_weight = self._prepare_batch(data)
        non_trainable = [value if scope.get_current_value(ref) is None else scope.get_current_value(ref)
                         for ref, value in mapping]
        with self._views():
            return super().train_step((trainable, non_trainable, optimizer_vars, metrics_vars),
                                      keras.utils.pack_x_y_sample_weight(x, y, sample_weight))

    def _prepare_batch(self, data):
        """Label rows, and the device placement's augmentation."""
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        if self.augment_on == "device":
            x, y = self.augment_batch(x, y)
            if sample_weight is not None and self.augmenter.views > 1:
                sample_weight = ops.repeat(sample_weight, self.augmenter.views, axis=0)
        else:
            y = self.label_rows(y)
        return x, y, sample_weight

    @contextlib.contextmanager
    def _views(self):
        # A trace-time flag: `compute_loss`/`compute_metrics` split the views
        # only inside the train step (evaluation batches have one view).
        self._views_step = self.augmenter.views > 1
        try:
            yield
        finally:
            self._views_step = False

    def _clean_view(self, *tensors):
        """Rows 0, n, 2n, ...: the clean view of each image (views are interleaved)."""
        views = self.augmenter.views
        return [None if t is None else ops.reshape(t, (-1, views) + tuple(t.shape[1:]))[:, 0]
                for t in tensors]

    # Keras builds losses and metrics symbolically from the raw dataset under a
    # distribution strategy, and evaluates with raw labels: both go through
    # these two public hooks, so integer labels become rows there too.
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        y = self.label_rows(y)
        if not (training and self._views_step):
            loss = super().compute_loss(x, y, y_pred, sample_weight, training=training)
            if not training and self.augmenter.views > 1:  # evaluation: one view, so CE only
                self.ce_tracker.update_state(unscale_loss_for_distribution(loss))
            return loss
        # Several views per image (AugMix): compiled loss on the clean views
        # plus lambda * JSD over all of them.
        clean_y, clean_pred, clean_weight = self._clean_view(y, y_pred, sample_weight)
        ce = super().compute_loss(x, clean_y, clean_pred, clean_weight, training=training)
        probs = ops.reshape(y_pred, (-1, self.augmenter.views, y_pred.shape[-1]))
        jsd = self.jsd(clean_y, probs, clean_weight)
        # Both terms are `Loss` values, already divided by the replica count;
        # the trackers log them unscaled, as Keras logs its own `loss`.
        self.ce_tracker.update_state(unscale_loss_for_distribution(ce))
        self.jsd_tracker.update_state(unscale_loss_for_distribution(jsd))
        return ce + jsd

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        y = self.label_rows(y)
        if self._views_step:
            y, y_pred, sample_weight = self._clean_view(y, y_pred, sample_weight)
        return super().compute_metrics(x, y, y_pred, sample_weight)
