"""Optimizers with the reports' (PyTorch) semantics.

Keras' `weight_decay` argument is *decoupled* (AdamW-style: the weights shrink
by lr * wd outside the gradient). The reports use PyTorch's `weight_decay`,
which is a *coupled* L2 term: `wd * w` is added to the gradient before
momentum. `SGD` here does exactly that, with PyTorch's momentum form
(`buf = mu * buf + g; w -= lr * buf`), which differs from Keras' form
(`m = mu * m - lr * g`) whenever the learning rate changes between steps.

`l2_scope` says which variables the coupled L2 reaches: "all" (PyTorch's
`weight_decay`: every parameter, BatchNorm's and biases included) or
"kernels" (variables of rank >= 2: conv and dense kernels). Keras'
`kernel_regularizer=l2(lam)` adds `lam * sum(w**2)` to the loss, whose
gradient is `2 * lam * w` on kernels only: that is `l2=2 * lam,
l2_scope="kernels"` here, without touching the model.
"""

import keras
from keras import ops

from fmnist_keras.choices import L2_SCOPES, OPTIMIZERS


@keras.saving.register_keras_serializable(package="fmnist_keras")
class SGD(keras.optimizers.Optimizer):
    """SGD with momentum, Nesterov and coupled L2, as `torch.optim.SGD`.

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        momentum: the momentum factor mu (0 disables the buffer).
        nesterov: use Nesterov momentum (`w -= lr * (g + mu * buf)`).
        l2: coupled weight decay: `g += l2 * w` for every trainable variable
            (PyTorch applies it to all parameters, BatchNorm's included).
        l2_scope: "all", or "kernels" for rank >= 2 variables only (module docstring).
        **kwargs: base optimizer arguments (`clipnorm`, `name`, ...).
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, l2=0.0, l2_scope="all", name="sgd",
                 **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1). Received: momentum={momentum!r}")
        self.l2, self.l2_scope = _check_l2(l2, l2_scope)
        if nesterov and momentum == 0:
            raise ValueError(f"nesterov needs momentum > 0. Received: momentum={momentum!r}")
        self.momentum = momentum
        self.nesterov = nesterov

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.momentums = self.add_optimizer_variables(variables, "momentum") if self.momentum else []

    def update_step(self, gradient, variable, learning_rate):
        learning_rate = ops.cast(learning_rate, variable.dtype)
        gradient = _add_coupled_l2(self, gradient, variable)
        if self.momentum:
            momentum = ops.cast(self.momentum, variable.dtype)
            buf = self.momentums[self._get_variable_index(variable)]
            self.assign(buf, momentum * buf + gradient)
            gradient = gradient + momentum * buf if self.nesterov else buf
        self.assign_sub(variable, learning_rate * gradient)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov, "l2": self.l2,
                "l2_scope": self.l2_scope}


def _add_coupled_l2(optimizer, gradient, variable):
    gradient = ops.cast(gradient, variable.dtype)
    if optimizer.l2 and (optimizer.l2_scope == "all" or len(variable.shape) >= 2):
        gradient = gradient + ops.cast(optimizer.l2, variable.dtype) * variable
    return gradient


def _check_l2(l2, l2_scope):
    if not l2 >= 0:
        raise ValueError(f"l2 must be >= 0. Received: l2={l2!r}")
    if l2_scope not in L2_SCOPES:
        raise ValueError(f"l2_scope must be one of {', '.join(L2_SCOPES)}. Received: l2_scope={l2_scope!r}")
    return l2, l2_scope


class _CoupledL2:
    """Mixin for a Keras optimizer: PyTorch's coupled L2 added to the gradient first."""

    def __init__(self, learning_rate=0.001, l2=0.0, l2_scope="all", **kwargs):
        super().__init__(learning_rate=learning_rate, **kwargs)
        self.l2, self.l2_scope = _check_l2(l2, l2_scope)

    def update_step(self, gradient, variable, learning_rate):
        super().update_step(_add_coupled_l2(self, gradient, variable), variable, learning_rate)

    def get_config(self):
        return {**super().get_config(), "l2": self.l2, "l2_scope": self.l2_scope}


@keras.saving.register_keras_serializable(package="fmnist_keras")
class Adam(_CoupledL2, keras.optimizers.Adam):
    """Keras Adam plus PyTorch's coupled L2 (`torch.optim.Adam(weight_decay=l2)`).

    Reports 001 and 004 use Adam with "L2": the decay goes into the gradient and
    so through Adam's normalization, unlike Keras' decoupled `weight_decay`
    (AdamW). Keras' Adam update itself equals PyTorch's up to where epsilon
    sits (Keras adds it to sqrt(v_hat) scaled by the bias correction).

    Args:
        learning_rate: a float or a `LearningRateSchedule`.
        l2, l2_scope: coupled L2 coefficient and the variables it reaches (see `SGD`).
        **kwargs: `keras.optimizers.Adam` arguments.
    """


@keras.saving.register_keras_serializable(package="fmnist_keras")
class RMSprop(_CoupledL2, keras.optimizers.RMSprop):
    """Keras RMSprop plus PyTorch's coupled L2 (see `Adam`)."""


class _AdamMoments(keras.optimizers.Optimizer):
    """Shared state and moment updates of RAdam and AdaBound."""

    def __init__(self, learning_rate, beta_1, beta_2, epsilon, l2, name, l2_scope="all", **kwargs):
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        for arg, value in (("beta_1", beta_1), ("beta_2", beta_2)):
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{arg} must be in [0, 1). Received: {arg}={value!r}")
        self.beta_1, self.beta_2, self.epsilon = beta_1, beta_2, epsilon
        self.l2, self.l2_scope = _check_l2(l2, l2_scope)

    def build(self, variables):
        if self.built:
            return
        super().build(variables)
        self.ms = self.add_optimizer_variables(variables, "m")
        self.vs = self.add_optimizer_variables(variables, "v")

    def _moments(self, gradient, variable):
        """Updates and returns (m, v, t) for this variable, with the coupled L2."""
        gradient = _add_coupled_l2(self, gradient, variable)
        index = self._get_variable_index(variable)
        m, v = self.ms[index], self.vs[index]
        b1, b2 = ops.cast(self.beta_1, variable.dtype), ops.cast(self.beta_2, variable.dtype)
        self.assign(m, b1 * m + (1 - b1) * gradient)
        self.assign(v, b2 * v + (1 - b2) * gradient * gradient)
        t = ops.cast(self.iterations + 1, variable.dtype)
        return m, v, t, b1, b2

    def get_config(self):
        return {**super().get_config(), "beta_1": self.beta_1, "beta_2": self.beta_2,
                "epsilon": self.epsilon, "l2": self.l2, "l2_scope": self.l2_scope}


@keras.saving.register_keras_serializable(package="fmnist_keras")
class RAdam(_AdamMoments):
    """Rectified Adam (Liu et al., 2019).

    While the variance of the adaptive rate is intractable (rho_t <= 5, the
    first few steps) it takes plain momentum steps; afterwards Adam steps
    scaled by the rectification term r_t. The threshold 5 is PyTorch's
    (`torch.optim.RAdam`); the paper writes 4.

    Args:
        learning_rate, beta_1, beta_2, epsilon: as in Adam.
        l2, l2_scope: coupled L2 coefficient and the variables it reaches (see `SGD`).

    Reference: https://arxiv.org/abs/1908.03265
    """

    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, l2=0.0,
                 name="radam", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, l2, name, **kwargs)

    def update_step(self, gradient, variable, learning_rate):
        m, v, t, b1, b2 = self._moments(gradient, variable)
        lr = ops.cast(learning_rate, variable.dtype)
        m_hat = m / (1 - b1**t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * b2**t / (1 - b2**t)
        safe_rho = ops.maximum(rho_t, 5.0)
        rect = ops.sqrt((safe_rho - 4) * (safe_rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * safe_rho))
        adaptive = rect * m_hat / (ops.sqrt(v / (1 - b2**t)) + self.epsilon)
        self.assign_sub(variable, lr * ops.where(rho_t > 5.0, adaptive, m_hat))


@keras.saving.register_keras_serializable(package="fmnist_keras")
class AdaBound(_AdamMoments):
    """AdaBound (Luo et al., 2019): Adam whose per-weight rate is clipped into
    bounds that close in on `final_lr`, so it starts like Adam and ends like SGD.

    As in the authors' code the bounds are `final_lr * (1 -+ 1 / (gamma * t + 1))`
    (upper `... + 1 / (gamma * t)`), scaled by `lr_t / lr_0` so that a learning-
    rate schedule moves them too (lr_0: the rate at step 0).

    Args:
        learning_rate, beta_1, beta_2, epsilon: as in Adam.
        final_lr: the SGD rate the bounds converge to.
        gamma: convergence speed of the bounds.
        l2, l2_scope: coupled L2 coefficient and the variables it reaches (see `SGD`).

    Reference: https://arxiv.org/abs/1902.09843
    """

    def __init__(self, learning_rate=0.001, final_lr=0.1, gamma=1e-3, beta_1=0.9, beta_2=0.999,
                 epsilon=1e-8, l2=0.0, name="adabound", **kwargs):
        super().__init__(learning_rate, beta_1, beta_2, epsilon, l2, name, **kwargs)
        if not final_lr > 0 or not gamma > 0:
            raise ValueError(f"final_lr and gamma must be > 0. Received: final_lr={final_lr!r}, gamma={gamma!r}")
        self.final_lr, self.gamma = final_lr, gamma

    def update_step(self, gradient, variable, learning_rate):
        m, v, t, b1, b2 = self._moments(gradient, variable)
        lr = ops.cast(learning_rate, variable.dtype)
        schedule = self._learning_rate
        if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule):
            final_lr = self.final_lr * lr / ops.cast(schedule(0), variable.dtype)
        else:  # a constant rate: lr_t / lr_0 is 1
            final_lr = ops.cast(self.final_lr, variable.dtype)
        lower = final_lr * (1 - 1 / (self.gamma * t + 1))
        upper = final_lr * (1 + 1 / (self.gamma * t))
        step_size = lr * ops.sqrt(1 - b2**t) / (1 - b1**t)
        rate = ops.clip(step_size / (ops.sqrt(v) + self.epsilon), lower, upper)
        self.assign_sub(variable, rate * m)

    def get_config(self):
        return {**super().get_config(), "final_lr": self.final_lr, "gamma": self.gamma}


def make_optimizer(config, schedule):
    """The config's optimizer on `schedule`.

    `config.l2` is the coupled L2 of the reports (PyTorch's `weight_decay`),
    on the variables `config.l2_scope` names;
    `config.weight_decay` is the decoupled decay of "sgdw"/"adamw" (Keras'
    `weight_decay`, Loshchilov & Hutter), multiplied by the learning rate.
    """
    name = config.optimizer
    l2 = dict(l2=config.l2, l2_scope=config.l2_scope)
    if name in ("sgdw", "adamw") and config.l2:
        raise ValueError(f"{name} decays weights with weight_decay, not l2. Received: l2={config.l2!r}")
    if name == "sgd":
        return SGD(schedule, momentum=config.momentum, nesterov=config.nesterov, **l2)
    if name == "sgdw":
        return keras.optimizers.SGD(schedule, momentum=config.momentum, nesterov=config.nesterov,
                                    weight_decay=config.weight_decay or None)
    if name == "adam":
        return Adam(schedule, **l2)
    if name == "adamw":
        return keras.optimizers.AdamW(schedule, weight_decay=config.weight_decay)
    if name == "rmsprop":
        return RMSprop(schedule, **l2)
    if name == "radam":
        return RAdam(schedule, **l2)
    if name == "adabound":
        return AdaBound(schedule, **l2)
    raise ValueError(f"optimizer must be one of {OPTIMIZERS}. Received: optimizer={name!r}")
