"""The benchmark's Markdown: one table per part, the header line naming the machine, and
the text that says how each table was timed."""

import datetime
import os

import keras
import tensorflow as tf

from _train_common import EVAL_BATCH, fmt, ips, model_label
from fmnist_keras import machine


def _r(a, b):
    return "" if a is None or b is None else f"{a / b:.2f}x"


def _speedup(ours, base):
    """Speed ratio ours/base from step times: medians, and fastest steps in brackets."""
    if ours["step"] is None or base["step"] is None:
        return ""
    return f"{base['step'] / ours['step']:.2f}x ({base['fastest'] / ours['fastest']:.2f}x)"


def _errors(pairs):
    return "; ".join(f"{k}: {v['error']}" for k, v in pairs if v["error"])


def _jit(cell):
    return "on" if cell["jit"] else "off"


def train_table(results, args):
    b = args.batch_size
    lines = [
        "| model | precision | XLA | plain Keras img/s | ours img/s | ours / plain | ours vs own fp32 | "
        "timed steps (plain / ours) | first step s (plain / ours) |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for cells in results:
        base = {c["jit"]: c["train"][1] for c in cells if c["precision"] == "fp32" and "train" in c}
        for cell in cells:
            head = f"| {cell['model_label']} | {cell['precision']} | {_jit(cell)} "
            if "error" in cell:
                lines.append(head + f"| build failed: {cell['error']} | | | | | |")
                continue
            if "train" not in cell:
                continue
            plain, ours = cell["train"]
            pi, oi = ips(b, plain["step"]), ips(b, ours["step"])
            vs_fp32 = _speedup(ours, base[cell["jit"]]) if cell["jit"] in base else ""
            errors = _errors((("plain", plain), ("ours", ours)))
            lines.append(head + f"| {fmt(pi)} | {fmt(oi)} | {_speedup(ours, plain)} | {vs_fp32} | {plain['n']} / {ours['n']} "
                         f"| {fmt(plain['first'], 1)} / {fmt(ours['first'], 1)} |" + (f" {errors}" if errors else ""))
    return lines


def eval_table(results, args):
    lines = [
        "| model | precision | XLA | evaluate plain img/s | evaluate ours | ours / plain | "
        "predict plain img/s | predict ours | ours / plain | timed batches |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for cells in results:
        for cell in cells:
            if "evaluate" not in cell:
                continue
            row = f"| {cell['model_label']} | {cell['precision']} | {_jit(cell)} "
            counts, errors = [], []
            for key in ("evaluate", "predict"):
                plain, ours = cell[key]
                pi, oi = ips(EVAL_BATCH, plain["step"]), ips(EVAL_BATCH, ours["step"])
                row += f"| {fmt(pi)} | {fmt(oi)} | {_speedup(ours, plain)} "
                counts += [plain["n"], ours["n"]]
                errors.append(_errors(((f"{key} plain", plain), (f"{key} ours", ours))))
            errors = "; ".join(e for e in errors if e)
            lines.append(row + f"| {min(counts)}-{max(counts)} |" + (f" {errors}" if errors else ""))
    return lines


def augment_table(rows, args):
    b = args.batch_size
    none = rows[0]
    lines = ["| augmentation | placement | step ms | source images/s | step time vs none | timed steps |",
             "|---|---|---:|---:|---:|---:|"]
    for r in rows:
        note = f" (the model sees {r['views']}x the batch)" if r["views"] > 1 else ""
        step = r["step"]
        slower = "" if none["step"] is None else (
            f"{step / none['step']:.2f}x ({r['fastest'] / none['fastest']:.2f}x)")
        cells = (f"{fmt(step and step * 1000, 1)} | {fmt(ips(b, step))} | {slower} | {r['n']}"
                 if step else f"failed: {r.get('error')} | | | ")
        lines.append(f"| `{r['stack'] or 'none'}`{note} | {r['placement']} | {cells} |")
    return lines


def pipeline_table(rows):
    lines = ["| pipeline | images/s | vs naive (re-timed just before) |", "|---|---:|---:|"]
    for r in rows:
        speed = fmt(r["ips"]) if r["ips"] else f"failed: {r['error']}"
        lines.append(f"| {r['label']} | {speed} | {_r(r['ips'], r['naive'])} |")
    return lines


def bf16_hardware():
    have = [flag for flag in machine.cpu_flags() if flag in ("avx512_bf16", "amx_bf16")]
    return ", ".join(have) if have else "none (no avx512_bf16/amx_bf16 flag)"


def header(load_start, load_end, seconds):
    cores = machine.usable_cores()
    gpus = tf.config.list_physical_devices("GPU")
    device = f", GPU: {', '.join(g.name for g in gpus)}" if gpus else ""
    onednn = os.environ.get("TF_ENABLE_ONEDNN_OPTS", "unset")
    return (f"Measured {datetime.datetime.now().isoformat(sep=' ', timespec='minutes')} on {machine.cpu_model()}, "
            f"{cores} cores{device}; TensorFlow {tf.__version__}, Keras {keras.__version__}; "
            f"TF_ENABLE_ONEDNN_OPTS={onednn}; bf16 hardware: {bf16_hardware()}; "
            f"1-min load average {load_start:.2f} at start, {load_end:.2f} at end; "
            f"{seconds:.0f} s in all.")


def _timing(args, one="step"):
    return (f"median of per-{one} times, timed interleaved in up to {args.rounds} rounds (first chunk "
            f"one {one}, later ones about {args.chunk_seconds:g} s, at most {args.steps} {one}es) until "
            f"a variant has {args.variant_seconds:g} s of timed {one}es").replace("stepes", "steps")


def markdown(report, args, head):
    b = args.batch_size
    lines = ["## Training benchmarks", "", head, "",
             "Ratios are of median step times, with the ratio of the fastest steps in brackets (other jobs "
             "only ever add time, so the fastest steps are the least disturbed); above 1x means faster "
             "(train, eval) or slower (augmentation).", ""]
    if "train" in report:
        lines += [f"### Training throughput (batch {b})", "",
                  "`fit` on the same real batches. Plain: the `build_model` classifier compiled with "
                  "`compile(\"sgd\", \"sparse_categorical_crossentropy\")`; ours: `AugmentingTrainer` (no "
                  "augmentation) with the runner's optimizer (SGD, momentum 0.9), loss (cross-entropy on "
                  "one-hot rows) and accuracy metric; both with the same `jit_compile` and dtype policy. "
                  f"After {args.warmup} untimed warmup step(s), {_timing(args)}. \"ours vs own fp32\": our "
                  "step at fp32 / our step here, same XLA setting. \"first step\": tracing (and XLA "
                  "compilation) plus one step.", ""]
        lines += train_table(report["train"], args) + [""]
    if "augment" in report:
        lines += [f"### Cost of augmentation ({model_label(args.augment_model, args.width)}, fp32, XLA "
                  f"{'on' if args.augment_jit else 'off'}, batch {b})", "",
                  "Our trainer's step time with each stack on the device (inside the train step) or on the "
                  "host (a tf.data map that overlaps the step, on the same cores), as a ratio to no "
                  f"augmentation; {_timing(args)}.", ""]
        lines += augment_table(report["augment"], args) + [""]
    if "pipeline" in report:
        lines += [f"### Input pipeline alone (batch {b}, no model)", "",
                  "Batches pulled in Python from a fresh iterator after 3 warmup batches; median of "
                  f"{max(2, args.rounds)} chunks of about {args.pipeline_seconds:g} s. The naive pipeline is "
                  "re-timed just before every row.", ""]
        lines += pipeline_table(report["pipeline"]) + [""]
    if "eval" in report:
        xla = "/".join("XLA " + ("on" if j else "off") for j in args.eval_jit)
        lines += [f"### Evaluation throughput (batch {EVAL_BATCH}, {', '.join(args.eval_precisions)}, {xla})", "",
                  "The models of the training table; `evaluate` and `predict` on test batches after one "
                  f"warmup batch; {_timing(args, 'batch')}. Ours evaluates the loss on one-hot rows plus "
                  "accuracy, and predicts through the trainer (the runner predicts with the bare classifier, "
                  "i.e. plain Keras).", ""]
        lines += eval_table(report["eval"], args) + [""]
    return "\n".join(lines)
