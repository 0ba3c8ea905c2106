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
