"""Builds a recipe's command line from its config dataclass.

Every field becomes a flag (`batch_size` -> `--batch-size`) whose group,
one-line help, choices and default come from the dataclass (`setting(...)`
in training/config.py), so they live in one place. Precedence, lowest first:
the recipe's defaults, `--quick` (its CPU preset) or `--config` (a recorded
run's settings), then the flags given. When `--epochs` changes the length,
phase lengths in epochs (`warmup_epochs`, `restart_epochs`, ...) scale with
it unless also given.

Nothing here imports Keras: `--help` answers at once, and Keras (with
TensorFlow) is loaded quietly only once a run starts (fmnist_keras/_quiet.py).
"""

import argparse
import dataclasses
import logging
import sys
import time

import fmnist_keras
from fmnist_keras import _quiet
from fmnist_keras.data import DataError
from fmnist_keras.training.config import GROUPS, field_doc, field_types, load_config

SCALED_WITH_EPOCHS = ("warmup_epochs", "restart_epochs", "sgdr_first_epochs")
USER_ERRORS = (ValueError, DataError, FileExistsError, FileNotFoundError, FloatingPointError)


def _int_tuple(text):
    """ "400,400" -> (400, 400); "" -> () (e.g. an MLP with no hidden layer)."""
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


_METAVARS = {int: "N", float: "X", str: "TEXT", tuple: "N,N,..."}


def _flag_help(doc, default):
    text = doc["help"].replace("%", "%%")
    shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
    return f"{text} (default: {shown!r})" if isinstance(shown, str) else f"{text} (default: {shown})"


def build_parser(config_cls, description, quick_help, recipe=None):
    """The recipe's parser: one described flag per config field, in `GROUPS`, then the run flags."""
    parser = argparse.ArgumentParser(
        prog=f"python -m fmnist_keras.recipes.{recipe}" if recipe else None,
        usage="%(prog)s [--quick | --config CONFIG_JSON | --resume RUN_DIR] [options]",
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    groups = {name: parser.add_argument_group(name) for name in GROUPS}
    kinds = field_types(config_cls)
    for field in dataclasses.fields(config_cls):
        doc = field_doc(config_cls, field.name)
        if doc is None:
            raise TypeError(f"{config_cls.__module__}.{config_cls.__name__}.{field.name} has no help: "
                            "declare it with training.config.setting(...)")
        default, kind = field.default, kinds[field.name]
        flag = "--" + field.name.replace("_", "-")
        group = groups[doc["group"]]
        if field.name == "export":
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=doc["help"].replace("%", "%%"))
        elif kind is bool:
            group.add_argument(flag, action=argparse.BooleanOptionalAction, default=None,
                               help=_flag_help(doc, default))
        else:
            metavar = ("{" + ",".join(doc["choices"]) + "}" if doc["choices"] else
                       "DIR" if field.name.endswith("_dir") else _METAVARS[kind])
            group.add_argument(flag, type=_int_tuple if kind is tuple else kind, default=None,
                               metavar=metavar, help=_flag_help(doc, default))
    run = groups["run and outputs"]
    run.add_argument("--quick", action="store_true", help=quick_help.replace("%", "%%"))
    run.add_argument("--config", metavar="CONFIG_JSON",
                     help="start a new run with the settings recorded in a run's config.json (or its "
                          "folder), in a fresh run folder; flags given beside it win")
    run.add_argument("--resume", metavar="RUN_DIR",
                     help="continue an interrupted run in its folder, with its own config.json")
    run.add_argument("--record", action="store_true",
                     help="add this run to the results ledger (recipes/runs/*.json and recipes/README.md)")
    run.add_argument("--evaluate", action="store_true",
                     help="after training, evaluate the run (corruptions, calibration, TTA, errors; "
                          "python -m fmnist_keras.evaluation) into evaluation.json and report.html")
    run.add_argument("--evaluate-limit", type=int, metavar="N",
                     help="with --evaluate: only the first N test (and validation) images (default: all)")
    run.add_argument("--verbose", action="store_true",
                     help=f"show TensorFlow's C++ start-up log (hidden by default; also ${_quiet.VERBOSE_ENV}=1)")
    return parser


def explicit_settings(config_cls, args):
    """`{field: value}` of the config flags given on the command line."""
    return {f.name: getattr(args, f.name) for f in dataclasses.fields(config_cls)
            if getattr(args, f.name) is not None}


def config_from_args(config_cls, args, quick_preset, recipe=None):
    """The recipe default (or `--config`'s file, or `--quick`), then explicit flags."""
    explicit = explicit_settings(config_cls, args)
    recorded = getattr(args, "config", None)
    if recorded:
        if args.quick:
            raise ValueError("--config runs the recorded settings, which --quick would change; drop --quick "
                             f"(or give single flags beside --config). Received: --config {recorded} --quick")
        # A rerun never reuses the recorded folder: it gets a fresh one unless --output-dir says.
        base = config_cls(**{**load_config(config_cls, recorded, recipe), "output_dir": ""})
    else:
        base = config_cls(**quick_preset) if args.quick else config_cls()
    if "epochs" in explicit and explicit["epochs"] != base.epochs and explicit["epochs"] > 0:
        scale = explicit["epochs"] / base.epochs
        for name in SCALED_WITH_EPOCHS:
            if name not in explicit:
                explicit[name] = getattr(base, name) * scale
    config = dataclasses.replace(base, **explicit)
    if (hasattr(config, "export") and getattr(config, "export_full_runs", True) and "export" not in explicit
            and not recorded):
        # Full runs export, quick/sliced ones do not; nor do backends without TensorFlow.
        import keras

        config = dataclasses.replace(config, export=not args.quick and not config.limit_train
                                     and keras.config.backend() == "tensorflow")
    return config


def check_evaluate_flags(args):
    """`--evaluate-limit` is checked before training, not after it."""
    if args.evaluate_limit is None:
        return
    if not args.evaluate:
        raise ValueError("--evaluate-limit applies to --evaluate; add --evaluate or drop it. "
                         f"Received: evaluate_limit={args.evaluate_limit}")
    if args.evaluate_limit < 1:
        raise ValueError(f"--evaluate-limit must be a positive integer. Received: evaluate_limit={args.evaluate_limit}")


def check_cell_flags(table, explicit):
    """Refuses flags that a chosen cell sets itself: the cell would silently win over them."""
    clashes = {}
    for label, overrides, _ in table:
        for name in sorted(set(overrides) & set(explicit)):
            clashes.setdefault(name, []).append(label)
    if clashes:
        flags = "; ".join(f"--{name.replace('_', '-')} is set by cell(s) {', '.join(labels)}"
                          for name, labels in clashes.items())
        raise ValueError(f"{flags}. Choose other cells with --cells, or drop the flag. "
                         f"Received: {', '.join(f'{k}={explicit[k]!r}' for k in clashes)}")


def export_stage(classifier, run_dir, config):
    """`--export`: SavedModel + TFLite of the tested weights into `<run>/export`, verified on the
    test set (`fmnist_keras.export.export_stage`, imported only when a run ends)."""
    from fmnist_keras.export import export_stage as stage

    return stage(classifier, run_dir, config)


# What a recipe does with each tested classifier before its results.json is written.
FINISH = (export_stage,)


def run_recipe(argv, config_cls, description, quick_preset, quick_help, recipe, run=None,
               report_number=None, cells=None):
    """Parses `argv`, then composes a recipe run: train and test (or resume), the
    `FINISH` stages on the tested classifier (`--export`), `--evaluate` on the
    written folder, one summary line, `--record` into the ledger. Returns the `RunResults`.

    User errors (bad flags, data, folders) become one line on stderr and exit 2.

    Args:
        run: optional `fn(config, finish=stages) -> RunResults` replacing
            `fit_and_evaluate` (recipes that run several configurations); it runs
            `finish` on the classifier it tests (`export_stage`).
        report_number: the report's test accuracy in percent, for the ledger (left
            out when `--model` swaps the recipe's model for another).
        cells: for table recipes, `fn(config) -> [(label, overrides, report_number)]`:
            the chosen cells, run with `training.grid.run_table`.
    """
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    parser = build_parser(config_cls, description, quick_help, recipe)
    args = parser.parse_args(argv)
    try:
        check_evaluate_flags(args)
        _quiet.import_keras(args.verbose)
        results = _train(args, config_cls, quick_preset, recipe, run, cells)
        if args.evaluate:
            results = _evaluate(args, results, recipe)
    except USER_ERRORS as e:
        print(f"{recipe}: error: {e}", file=sys.stderr)
        raise SystemExit(2) from None
    results = results.replace(process_seconds=round(time.time() - fmnist_keras.START_TIME, 1))
    print(summary_line(recipe, results))
    if args.record:
        from fmnist_keras import ledger

        report_number = ledger_report_number(results, report_number, getattr(args, "model", None),
                                             config_cls.model)
        path = ledger.record(recipe, results, argv if argv is not None else sys.argv[1:], report_number)
        print(f"{recipe}: recorded in {path}")
    return results


def _train(args, config_cls, quick_preset, recipe, run, cells):
    """Trains and tests (or resumes) what the flags say, with the `FINISH` stages; returns the `RunResults`."""
    from fmnist_keras.training import grid, runner

    if args.resume:
        given = sorted(explicit_settings(config_cls, args))
        others = given + ["quick"] * args.quick + ["config"] * bool(args.config)
        if others:
            raise ValueError("--resume continues a run with its own config.json; drop the other flags. "
                             f"Received: {', '.join(others)}")
        if cells is not None:
            grid.check_not_table_folder(args.resume)
        return runner.resume(args.resume, config_cls, recipe, finish=FINISH)
    config = config_from_args(config_cls, args, quick_preset, recipe)
    if cells is not None:
        table = cells(config)
        check_cell_flags(table, explicit_settings(config_cls, args))
        run = lambda c, finish: grid.run_table(c, table, recipe, finish=finish)  # noqa: E731
    run = run or (lambda c, finish: runner.fit_and_evaluate(c, recipe=recipe, finish=finish))
    return run(config, finish=FINISH)


def _evaluate(args, results, recipe):
    """`--evaluate`: the evaluation suite on the folders the run wrote; its summary joins the results."""
    from fmnist_keras.evaluation import model_folders, run_evaluation, summary

    evaluation = run_evaluation(model_folders(results), out_dir=results.run_dir,
                                data_dir=args.data_dir or None, limit=args.evaluate_limit,
                                log=lambda m: print(f"{recipe}: evaluate: {m}", file=sys.stderr))
    return results.replace(evaluation=summary(evaluation))


def ledger_report_number(results, recipe_number, model_flag, recipe_model):
    """The report's number that the ledger row stands beside.

    A table's row shows its best cell, so it gets that cell's own number; a
    run with `--model` swapped for another than the report's gets none.
    """
    if results.cells:
        return results.best_cell_row["report"]
    if model_flag not in (None, recipe_model):
        return None
    return recipe_number


def summary_line(recipe, results):
    """One line: test accuracy (mean +- std over repeats), best val, epochs, time, folder."""
    acc = f"{results.test_accuracy:.4f}"
    if results.test_accuracy_std is not None:
        acc += f" +- {results.test_accuracy_std:.4f} (n={results.repeats})"
    val = "none" if results.best_val_accuracy is None else f"{results.best_val_accuracy:.4f}"
    cell = f" (best cell: {results.best_cell})" if results.best_cell is not None else ""
    speed = f", {results.train_images_per_second:.0f} images/s" if results.train_images_per_second else ""
    return (f"{recipe}: test accuracy {acc}{cell}, best val {val}, epochs {results.epochs_run}, "
            f"{results.train_seconds:.0f} s training{speed} -> {results.run_dir}")
