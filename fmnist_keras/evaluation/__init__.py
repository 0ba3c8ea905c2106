"""Evaluation beyond accuracy: corruption robustness, calibration, TTA/ensembles, error analysis.

One module per job: `corruptions` (Fashion-MNIST-C style sets), `robustness`
(CE, mCE, export), `calibration` (ECE, NLL, Brier, temperature), `tta`
(test-time augmentation, ensembles), `errors` (confusions, mistakes),
`plots`, `page` (the self-contained HTML page, report.html), `loading`
(models, predictor, validation split), `suite` (`run_evaluation`, its stages
in order) and `cli` (`python -m fmnist_keras.evaluation`; the old
`python -m fmnist_keras.evaluate` is kept for one release).

Words: the *results* are what one evaluation measured (evaluation.json, the
dict `run_evaluation` returns); the *page* renders them; a *ledger* row
(`summary`) is the few numbers a recorded run keeps of them.
"""

from fmnist_keras.evaluation.calibration import (
    apply_temperature, brier_score, calibration_metrics, expected_calibration_error, fit_temperature,
    negative_log_likelihood, reliability_bins)
from fmnist_keras.evaluation.corruptions import (
    CORRUPTIONS, SEVERITIES, corrupt, corruption_names, parse_corruptions, severity_level)
from fmnist_keras.evaluation.errors import confusion_matrix, most_confused, worst_mistakes
from fmnist_keras.evaluation.robustness import evaluate_corruptions, mean_corruption_error, write_idx
from fmnist_keras.evaluation.suite import model_folders, run_evaluation, summary
from fmnist_keras.evaluation.tta import ensemble, parse_tta, predict_tta, tta_views

__all__ = [
    "CORRUPTIONS", "SEVERITIES", "apply_temperature", "brier_score", "calibration_metrics", "confusion_matrix",
    "corrupt", "corruption_names", "ensemble", "evaluate_corruptions", "expected_calibration_error",
    "fit_temperature", "mean_corruption_error", "model_folders", "most_confused", "negative_log_likelihood", "parse_corruptions",
    "parse_tta", "predict_tta", "reliability_bins", "run_evaluation", "severity_level", "summary", "tta_views",
    "worst_mistakes", "write_idx",
]
