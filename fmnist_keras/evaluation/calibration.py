"""Calibration: ECE, NLL, Brier score, reliability bins and temperature scaling.

Our models return probabilities, not logits; `log(p)` is a valid logit vector
(softmax(log p) = p), so temperature scaling divides `log(p)` by T.

References:
    Guo et al., "On Calibration of Modern Neural Networks" (ECE with 15 bins,
    temperature scaling), https://arxiv.org/abs/1706.04599
    Brier, "Verification of forecasts expressed in terms of probability", 1950.
"""

import numpy as np

_TINY = 1e-12


def check_probabilities(probs, labels=None):
    """Validates `(N, K)` probability rows (and `(N,)` integer labels); returns float64 arrays."""
    probs = np.asarray(probs, np.float64)
    if probs.ndim != 2 or not np.all(np.isfinite(probs)) or probs.min(initial=0.0) < 0:
        raise ValueError(f"probs must be finite non-negative (N, classes) rows. Received: probs with "
                         f"shape={probs.shape}")
    if labels is None:
        return probs
    labels = np.asarray(labels)
    if labels.shape != (len(probs),) or (labels.size and (labels.min() < 0 or labels.max() >= probs.shape[1])):
        raise ValueError(f"labels must be (N,) integers in 0..{probs.shape[1] - 1} matching probs. Received: "
                         f"labels with shape={labels.shape}")
    return probs, labels.astype(np.int64)


def normalize_rows(probs):
    """Rows scaled to sum to 1 (a sigmoid head's one-vs-rest scores become a distribution)."""
    probs = check_probabilities(probs)
    return probs / np.maximum(probs.sum(axis=1, keepdims=True), _TINY)


def reliability_bins(probs, labels, bins=15):
    """Per equal-width confidence bin `(lo, hi]`: count, mean confidence, accuracy.

    Returns:
        dict of arrays `edges` (bins + 1), `count`, `confidence`, `accuracy`
        (`confidence` and `accuracy` are NaN for empty bins).
    """
    probs, labels = check_probabilities(probs, labels)
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise ValueError(f"bins must be a positive integer. Received: bins={bins!r}")
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    # Bin b holds confidences in (edges[b], edges[b + 1]]; confidence 0 goes to bin 0.
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)
    count = np.bincount(which, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(which, confidence, minlength=bins) / count
        accuracy = np.bincount(which, correct.astype(np.float64), minlength=bins) / count
    return {"edges": edges, "count": count, "confidence": mean_conf, "accuracy": accuracy}


def expected_calibration_error(probs, labels, bins=15):
    """ECE: sum over bins of (bin size / N) * |accuracy - mean confidence| (Guo et al., 2017)."""
    table = reliability_bins(probs, labels, bins)
    full = table["count"] > 0
    gaps = np.abs(table["accuracy"][full] - table["confidence"][full])
    return float(np.sum(table["count"][full] * gaps) / max(table["count"].sum(), 1))


def negative_log_likelihood(probs, labels):
    """Mean -log p(true class), with p clipped at 1e-12 so a confident miss costs ~27.6, not inf."""
    probs, labels = check_probabilities(probs, labels)
    return float(-np.mean(np.log(np.maximum(probs[np.arange(len(labels)), labels], _TINY))))


def brier_score(probs, labels):
    """Mean over images of the squared distance between the probability row and the one-hot label."""
    probs, labels = check_probabilities(probs, labels)
    onehot = np.eye(probs.shape[1])[labels]
    return float(np.mean(np.sum((probs - onehot) ** 2, axis=1)))


def apply_temperature(probs, temperature):
    """softmax(log(p) / T): T > 1 softens, T < 1 sharpens, T = 1 is the identity."""
    if not np.isfinite(temperature) or temperature <= 0:
        raise ValueError(f"temperature must be a positive number. Received: temperature={temperature!r}")
    logits = np.log(np.maximum(check_probabilities(probs), _TINY)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(probs, labels, low=0.05, high=20.0, iterations=100):
    """The T minimizing NLL of `apply_temperature(probs, T)` on held-out data.

    NLL is convex in 1/T, hence unimodal in log T: a golden-section search on
    log T over `[low, high]` finds the minimum without SciPy and without any
    randomness.
    """
    probs, labels = check_probabilities(probs, labels)
    if not 0 < low < high:
        raise ValueError(f"need 0 < low < high. Received: low={low!r}, high={high!r}")

    def loss(log_t):
        return negative_log_likelihood(apply_temperature(probs, float(np.exp(log_t))), labels)

    golden = (np.sqrt(5.0) - 1.0) / 2.0
    a, b = np.log(low), np.log(high)
    c, d = b - golden * (b - a), a + golden * (b - a)
    fc, fd = loss(c), loss(d)
    for _ in range(iterations):
        if fc <= fd:
            b, d, fd = d, c, fc
            c = b - golden * (b - a)
            fc = loss(c)
        else:
            a, c, fc = c, d, fd
            d = a + golden * (b - a)
            fd = loss(d)
        if b - a < 1e-6:
            break
    return float(np.exp((a + b) / 2.0))


def calibration_metrics(probs, labels, bins=15):
    """Accuracy, ECE, NLL and Brier score of one set of predictions."""
    probs, labels = check_probabilities(probs, labels)
    return {
        "accuracy": float(np.mean(probs.argmax(axis=1) == labels)),
        "ece": expected_calibration_error(probs, labels, bins),
        "nll": negative_log_likelihood(probs, labels),
        "brier": brier_score(probs, labels),
    }
