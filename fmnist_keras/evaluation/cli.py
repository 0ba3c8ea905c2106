"""Evaluate trained models beyond accuracy: corruptions, calibration, TTA/ensembles, errors.

Writes evaluation.json, eval_*.png and a self-contained report.html into the
first model's run folder (or --out), never over an earlier evaluation unless
--overwrite. Runs on any Keras backend: TensorFlow is not needed
(docs/evaluation-jax.md).

Run:
    python -m fmnist_keras.evaluation runs/cnn2_tuned/<stamp>
    python -m fmnist_keras.evaluation RUN --baseline BASELINE_RUN --corruptions fog,jpeg --severities 1,3,5
    python -m fmnist_keras.evaluation RUN_A RUN_B RUN_C --tta flip,shift --out /tmp/ensemble
    python -m fmnist_keras.evaluation RUN --limit 500 --export-corrupted /tmp/fmnist-c

Exit status: 0 on success, 2 for a bad model, flag, data folder or an
existing output.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _severities(text):
    try:
        return tuple(int(s) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers like 1,2,3,4,5. Received: severities={text!r}") from None


PROG = "python -m fmnist_keras.evaluation"


def build_parser(prog=PROG):
    from fmnist_keras.evaluation.corruptions import corruption_names

    parser = argparse.ArgumentParser(
        prog=prog, description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("models", nargs="+", metavar="RUN_DIR_OR_MODEL",
                        help="run folders or .keras files; the first is evaluated, 2+ also form an ensemble")
    parser.add_argument("--corruptions", default="all",
                        help=f"'all', 'none' or a comma list of: {', '.join(corruption_names())}")
    parser.add_argument("--severities", type=_severities, default=(1, 2, 3, 4, 5), help="comma list in 1..5")
    parser.add_argument("--tta", default="flip,shift", help="'none' or a comma list of: flip, shift")
    parser.add_argument("--baseline", default=None, metavar="RUN_DIR", help="model that mCE is relative to")
    parser.add_argument("--out", default=None, metavar="DIR", help="output folder (default: the first run folder)")
    parser.add_argument("--limit", type=int, default=None, help="use the first N test and validation images")
    parser.add_argument("--seed", type=int, default=0, help="corruption seed")
    parser.add_argument("--export-corrupted", default=None, metavar="DIR",
                        help="also write the corrupted test sets (NPZ + IDX) there")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier evaluation's files")
    parser.add_argument("--data-dir", default=None, help="folder with the Fashion-MNIST IDX files")
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--gallery", type=int, default=24, help="misclassified images shown")
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    return parser


def main(argv=None, prog=PROG):
    """Evaluates, prints one summary line and the files written; returns the exit status
    (0, or 2 with one `error:` line for a bad model, flag, data folder or existing output)."""
    args = build_parser(prog).parse_args(argv)
    from fmnist_keras.data import DataError
    from fmnist_keras.evaluation.suite import run_evaluation

    def log(message):
        print(f"[evaluate] {message}", file=sys.stderr, flush=True)

    try:
        results = run_evaluation(
            args.models, baseline=args.baseline, corruptions=args.corruptions, severities=args.severities,
            tta_spec=args.tta, out_dir=args.out, limit=args.limit, seed=args.seed,
            export_corrupted=args.export_corrupted, overwrite=args.overwrite, data_dir=args.data_dir,
            batch_size=args.batch_size, gallery=args.gallery, log=None if args.quiet else log)
    except (ValueError, FileNotFoundError, FileExistsError, DataError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    summary = [f"accuracy {results['clean']['accuracy']:.4f}",
               f"ECE {results['calibration']['before']['ece']:.4f} -> {results['calibration']['after']['ece']:.4f} "
               f"(T={results['calibration']['temperature']:.3f})"]
    rob = results["corruptions"]
    if rob:
        summary.append(f"mean corruption error {rob['mean_corruption_error']:.4f}")
        if rob.get("mce") is not None:
            summary.append(f"mCE {rob['mce']:.4f}")
    print("; ".join(summary))
    print(f"wrote {results['outputs']['json']} and {results['outputs']['html']}")
    return 0
