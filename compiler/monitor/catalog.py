"""The metrics the monitor knows, by name: light enough for the CLI parser and the spec to import."""

from __future__ import annotations

DRIFT_METRICS = ("psi", "kl", "js", "wasserstein", "ks")
ALWAYS_DRIFT = ("psi", "ks")  # published whatever the spec names, next to the spec's own metric
# Accuracy-type metric -> which way is good. The alert is `< min` for "higher", `> max` for "lower".
ACCURACY_DIRECTION = {
    "accuracy": "higher",
    "precision": "higher",
    "recall": "higher",
    "f1": "higher",
    "auc": "higher",
    "r2": "higher",
    "wape_skill": "higher",
    "mae": "lower",
    "rmse": "lower",
    "mape": "lower",
    "wape": "lower",
}
# Fairness metric -> whether it needs the true label (equal opportunity compares true-positive rates).
FAIRNESS_NEEDS_TARGET = {
    "disparate_impact": False,
    "demographic_parity_difference": False,
    "equal_opportunity_ratio": True,
    "equal_opportunity_difference": True,
}
