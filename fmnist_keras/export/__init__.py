"""Export a trained classifier as a SavedModel and TFLite files, then verify them.

Exported artifacts take raw pixels 0-255 (docs/design.md, "Contracts"); the [0, 1]
scaling and the model's own normalization happen inside. The model is always
called with `training=False` (Keras' own `export(format="tf_saved_model")`
serves augmentation layers in training mode).

SavedModel signatures (a signature has one dtype and one rank, so there are four):

| signature | input `pixels` |
|---|---|
| `serving_default` | float32 `(B, H, W, 1)` |
| `serving_uint8` | uint8 `(B, H, W, 1)` |
| `serving_float32_hw` | float32 `(B, H, W)` |
| `serving_uint8_hw` | uint8 `(B, H, W)` |

each returning `probabilities` (float32 `(B, 10)`) and `class_id` (int64 `(B,)`).
`serve(loaded, pixels)` picks the signature from a NumPy array's dtype and rank.

TFLite files: `model_float32.tflite` and `model_fp16.tflite` (float16 weights)
take float32 `(B, H, W, 1)` pixels 0-255; `model_int8.tflite` is full-integer
(int8 weights and activations, calibrated on real training images) and takes
uint8 `(B, H, W, 1)` pixels (input scale 1, zero point 0: the raw bytes). All
return float32 probabilities `(B, 10)`.

Every export is verified on the full test set (`export_report.json`).

Run:
    python -m fmnist_keras.export runs/cnn2_tuned/<stamp>
    python -m fmnist_keras.export model.keras --formats savedmodel,tflite-int8 --out saved_models/mine
"""

# One module per job: `formats` writes the artifacts, `verify` checks them on the
# test set, `runtime` runs them (`serve`, `TFLiteRunner`), `folder` makes an export
# folder (`export_model`, the recipes' `export_run`) and `cli` is the command line.
# Every name callers used from the old single module is re-exported here.
from fmnist_keras.export.cli import main
from fmnist_keras.export.folder import (
    REPORT, default_out_dir, export_model, export_run, export_stage, export_summary, load_classifier,
    prepare_out_dir)
from fmnist_keras.export.formats import (
    FILES, FORMATS, SIGNATURES, image_shape, parse_formats, probabilities_fn, write_savedmodel, write_tflite)
from fmnist_keras.export.runtime import TFLiteRunner, make_interpreter, serve
from fmnist_keras.export.verify import MAX_INT8_ACCURACY_DROP, MIN_FLOAT_AGREEMENT, format_report, verify_export


__all__ = [
    "FILES", "FORMATS", "MAX_INT8_ACCURACY_DROP", "MIN_FLOAT_AGREEMENT", "REPORT", "SIGNATURES", "TFLiteRunner",
    "default_out_dir", "export_model", "export_run", "export_stage", "export_summary", "format_report", "image_shape",
    "load_classifier", "main", "make_interpreter", "parse_formats", "prepare_out_dir", "probabilities_fn", "serve",
    "verify_export", "write_savedmodel", "write_tflite",
]
