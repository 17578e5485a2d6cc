"""The `dates` step: a date column becomes numbers a network can use, instead of one category per date.

Each date column is replaced by its year, its cyclical parts as sin/cos pairs (month, day of month,
weekday, day of year, and the time of day when the training values have one) and optionally the days
since the first training date. A cycle's position p of period P is the pair sin(2πp/P), cos(2πp/P),
so the last day of a cycle lies next to the first (Dec 31 beside Jan 1, Sunday beside Monday).

Formats are detected once, on the training rows, and kept in the state, so later tables are parsed
exactly as training was, each with an explicit format (vectorised, never row by row). A time with a
UTC offset (`2024-03-10T23:30-05:00`, `...Z`) is converted to UTC, so an instant has the same parts
whichever zone wrote it; a time without one is read as written. A value that does not parse is
missing in every part (with a note): a `clean` step after this one fills it by its rule.
"""

from functools import partial
from typing import Callable, NamedTuple

import numpy as np
import pandas as pd

from nntrain.data.step import CountNote, EachChunk, first_line, is_numeric, place, replace_columns
from nntrain.errors import DataError
from nntrain.words import counted

DATE_SHARE = 0.95  # a text column holds dates if at least this share of its present values parse as one format
SAMPLE = 1000      # formats are tried on this many present values, spread over the column; the best is checked on all

# Day and month order: the first listed wins a tie (01/02/2024 is January 2nd, as pandas reads it);
# `formats` in the step's config settles it. ISO8601 is pandas' parser for every ISO 8601 form;
# RFC 5322's form ("Tue, 20 Sep 2022 11:27:27 -0400") is how emails and Debian changelogs date things.
RFC5322 = "%a, %d %b %Y %H:%M:%S %z"
WHOLE = ("ISO8601", RFC5322)  # layouts that carry their own time
LAYOUTS = ["ISO8601", RFC5322, "%m/%d/%Y", "%d/%m/%Y", "%Y/%m/%d", "%d.%m.%Y", "%m-%d-%Y", "%d-%m-%Y",
           "%m/%d/%y", "%d/%m/%y", "%d %b %Y", "%d %B %Y", "%b %d %Y", "%b %d, %Y", "%B %d, %Y"]
TIMES = ["", " %H:%M", " %H:%M:%S"]  # every other layout is tried with each; a column may mix them


class Part(NamedTuple):
    """One part of a date: its value (a linear part) or its position in a cycle of `period` (a cyclical one)."""

    value: Callable[[pd.Series], pd.Series]
    period: Callable[[pd.Series], pd.Series | int] | None = None


PARTS = {
    "year": Part(lambda t: t.dt.year),
    "month": Part(lambda t: t.dt.month - 1, lambda t: 12),
    "day": Part(lambda t: t.dt.day - 1, lambda t: t.dt.days_in_month),
    "weekday": Part(lambda t: t.dt.day_of_week, lambda t: 7),  # Monday 0
    "yearday": Part(lambda t: t.dt.day_of_year - 1, lambda t: 365 + t.dt.is_leap_year),
    "hour": Part(lambda t: t.dt.hour + t.dt.minute / 60 + t.dt.second / 3600, lambda t: 24),
}


def parse_dates(values: pd.Series, formats: list[str]) -> pd.Series:
    """`values` as datetimes (UTC where the text has an offset, then without a zone): the first format
    that fits each value, NaT where none does."""
    parsed = None
    for fmt in formats:
        this = pd.to_datetime(values, format=fmt, errors="coerce", utc=True)
        parsed = this if parsed is None else parsed.where(parsed.notna(), this)
    return parsed.dt.tz_localize(None)


def check_format(fmt: str) -> str:
    """`fmt`, if pandas can parse with it; else a ValueError naming the bad code, before any data is read."""
    try:
        pd.to_datetime(pd.Series(["2000-01-01"]), format=fmt, errors="coerce")
    except ValueError as exc:
        raise ValueError(f"{fmt!r} is not a date format: {exc} (use strftime codes such as %d/%m/%Y %H:%M, "
                         "or ISO8601)") from None
    return fmt


def detect_formats(values: pd.Series) -> tuple[list[str], float]:
    """The formats of the layout that parses most of the present `values`, and the share of them it parses
    (([], 0.0) for a numeric column, or one whose values mostly hold no digit: text, not worth parsing)."""
    present = np.flatnonzero(values.notna().to_numpy())  # positions: no copy of a large column
    if is_numeric(values) or not len(present):
        return [], 0.0
    sample = values.iloc[present[::max(1, len(present) // SAMPLE)][:SAMPLE]]
    if sample.astype(str).str.contains(r"\d").mean() < 0.5:
        return [], 0.0
    best, share = [], 0.0
    for layout in LAYOUTS:
        formats = [layout] if layout in WHOLE else [layout + time for time in TIMES]
        parsed = [parse_dates(sample, [fmt]).notna() for fmt in formats]
        rate = np.logical_or.reduce(parsed).mean()
        if rate > share:
            best, share = [fmt for fmt, hits in zip(formats, parsed) if hits.any()], rate
        if share == 1:
            break
    if not best:
        return [], 0.0
    return best, float(parse_dates(values, best).notna().sum() / len(present))


class Dates:
    """Date columns to numeric parts: the year, cyclical parts as sin/cos pairs, the days since the first
    training date (`days_since`). Place it before `clean`, which then fills unparsable dates, and before
    `normalize`, which scales the year and the days."""

    def __init__(self, columns: list[str] | None = None, parts: list[str] | None = None, days_since: bool = False,
                 formats: dict | None = None):
        self.columns = columns
        self.parts = list(PARTS) if parts is None else parts
        self.days_since = days_since
        self.formats = formats or {}

    def fit(self, frame, ctx):
        features = ctx.features(frame)
        named = ctx.named(self.columns) if self.columns is not None else None
        missing = [c for c in (named or []) + ctx.named(list(self.formats)) if c not in features]
        if missing:
            raise DataError(f"dates: no feature column {', '.join(map(repr, dict.fromkeys(missing)))}")
        state, wanted = {}, set(named or ()) | set(self.formats)
        for name in (named if named is not None else features):
            column = ctx.learn(frame, name)
            formats, share = self._formats(name, column)
            if share < DATE_SHARE:
                if name not in wanted:
                    continue  # looking for date columns: this is none
                raise DataError(self._not_dates(name, column, formats, share))
            times = parse_dates(column, formats)
            parts = [part for part in self.parts if part != "hour" or _has_time(times)]
            state[name] = {"formats": formats, "parts": parts,
                           "reference": times.min().isoformat() if self.days_since else None}
        return {"columns": state}

    def fit_chunks(self, chunks, ctx):
        """`fit` over a table chunk by chunk: formats found on the first chunk's training values (a column is
        taken for dates, or not, there), then the parse rate, times of day and earliest date over every chunk."""
        seen, wanted = None, set(self.formats)
        for frame in chunks:
            if seen is None:
                features = ctx.features(frame)
                named = ctx.named(self.columns) if self.columns is not None else None
                wanted |= set(named or ())
                missing = [c for c in (named or []) + ctx.named(list(self.formats)) if c not in features]
                if missing:
                    raise DataError(f"dates: no feature column {', '.join(map(repr, dict.fromkeys(missing)))}")
                seen = {}
                for name in (named if named is not None else features):
                    formats, share = self._formats(name, ctx.learn(frame, name))
                    if formats and (share >= DATE_SHARE or name in wanted):
                        seen[name] = _SeenDates(formats)
                    elif name in wanted:
                        raise DataError(self._not_dates(name, ctx.learn(frame, name), formats, share))
            for name, dates in seen.items():
                dates.add(ctx.learn(frame, name))
        state = {}
        for name, dates in (seen or {}).items():
            share = dates.parsed / max(1, dates.present)
            if share < DATE_SHARE:
                if name not in wanted:
                    continue
                raise DataError(self._not_dates(name, dates.failing, dates.formats, share))
            parts = [part for part in self.parts if part != "hour" or dates.has_time]
            state[name] = {"formats": dates.formats, "parts": parts,
                           "reference": dates.first.isoformat() if self.days_since else None}
        return {"columns": state}

    def chunk_transform(self, state, ctx):
        return EachChunk(self, state, ctx)

    def _formats(self, name: str, column: pd.Series) -> tuple[list[str], float]:
        if name not in self.formats:
            return detect_formats(column)
        present = column.dropna()
        share = parse_dates(present, [self.formats[name]]).notna().mean() if len(present) else 0.0
        return [self.formats[name]], float(share)

    @staticmethod
    def _not_dates(name: str, column: pd.Series, formats: list[str], share: float) -> str:
        if not formats:
            return f"dates: column {name!r} holds no dates in a known format; give its format in formats: " \
                   f"{{{name}: '%d/%m/%Y'}} (strftime codes), or leave the column out of columns"
        failed = column.notna() & parse_dates(column, formats).isna()
        line = first_line(failed)
        return (f"dates: column {name!r} holds no dates: {share:.0%} of its training values parse as "
                f"{' or '.join(formats)} (at least {DATE_SHARE:.0%} must; e.g. {column[line]!r} on "
                f"{place(column.index, line)} does not); give its format in formats: {{{name}: '%d/%m/%Y'}} "
                "(strftime codes), or leave the column out")

    def fates(self, state) -> dict[str, dict]:
        return {name: {"fate": "encoded", "encoded_into": _width(spec)}
                for name, spec in state["columns"].items()}

    def transform(self, frame, state, ctx):
        pieces = {}
        for name, spec in state["columns"].items():
            if name not in frame:
                continue
            times = parse_dates(frame[name], spec["formats"])
            bad = (frame[name].notna() & times.isna()).to_numpy()
            if bad.any():
                line = first_line(pd.Series(bad, index=frame.index))
                ctx.notes.append(CountNote(("dates", name), int(bad.sum()),
                                           partial(_unparsable, name, frame[name][line], place(frame.index, line))))
            pieces[name] = pd.DataFrame(date_parts(name, times, spec), index=frame.index)
        return replace_columns(frame, pieces)


def _unparsable(name: str, example, where: str, count: int) -> str:
    return (f"dates: {counted(count, 'unparsable value')} in date column {name!r} treated as missing "
            f"(e.g. {example!r} on {where})")


class _SeenDates:
    """What the training values of one date column show, added chunk by chunk."""

    def __init__(self, formats: list[str]):
        self.formats = formats
        self.present = self.parsed = 0
        self.has_time, self.first = False, None
        self.failing: pd.Series | None = None  # a chunk holding a value that does not parse, for the message

    def add(self, column: pd.Series) -> None:
        times = parse_dates(column, self.formats)
        present, parsed = int(column.notna().sum()), int(times.notna().sum())
        self.present, self.parsed = self.present + present, self.parsed + parsed
        if parsed < present and self.failing is None:
            self.failing = column
        self.has_time = self.has_time or _has_time(times)
        earliest = times.min()
        if pd.notna(earliest) and (self.first is None or earliest < self.first):
            self.first = earliest


def date_parts(name: str, times: pd.Series, spec: dict) -> dict[str, np.ndarray]:
    """The feature columns of date column `name` (NaN where its date is missing), named `<name>_<part>`."""
    columns = {}
    for part in spec["parts"]:
        value = PARTS[part].value(times).to_numpy(dtype="float64", na_value=np.nan)
        if PARTS[part].period is None:
            columns[f"{name}_{part}"] = value
            continue
        period = PARTS[part].period(times)
        angle = 2 * np.pi * value / (period if isinstance(period, int) else period.to_numpy("float64", na_value=np.nan))
        columns[f"{name}_{part}_sin"], columns[f"{name}_{part}_cos"] = np.sin(angle), np.cos(angle)
    if spec["reference"] is not None:
        columns[f"{name}_days_since"] = ((times - pd.Timestamp(spec["reference"])) / pd.Timedelta(days=1)) \
            .to_numpy(dtype="float64", na_value=np.nan)
    return columns


def _width(spec: dict) -> int:
    """How many feature columns a date column becomes: one per linear part, two per cyclical one, and the days."""
    return sum(1 if PARTS[part].period is None else 2 for part in spec["parts"]) + (spec["reference"] is not None)


def _has_time(times: pd.Series) -> bool:
    """Whether any date has a time of day other than midnight."""
    present = times.dropna()
    return bool((present != present.dt.normalize()).any())
