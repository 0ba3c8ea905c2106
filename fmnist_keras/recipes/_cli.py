"""Builds a recipe's command line from its config dataclass.

Every field becomes a flag (`batch_size` -> `--batch-size`) whose default
and help come from the dataclass, so defaults live in one place. `--quick`
applies the recipe's CPU preset first; flags given explicitly win over it.
When `--epochs` changes the length, phase lengths given in epochs
(`warmup_epochs`, `restart_epochs`) scale with it unless also given.
"""

import argparse
import dataclasses
import logging
import sys
import time

import fmnist_keras

from fmnist_keras.data import DataError

SCALED_WITH_EPOCHS = ("warmup_epochs", "restart_epochs", "sgdr_first_epochs")


def _flag_type(default):
    if isinstance(default, tuple):
        return _int_tuple
    return type(default)


def _int_tuple(text):
    """ "400,400" -> (400, 400); "" -> () (e.g. an MLP with no hidden layer)."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def build_parser(config_cls, description, quick_help):
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    defaults = config_cls()
    for field in dataclasses.fields(config_cls):
        default = getattr(defaults, field.name)
        flag = "--" + field.name.replace("_", "-")
        if field.name == "export":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help="SavedModel + TFLite into <run>/export, verified on the test set "
                                     "(default: on, off with --quick, --limit-train or a backend "
                                     "other than TensorFlow)")
        elif isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                                help=f"(default: {default})")
        else:
            parser.add_argument(flag, type=_flag_type(default), default=None, metavar=field.name.upper(),
                                help=f"(default: {default!r})")
    parser.add_argument("--quick", action="store_true", help=quick_help)
    parser.add_argument("--record", action="store_true",
                        help="add this run to the results ledger (recipes/runs/*.json and recipes/README.md)")
    parser.add_argument("--evaluate", action="store_true",
                        help="after training, evaluate the run (corruptions, calibration, TTA, errors; "
                             "fmnist_keras.evaluate) into evaluation.json and report.html")
    parser.add_argument("--resume", metavar="RUN_DIR",
                        help="continue an interrupted run in its folder, with its own config.json")
    return parser


def config_from_args(config_cls, args, quick_preset):
    """The recipe default, then `--quick`, then explicit flags."""
    explicit = {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)
                if getattr(args, f.name) is not None}
    base = config_cls(**quick_preset) if args.quick else config_cls()
    if "epochs" in explicit and explicit["epochs"] != base.epochs and explicit["epochs"] > 0:
        scale = explicit["epochs"] / base.epochs
        for name in SCALED_WITH_EPOCHS:
            if name not in explicit:
                explicit[name] = getattr(base, name) * scale
    config = dataclasses.replace(base, **explicit)
    if hasattr(config, "export") and getattr(config, "export_full_runs", True) and "export" not in explicit:
        # Full runs export, quick/sliced ones do not; nor do backends without TensorFlow.
        import keras

        config = dataclasses.replace(config, export=not args.quick and not config.limit_train
                                     and keras.config.backend() == "tensorflow")
    return config


def run_recipe(argv, config_cls, description, quick_preset, quick_help, recipe, run=None,
               report_number=None):
    """Parses `argv`, trains (or resumes), prints one summary line; returns the results.

    User errors (bad flags, data, folders) become one line on stderr and exit 2.

    Args:
        run: optional `fn(config) -> results` replacing `fit_and_evaluate`
            (recipes that run several configurations).
        report_number: the report's test accuracy in percent, for the ledger (left
            out when `--model` swaps the recipe's model for another).
    """
    from fmnist_keras.training import runner

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = build_parser(config_cls, description, quick_help)
    args = parser.parse_args(argv)
    try:
        if args.resume:
            given = [f.name for f in dataclasses.fields(config_cls) if getattr(args, f.name) is not None]
            if given or args.quick:
                raise ValueError(
                    "--resume continues a run with its own config.json; drop the other flags. "
                    f"Received: {', '.join(given + ['quick'] * args.quick)}")
            results = runner.resume(args.resume, config_cls, recipe)
        else:
            config = config_from_args(config_cls, args, quick_preset)
            results = (run or (lambda c: runner.fit_and_evaluate(c, recipe=recipe)))(config)
    except (ValueError, DataError, FileExistsError, FileNotFoundError, FloatingPointError) as e:
        print(f"{recipe}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    if args.evaluate:
        from fmnist_keras.evaluation import model_folders, run_evaluation, summary

        try:
            evaluation = run_evaluation(model_folders(results), out_dir=results["run_dir"],
                                        data_dir=args.data_dir or None,
                                        log=lambda m: print(f"{recipe}: evaluate: {m}", file=sys.stderr))
        except (ValueError, DataError, FileExistsError, FileNotFoundError) as e:
            print(f"{recipe}: error: {e}", file=sys.stderr)
            raise SystemExit(2) from None
        results["evaluation"] = summary(evaluation)
    results["process_seconds"] = round(time.time() - fmnist_keras.START_TIME, 1)
    print(summary_line(recipe, results))
    if args.record:
        from fmnist_keras import ledger

        if getattr(args, "model", None) not in (None, config_cls.model):
            report_number = None  # another model than the report's: its number does not apply
        path = ledger.record(recipe, results, argv if argv is not None else sys.argv[1:], report_number)
        print(f"{recipe}: recorded in {path}")
    return results


def summary_line(recipe, results):
    """One line: test accuracy (mean +- std over repeats), best val, epochs, time, folder."""
    acc = f"{results['test_accuracy']:.4f}"
    if results.get("test_accuracy_std") is not None:
        acc += f" +- {results['test_accuracy_std']:.4f} (n={results['repeats']})"
    val = results.get("best_val_accuracy")
    val = "none" if val is None else f"{val:.4f}"
    cell = f" (best cell: {results['best_cell']})" if "best_cell" in results else ""
    speed = (f", {results['train_images_per_second']:.0f} images/s"
             if results.get("train_images_per_second") else "")
    return (f"{recipe}: test accuracy {acc}{cell}, best val {val}, epochs {results['epochs_run']}, "
            f"{results['train_seconds']:.0f} s training{speed} -> {results['run_dir']}")
