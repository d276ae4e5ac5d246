"""`modelplane monitor run` on generated data: the numbers it publishes, and its refusals of bad data."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from modelplane.cli import main
from modelplane.monitor import compute
from modelplane.monitor.data import DataSet
from tests.monitor_data import FEATURES, feedback, population, write

BASE = ["monitor", "run", "--model", "churn", "--environment", "dev", "--namespace", "ml-dev"]


def samples(text: str) -> dict[str, float]:
    """Exposition text -> {'name{labels}': value}, without comments."""
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            key, value = line.rsplit(" ", 1)
            out[key] = float(value)
    return out


def drift_of(published: dict[str, float], feature: str, metric: str) -> float:
    [value] = [v for k, v in published.items() if f'feature="{feature}"' in k and f'metric="{metric}"' in k]
    return value


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("monitor-data")
    write(population(1), folder / "reference.csv")
    write(population(2), folder / "current.csv")
    write(population(3, shift=1.0), folder / "shifted.parquet")
    write(feedback(4), folder / "feedback.csv")
    write(feedback(5, favoured="18-34"), folder / "biased.csv")
    return folder


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main([*BASE, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_shifted_data_crosses_the_psi_threshold_and_unshifted_does_not(
    data_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = str(data_dir / "reference.csv")
    code, out, _ = run(capsys, "--reference", ref, "--current", str(data_dir / "shifted.parquet"))
    assert code == 0
    shifted = samples(out)
    code, out, _ = run(capsys, "--reference", ref, "--current", str(data_dir / "current.csv"))
    assert code == 0
    quiet = samples(out)
    for feature in FEATURES:
        assert drift_of(shifted, feature, "psi") > 0.2, feature
        assert drift_of(quiet, feature, "psi") < 0.1, feature
    for feature in ("tenure_months", "monthly_spend"):  # KS only for numeric features
        assert drift_of(shifted, feature, "ks") > drift_of(quiet, feature, "ks")
    assert not any('feature="plan",metric="ks"' in k for k in shifted)
    # every check measured has a fresh timestamp; checks not asked for have none (they go stale)
    stamps = [k for k in shifted if k.startswith("modelplane_monitor_last_success_timestamp_seconds")]
    assert len(stamps) == 1 and 'check="drift"' in stamps[0]


def test_spec_drift_metric_is_published_next_to_psi_and_ks(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref, cur = str(data_dir / "reference.csv"), str(data_dir / "shifted.parquet")
    code, out, _ = run(capsys, "--reference", ref, "--current", cur, "--drift-metric", "wasserstein")
    assert code == 0
    metrics = {k.split('metric="')[1].split('"')[0] for k in samples(out) if k.startswith("modelplane_drift_score")}
    assert metrics == {"psi", "ks", "wasserstein"}


def test_accuracy_and_fairness_from_labelled_feedback(data_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref, cur = str(data_dir / "reference.csv"), str(data_dir / "current.csv")
    args = ["--reference", ref, "--current", cur, "--accuracy-metric", "accuracy", "--fairness-metric"]
    args += ["disparate_impact", "--protected-attribute", "age_band", "--protected-attribute", "gender"]
    code, out, _ = run(capsys, *args, "--feedback", str(data_dir / "feedback.csv"))
    assert code == 0
    fair = samples(out)
    accuracy = fair['modelplane_model_accuracy{environment="dev",metric="accuracy",model="churn",namespace="ml-dev"}']
    assert 0.85 < accuracy < 0.95  # generated with 90 % right
    code, out, _ = run(capsys, *args, "--feedback", str(data_dir / "biased.csv"))
    assert code == 0
    biased = samples(out)
    key = (
        'modelplane_fairness_ratio{attribute="age_band",environment="dev",'
        'metric="disparate_impact",model="churn",namespace="ml-dev"}'
    )
    assert fair[key] > 0.8 and biased[key] < 0.3  # one band gets every positive, the others 20 %


def _plan(metrics: tuple[str, ...], fairness: str | None = None) -> compute.Plan:
    return compute.Plan((), "psi", metrics, fairness, ("group",), "label", "prediction")


def test_accuracy_metrics_on_known_numbers() -> None:
    frame = pd.DataFrame({"label": [3.0, 5.0, 2.0, 8.0], "prediction": [2.5, 5.0, 4.0, 8.0]})
    values = compute.accuracy(DataSet("feedback", "mem", frame), _plan(("mae", "rmse", "wape", "wape_skill")))
    assert values["mae"] == pytest.approx(0.625)
    assert values["rmse"] == pytest.approx(math.sqrt((0.25 + 4) / 4))
    assert values["wape"] == pytest.approx(2.5 / 18)
    assert values["wape_skill"] == pytest.approx(1 - 2.5 / 18)
    scores = pd.DataFrame({"label": [0, 0, 1, 1], "prediction": [0.1, 0.4, 0.35, 0.8]})
    classes = compute.accuracy(DataSet("feedback", "mem", scores), _plan(("auc", "accuracy", "precision", "recall")))
    assert classes == {"auc": 0.75, "accuracy": 0.75, "precision": 1.0, "recall": 0.5}


def test_fairness_ratio_and_difference_on_known_numbers() -> None:
    frame = pd.DataFrame({"group": list("aaaabbbb"), "prediction": [1, 1, 1, 0, 1, 0, 0, 0], "label": [1] * 8})
    data = DataSet("feedback", "mem", frame)
    assert compute.fairness(data, _plan((), "disparate_impact")) == {("disparate_impact", "group"): 0.25 / 0.75}
    assert compute.fairness(data, _plan((), "demographic_parity_difference")) == {
        ("demographic_parity_difference", "group"): 0.5
    }


def _bad(folder: Path, case: str) -> tuple[list[str], str]:
    """(arguments, the one line expected) for each kind of bad data."""
    ref = write(population(1), folder / "reference.csv")
    cur = population(2)
    args = ["--reference", ref]
    if case == "missing file":
        return [
            *args,
            "--current",
            str(folder / "nope.csv"),
        ], f"data set current ({folder / 'nope.csv'}): file not found"
    if case == "extra column":
        path = write(cur.assign(score=1.0), folder / "current.csv")
        return [
            *args,
            "--current",
            path,
        ], f"data set current ({path}): column 'score': is not in the reference data set"
    if case == "missing column":
        path = write(cur.drop(columns=["plan"]), folder / "current.csv")
        return [*args, "--current", path], (
            f"data set current ({path}): column 'plan': is in the reference data set but missing here"
        )
    if case == "empty":
        path = write(cur.iloc[:0], folder / "current.csv")
        return [*args, "--current", path], f"data set current ({path}): no rows"
    if case == "NaN-only column":
        path = write(cur.assign(monthly_spend=np.nan), folder / "current.parquet")
        return [*args, "--current", path], (
            f"data set current ({path}): column 'monthly_spend': has only missing values (NaN)"
        )
    assert case == "missing protected attribute"
    current = write(cur, folder / "current.csv")
    fb = write(feedback(4).drop(columns=["gender"]), folder / "feedback.csv")
    fairness = ["--fairness-metric", "disparate_impact", "--protected-attribute", "age_band"]
    fairness += ["--protected-attribute", "gender", "--feature", "tenure_months"]
    return [*args, "--current", current, "--feedback", fb, *fairness], (
        f"data set feedback ({fb}): column 'gender': protected attribute is missing"
    )


@pytest.mark.parametrize(
    "case",
    ["missing file", "extra column", "missing column", "empty", "NaN-only column", "missing protected attribute"],
)
def test_bad_data_is_one_line_exit_1_and_nothing_published(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args, expected = _bad(tmp_path, case)
    code, out, err = run(capsys, *args)
    assert code == 1
    assert err == f"modelplane monitor: error: {expected}\n"
    assert out == ""  # no samples printed, so none would have been pushed
