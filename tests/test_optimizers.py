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
    opt = cls(learning_rate=0.01, l2=1e-4)
    again = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
    assert type(again) is cls and again.l2 == 1e-4
    with pytest.raises(ValueError, match="Received: l2=-0.1"):
        cls(learning_rate=0.01, l2=-0.1)
