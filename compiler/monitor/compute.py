"""Pure metric computation: data frames in, numbers out. No I/O; nothing here talks to Prometheus.

- drift per feature: PSI, KL, Jensen-Shannon and Wasserstein through Evidently's `ValueDrift`;
  KS as the two-sample statistic D (SciPy), so that for every drift metric higher means more drift
  and one `> threshold` alert fits all of them (Evidently's "ks" reports a p-value instead);
- accuracy-type metrics on labelled feedback, higher-is-better and lower-is-better (`DIRECTION`);
- fairness per protected attribute, comparing the groups of that attribute.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pandas import Series
from scipy import stats

from modelplane.monitor.catalog import ACCURACY_DIRECTION, ALWAYS_DRIFT, FAIRNESS_NEEDS_TARGET
from modelplane.monitor.data import DataSet, require_columns, require_numeric, require_same_columns, require_values

# Evidently's name for each spec drift metric; `ks` is computed with SciPy (see above).
EVIDENTLY_METHODS = {"psi": "psi", "kl": "kl_div", "js": "jensenshannon", "wasserstein": "wasserstein"}
NUMERIC_ONLY = {"wasserstein", "ks"}  # distances on numbers: not published for categorical features



def _binary(values: Series) -> Series:
    """Class labels: 0/1 as given, scores thresholded at 0.5."""
    if set(values.dropna().unique()) <= {0, 1}:
        return values.astype(int)
    return (values >= 0.5).astype(int)


def _accuracy(y: Series, p: Series) -> float:
    if pd.api.types.is_numeric_dtype(p) and set(y.unique()) <= {0, 1}:
        p = _binary(p)
    return float((y == p).mean())


def _confusion(y: Series, p: Series) -> tuple[int, int, int]:
    y, p = _binary(y), _binary(p)
    return int(((y == 1) & (p == 1)).sum()), int(((y == 0) & (p == 1)).sum()), int(((y == 1) & (p == 0)).sum())


def _precision(y: Series, p: Series) -> float:
    tp, fp, _ = _confusion(y, p)
    return tp / (tp + fp) if tp + fp else 0.0


def _recall(y: Series, p: Series) -> float:
    tp, _, fn = _confusion(y, p)
    return tp / (tp + fn) if tp + fn else 0.0


def _f1(y: Series, p: Series) -> float:
    precision, recall = _precision(y, p), _recall(y, p)
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def _auc(y: Series, p: Series) -> float:
    """Area under the ROC curve as the Mann-Whitney U statistic on ranks (ties share a rank)."""
    y = _binary(y)
    positives, negatives = int(y.sum()), int((y == 0).sum())
    if not positives or not negatives:
        return math.nan  # undefined with one class only: reported as an error by the caller
    ranks = p.rank(method="average")
    return float((ranks[y == 1].sum() - positives * (positives + 1) / 2) / (positives * negatives))


def _mae(y: Series, p: Series) -> float:
    return float((y - p).abs().mean())


def _rmse(y: Series, p: Series) -> float:
    return float(np.sqrt(((y - p) ** 2).mean()))


def _mape(y: Series, p: Series) -> float:
    nonzero = y != 0
    return float(((y[nonzero] - p[nonzero]).abs() / y[nonzero].abs()).mean()) if nonzero.any() else math.nan


def _wape(y: Series, p: Series) -> float:
    total = float(y.abs().sum())
    return float((y - p).abs().sum()) / total if total else math.nan


def _r2(y: Series, p: Series) -> float:
    spread = float(((y - y.mean()) ** 2).sum())
    return 1 - float(((y - p) ** 2).sum()) / spread if spread else math.nan


ACCURACY: dict[str, Callable[[Series, Series], float]] = {
    "accuracy": _accuracy,
    "precision": _precision,
    "recall": _recall,
    "f1": _f1,
    "auc": _auc,
    "mae": _mae,
    "rmse": _rmse,
    "mape": _mape,
    "wape": _wape,
    "wape_skill": lambda y, p: 1 - _wape(y, p),
    "r2": _r2,
}
assert set(ACCURACY) == set(ACCURACY_DIRECTION)
# Metrics on predicted classes; the others need numbers (scores or regression outputs).
NEEDS_NUMBERS = {"auc", "mae", "rmse", "mape", "wape", "wape_skill", "r2"}


def _rates(frame: pd.DataFrame, attribute: str, prediction: str, target: str | None) -> Series:
    """Per group of the attribute: share of positive predictions (or, given target, of positives found)."""
    rows = frame.dropna(subset=[attribute])
    positive = _binary(rows[prediction])
    if target is not None:
        actual = _binary(rows[target])
        rows, positive = rows[actual == 1], positive[actual == 1]
    return positive.groupby(rows[attribute]).mean()


def _ratio(rates: Series) -> float:
    return float(rates.min() / rates.max()) if rates.max() > 0 else math.nan


def _difference(rates: Series) -> float:
    return float(rates.max() - rates.min())


# Fairness metric -> its formula over the per-group rates (see `_rates`).
FAIRNESS: dict[str, Callable[[Series], float]] = {
    "disparate_impact": _ratio,
    "demographic_parity_difference": _difference,
    "equal_opportunity_ratio": _ratio,
    "equal_opportunity_difference": _difference,
}
assert set(FAIRNESS) == set(FAIRNESS_NEEDS_TARGET)


@dataclass(frozen=True)
class Plan:
    """What to measure; derived from the spec by the rendered job's arguments."""

    features: tuple[str, ...]
    drift_metric: str
    accuracy_metrics: tuple[str, ...]
    fairness_metric: str | None
    protected: tuple[str, ...]
    target: str
    prediction: str

    def drift_metrics(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*ALWAYS_DRIFT, self.drift_metric)))


@dataclass(frozen=True)
class Measurements:
    drift: dict[tuple[str, str], float]  # (feature, metric) -> score
    accuracy: dict[str, float]  # metric -> value
    fairness: dict[tuple[str, str], float]  # (metric, attribute) -> value


def features_of(plan: Plan, reference: DataSet) -> list[str]:
    if plan.features:
        return list(plan.features)
    skip = {plan.target, plan.prediction, *plan.protected}
    return [c for c in reference.frame.columns if c not in skip]


def _numeric(column: Series) -> bool:
    return pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column)


def drift(
    reference: DataSet, current: DataSet, features: list[str], metrics: tuple[str, ...]
) -> dict[tuple[str, str], float]:
    """Per (feature, metric) drift score of current against reference (`NUMERIC_ONLY` on numbers only)."""
    os.environ.setdefault("DO_NOT_TRACK", "1")  # no usage telemetry from a batch job
    from evidently import DataDefinition, Dataset, Report
    from evidently.metrics import ValueDrift

    for data in (reference, current):
        require_columns(data, features, "feature column")
        require_values(data, features)
    numeric = [f for f in features if _numeric(reference.frame[f])]
    categorical = [f for f in features if f not in numeric]
    pairs = [(f, m) for f in features for m in metrics if m != "ks" and (f in numeric or m not in NUMERIC_ONLY)]
    out: dict[tuple[str, str], float] = {}
    if pairs:
        definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
        report = Report([ValueDrift(column=f, method=EVIDENTLY_METHODS[m]) for f, m in pairs])
        snapshot = report.run(
            Dataset.from_pandas(current.frame[features], data_definition=definition),
            Dataset.from_pandas(reference.frame[features], data_definition=definition),
        )
        for (feature, metric), result in zip(pairs, snapshot.dict()["metrics"], strict=True):
            out[(feature, metric)] = float(result["value"])
    if "ks" in metrics:
        for feature in numeric:
            ks = stats.ks_2samp(reference.frame[feature].dropna(), current.frame[feature].dropna())
            out[(feature, "ks")] = float(ks.statistic)
    for (feature, metric), value in out.items():
        if not math.isfinite(value):
            raise current.fail(f"{metric} drift is undefined against the reference ({value})", feature)
    return dict(sorted(out.items()))


def accuracy(feedback: DataSet, plan: Plan) -> dict[str, float]:
    require_columns(feedback, [plan.target, plan.prediction])
    require_values(feedback, [plan.target, plan.prediction])
    rows = feedback.frame.dropna(subset=[plan.target, plan.prediction])
    out = {}
    for metric in plan.accuracy_metrics:
        if metric in NEEDS_NUMBERS:
            require_numeric(feedback, plan.prediction)
            require_numeric(feedback, plan.target)
        value = ACCURACY[metric](rows[plan.target], rows[plan.prediction])
        if not math.isfinite(value):
            raise feedback.fail(f"{metric} is undefined for these labels (one class only, or all zero)", plan.target)
        out[metric] = value
    return out


def fairness(data: DataSet, plan: Plan) -> dict[tuple[str, str], float]:
    metric = plan.fairness_metric
    if metric is None:
        return {}
    needs_target, formula = FAIRNESS_NEEDS_TARGET[metric], FAIRNESS[metric]
    require_columns(data, list(plan.protected), "protected attribute")
    require_values(data, list(plan.protected))
    require_columns(data, [plan.prediction, *([plan.target] if needs_target else [])])
    require_values(data, [plan.prediction, *([plan.target] if needs_target else [])])
    out = {}
    for attribute in plan.protected:
        rates = _rates(data.frame, attribute, plan.prediction, plan.target if needs_target else None)
        if len(rates) < 2:
            raise data.fail("fairness needs at least two groups; found one", attribute)
        value = formula(rates)
        if not math.isfinite(value):
            raise data.fail(f"{metric} is undefined: no group has a positive outcome", attribute)
        out[(metric, attribute)] = value
    return out


def measure(reference: DataSet, current: DataSet, feedback: DataSet | None, plan: Plan) -> Measurements:
    """Everything, or a `DataError` before anything is published."""
    require_same_columns(reference, current)
    features = features_of(plan, reference)
    scores = drift(reference, current, features, plan.drift_metrics())
    accuracy_values = accuracy(feedback, plan) if feedback is not None and plan.accuracy_metrics else {}
    fairness_values = fairness(feedback if feedback is not None else current, plan)
    return Measurements(scores, accuracy_values, fairness_values)
