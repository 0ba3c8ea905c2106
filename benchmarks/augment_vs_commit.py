"""Our augmentation ops now against the same ops at an earlier commit, in one process.

A speed change is claimed as a ratio measured back to back, not as two
absolute numbers from different runs (this VM varies by +-20% between runs).
The package as it was at COMMIT is extracted with `git archive` into a
temporary folder under another name, so both versions load side by side.

    python benchmarks/augment_vs_commit.py COMMIT [--only chain,pad_crop] [--rounds 5] [--seconds 1.5]

Prints, per stack and with/without XLA, the median images/second of each
version over the rounds and their ratio (new / old).
"""

import argparse
import importlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import augment as bench  # noqa: E402  (benchmarks/augment.py: the cases and the timer)

REPO = Path(__file__).resolve().parents[1]


def load_package_at(commit, folder):
    """Imports `fmnist_keras` as it was at `commit`, renamed `fmnist_at_commit`."""
    archive = subprocess.run(["git", "-C", str(REPO), "archive", commit, "fmnist_keras"],
                             capture_output=True, check=False)
    if archive.returncode != 0:
        raise SystemExit(f"cannot read fmnist_keras at commit {commit!r}: "
                         f"{archive.stderr.decode().strip()}")
    subprocess.run(["tar", "-x", "-C", folder], input=archive.stdout, check=True)
    old = Path(folder) / "fmnist_at_commit"
    (Path(folder) / "fmnist_keras").rename(old)
    for path in old.rglob("*.py"):
        path.write_text(path.read_text().replace("fmnist_keras", "fmnist_at_commit"))
    sys.path.insert(0, folder)
    return importlib.import_module("fmnist_at_commit.augment")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("commit", help="the git commit (or tag, branch) to compare against")
    parser.add_argument("--only", default="chain", help="comma-separated case names of benchmarks/augment.py")
    parser.add_argument("--rounds", type=int, default=5, help="alternating measurements per version")
    parser.add_argument("--seconds", type=float, default=1.5, help="time per measurement")
    args = parser.parse_args(argv)
    unknown = [n for n in args.only.split(",") if n not in bench.OURS]
    if unknown:
        raise SystemExit(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(bench.OURS)}")
    import numpy as np
    import tensorflow as tf

    import fmnist_keras.augment as new
    from fmnist_keras.data import load_fashion_mnist

    with tempfile.TemporaryDirectory() as folder:
        old = load_package_at(args.commit, folder)
        (x, y), _ = load_fashion_mnist()
        images = tf.constant(x[:bench.BATCH, :, :, None].astype("float32") / 255.0)
        labels = tf.constant(np.eye(10, dtype="float32")[y[:bench.BATCH]])
        print(f"| op | XLA | at {args.commit} (img/s) | now (img/s) | now / then |")
        print("|---|---|---:|---:|---:|")
        for name in args.only.split(","):
            spec = bench.OURS[name]
            for jit in (False, True):
                rates = {"old": [], "new": []}
                for _ in range(args.rounds):
                    for key, module in (("old", old), ("new", new)):
                        stack = module.AugmentStack(spec, seed=0)
                        rate, error = bench.measure(lambda i, l, s=stack: s(i, l)[0], images, labels,
                                                    jit, args.seconds)
                        if error:
                            raise SystemExit(f"{name} ({key}): {error}")
                        rates[key].append(rate)
                then, now = (float(np.median(rates[k])) for k in ("old", "new"))
                print(f"| {name} | {'yes' if jit else 'no'} | {then:,.0f} | {now:,.0f} | {now / then:.2f}x |",
                      flush=True)


if __name__ == "__main__":
    main()
