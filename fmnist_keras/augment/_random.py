"""Gamma, Beta and Dirichlet draws that compile everywhere.

`keras.random.beta`/`gamma` lower to TensorFlow's StatelessRandomGamma,
which XLA cannot compile, so they break a `jit_compile=True` train step.
These use Marsaglia & Tsang's (2000) method with a fixed number of
vectorized candidates (acceptance >= 95% each, so 8 candidates fail with
probability < 1e-10) and work in log space, so tiny concentrations such as
Beta(0.1, 0.1) neither underflow nor produce NaN.
"""

import keras
from keras import ops

_CANDIDATES = 8


def log_gamma_sample(shape, alpha, seed):
    """log of Gamma(alpha, 1) draws of `shape` (alpha > 0, a Python float)."""
    shape = tuple(shape)
    # Draw Gamma(alpha + 1) (>= 1, where Marsaglia-Tsang applies), then boost
    # down: Gamma(alpha) = Gamma(alpha + 1) * U ** (1 / alpha).
    d = alpha + 1.0 - 1.0 / 3.0
    c = 1.0 / (9.0 * d) ** 0.5
    x = keras.random.normal(shape + (_CANDIDATES,), seed=seed)
    u = keras.random.uniform(shape + (_CANDIDATES,), seed=seed)
    v = ops.maximum((1.0 + c * x) ** 3, 1e-6)
    accept = (1.0 + c * x > 0) & (ops.log(u) < 0.5 * x * x + d - d * v + d * ops.log(v))
    first = ops.argmax(ops.cast(accept, "int32"), axis=-1)[..., None]
    log_v = ops.take_along_axis(ops.log(v), first, axis=-1)[..., 0]
    boost = keras.random.uniform(shape, minval=1e-12, maxval=1.0, seed=seed)
    return ops.log(d) + log_v + ops.log(boost) / alpha


def beta_sample(shape, a, b, seed):
    """Beta(a, b) draws of `shape`, as X / (X + Y) computed in log space."""
    return ops.sigmoid(log_gamma_sample(shape, a, seed) - log_gamma_sample(shape, b, seed))


def dirichlet_sample(shape, alpha, k, seed):
    """Symmetric Dirichlet(alpha) draws: `shape + (k,)`, rows sum to 1."""
    return ops.softmax(log_gamma_sample(tuple(shape) + (k,), alpha, seed), axis=-1)
