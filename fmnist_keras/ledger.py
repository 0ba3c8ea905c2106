"""The results ledger: `recipes/runs/*.json` (one per recorded run), the table in
`recipes/README.md`, and the results table on the front page (`README.md`).

A recipe run with `--record` writes one JSON here (never replacing one) and
rebuilds both tables between their markers from all JSON files, so the tables
are always derived from the records and nobody edits them by hand.

The front page shows one row per headline experiment (`HEADLINES`): the
report's number beside ours for the same experiment. Which runs count as
"ours" is a rule, not a choice made row by row:

- only full-length runs: a command with `--quick` or `--limit-train` is a demo;
- only the headline's configuration: the command's flags, once the flags that
  do not change the experiment (`RUN_FLAGS`: seed, repeats, output folder,
  recording, export, evaluation, cell selection) are set aside, must be one of
  the headline's spellings; a command with no such flags (the recipe's
  defaults) counts from the date the defaults became that configuration;
- for table recipes, the headline's cell of each matching run;
- one row per device kind (CPU, GPU): those are different measurements;
- every seed once: when two runs share a seed the newer one counts; the rest
  are pooled into mean ± sample std over n seeds.
"""

import argparse
import dataclasses
import datetime
import json
import math
import os
import shlex
from collections import Counter
from pathlib import Path

from fmnist_keras import run_folder
from fmnist_keras.results import RunResults

BEGIN, END = "<!-- ledger:begin -->", "<!-- ledger:end -->"
RESULTS_BEGIN, RESULTS_END = "<!-- results:begin -->", "<!-- results:end -->"
COLUMNS = ("recipe", "command", "report", "ours (test acc.)", "epochs", "robustness", "hardware", "wall",
           "date", "commit")
RESULTS_COLUMNS = ("report", "experiment", "recipe", "report's number", "ours (test acc.)", "n", "hardware",
                   "ledger rows")
COMMAND_PREFIX = "python -m fmnist_keras.recipes."

# Flags that choose how a run is carried out or kept, or which cells of a table run, not what is trained.
RUN_FLAGS = {"--seed", "--repeats", "--output-dir", "--resume", "--data-dir", "--models", "--studies",
             "--cells", "--record", "--export", "--no-export", "--evaluate", "--verbose", "--tensorboard",
             "--no-tensorboard"}
SWITCHES = {"--record", "--export", "--no-export", "--evaluate", "--verbose", "--tensorboard",
            "--no-tensorboard", "--quick"}  # flags without a value
DEMO_FLAGS = ("--quick", "--limit-train")


@dataclasses.dataclass(frozen=True)
class Headline:
    """One row of the front page's results table.

    Args:
        report: the source report's number ("000"), or "–" for our own goals.
        recipe: the recipe whose recorded runs hold the numbers.
        experiment: what is compared, in a few words.
        cell: for table recipes, the cell label whose test accuracy is compared.
        flags: spellings of this configuration on the command line, besides the
            recipe's defaults (e.g. "--init pytorch --augment flip").
        defaults_since: date (ISO) from which a command with no experiment flags
            runs this configuration; None when the defaults never did.
    """

    report: str
    recipe: str
    experiment: str
    cell: str = None
    flags: tuple = ()
    defaults_since: str = ""


HEADLINES = (
    Headline("000", "resnet_erasing", "ResNet-18, Random Erasing + RICAP, 120 epochs"),
    Headline("001", "cnn_table", "Table 1's best cell: CNN_2, softmax, no augmentation, 10 epochs",
             cell="cnn2 softmax no-aug"),
    Headline("001", "cnn2_tuned", "tuned CNN_2 (PyTorch init, flip), 10 epochs",
             flags=("--init pytorch --augment flip",), defaults_since="2026-11-30"),
    Headline("002", "resnet_ablations", "torchvision ResNet-18, every improvement combined", cell="combined"),
    Headline("003", "resnet_augmix", "ResNet-18 width 42, AugMix + JSD (the report's number is CIFAR-10)",
             cell="augmix"),
    Headline("004", "mlp_grid", "784-400-400-10 MLP, Adam lr 1e-3, 40 epochs", cell="adam lr=0.001"),
    Headline("004", "mlp_grid", "784-400-400-10 MLP, Adam lr 1e-3, dropout 0.2, 40 epochs",
             cell="adam 1e-3 dropout=0.2"),
    Headline("001", "tune", "Keras Tuner search for CNN_2 (20 Bayesian trials), best retrained"),
    Headline("–", "speedrun", "speedrun: speednet, 12 epochs (goal: 94% on a GPU)"),
    Headline("–", "speedrun", "speedrun: speednet, 24 epochs", flags=("--epochs 24",), defaults_since=None),
)


def ledger_dir():
    """`$FMNIST_LEDGER_DIR`, else `recipes/` of the source checkout, else `./recipes`."""
    if os.environ.get("FMNIST_LEDGER_DIR"):
        return Path(os.environ["FMNIST_LEDGER_DIR"])
    checkout = Path(__file__).resolve().parents[1] / "recipes"
    return checkout if checkout.is_dir() else Path.cwd() / "recipes"


def front_page(folder):
    """The README that carries the results table: the one beside the ledger folder."""
    return Path(folder).resolve().parent / "README.md"


def record(recipe, results, argv, report_number=None, folder=None):
    """Writes `runs/<recipe>-<date>[-k].json` and rebuilds the tables; returns the JSON path.

    In a run over several processes only process 0 records; the others write
    nothing and return the folder process 0 records into.
    """
    from fmnist_keras.training import distributed

    folder = Path(folder) if folder else ledger_dir()
    if not distributed.is_primary():
        return folder / "runs"
    (folder / "runs").mkdir(parents=True, exist_ok=True)
    date = datetime.date.today().isoformat()
    path = folder / "runs" / f"{recipe}-{date}.json"
    k = 2
    while path.exists():
        path = folder / "runs" / f"{recipe}-{date}-{k}.json"
        k += 1
    entry = {
        "recipe": recipe,
        "command": "python -m fmnist_keras.recipes." + " ".join([recipe, *map(shlex.quote, argv)]),
        "report": report_number,
        "test_accuracy": results.test_accuracy,
        "test_accuracy_std": results.test_accuracy_std,
        "n": results.repeats,
        "epochs": results.epochs_run,
        "hardware": hardware(results.environment),
        # Other jobs on the same cores stretch the wall time: say how busy the machine was.
        "load_average_15min": round(os.getloadavg()[2], 1) if hasattr(os, "getloadavg") else None,
        "wall_seconds": results.process_seconds or results.wall_seconds,
        "date": date,
        "commit": results.environment.get("git_commit"),
        "evaluation": results.evaluation,  # from --evaluate: mCE, ECE, ...
        "results": results.to_json(),
    }
    run_folder.write_json(path, entry)
    rebuild_table(folder)
    page = front_page(folder)
    # A ledger folder away from the checkout (a GPU machine's $FMNIST_LEDGER_DIR) has no front page.
    if page.exists() and RESULTS_BEGIN in page.read_text():
        rebuild_results_table(folder, page)
    return path


def hardware(environment):
    """The hardware column, from a run's `machine.environment()`: "GPU" plus the
    GPUs' names (e.g. "GPU, 1x NVIDIA H200"), or "CPU, 2 cores" plus ", AVX-512"
    when the run recorded that flag (this project's CPUs differ 2-4x in speed on it)."""
    if environment.get("device") != "CPU":
        names = environment.get("gpu_names") or []
        if not names:
            return str(environment.get("device"))
        return str(environment["device"]) + ", " + ", ".join(f"{n}x {name}" for name, n in Counter(names).items())
    avx512 = ", AVX-512" if "avx512f" in environment.get("cpu_flags", []) else ""
    return f"CPU, {environment.get('cpu_count')} cores{avx512}"


def load_entries(folder):
    """Every recorded run, oldest file name first, each with its file name under "file"
    and its results read back as a `RunResults` under "record"."""
    entries = []
    for path in sorted((Path(folder) / "runs").glob("*.json")):
        entry = json.loads(path.read_text())
        entry["file"] = path.name
        try:
            entry["record"] = RunResults.from_json(entry["results"])
        except (KeyError, ValueError) as e:
            raise ValueError(f"{path}: not a ledger entry with readable results: {e}") from None
        entries.append(entry)
    return entries


def _replace_between(text, begin, end, body, where):
    if begin not in text or end not in text:
        raise ValueError(f"{where} lacks the markers {begin} ... {end}")
    head, rest = text.split(begin, 1)
    _, tail = rest.split(end, 1)
    return head + begin + "\n" + body + "\n" + end + tail


def ledger_rows(entries):
    """The full ledger: one Markdown row per recorded run."""
    rows = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for e in entries:
        acc = f"{100 * e['test_accuracy']:.2f}%"
        if e.get("test_accuracy_std") is not None:
            acc += f" ± {100 * e['test_accuracy_std']:.2f} (n={e['n']})"
        epochs = e["epochs"] if not isinstance(e["epochs"], list) else "/".join(map(str, e["epochs"]))
        report = f"{e['report']}%" if e.get("report") is not None else "–"
        wall = f"{e['wall_seconds']:.0f} s" if e.get("wall_seconds") else "–"
        ev = e.get("evaluation") or {}
        robust = (f"mCE {ev['mce']:.3f}" if ev.get("mce") is not None else
                  f"mean CE {100 * ev['mean_corruption_error']:.1f}%"
                  if ev.get("mean_corruption_error") is not None else "–")
        if ev:
            robust += f", ECE {100 * ev['ece']:.2f}% → {100 * ev['ece_after_temperature']:.2f}% (T)"
        hardware_text = e["hardware"]
        if e.get("load_average_15min") is not None:
            hardware_text += f", load {e['load_average_15min']}"
        rows.append("| " + " | ".join([
            f"[{e['recipe']}](runs/{e['file']})", f"`{e['command']}`", report, acc, str(epochs),
            robust, hardware_text, wall, e["date"], str(e.get("commit") or "–")]) + " |")
    return "\n".join(rows)


def rebuilt_ledger(folder):
    """`(path, text)` of `recipes/README.md` with its table regenerated from runs/*.json."""
    readme = Path(folder) / "README.md"
    text = readme.read_text() if readme.exists() else f"# Results ledger\n\n{BEGIN}\n{END}\n"
    return readme, _replace_between(text, BEGIN, END, ledger_rows(load_entries(folder)), readme)


def rebuild_table(folder=None):
    """Regenerates the table between the markers of `recipes/README.md` from runs/*.json."""
    readme, text = rebuilt_ledger(Path(folder) if folder else ledger_dir())
    readme.write_text(text)


# ---- The front page's results table -------------------------------------------------------------------

def command_flags(command):
    """`(flag, value)` pairs of a recorded command after the recipe name; value None for a switch."""
    tokens = shlex.split(command)
    if len(tokens) < 3 or not tokens[2].startswith("fmnist_keras.recipes."):
        raise ValueError(f"a ledger command starts with {COMMAND_PREFIX!r}<recipe>. Received: command={command!r}")
    pairs, rest = [], tokens[3:]
    while rest:
        flag, rest = rest[0], rest[1:]
        if "=" in flag and flag.startswith("--"):
            flag, value = flag.split("=", 1)
        elif rest and not rest[0].startswith("--") and flag not in SWITCHES:
            value, rest = rest[0], rest[1:]
        else:
            value = None
        pairs.append((flag, value))
    return pairs


def experiment_flags(pairs):
    """What the command changes about the experiment: the pairs without run flags, sorted."""
    return tuple(sorted((p for p in pairs if p[0] not in RUN_FLAGS), key=lambda p: (p[0], p[1] or "")))


def is_demo(pairs):
    return any(flag in DEMO_FLAGS for flag, _ in pairs)


def seeds(pairs, n):
    """The seeds a run trained: `--seed` (default 0) and the `n - 1` after it (`--repeats`)."""
    first = int(dict(pairs).get("--seed") or 0)
    return set(range(first, first + max(int(n or 1), 1)))


def headline_number(entry, headline):
    """(mean, sample std or None, n, report's number) of the headline's cell, or of the run;
    None when the run has no such cell."""
    if headline.cell is None:
        return entry["test_accuracy"], entry.get("test_accuracy_std"), entry.get("n") or 1, entry.get("report")
    for cell in entry["record"].cells or []:
        if cell["cell"] == headline.cell:
            return cell["test_accuracy"], cell.get("test_accuracy_std"), entry.get("n") or 1, cell.get("report")
    return None


def matches(entry, headline):
    """Is this run a full-length run of the headline's configuration?"""
    pairs = command_flags(entry["command"])
    if entry["recipe"] != headline.recipe or is_demo(pairs):
        return False
    chosen = experiment_flags(pairs)
    if not chosen:
        return headline.defaults_since is not None and entry["date"] >= headline.defaults_since
    return any(chosen == experiment_flags(command_flags(f"{COMMAND_PREFIX}{headline.recipe} {spelling}"))
               for spelling in headline.flags)


def pool(groups):
    """Mean and sample std over all seeds of runs given as (mean, std, n): exact from the groups."""
    total = sum(n for _, _, n in groups)
    mean = sum(m * n for m, _, n in groups) / total
    if total < 2:
        return mean, None, total
    squares = sum((n - 1) * (s or 0.0) ** 2 + n * (m - mean) ** 2 for m, s, n in groups)
    return mean, math.sqrt(squares / (total - 1)), total


def _percent(value):
    return f"{value:g}%" if value is not None else "–"


def _link(entry):
    return f"[{entry['file'][len(entry['recipe']) + 1:-len('.json')]}](recipes/runs/{entry['file']})"


def _hardware_with_backend(entries):
    names = []
    for e in entries:
        backend = e["record"].environment.get("keras_backend")
        name = e["hardware"] + (f" ({backend.upper() if backend == 'jax' else backend})"
                                if backend and backend != "tensorflow" else "")
        if name not in names:
            names.append(name)
    return "; ".join(names)


def _device(entry):
    return entry["record"].environment.get("device", "?")


def headline_rows(headline, entries):
    """The front-page rows of one headline: one per device kind with full-length runs, or one saying
    that only demos (or nothing) were recorded."""
    numbers = {e["file"]: headline_number(e, headline) for e in entries if e["recipe"] == headline.recipe}
    numbers = {k: v for k, v in numbers.items() if v is not None}
    reports = [v[3] for v in numbers.values() if v[3] is not None]
    report = _percent(reports[-1] if reports else None)
    chosen = [e for e in entries if e["file"] in numbers and matches(e, headline)]
    start = [headline.report, headline.experiment, f"`{headline.recipe}`", report]
    if not chosen:
        demos = [e for e in entries if e["file"] in numbers and is_demo(command_flags(e["command"]))]
        where = ", ".join(f"{100 * numbers[e['file']][0]:.2f}% ({_link(e)})" for e in demos)
        return [start + ["not run at full length yet", "–", "–", f"`--quick` demo only: {where}" if demos else "–"]]
    rows = []
    for device in sorted({_device(e) for e in chosen}, reverse=True):
        kept, taken = [], set()
        # Newest first: a seed recorded twice counts once, from the newer run.
        for e in sorted((e for e in chosen if _device(e) == device),
                        key=lambda e: (e["date"], e["file"]), reverse=True):
            trained = seeds(command_flags(e["command"]), numbers[e["file"]][2])
            if not trained & taken:
                kept.append(e)
                taken |= trained
        kept.sort(key=lambda e: e["file"])
        mean, std, n = pool([numbers[e["file"]][:3] for e in kept])
        ours = f"{100 * mean:.2f}%" + (f" ± {100 * std:.2f}" if std is not None else "")
        rows.append(start + [ours, str(n), _hardware_with_backend(kept), ", ".join(map(_link, kept))])
    return rows


def results_rows(entries, headlines=HEADLINES):
    """The front page's results table, as Markdown."""
    rows = ["| " + " | ".join(RESULTS_COLUMNS) + " |", "|" + "---|" * len(RESULTS_COLUMNS)]
    for headline in headlines:
        rows += ["| " + " | ".join(row) + " |" for row in headline_rows(headline, entries)]
    return "\n".join(rows)


def rebuilt_front_page(folder, page=None):
    """`(path, text)` of the front page with its results table regenerated from runs/*.json."""
    page = Path(page) if page else front_page(folder)
    if not page.exists():
        raise FileNotFoundError(f"the front page {str(page)!r} does not exist; pass --front-page PATH "
                                f"or --no-front-page")
    body = results_rows(load_entries(folder))
    return page, _replace_between(page.read_text(), RESULTS_BEGIN, RESULTS_END, body, page)


def rebuild_results_table(folder=None, page=None):
    """Regenerates the results table between the markers of the front page from runs/*.json."""
    page, text = rebuilt_front_page(Path(folder) if folder else ledger_dir(), page)
    page.write_text(text)


# ---- Command line -------------------------------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m fmnist_keras.ledger",
        description="Rebuild the results tables from the recorded runs (recipes/runs/*.json): the full "
                    "ledger in recipes/README.md and the headline table in the front-page README.md, "
                    "each between its markers. Recipes run with --record do this by themselves.")
    parser.add_argument("folder", nargs="?", default=None,
                        help="the ledger folder holding README.md and runs/ (default: $FMNIST_LEDGER_DIR, "
                             "else recipes/ of this checkout)")
    parser.add_argument("--front-page", metavar="README", default=None,
                        help="the README.md with the results table (default: the one beside the ledger "
                             "folder)")
    parser.add_argument("--no-front-page", action="store_true",
                        help="rebuild only the ledger table (e.g. for a ledger folder on a GPU machine)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 when a table differs from its rebuild")
    return parser


def main(argv=None):
    """Rebuilds (or with --check compares) the tables; returns the paths whose text changed."""
    args = build_parser().parse_args(argv)
    folder = Path(args.folder) if args.folder else ledger_dir()
    if not (folder / "runs").is_dir():
        raise SystemExit(f"ledger: error: {str(folder)!r} has no runs/ folder of recorded runs. "
                         f"Received: folder={str(folder)!r}")
    try:
        rebuilt = [rebuilt_ledger(folder)]
        if not args.no_front_page:
            rebuilt.append(rebuilt_front_page(folder, args.front_page))
    except (ValueError, FileNotFoundError) as error:
        raise SystemExit(f"ledger: error: {error}") from None
    changed = [(path, text) for path, text in rebuilt if not path.exists() or path.read_text() != text]
    if args.check:
        if changed:
            raise SystemExit("ledger: out of date (rebuild with python -m fmnist_keras.ledger): "
                             + ", ".join(str(path) for path, _ in changed))
        return []
    for path, text in changed:
        path.write_text(text)
        print(f"rebuilt {path}")
    return [path for path, _ in changed]


if __name__ == "__main__":
    main()
