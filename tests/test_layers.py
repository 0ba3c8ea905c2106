"""FilterResponseNormalization and TLU against a NumPy reference, serialization, dtypes."""

import os
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

import fmnist_keras
from fmnist_keras.layers import TLU, FilterResponseNormalization


def frn_reference(x, gamma, beta, eps):
    """Singh & Krishnan (2019), eq. 1-2, in float64: nu2 over H, W per image and channel."""
    nu2 = np.mean(np.square(x), axis=(1, 2), keepdims=True)
    return gamma * x / np.sqrt(nu2 + eps) + beta


def frn_reference_grads(x, gamma, eps, upstream):
    """Analytic gradients of `sum(upstream * FRN(x))` w.r.t. x, gamma, beta.

    With r = (nu2 + eps)^-1/2 and N = H*W: dy_i/dx_j = gamma (r d_ij - r^3 x_i x_j / N).
    """
    n = x.shape[1] * x.shape[2]
    nu2 = np.mean(np.square(x), axis=(1, 2), keepdims=True)
    r = 1.0 / np.sqrt(nu2 + eps)
    g = upstream * gamma
    dx = g * r - r**3 * x * np.sum(g * x, axis=(1, 2), keepdims=True) / n
    dgamma = np.sum(upstream * x * r, axis=(0, 1, 2))
    dbeta = np.sum(upstream, axis=(0, 1, 2))
    return dx, dgamma, dbeta


@pytest.fixture
def frn_case():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 5, 4, 6)) * rng.uniform(0.1, 3.0, size=(3, 1, 1, 6))
    gamma = rng.uniform(0.5, 1.5, size=(6,))
    beta = rng.normal(size=(6,))
    upstream = rng.normal(size=x.shape)
    return x, gamma, beta, upstream


def _frn_layer(gamma, beta, **kwargs):
    layer = FilterResponseNormalization(**kwargs)
    layer.build((None, 5, 4, 6))
    layer.gamma.assign(gamma.astype("float32"))
    layer.beta.assign(beta.astype("float32"))
    return layer


@pytest.mark.parametrize("eps", [1e-6, 1e-2])
def test_frn_forward_matches_numpy(frn_case, eps):
    x, gamma, beta, _ = frn_case
    layer = _frn_layer(gamma, beta, epsilon=eps)
    got = keras.ops.convert_to_numpy(layer(x.astype("float32")))
    np.testing.assert_allclose(got, frn_reference(x, gamma, beta, eps), rtol=1e-5, atol=1e-5)


def test_frn_forward_on_real_images_matches_numpy(real_batch):
    images = real_batch[0][:8].astype("float64")
    layer = FilterResponseNormalization()
    got = keras.ops.convert_to_numpy(layer(images.astype("float32")))
    np.testing.assert_allclose(got, frn_reference(images, 1.0, 0.0, 1e-6), rtol=1e-5, atol=1e-5)


def test_frn_gradient_matches_numpy(frn_case):
    x, gamma, beta, upstream = frn_case
    eps = 1e-3
    layer = _frn_layer(gamma, beta, epsilon=eps)
    xt = tf.constant(x.astype("float32"))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(tf.constant(upstream.astype("float32")) * layer(xt))
    dx, dgamma, dbeta = tape.gradient(loss, [xt, layer.gamma.value, layer.beta.value])
    ref_dx, ref_dgamma, ref_dbeta = frn_reference_grads(x, gamma, eps, upstream)
    np.testing.assert_allclose(dx.numpy(), ref_dx, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dgamma.numpy(), ref_dgamma, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(dbeta.numpy(), ref_dbeta, rtol=1e-4, atol=1e-5)
    # And the analytic reference itself agrees with central differences.
    h, (b, i, j, c) = 1e-6, (1, 2, 3, 4)
    plus, minus = x.copy(), x.copy()
    plus[b, i, j, c] += h
    minus[b, i, j, c] -= h
    numeric = (np.sum(upstream * frn_reference(plus, gamma, beta, eps))
               - np.sum(upstream * frn_reference(minus, gamma, beta, eps))) / (2 * h)
    np.testing.assert_allclose(ref_dx[b, i, j, c], numeric, rtol=1e-5)


def test_frn_learned_epsilon_on_1x1_maps():
    # On a 1x1 map FRN with a tiny eps is x / |x| (a sign); the learned eps keeps it smooth.
    x = np.array([[[[0.01, -0.02, 3.0]]]], dtype="float32")
    layer = FilterResponseNormalization(learned_epsilon=True)
    out = keras.ops.convert_to_numpy(layer(x))
    eps = 1e-6 + 1e-4  # eps_l starts at 1e-4
    np.testing.assert_allclose(out, x / np.sqrt(x**2 + eps), rtol=1e-5)
    assert len(layer.trainable_weights) == 3


def test_frn_does_not_depend_on_the_batch(frn_case):
    x, gamma, beta, _ = frn_case
    layer = _frn_layer(gamma, beta)
    full = keras.ops.convert_to_numpy(layer(x.astype("float32")))
    one = keras.ops.convert_to_numpy(layer(x[1:2].astype("float32")))
    np.testing.assert_allclose(full[1:2], one, rtol=1e-5, atol=1e-6)


def test_tlu_forward_and_gradient():
    layer = TLU()
    layer.build((None, 2, 2, 3))
    tau = np.array([-0.5, 0.0, 0.7], dtype="float32")
    layer.tau.assign(tau)
    x = np.linspace(-2, 2, 12, dtype="float32").reshape(1, 2, 2, 3)
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        loss = tf.reduce_sum(y)
    dx, dtau = tape.gradient(loss, [xt, layer.tau.value])
    np.testing.assert_allclose(y.numpy(), np.maximum(x, tau))
    np.testing.assert_allclose(dx.numpy(), (x > tau).astype("float32"))
    np.testing.assert_allclose(dtau.numpy(), np.sum(x < tau, axis=(0, 1, 2)))


@pytest.mark.parametrize("layer", [
    FilterResponseNormalization(epsilon=1e-3, learned_epsilon=True, gamma_initializer="zeros",
                                name="my_frn"),
    TLU(tau_initializer=keras.initializers.Constant(0.25), name="my_tlu"),
], ids=["frn", "tlu"])
def test_config_round_trip(layer):
    config = layer.get_config()
    clone = layer.__class__.from_config(config)
    assert clone.get_config() == config
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


def test_registered_names():
    assert keras.saving.get_registered_name(FilterResponseNormalization) == (
        "fmnist_keras>FilterResponseNormalization")
    assert keras.saving.get_registered_name(TLU) == "fmnist_keras>TLU"
    assert fmnist_keras.layers.TLU is TLU


@pytest.mark.parametrize("kwargs, message", [
    ({"epsilon": -1.0}, "Received: epsilon=-1.0"),
    ({"learned_epsilon": "yes"}, "Received: learned_epsilon='yes'"),
    ({"axis": 1}, "Received: axis=1"),
])
def test_frn_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=f"{message}$"):
        FilterResponseNormalization(**kwargs)


def test_frn_needs_spatial_axes():
    with pytest.raises(ValueError, match=r"Received: input_shape=\(None, 4\)$"):
        FilterResponseNormalization()(keras.Input((4,)))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_float32_math_under_mixed_precision(policy):
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(policy)
    try:
        frn, tlu = FilterResponseNormalization(), TLU()
        # 300**2 overflows float16 (max 65504): the layer must square in float32.
        x = keras.ops.cast(keras.ops.full((2, 4, 4, 3), 300.0), frn.compute_dtype)
        out = tlu(frn(x))
        assert frn.gamma.dtype == "float32" and tlu.tau.dtype == "float32"
        assert keras.backend.standardize_dtype(out.dtype) == frn.compute_dtype
        np.testing.assert_allclose(keras.ops.convert_to_numpy(keras.ops.cast(out, "float32")), 1.0,
                                   rtol=1e-2)
    finally:
        keras.config.set_dtype_policy(previous)


_OTHER_BACKEND = textwrap.dedent("""
    import numpy as np, keras
    import fmnist_keras.layers as L
    assert keras.backend.backend() == "{backend}"
    x = np.random.default_rng(0).normal(size=(2, 3, 3, 4)).astype("float32")
    y = keras.ops.convert_to_numpy(L.TLU()(L.FilterResponseNormalization()(x)))
    ref = np.maximum(x / np.sqrt(np.mean(x**2, axis=(1, 2), keepdims=True) + 1e-6), 0)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-6)
    print("ok")
""")


@pytest.mark.parametrize("backend", ["jax", "numpy"])
def test_layers_run_on_other_backends(backend):
    """Only keras.ops inside: the layers run unchanged on JAX (and Keras' NumPy backend)."""
    pytest.importorskip("jax")  # Keras' NumPy backend imports JAX (for its fft) and SciPy too
    if backend == "numpy":
        pytest.importorskip("scipy")
    env = dict(os.environ, KERAS_BACKEND=backend)
    result = subprocess.run([sys.executable, "-c", _OTHER_BACKEND.format(backend=backend)], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith("ok")
