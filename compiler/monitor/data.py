"""Reading and checking the monitor's data sets: reference, current production data, labelled feedback.

Every check names the data set and the column, because a monitor that quietly measured the wrong
thing would publish a misleading number (zero drift for a column that is not there at all).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd

from modelplane.problems import ModelplaneError


class DataError(ModelplaneError):
    """A data set the monitor cannot measure honestly: one line, exit code 1, nothing published."""

    exit_code = 1

    def __init__(self, role: str, uri: str, message: str, column: str | None = None):
        where = f"data set {role} ({uri})"
        what = f"column '{column}': {message}" if column is not None else message
        super().__init__(f"{where}: {what}")
        self.role, self.uri, self.column = role, uri, column


@dataclass(frozen=True)
class DataSet:
    role: str  # reference | current | feedback
    uri: str
    frame: pd.DataFrame

    def fail(self, message: str, column: str | None = None) -> DataError:
        return DataError(self.role, self.uri, message, column)


def _is_local(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return scheme in ("", "file") or len(scheme) == 1  # a Windows drive letter reads as a scheme


def _local_path(uri: str) -> Path:
    return Path(urlparse(uri).path) if uri.startswith("file://") else Path(uri)


def _frame(uri: str) -> pd.DataFrame:
    """Local files through pandas; object-store URIs (s3://, gs://, hdfs://) through pyarrow's filesystems."""
    parquet = urlparse(uri).path.endswith((".parquet", ".pq"))
    if _is_local(uri):
        path = _local_path(uri)
        return pd.read_parquet(path) if parquet else pd.read_csv(path)
    import pyarrow.fs
    import pyarrow.parquet

    filesystem, path = pyarrow.fs.FileSystem.from_uri(uri)
    if parquet:
        return pyarrow.parquet.read_table(path, filesystem=filesystem).to_pandas()
    with filesystem.open_input_file(path) as stream:
        return pd.read_csv(stream)


def read(role: str, uri: str) -> DataSet:
    """CSV or Parquet, from a local path or an object-store URI."""
    if _is_local(uri) and not _local_path(uri).is_file():
        raise DataError(role, uri, "file not found")
    try:
        frame = _frame(uri)
    except pd.errors.EmptyDataError:
        raise DataError(role, uri, "no rows (the file is empty)") from None
    except (ValueError, OSError, ImportError, pd.errors.ParserError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(role, uri, f"cannot be read: {first}") from None
    if frame.empty:
        raise DataError(role, uri, "no rows")
    frame.columns = [str(c) for c in frame.columns]
    return DataSet(role, uri, frame)


def require_columns(data: DataSet, columns: list[str], what: str = "column") -> None:
    for column in columns:
        if column not in data.frame.columns:
            raise data.fail(f"{what} is missing", column)


def require_values(data: DataSet, columns: list[str]) -> None:
    """A column with only missing values cannot be measured."""
    for column in columns:
        if data.frame[column].isna().all():
            raise data.fail("has only missing values (NaN)", column)


def require_same_columns(reference: DataSet, current: DataSet) -> None:
    """Current production data must carry exactly the reference's columns."""
    ref, cur = list(reference.frame.columns), set(current.frame.columns)
    for column in ref:
        if column not in cur:
            raise current.fail("is in the reference data set but missing here", column)
    for column in current.frame.columns:
        if column not in set(ref):
            raise current.fail("is not in the reference data set", column)


def require_numeric(data: DataSet, column: str) -> None:
    if not pd.api.types.is_numeric_dtype(data.frame[column]):
        raise data.fail("must hold numbers", column)
