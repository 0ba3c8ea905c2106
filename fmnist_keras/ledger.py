"""The results ledger: `recipes/runs/*.json` (one per recorded run) and the table in `recipes/README.md`.

A recipe run with `--record` writes one JSON here (never replacing one) and
rebuilds the table between the README's markers from all JSON files, so the
table is always derived from the records and nobody edits it by hand.
"""

import datetime
import json
import os
import shlex
import sys
from collections import Counter
from pathlib import Path

from fmnist_keras import reporting

BEGIN, END = "<!-- ledger:begin -->", "<!-- ledger:end -->"
COLUMNS = ("recipe", "command", "report", "ours (test acc.)", "epochs", "robustness", "hardware", "wall",
           "date", "commit")


def ledger_dir():
    """`$FMNIST_LEDGER_DIR`, else `recipes/` of the source checkout, else `./recipes`."""
    if os.environ.get("FMNIST_LEDGER_DIR"):
        return Path(os.environ["FMNIST_LEDGER_DIR"])
    checkout = Path(__file__).resolve().parents[1] / "recipes"
    return checkout if checkout.is_dir() else Path.cwd() / "recipes"


def record(recipe, results, argv, report_number=None, folder=None):
    """Writes `runs/<recipe>-<date>[-k].json` and rebuilds the README table; returns the JSON path."""
    folder = Path(folder) if folder else ledger_dir()
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
        "test_accuracy": results["test_accuracy"],
        "test_accuracy_std": results.get("test_accuracy_std"),
        "n": results.get("repeats", 1),
        "epochs": results["epochs_run"],
        "hardware": hardware(results),
        # Other jobs on the same cores stretch the wall time: say how busy the machine was.
        "load_average_15min": round(os.getloadavg()[2], 1) if hasattr(os, "getloadavg") else None,
        "wall_seconds": results.get("process_seconds") or results.get("wall_seconds"),
        "date": date,
        "commit": results.get("git_commit"),
        "evaluation": results.get("evaluation"),  # from --evaluate: mCE, ECE, ...
        "results": results,
    }
    reporting.write_json(path, entry)
    rebuild_table(folder)
    return path


def hardware(results):
    """The hardware column: "GPU" plus the GPUs' names (e.g. "GPU, 1x NVIDIA H200"),
    or "CPU, 2 cores" plus ", AVX-512" when the run recorded that flag (this
    project's CPUs differ 2-4x in speed on it)."""
    if results.get("device") != "CPU":
        names = results.get("gpu_names") or []
        if not names:
            return str(results.get("device"))
        return str(results["device"]) + ", " + ", ".join(f"{n}x {name}" for name, n in Counter(names).items())
    avx512 = ", AVX-512" if "avx512f" in results.get("cpu_flags", []) else ""
    return f"CPU, {results.get('cpu_count')} cores{avx512}"


def rebuild_table(folder=None):
    """Regenerates the table between the markers of `recipes/README.md` from runs/*.json."""
    folder = Path(folder) if folder else ledger_dir()
    readme = folder / "README.md"
    text = readme.read_text() if readme.exists() else f"# Results ledger\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"{readme} lacks the ledger markers {BEGIN} ... {END}")
    rows = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for path in sorted((folder / "runs").glob("*.json")):
        e = json.loads(path.read_text())
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
            f"[{e['recipe']}](runs/{path.name})", f"`{e['command']}`", report, acc, str(epochs),
            robust, hardware_text, wall, e["date"], str(e.get("commit") or "–")]) + " |")
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    readme.write_text(head + BEGIN + "\n" + "\n".join(rows) + "\n" + END + tail)


if __name__ == "__main__":
    rebuild_table(sys.argv[1] if len(sys.argv) > 1 else None)
