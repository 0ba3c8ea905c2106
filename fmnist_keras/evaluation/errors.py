"""Error analysis: confusion matrix, per-class accuracy, most-confused pairs, worst mistakes."""

import numpy as np


def confusion_matrix(labels, predictions, num_classes):
    """`(K, K)` counts: row = true class, column = predicted class."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def per_class_accuracy(matrix):
    """Recall of each class (diagonal / row sum); 0 for a class absent from the labels."""
    return np.diag(matrix) / np.maximum(matrix.sum(axis=1), 1)


def most_confused(matrix, class_names, top=10):
    """The `top` largest off-diagonal cells, as dicts (true, predicted, count, share of the true class)."""
    off = matrix.astype(np.float64).copy()
    np.fill_diagonal(off, -1)
    order = np.argsort(-off, axis=None, kind="stable")[:top]
    rows = []
    for flat in order:
        i, j = np.unravel_index(flat, matrix.shape)
        if matrix[i, j] == 0:
            break
        rows.append({"true": class_names[i], "predicted": class_names[j], "count": int(matrix[i, j]),
                     "rate": float(matrix[i, j] / max(matrix[i].sum(), 1))})
    return rows


def confused_pairs(matrix, class_names, top=5):
    """Unordered pairs {a, b} ranked by mistakes both ways (a as b plus b as a)."""
    both = matrix + matrix.T
    pairs = [(int(both[i, j]), i, j) for i in range(len(matrix)) for j in range(i + 1, len(matrix)) if both[i, j]]
    pairs.sort(key=lambda p: (-p[0], p[1], p[2]))
    return [{"classes": [class_names[i], class_names[j]], "count": n,
             "first_as_second": int(matrix[i, j]), "second_as_first": int(matrix[j, i])}
            for n, i, j in pairs[:top]]


def worst_mistakes(probs, labels, count=24):
    """Indices of misclassified images, most confident mistakes first."""
    probs = np.asarray(probs)
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != np.asarray(labels))
    confidence = probs[wrong, predicted[wrong]]
    return wrong[np.argsort(-confidence, kind="stable")][:count]


def top2(probs):
    """`(N, 2)` class indices and `(N, 2)` probabilities of each row's two most likely classes."""
    probs = np.asarray(probs)
    idx = np.argsort(-probs, axis=1, kind="stable")[:, :2]
    return idx, np.take_along_axis(probs, idx, axis=1)
