"""benchmarks/train.py runs end to end in its smallest mode and prints every table (no timing asserted)."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "train.py"


def test_train_benchmark_quick_prints_all_tables(tmp_path):
    out = tmp_path / "bench.md"
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--precisions", "fp32", "--jit", "off", "--markdown", str(out)],
        capture_output=True, text=True, timeout=300, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert proc.returncode == 0, proc.stderr[-3000:]
    text = out.read_text()
    assert text.strip() in proc.stdout
    for title in ("## Training benchmarks", "### Training throughput", "### Cost of augmentation",
                  "### Input pipeline alone", "### Evaluation throughput"):
        assert title in text
    assert "1-min load average" in text and "TensorFlow" in text
    assert "| mlp | fp32 | off |" in text  # a training row and an evaluation row
    assert "| `flip,pad_crop` | host |" in text and "| `none` | device |" in text
    assert "failed" not in text and "n/a" not in text


def test_train_benchmark_rejects_unknown_names():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--models", "nope", "--parts", "train"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "unknown value(s) nope" in proc.stderr


AUGMENT = SCRIPT.parent / "augment.py"
AUGMENT_VS_COMMIT = SCRIPT.parent / "augment_vs_commit.py"
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}


def test_augment_benchmark_prints_rows_with_ratios(tmp_path):
    out = tmp_path / "augment.md"
    proc = subprocess.run(
        [sys.executable, str(AUGMENT), "--only", "flip,chain", "--seconds", "0.05", "--markdown", str(out)],
        capture_output=True, text=True, timeout=300, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in out.read_text().splitlines() if line.startswith("| flip") or line.startswith("| chain")]
    assert len(rows) == 2
    flip = [cell.strip() for cell in rows[0].strip("|").split("|")]
    assert flip[1] != "n/a" and flip[3] != "n/a" and flip[5].endswith("x")  # ours, Keras core, ratio


def test_augment_vs_commit_compares_two_versions_in_one_process():
    proc = subprocess.run(
        [sys.executable, str(AUGMENT_VS_COMMIT), "HEAD", "--only", "pad_crop", "--rounds", "1",
         "--seconds", "0.05"], capture_output=True, text=True, timeout=300, env=ENV)
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| pad_crop |")]
    assert [row.split("|")[2].strip() for row in rows] == ["no", "yes"]
    assert all(row.rstrip(" |").endswith("x") for row in rows)
    bad = subprocess.run([sys.executable, str(AUGMENT_VS_COMMIT), "HEAD", "--only", "nope"],
                         capture_output=True, text=True, timeout=120, env=ENV)
    assert bad.returncode != 0 and "unknown case(s) nope" in bad.stderr


ACCELERATOR = SCRIPT.parent / "accelerator.py"


def test_accelerator_benchmark_runs_without_tensorflow(jax_env):
    """The GPU machine has no TensorFlow: the benchmark's smoke run must work with it blocked."""
    proc = subprocess.run([sys.executable, str(ACCELERATOR), "--quick", "--peak-tflops", "1"],
                          capture_output=True, text=True, timeout=300, env=jax_env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| variant | images/s | vs plain | TFLOP/s | of peak |" in proc.stdout
    for row in ("| plain |", "| ours host spe=1 |", "| ours host spe=2 |", "| ours device spe=2 |"):
        assert row in proc.stdout
    assert "jax" in proc.stdout and "multiply-adds per image" in proc.stdout


def test_accelerator_benchmark_rejects_a_steps_per_call_that_does_not_divide():
    proc = subprocess.run([sys.executable, str(ACCELERATOR), "--steps", "10", "--spe", "1,4"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--spe values must be >= 1 and divide --steps" in proc.stderr
