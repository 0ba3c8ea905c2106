"""Optimizers with the reports' (PyTorch) semantics.

Keras' `weight_decay` argument is *decoupled* (AdamW-style: the weights shrink
by lr * wd outside the gradient). The reports use PyTorch's `weight_decay`,
which is a *coupled* L2 term: `wd * w` is added to the gradient before
momentum. `SGD` here does exactly that, with PyTorch's momentum form
(`buf = mu * buf + g; w -= lr * buf`), which differs from Keras' form
(`m = mu * m - lr * g`) whenever the learning rate changes between steps.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="fmnist_keras")
class SGD(keras.optimizers.Optimizer):
    """SGD with momentum, Nesterov and coupled L2, as `torch.optim.SGD`.

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        momentum: the momentum factor mu (0 disables the buffer).
        nesterov: use Nesterov momentum (`w -= lr * (g + mu * buf)`).
        l2: coupled weight decay: `g += l2 * w` for every trainable variable
            (PyTorch applies it to all parameters, BatchNorm's included).
        **kwargs: base optimizer arguments (`clipnorm`, `name`, ...).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, l2=0.0, name="sgd", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1). Received: momentum={momentum!r}")
        if l2 < 0:
            raise ValueError(f"l2 must be >= 0. Received: l2={l2!r}")
        if nesterov and momentum == 0:
            raise ValueError(f"nesterov needs momentum > 0. Received: momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = nesterov
        self.l2 = l2

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum else []

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = ops.cast(gradient, variable.dtype)
        if self.l2:
            gradient = gradient + ops.cast(self.l2, variable.dtype) * variable
        if self.momentum:
            momentum = ops.cast(self.momentum, variable.dtype)
            buf = self.momentums[self._get_variable_index(variable)]
            self.assign(buf, momentum * buf + gradient)
            gradient = gradient + momentum * buf if self.nesterov else buf
        self.assign_sub(variable, learning_rate * gradient)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov, "l2": self.l2}
