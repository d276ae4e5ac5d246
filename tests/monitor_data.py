"""Small data sets for the monitor tests, generated with a fixed seed: a reference, an unshifted
sample of the same population, a deliberately shifted one, and labelled feedback."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

ROWS = 600
FEATURES = ["tenure_months", "monthly_spend", "plan"]


def population(seed: int, shift: float = 0.0, rows: int = ROWS) -> pd.DataFrame:
    """`shift` moves the numeric features by that many standard deviations and skews `plan`."""
    rng = np.random.default_rng(seed)
    premium = min(0.9, 0.3 + 0.6 * shift)
    return pd.DataFrame(
        {
            "tenure_months": rng.normal(24 + 12 * shift, 12, rows).round(1),
            "monthly_spend": rng.gamma(4, 10 + 10 * shift, rows).round(2),
            "plan": rng.choice(["basic", "premium"], rows, p=[1 - premium, premium]),
            "age_band": rng.choice(["18-34", "35-54", "55+"], rows),
            "gender": rng.choice(["f", "m"], rows),
        }
    )


def feedback(seed: int, rows: int = ROWS, skill: float = 0.9, favoured: str | None = None) -> pd.DataFrame:
    """Labelled predictions. `skill` is the share predicted right; `favoured` gets most positives."""
    rng = np.random.default_rng(seed)
    frame = population(seed, rows=rows)
    label = rng.integers(0, 2, rows)
    right = rng.random(rows) < skill
    prediction = np.where(right, label, 1 - label)
    if favoured is not None:
        prediction = np.where(frame["age_band"] == favoured, 1, np.where(rng.random(rows) < 0.2, 1, 0))
    frame["label"] = label
    frame["prediction"] = prediction
    return frame


def write(frame: pd.DataFrame, path: Path) -> str:
    if path.suffix == ".parquet":
        frame.to_parquet(path, index=False)
    else:
        frame.to_csv(path, index=False)
    return str(path)
