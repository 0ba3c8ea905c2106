"""Custom Keras layers: Filter Response Normalization and its Thresholded Linear Unit.

Both are written with `keras.ops` only (they run on the TensorFlow and JAX
backends) and are registered as serializable under the "fmnist_keras"
package, so a `.keras` file that uses them reloads after `import fmnist_keras`
without `custom_objects`.

Reference:
    Singh & Krishnan, "Filter Response Normalization Layer: Eliminating Batch
    Dependence in the Training of Deep Neural Networks", CVPR 2020.
    https://arxiv.org/abs/1911.09737
"""

import keras
from keras import ops


def _check_axis(axis):
    if axis not in (-1,):
        raise ValueError(f"only channels-last (axis=-1) is supported. Received: axis={axis!r}")


@keras.saving.register_keras_serializable(package="fmnist_keras")
class FilterResponseNormalization(keras.layers.Layer):
    """Filter Response Normalization (FRN), per image and per channel.

    For each image and channel, `nu2 = mean(x**2)` over the spatial axes and
    `y = gamma * x / sqrt(nu2 + eps) + beta`. There is no mean subtraction
    and no batch statistic, so the output does not depend on the batch size
    (the point of the paper). Pair it with `TLU`, which supplies the
    non-linearity and the mean shift FRN leaves out.

    The arithmetic is done in float32 even under a mixed-precision policy
    (squares of float16 activations overflow); the output is cast back to
    the layer's compute dtype.

    Args:
        epsilon: the constant `eps` (1e-6 in the paper). With
            `learned_epsilon=True` this is the lower bound of the effective
            epsilon, `epsilon + |eps_l|`.
        learned_epsilon: learn an extra per-channel `eps_l` (initialized to
            1e-4). The paper recommends it when the feature map is 1x1 (or
            very small), where `x / sqrt(x**2 + eps)` degenerates to a sign
            function unless eps is large enough.
        axis: channel axis; only -1 (channels-last) is supported.
        gamma_initializer, beta_initializer: initializers of the scale and
            offset.
        **kwargs: base `keras.layers.Layer` arguments (`name`, `dtype`, ...).

    Input shape:
        `(batch, ..., channels)`, rank 3 or more (spatial axes in between).

    Output shape:
        Same as input.

    Reference:
        https://arxiv.org/abs/1911.09737
    """

    def __init__(self, epsilon=1e-6, learned_epsilon=False, axis=-1,
                 gamma_initializer="ones", beta_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or epsilon < 0:
            raise ValueError(f"epsilon must be a non-negative number. Received: epsilon={epsilon!r}")
        if not isinstance(learned_epsilon, bool):
            raise ValueError(f"learned_epsilon must be a bool. Received: learned_epsilon={learned_epsilon!r}")
        _check_axis(axis)
        self.epsilon = float(epsilon)
        self.learned_epsilon = learned_epsilon
        self.axis = axis
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.supports_masking = False

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(
                "FilterResponseNormalization needs spatial axes (rank >= 3). "
                f"Received: input_shape={tuple(input_shape)}")
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"the channel axis must be known. Received: input_shape={tuple(input_shape)}")
        # autocast=False: the variables stay float32 when read under mixed precision.
        self.gamma = self.add_weight(shape=(channels,), initializer=self.gamma_initializer,
                                     name="gamma", autocast=False)
        self.beta = self.add_weight(shape=(channels,), initializer=self.beta_initializer,
                                    name="beta", autocast=False)
        if self.learned_epsilon:
            self.eps_l = self.add_weight(shape=(channels,), initializer=keras.initializers.Constant(1e-4),
                                         name="eps_l", autocast=False)
        self._spatial_axes = tuple(range(1, len(input_shape) - 1))

    def call(self, inputs):
        x = ops.cast(inputs, "float32")
        nu2 = ops.mean(ops.square(x), axis=self._spatial_axes, keepdims=True)
        eps = self.epsilon
        if self.learned_epsilon:
            eps = eps + ops.abs(ops.cast(self.eps_l, "float32"))
        x = x * ops.rsqrt(nu2 + eps)
        y = ops.cast(self.gamma, "float32") * x + ops.cast(self.beta, "float32")
        return ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "epsilon": self.epsilon,
            "learned_epsilon": self.learned_epsilon,
            "axis": self.axis,
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
        })
        return config


@keras.saving.register_keras_serializable(package="fmnist_keras")
class TLU(keras.layers.Layer):
    """Thresholded Linear Unit: `max(x, tau)` with a learned per-channel `tau`.

    The activation that comes with `FilterResponseNormalization`; with
    `tau = 0` it is ReLU. Computed in float32 like FRN.

    Args:
        axis: channel axis; only -1 (channels-last) is supported.
        tau_initializer: initializer of the threshold (zeros: starts as ReLU).
        **kwargs: base `keras.layers.Layer` arguments.

    Reference:
        https://arxiv.org/abs/1911.09737
    """

    def __init__(self, axis=-1, tau_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        _check_axis(axis)
        self.axis = axis
        self.tau_initializer = keras.initializers.get(tau_initializer)

    def build(self, input_shape):
        channels = input_shape[-1]
        if channels is None:
            raise ValueError(f"the channel axis must be known. Received: input_shape={tuple(input_shape)}")
        self.tau = self.add_weight(shape=(channels,), initializer=self.tau_initializer,
                                   name="tau", autocast=False)

    def call(self, inputs):
        y = ops.maximum(ops.cast(inputs, "float32"), ops.cast(self.tau, "float32"))
        return ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update({
            "axis": self.axis,
            "tau_initializer": keras.initializers.serialize(self.tau_initializer),
        })
        return config
