"""`AugmentStack`: a parsed augmentation stack that owns its random state.

A Keras layer so that its `SeedGenerator` is tracked (saved by
`BackupAndRestore`, resumed with the model) and so that the same object can
run inside a train step (device placement) or a `tf.data` map (host).
"""

import keras
from keras import ops

from fmnist_keras.augment.registry import OPS, format_augment, parse_augment


@keras.saving.register_keras_serializable(package="fmnist_keras")
class AugmentStack(keras.layers.Layer):
    """Applies a stack of batch ops to `(images, labels)`.

    Args:
        augment: a stack string such as "erasing,ricap(beta=0.1)" (see
            `parse_augment`), or "" for none.
        seed: the integer seed of the stack's random stream.

    Call args:
        images: float `(B, H, W, C)` in [0, 1].
        labels: one-hot or soft `(B, num_classes)` float rows.

    Returns:
        `(images, labels)`; the identity when the stack is empty. The layer is
        used only in training: evaluation never calls it.
    """

    def __init__(self, augment="", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.stack = parse_augment(augment)
        self.augment = format_augment(self.stack)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="augment_seed")
        # Keras saves a layer's own variables but not its SeedGenerators' state;
        # tracking the state as a weight puts the random stream into checkpoints,
        # so a resumed run draws the same augmentations as an uninterrupted one.
        self._track_variable(self.seed_generator.state)

    def call(self, images, labels):
        for name, params in self.stack:
            images, labels = OPS[name](images, labels, self.seed_generator, **params)
        return images, ops.cast(labels, "float32")

    def compute_output_spec(self, images, labels):
        return keras.KerasTensor(images.shape, images.dtype), keras.KerasTensor(labels.shape, "float32")

    def get_config(self):
        return {**super().get_config(), "augment": self.augment, "seed": self.seed}
