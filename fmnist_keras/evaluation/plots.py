"""The evaluation's figures (PNG): corruption bars, reliability diagram, mistakes gallery, corruption grid."""

import numpy as np

from fmnist_keras.evaluation.corruptions import corrupt


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_corruption_bars(accuracies, path, clean_accuracy=None, baseline=None, baseline_clean=None, title=""):
    """One bar per corruption (mean accuracy over severities) with each severity as a dot.

    Args:
        accuracies: `{corruption: [accuracy per severity]}`.
        baseline: the same for the baseline model, drawn as a hatched bar beside it.
    """
    plt = _pyplot()
    names = list(accuracies)
    x = np.arange(len(names))
    width = 0.38 if baseline else 0.7
    fig, ax = plt.subplots(figsize=(max(8, 0.65 * len(names) + 2), 4.5))
    means = [np.mean(accuracies[n]) for n in names]
    ax.bar(x - (width / 2 if baseline else 0), means, width, color="tab:blue", label="model (mean over severities)")
    for i, n in enumerate(names):
        ys = accuracies[n]
        ax.scatter(np.full(len(ys), x[i] - (width / 2 if baseline else 0)), ys, s=10, color="black", zorder=3,
                   label="model, each severity" if i == 0 else None)
    if baseline:
        ax.bar(x + width / 2, [np.mean(baseline[n]) for n in names], width, color="tab:gray", hatch="//",
               alpha=0.6, label="baseline (mean)")
    if clean_accuracy is not None:
        ax.axhline(clean_accuracy, color="tab:green", linestyle="--", label=f"model clean {clean_accuracy:.2%}")
    if baseline_clean is not None:
        ax.axhline(baseline_clean, color="tab:gray", linestyle=":", label=f"baseline clean {baseline_clean:.2%}")
    ax.set_xticks(x, names, rotation=40, ha="right")
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_reliability(before, after, path, labels=("before", "after")):
    """Reliability diagrams side by side: accuracy per confidence bin against the diagonal.

    Args:
        before, after: `calibration.reliability_bins` outputs plus an `ece` entry.
    """
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5))
    for ax, table, name in zip(axes, (before, after), labels):
        edges = table["edges"]
        centres, width = (edges[:-1] + edges[1:]) / 2, edges[1] - edges[0]
        full = table["count"] > 0
        ax.bar(centres[full], table["accuracy"][full], width * 0.95, color="tab:blue", edgecolor="black",
               label="accuracy")
        gap = (table["confidence"] - table["accuracy"])[full]
        ax.bar(centres[full], np.abs(gap), width * 0.95, bottom=np.minimum(table["accuracy"], table["confidence"])[full],
               color="tab:red", alpha=0.35, hatch="//", label="gap to mean confidence")
        ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("confidence (max probability)")
        ax.set_ylabel("accuracy")
        ax.set_title(f"{name}: ECE {table['ece']:.2%}")
        ax.legend(fontsize=8, loc="upper left")
        twin = ax.twinx()
        twin.step(edges[:-1], table["count"] / max(table["count"].sum(), 1), where="post", color="tab:gray",
                  alpha=0.6)
        twin.set_ylabel("share of images", color="tab:gray")
        twin.set_ylim(0, 1)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_gallery(images, labels, top_idx, top_p, indices, class_names, path, columns=8):
    """Misclassified images titled with the true class and the two most likely classes."""
    plt = _pyplot()
    count = max(len(indices), 1)
    rows = int(np.ceil(count / columns))
    fig, axes = plt.subplots(rows, columns, figsize=(columns * 1.6, rows * 2.3), squeeze=False,
                             layout="constrained")
    for ax in axes.ravel():
        ax.axis("off")
    for ax, i in zip(axes.ravel(), indices):
        ax.imshow(np.asarray(images[i]).reshape(images.shape[1:3]), cmap="gray", vmin=0, vmax=255)
        (a, b), (pa, pb) = top_idx[i], top_p[i]
        ax.set_title(f"true {class_names[labels[i]]}\n{class_names[a]} {pa:.0%}\n{class_names[b]} {pb:.0%}",
                     fontsize=7)
    if not len(indices):
        axes[0, 0].text(0, 0.5, "no misclassified images", fontsize=10)
    fig.suptitle("most confident mistakes (true class; top-2 predictions)", fontsize=10)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_corruption_grid(image, names, path, severities=(0, 1, 2, 3, 4, 5), seed=0, title=""):
    """One uint8 image `(H, W)` under every corruption (rows) and severity (columns)."""
    plt = _pyplot()
    image = np.asarray(image)[None]
    fig, axes = plt.subplots(len(names), len(severities), figsize=(len(severities) * 1.1, len(names) * 1.1),
                             squeeze=False)
    for r, name in enumerate(names):
        for c, severity in enumerate(severities):
            ax = axes[r, c]
            ax.imshow(corrupt(image, name, severity, seed)[0], cmap="gray", vmin=0, vmax=255)
            ax.set_xticks([])
            ax.set_yticks([])
            if c == 0:
                ax.set_ylabel(name, rotation=0, ha="right", va="center", fontsize=8)
            if r == 0:
                ax.set_title("clean" if severity == 0 else f"severity {severity}", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
