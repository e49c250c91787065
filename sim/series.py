"""Observed monthly series (arrivals, and calibration targets) read from CSV files."""

from __future__ import annotations

import calendar
import io
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from sim import limits
from sim.params import Series


class SeriesError(ValueError):
    """A CSV that cannot be used as a monthly series; the message says why."""


def read_monthly(path: Path, month_column: str, value_column: str,
                 where: dict[str, str] | None = None) -> pd.Series:
    """Monthly totals (persons) indexed by the first day of each month, in order."""
    try:
        frame = pd.read_csv(io.BytesIO(limits.read_bytes(path)))
    except limits.LimitError as e:
        raise SeriesError(f"{path}: cannot read the file: {e}") from None
    except FileNotFoundError:
        raise SeriesError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise SeriesError(f"{path}: is a folder, not a CSV file") from None
    except OSError as e:
        raise SeriesError(f"{path}: cannot read the file ({e.strerror or e})") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise SeriesError(f"{path}: not a readable CSV ({str(e).splitlines()[0]})") from None
    for col in (month_column, value_column, *(where or {})):
        if col not in frame.columns:
            raise SeriesError(f"{path}: no column {col!r} (columns: {', '.join(frame.columns)})")
    for col, value in (where or {}).items():
        frame = frame[frame[col].astype(str) == str(value)]
    if frame.empty:
        raise SeriesError(f"{path}: no rows left after filtering by {where}")
    text = frame[month_column].astype(str).str.strip()
    months = pd.to_datetime(text.where(text.str.match(r"^\d{4}-\d{1,2}(-\d{1,2})?$")),
                            errors="coerce", format="mixed")
    bad = months.isna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
        raise SeriesError(f"{path}: line {row}: {month_column} "
                          f"{frame[month_column].iloc[row - 2]!r} is not a month (use YYYY-MM)")
    values = pd.to_numeric(frame[value_column], errors="coerce")
    invalid = values.isna() | (values < 0) | ~np.isfinite(values)
    if invalid.any():
        row = int(np.flatnonzero(invalid.to_numpy())[0]) + 2
        raise SeriesError(f"{path}: line {row}: {value_column} "
                          f"{frame[value_column].iloc[row - 2]!r} is not a count of persons")
    first_days = months.dt.to_period("M").dt.to_timestamp()
    totals = values.groupby(first_days.to_numpy()).sum().sort_index()
    expected = pd.date_range(totals.index[0], totals.index[-1], freq="MS")
    if len(expected) != len(totals):
        missing = sorted(set(expected) - set(totals.index))
        raise SeriesError(f"{path}: months missing from the series, first {missing[0]:%Y-%m}")
    return totals


def weekly_arrivals(spec: Series, start: date, weeks: int) -> np.ndarray:
    """Persons arriving in each week of the run: each day gets its month's total / days."""
    monthly = read_monthly(Path(spec.file), spec.month_column, spec.value_column, spec.where)
    tail_mean = float(monthly.iloc[-12:].mean())
    per_month = {(ts.year, ts.month): float(v) for ts, v in monthly.items()}
    out = np.zeros(weeks)
    for w in range(weeks):
        for d in range(7):
            day = start + timedelta(days=7 * w + d)
            total = per_month.get((day.year, day.month))
            if total is None:
                total = tail_mean if day > monthly.index[-1].date() else 0.0
            out[w] += total / calendar.monthrange(day.year, day.month)[1]
    return out * spec.share
