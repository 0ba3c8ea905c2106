"""The evaluation's page (report.html): the results' tables, figures embedded as base64 PNG data URIs.

No scripts, fonts or links to load: the file opens offline and can be mailed.
"""

import base64
import html
from pathlib import Path


def _pct(value):
    return "n/a" if value is None else f"{100 * value:.2f}%"


def _num(value, digits=4):
    return "n/a" if value is None else f"{value:.{digits}f}"


def _table(header, rows):
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def embed_png(path):
    """`<img>` with the PNG inlined as a `data:image/png;base64,` URI."""
    data = base64.b64encode(Path(path).read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def render_html(results, figures):
    """The page as a string: a header, then one section per part of the results that is there.

    Args:
        results: the evaluation.json dict.
        figures: `{section key: PNG path}`; keys "corruptions", "reliability",
            "confusion", "gallery".
    """
    parts = [f"<h1>Evaluation: {html.escape(str(results['model']['name']))}</h1>",
             f"<p>{html.escape(results['model']['path'])} &middot; {results['test_images']} test images &middot; "
             f"{html.escape(results['date'])} &middot; {html.escape(results['hardware'])}</p>",
             _summary(results)]
    cal, rob = results.get("calibration"), results.get("corruptions")
    if rob:
        parts += _corruptions(rob, figures)
    if cal:
        parts += _calibration(cal, figures)
    if results.get("frontier"):
        parts += _frontier(results["frontier"])
    if results.get("errors"):
        parts += _errors(results["errors"], figures)
    style = ("body{font-family:sans-serif;max-width:1100px;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
             "text-align:right}th{background:#eee}td:first-child{text-align:left}img{max-width:100%}")
    return ("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>Evaluation: {html.escape(str(results['model']['name']))}</title><style>{style}</style></head>"
            "<body>" + "\n".join(parts) + "</body></html>\n")


def _ece_label(cal):
    """Name the bin count the ECE was measured with (it is recorded with the calibration)."""
    bins = (cal or {}).get("bins")
    return f"test ECE ({bins} bins)" if bins else "test ECE"


def _summary(results):
    clean, cal, rob = results["clean"], results.get("calibration"), results.get("corruptions")
    summary = [("test accuracy", _pct(clean["accuracy"])), ("test NLL", _num(clean["nll"])),
               ("test Brier", _num(clean["brier"])), (_ece_label(cal), _pct(clean["ece"]))]
    if cal:
        summary += [("temperature T", _num(cal["temperature"], 3)),
                    ("ECE after temperature", _pct(cal["after"]["ece"])),
                    ("NLL after temperature", _num(cal["after"]["nll"]))]
    if rob:
        summary.append(("mean corruption error (unnormalized)", _pct(rob["mean_corruption_error"])))
        if "mce" in rob:
            summary += [("mCE vs baseline", _pct(rob["mce"])), ("relative mCE", _pct(rob.get("relative_mce")))]
    return "<h2>Summary</h2>" + _table(("metric", "value"), summary)


def _corruptions(rob, figures):
    header = ["corruption", "family"] + [f"s{s}" for s in rob["severities"]] + ["CE (mean error)"]
    if "ce" in rob:
        header += ["CE / baseline", "baseline mean acc"]
    rows = []
    for name, entry in rob["per_corruption"].items():
        row = [name, entry["family"]] + [_pct(a) for a in entry["accuracy"]] + [_pct(entry["error_mean"])]
        if "ce" in rob:
            base = entry["baseline_accuracy"]
            row += [_num(rob["ce"][name], 3), _pct(sum(base) / len(base))]
        rows.append(row)
    parts = [f"<h2>Corruption robustness</h2><p>Accuracy per severity (seed {rob['seed']}). "
             "CE is the mean error over severities; mCE divides each corruption's summed errors "
             "by the baseline's (Hendrycks &amp; Dietterich, 2019).</p>" + _table(header, rows)]
    if "corruptions" in figures:
        parts.append(embed_png(figures["corruptions"]))
    return parts


def _calibration(cal, figures):
    rows = [(name, _pct(m["accuracy"]), _pct(m["ece"]), _num(m["nll"]), _num(m["brier"]))
            for name, m in (("test, as trained", cal["before"]), (f"test, T = {cal['temperature']:.3f}", cal["after"]))]
    parts = [f"<h2>Calibration</h2><p>Temperature fitted on {cal['validation_images']} validation images "
             f"({html.escape(cal['validation_source'])}).</p>"
             + _table(("predictions", "accuracy", "ECE", "NLL", "Brier"), rows)]
    if "reliability" in figures:
        parts.append(embed_png(figures["reliability"]))
    return parts


def _frontier(frontier):
    rows = [(e["name"], e["passes_per_image"], _pct(e["accuracy"]), _pct(e["ece"]), _num(e["nll"]))
            for e in frontier]
    return ["<h2>Frontier track (more forward passes per image)</h2>"
            "<p>Test-time augmentation and ensembles, kept apart from one-pass numbers.</p>"
            + _table(("predictor", "passes / image", "accuracy", "ECE", "NLL"), rows)]


def _errors(errors, figures):
    rows = [(c, _pct(a)) for c, a in errors["per_class_accuracy"].items()]
    parts = ["<h2>Errors</h2>" + _table(("class", "accuracy"), rows)]
    rows = [(m["true"], m["predicted"], m["count"], _pct(m["rate"])) for m in errors["most_confused"]]
    parts.append("<h3>Most confused (true &rarr; predicted)</h3>"
                 + _table(("true", "predicted", "count", "share of true class"), rows))
    for key in ("confusion", "gallery"):
        if key in figures:
            parts.append(embed_png(figures[key]))
    return parts
