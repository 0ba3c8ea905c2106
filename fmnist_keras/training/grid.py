"""Run a table of configurations (one factor at a time, or a full grid) and tabulate it.

Reports 001, 002 and 004 are tables: each cell is a `fit_and_evaluate` run in
its own sub-folder of one run folder, and the table is written as
`table.md` and `table.json` with the report's number beside ours.
"""

from pathlib import Path

from fmnist_keras import machine, run_folder
from fmnist_keras.results import RunResults
from fmnist_keras.training.config import config_record


def pick_cells(spec, cells, groups=None):
    """The table rows `(label, overrides, report_number)` named by `spec`.

    Args:
        spec: a comma list of cell labels of `cells`, or of group names of
            `groups` (each standing for its cells), in table order.
        cells: `{label: (overrides, report_number)}`.
        groups: optional `{name: [labels]}`, e.g. a model's four cells.
    """
    groups = groups or {}
    chosen = []
    for name in (c.strip() for c in spec.split(",") if c.strip()):
        if name not in cells and name not in groups:
            names = list(groups) + list(cells)
            raise ValueError(f"cells must be a comma list of {', '.join(names)}. Received: cells={spec!r}")
        chosen += [label for label in groups.get(name, [name]) if label not in chosen]
    if not chosen:
        raise ValueError(f"cells must name at least one cell. Received: cells={spec!r}")
    return [(label, *cells[label]) for label in chosen]


def check_not_table_folder(run_dir):
    """A table's folder holds one run folder per cell; each cell resumes on its own."""
    cells = sorted(p.parent.name for p in Path(run_dir).glob("*/config.json"))
    if cells:
        raise ValueError(f"{run_dir} is a table's folder: resume one cell's folder "
                         f"({', '.join(str(Path(run_dir) / c) for c in cells[:3])}{', ...' * (len(cells) > 3)}), or "
                         f"rerun the table with --config {Path(run_dir) / 'config.json'}. "
                         f"Received: resume={str(run_dir)!r}")


def run_table(config, cells, recipe, verbose="auto", finish=()):
    """Runs every cell and writes the table.

    Args:
        config: the base config (its `output_dir` is the table's folder).
        cells: a list of `(label, overrides, report_number)`; `overrides`
            replace fields of `config`; `report_number` is the report's test
            accuracy in percent (or None).
        recipe: the recipe name.
        finish: `runner.fit_and_evaluate`'s stages, run in every cell (an export
            stage exports a one-cell table only: the cells of a bigger one have export off).

    Returns:
        A `RunResults` for the ledger: the numbers of the cell with the best
        validation accuracy, plus `cells`.
    """
    from fmnist_keras.training.runner import fit_and_evaluate, load_splits

    if not cells:
        raise ValueError(f"the table has no cells. Received: cells={cells!r}")
    load_splits(config)  # fail on bad data before any folder exists
    for _, overrides, _ in cells:
        config.replace(**overrides)  # and on a bad cell
    top = run_folder.make_run_dir(config.output_dir, recipe)
    # The table's own settings, loadable by --config; each cell's are in its folder.
    run_folder.write_json(top / "config.json", config_record(recipe, config))
    rows = []
    for label, overrides, report_number in cells:
        # A table of many cells does not export each one (export a cell's folder with
        # `python -m fmnist_keras.export`); a one-cell table is a single run and does.
        cell = config.replace(**overrides, output_dir=str(top / _folder_name(label)),
                              export=config.export and len(cells) == 1)
        results = fit_and_evaluate(cell, recipe=recipe, verbose=verbose, finish=finish)
        rows.append({"cell": label, "overrides": overrides, "report": report_number,
                     "test_accuracy": results.test_accuracy,
                     "test_accuracy_std": results.test_accuracy_std,
                     "best_val_accuracy": results.best_val_accuracy,
                     "epochs_run": results.epochs_run, "train_seconds": results.train_seconds,
                     "run_dir": results.run_dir})
    (top / "table.md").write_text(table_markdown(rows))
    run_folder.write_json(top / "table.json", rows)
    print(table_markdown(rows))
    # The headline cell is chosen on validation accuracy (choosing on test would flatter it);
    # without a validation split, on test accuracy.
    has_val = all(r["best_val_accuracy"] is not None for r in rows)
    best = max(rows, key=lambda r: r["best_val_accuracy"] if has_val else r["test_accuracy"])
    return RunResults(
        recipe=recipe,
        model=config.model,
        best_cell=best["cell"],
        test_accuracy=best["test_accuracy"],
        test_accuracy_std=best["test_accuracy_std"],
        repeats=config.repeats,
        best_val_accuracy=best["best_val_accuracy"],
        epochs_run=best["epochs_run"],
        train_seconds=round(sum(r["train_seconds"] for r in rows), 2),
        cells=rows,
        run_dir=str(top),
        environment=machine.environment(),
    )


def _folder_name(label):
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in label)


def table_markdown(rows):
    """The table: cell, report's number, ours (mean +- std), best val, epochs."""
    lines = ["| cell | report | ours (test acc.) | best val | epochs |", "|---|---|---|---|---|"]
    for r in rows:
        ours = f"{100 * r['test_accuracy']:.2f}%"
        if r.get("test_accuracy_std") is not None:
            ours += f" ± {100 * r['test_accuracy_std']:.2f}"
        report = f"{r['report']}%" if r["report"] is not None else "–"
        val = f"{100 * r['best_val_accuracy']:.2f}%" if r["best_val_accuracy"] is not None else "–"
        epochs = r["epochs_run"] if not isinstance(r["epochs_run"], list) else max(r["epochs_run"])
        lines.append(f"| {r['cell']} | {report} | {ours} | {val} | {epochs} |")
    return "\n".join(lines) + "\n"
