"""Draws real training images next to augmented versions of them.

`python -m fmnist_keras.augment.show --augment "flip,cutmix" --out grid.png`

The first row holds the originals; each further row is one fresh draw of the
stack on the same batch. Under an image whose label row is mixed, the two
largest label weights are written (e.g. "0.62 Coat / 0.38 Bag"). A
multi-view stack (`augmix(views=3)`) shows its views as rows: clean,
augmix 1, augmix 2.
"""

import sys
from pathlib import Path

import numpy as np

_HELP_DRAWS = "rows of fresh draws under the originals (multi-view stacks show their views)"


def augment_grid(images, labels, augment, draws=2, seed=0):
    """Runs `augment` on the batch `draws` times.

    Returns:
        A list of `(name, images, labels)` numpy rows: the originals first,
        then one row per draw (or per view for a multi-view stack).
    """
    import keras

    from fmnist_keras.augment import AugmentStack

    stack = AugmentStack(augment, seed=seed)
    rows = [("original", images, labels)]
    if stack.views > 1:
        out, mixed = (keras.ops.convert_to_numpy(t) for t in stack(images, labels))
        for v in range(stack.views):
            rows.append(("clean view" if v == 0 else f"view {v}", out[v::stack.views],
                         mixed[v::stack.views]))
        return rows
    for d in range(draws):
        out, mixed = (keras.ops.convert_to_numpy(t) for t in stack(images, labels))
        rows.append((f"draw {d + 1}", out, mixed))
    return rows


def _caption(row, class_names):
    order = np.argsort(row)[::-1]
    if row[order[0]] > 1 - 1e-6:
        return class_names[order[0]]
    return "\n".join(f"{row[i]:.2f} {class_names[i]}" for i in order[:2] if row[i] > 1e-6)


def plot_grid(rows, path, title, class_names, columns=8):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = min(columns, len(rows[0][1]))
    fig, axes = plt.subplots(len(rows), columns, figsize=(1.25 * columns, 1.55 * len(rows)),
                             squeeze=False)
    for r, (name, images, labels) in enumerate(rows):
        for c in range(columns):
            ax = axes[r, c]
            image = images[c]
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_xlabel(_caption(labels[c], class_names), fontsize=6, labelpad=2)
        axes[r, 0].set_ylabel(name, fontsize=7)
    fig.suptitle(title, fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)
    if all(images.shape[-1] == 1 for _, images, _ in rows):
        from PIL import Image

        # The figure is all gray: an 8-bit gray PNG is ~3x smaller than RGBA.
        Image.open(path).convert("L").save(path, optimize=True)


def main(argv=None):
    """The CLI; prints one line and exits 2 on a bad argument."""
    import argparse

    parser = argparse.ArgumentParser(description="Draw real images next to augmented versions.")
    parser.add_argument("--augment", required=True, help='a stack such as "flip,erasing(prob=1.0)"')
    parser.add_argument("--out", default="grid.png", help="the PNG to write (must not exist)")
    parser.add_argument("--images", type=int, default=8, help="columns (real training images)")
    parser.add_argument("--draws", type=int, default=2, help=_HELP_DRAWS)
    parser.add_argument("--seed", type=int, default=0, help="the augmentation seed")
    parser.add_argument("--data-dir", default=None, help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    args = parser.parse_args(argv)

    def fail(message):
        print(f"show: error: {message}", file=sys.stderr)
        raise SystemExit(2)

    from fmnist_keras.augment import parse_augment

    try:
        parse_augment(args.augment)
    except ValueError as e:
        fail(str(e))
    if args.images < 1 or args.draws < 1:
        fail(f"--images and --draws must be >= 1. Received: images={args.images}, draws={args.draws}")
    if Path(args.out).exists() and not args.force:
        fail(f"{args.out} already exists (pass --force to overwrite). Received: out={args.out!r}")
    from fmnist_keras.data import CLASS_NAMES, load_fashion_mnist, to_model_input

    (x, y), _ = load_fashion_mnist(args.data_dir)
    # A batch of 64 so that mixing ops find partners beyond the shown columns.
    batch = max(64, args.images)
    images = to_model_input(x[:batch, :, :, None])
    labels = np.eye(len(CLASS_NAMES), dtype="float32")[y[:batch]]
    rows = augment_grid(images, labels, args.augment, args.draws, args.seed)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    plot_grid(rows, args.out, args.augment, CLASS_NAMES, columns=args.images)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
