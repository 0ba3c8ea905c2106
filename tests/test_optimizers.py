"""Our optimizers against NumPy transcriptions of the papers' (PyTorch's) update rules."""

import keras
import numpy as np
import pytest

from fmnist_keras.training import optimizers

W0 = np.array([1.0, -2.0, 0.5, 0.0], "float64")
GRADS = [np.array(g, "float64") for g in (
    [0.1, 0.2, -0.3, 0.05], [-0.4, 0.0, 0.2, 0.1], [0.3, -0.1, 0.1, -0.2], [0.2, 0.2, -0.1, 0.0],
    [0.05, -0.3, 0.4, 0.1], [-0.1, 0.1, 0.1, 0.3], [0.2, -0.2, 0.0, 0.1])]


def _run(opt, steps=GRADS):
    var = keras.Variable(W0.astype("float32"))
    for g in steps:
        opt.apply_gradients([(keras.ops.convert_to_tensor(g.astype("float32")), var)])
    return var.numpy()


def _adam_family(update, l2=0.0, b1=0.9, b2=0.999):
    w, m, v = W0.copy(), np.zeros(4), np.zeros(4)
    for t, g in enumerate(GRADS, start=1):
        g = g + l2 * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = update(w, m, v, t)
    return w


def test_radam_matches_the_paper():
    lr, b1, b2, eps = 0.01, 0.9, 0.99, 1e-8  # beta_2 = 0.99 makes rho_t pass 5 within 7 steps

    def update(w, m, v, t):
        m_hat = m / (1 - b1**t)
        rho_inf = 2 / (1 - b2) - 1
        rho = rho_inf - 2 * t * b2**t / (1 - b2**t)
        if rho > 5:
            r = np.sqrt((rho - 4) * (rho - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho))
            return w - lr * r * m_hat / (np.sqrt(v / (1 - b2**t)) + eps)
        return w - lr * m_hat

    expected = _adam_family(update, l2=1e-2, b2=b2)
    got = _run(optimizers.RAdam(lr, beta_2=b2, l2=1e-2))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_adabound_matches_the_authors_rule():
    lr, final_lr, gamma, b1, b2, eps = 0.01, 0.1, 1e-3, 0.9, 0.999, 1e-8

    def update(w, m, v, t):
        lower = final_lr * (1 - 1 / (gamma * t + 1))
        upper = final_lr * (1 + 1 / (gamma * t))
        step = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        return w - np.clip(step / (np.sqrt(v) + eps), lower, upper) * m

    expected = _adam_family(update, l2=5e-4)
    got = _run(optimizers.AdaBound(lr, final_lr=final_lr, gamma=gamma, l2=5e-4))
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-7)


def test_adam_coupled_l2_differs_from_keras_decoupled():
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-7

    def update(w, m, v, t):  # Keras' epsilon placement: eps * sqrt(1 - b2^t)
        alpha = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        return w - alpha * m / (np.sqrt(v) + eps * np.sqrt(1 - b2**t))

    expected = _adam_family(update, l2=0.1)
    np.testing.assert_allclose(_run(optimizers.Adam(lr, l2=0.1)), expected, rtol=1e-5, atol=5e-6)
    decoupled = _run(keras.optimizers.AdamW(lr, weight_decay=0.1))
    assert not np.allclose(decoupled, expected, atol=1e-4)


def test_rmsprop_l2_is_added_to_the_gradient():
    a = _run(optimizers.RMSprop(0.01, l2=0.0), [g + 0.1 * W0 for g in GRADS[:1]])
    b = _run(optimizers.RMSprop(0.01, l2=0.1), GRADS[:1])
    np.testing.assert_allclose(a, b, rtol=1e-6)


@pytest.mark.parametrize("cls", [optimizers.SGD, optimizers.Adam, optimizers.RMSprop,
                                 optimizers.RAdam, optimizers.AdaBound])
def test_serializable_and_validated(cls):
    opt = cls(learning_rate=0.01, l2=1e-4, l2_scope="kernels")
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(again) is cls and again.l2 == 1e-4 and again.l2_scope == "kernels"
    with pytest.raises(ValueError, match="Received: l2=-0.1"):
        cls(learning_rate=0.01, l2=-0.1)
    with pytest.raises(ValueError, match="l2_scope must be one of all, kernels. Received: l2_scope='bias'"):
        cls(learning_rate=0.01, l2=1e-4, l2_scope="bias")


def _train_small_net(optimizer, regularizer=None, steps=5):
    """A Dense + BatchNorm + Dense net on a fixed batch of real-looking data; returns its weights."""
    keras.utils.set_random_seed(3)
    model = keras.Sequential([
        keras.Input((6,)),
        keras.layers.Dense(5, kernel_regularizer=regularizer, bias_initializer="ones"),
        keras.layers.BatchNormalization(beta_initializer="ones"),
        keras.layers.Dense(3, kernel_regularizer=regularizer, bias_initializer="ones"),
    ])
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(16, 6)).astype("float32"), rng.integers(0, 3, 16)
    model.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    for _ in range(steps):
        model.train_on_batch(x, y)
    return [w.numpy() for w in model.trainable_weights]


@pytest.mark.parametrize("cls", [optimizers.Adam, optimizers.SGD])
def test_kernels_scope_equals_keras_kernel_regularizer(cls):
    """Keras' `kernel_regularizer=l2(lam)` (the "L2" of a study written in Keras) is `l2=2*lam,
    l2_scope="kernels"`: the penalty's gradient 2*lam*w on kernels only, biases and BatchNorm untouched."""
    lam = 0.05
    keras_way = _train_small_net(keras.optimizers.Adam(0.01) if cls is optimizers.Adam
                                 else keras.optimizers.SGD(0.1), keras.regularizers.L2(lam))
    ours = _train_small_net(cls(0.01 if cls is optimizers.Adam else 0.1, l2=2 * lam, l2_scope="kernels"))
    for a, b in zip(keras_way, ours):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    everything = _train_small_net(cls(0.01 if cls is optimizers.Adam else 0.1, l2=2 * lam))
    assert not np.allclose(everything[1], keras_way[1], atol=1e-4)  # "all" also decays the biases
