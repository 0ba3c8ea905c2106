"""`AugmentStack`: a parsed augmentation stack that owns its random state.

A Keras layer so that its `SeedGenerator` is tracked (saved by
`BackupAndRestore`, resumed with the model) and so that the same object can
run inside a train step (device placement) or a `tf.data` map (host).
"""

import keras
from keras import ops

from fmnist_keras.augment import geometric
from fmnist_keras.augment.registry import OPS, check_op, format_augment, parse_augment, stack_views


@keras.saving.register_keras_serializable(package="fmnist_keras")
class AugmentStack(keras.layers.Layer):
    """Applies a stack of batch ops to `(images, labels)`.

    Args:
        augment: a stack string such as "random_erasing,ricap(beta=0.1)" (see
            `parse_augment`; every name, parameter and value is checked here),
            or "" for none.
        seed: the integer seed of the stack's random stream.

    Call args:
        images: float `(B, H, W, C)` in [0, 1].
        labels: one-hot or soft `(B, num_classes)` float rows.

    Returns:
        `(images, labels)`; the identity when the stack is empty. The layer is
        used only in training: evaluation never calls it.

    A `flip` directly followed by `pad_crop` or `translate` runs as one
    gather (`geometric.flip_then_shift`): the same draws in the same order,
    so the output is bit-identical to the two ops run one after the other.
    """

    def __init__(self, augment="", seed=0, **kwargs):
        super().__init__(**kwargs)
        self.stack = parse_augment(augment)
        self.augment = format_augment(self.stack)
        # Views per image in the output (3 for "augmix(views=3)"); they are
        # interleaved along the batch (see `augment.augmix`).
        self.views = stack_views(self.stack)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="augment_seed")
        # Keras saves a layer's own variables but not its SeedGenerators' state;
        # tracking the state as a weight puts the random stream into checkpoints,
        # so a resumed run draws the same augmentations as an uninterrupted one.
        self._track_variable(self.seed_generator.state)

    def call(self, images, labels):
        position = 0
        while position < len(self.stack):
            name, params = self.stack[position]
            following = self.stack[position + 1] if position + 1 < len(self.stack) else (None, None)
            if name == "flip" and following[0] in geometric.SHIFTS:
                # One gather instead of three passes; bit-identical to the two ops.
                images, labels = geometric.flip_then_shift(
                    images, labels, self.seed_generator, params, *following)
                position += 2
                continue
            images, labels = OPS[name](images, labels, self.seed_generator, **params)
            position += 1
        return images, ops.cast(labels, "float32")

    def compute_output_spec(self, images, labels):
        batch = None if images.shape[0] is None else images.shape[0] * self.views
        return (keras.KerasTensor((batch,) + tuple(images.shape[1:]), images.dtype),
                keras.KerasTensor((batch,) + tuple(labels.shape[1:]), "float32"))

    def get_config(self):
        return {**super().get_config(), "augment": self.augment, "seed": self.seed}


@keras.saving.register_keras_serializable(package="fmnist_keras")
class AugmentLayer(keras.layers.Layer):
    """One label-preserving op as a model layer: applied when `training=True`.

    For users who want augmentation inside a model (e.g. `flip`, `pad_crop`,
    `random_erasing`, `augmix`); label-mixing ops (mixup, cutmix, ricap) and
    multi-view AugMix need the labels and belong in `AugmentingTrainer`.

    Args:
        op: a registered op name (see `augment.OPS`; aliases such as
            "erasing" are accepted), or one op written as in a stack,
            e.g. "random_erasing(prob=0.5)".
        seed: the integer seed of the layer's random stream.
        params, **kwargs: the op's parameters. Name, parameters and values are
            checked here, so a layer that is built can run.

    Example:

    ```python
    inputs = keras.Input((28, 28, 1))
    x = AugmentLayer("flip")(inputs)
    x = AugmentLayer("random_erasing", prob=0.5)(x)
    ```

    Returns (call): the augmented images in training, the inputs otherwise.
    """

    def __init__(self, op, seed=0, params=None, **kwargs):
        layer_kwargs = {k: kwargs.pop(k) for k in list(kwargs) if k in _LAYER_KWARGS}
        super().__init__(**layer_kwargs)
        self.op, self.params = _one_op(op, {**(params or {}), **kwargs})
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed, name="augment_seed")
        self._track_variable(self.seed_generator.state)

    def call(self, images, training=None):
        if not training:
            return images
        dummy = ops.zeros((ops.shape(images)[0], 1), "float32")
        return OPS[self.op](images, dummy, self.seed_generator, **self.params)[0]

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "op": self.op, "seed": self.seed, "params": self.params}


_LAYER_KWARGS = ("name", "dtype", "trainable", "autocast")


def _one_op(op, params):
    """`(registry name, params)` for `AugmentLayer`, or a ValueError saying why it cannot run `op`."""
    if not isinstance(op, str):
        raise ValueError(f"op must be an op name such as 'flip'. Received: op={op!r}")
    if "(" in op or "," in op:
        stack = parse_augment(op)
        if len(stack) != 1:
            raise ValueError(
                f"AugmentLayer runs one op; {op!r} is a stack of {len(stack)} "
                f"({', '.join(name for name, _ in stack)}): use one AugmentLayer per op, or "
                f"AugmentingTrainer(augment=...) for a stack. Received: op={op!r}")
        written = stack[0][1]
        clash = sorted(set(written) & set(params))
        if clash:
            raise ValueError(f"{', '.join(clash)} given both in op={op!r} and as keyword(s). "
                             f"Received: params={params!r}")
        op, params = stack[0][0], {**written, **params}
    name = check_op(op.strip(), params, f"op={op!r}, params={params!r}")
    if OPS[name].mixes_labels or stack_views([(name, params)]) > 1:
        raise ValueError(
            f"op {op!r} changes labels or the batch size; use it in AugmentingTrainer's "
            f"augment stack instead. Received: op={op!r}")
    return name, params
