"""What preparation did to the data, for `nntrain data` and the notes of `fit`.

Column profiles (kind, missing cells before and after, categories, fate), class
balance per split, and the leak check: rows whose prepared features appear in
more than one split, the quiet cause of test scores that are too good.
"""

import numpy as np
import pandas as pd

from nntrain.data.clean import mostly_numbers
from nntrain.data.dates import DATE_SHARE, detect_formats, parse_dates
from nntrain.data.row_hashes import row_hashes
from nntrain.data.step import is_numeric
from nntrain.words import counted

SPLIT_PAIRS = (("train", "validation"), ("train", "test"), ("validation", "test"))


def profile_columns(raw: pd.DataFrame, markers: list[str], exact_limit: int = 200_000) -> list[dict]:
    """Per raw feature column: kind (numeric, categorical, or date: text that parses as dates), missing cells
    before preparation (markers included), distinct values; for a date column its formats, parse rate and range.

    Distinct values of a numeric column are counted exactly only up to `exact_limit` rows
    (a constant column is always detected); counting millions of floats costs more memory than
    the report is worth.
    """
    profiles = []
    for name in raw.columns:
        column = raw[name]
        numeric_dtype = is_numeric(column)
        missing = column.isna() if numeric_dtype else column.isna() | column.isin(markers)
        profile = {"column": str(name), "missing": int(missing.sum())}
        if numeric_dtype:
            values = column.to_numpy()
            present = values[~missing.to_numpy()] if profile["missing"] else values
            constant = len(present) > 0 and present.min() == present.max()
            profile["kind"] = "numeric"
            profile["distinct"] = 1 if constant else (len(np.unique(present)) if len(present) <= exact_limit
                                                      else None)
        else:
            present = column[~missing]
            parsed = pd.to_numeric(present, errors="coerce")
            numeric = mostly_numbers(parsed)
            formats, share = ([], 0.0) if numeric else detect_formats(present)
            dates = share >= DATE_SHARE
            profile["kind"] = "numeric" if numeric else "date" if dates else "categorical"
            profile["distinct"] = int(present.nunique())
            if numeric:
                profile["text_values"] = int(parsed.isna().sum())
            elif dates:
                profile.update(_date_range(present, formats, share))
            else:
                profile["top"] = [str(v) for v in present.value_counts().index[:5]]
        if profile["distinct"] == 1:
            profile["constant"] = True
        profiles.append(profile)
    return profiles


def _date_range(present: pd.Series, formats: list[str], share: float) -> dict:
    """What a date column's profile adds: the formats, the share of present values they parse and how many they
    do not, the first and last date."""
    times = parse_dates(present, formats).dropna()
    return {"formats": formats, "parse_rate": round(share, 4), "unparsable": len(present) - len(times),
            "first": times.min().isoformat(), "last": times.max().isoformat()}


def add_outcomes(profiles: list[dict], prepared: pd.DataFrame, fates: dict[str, dict]) -> None:
    """Add what preparation made of each column: its `fate` ("kept", "encoded" with `encoded_into`
    columns, "tokenized" by a text step (with `vocabulary` or `hash_buckets` and `tokens_per_row`),
    "dropped" by a drop step, or "empty": dropped by clean for having no value in the training
    rows), and its missing cells after preparation (None once it is one-hot encoded or gone)."""
    for profile in profiles:
        name = profile["column"]
        profile.update(fates.get(name, {"fate": "kept"}))
        profile["missing_after"] = int(prepared[name].isna().sum()) if name in prepared else None


HASHED_ROWS = 1 << 16  # rows hashed at a time: hashing a whole set holds several times its hashes in temporaries


def leak_counts(x: dict[str, np.ndarray]) -> dict[str, int]:
    """For each pair of splits, how many rows of the second have features identical to a row of the first,
    compared by row hash (8 bytes a row): each split's hashes sorted, then looked up by binary search
    (numpy's unique or isin would hold a hash table several times their size)."""
    hashes = {name: _sorted_hashes(values) for name, values in x.items() if len(values)}
    counts = {}
    for first, second in SPLIT_PAIRS:
        if first in hashes and second in hashes:
            known, looked_up = hashes[first], hashes[second]
            places = np.minimum(np.searchsorted(known, looked_up), len(known) - 1)
            counts[f"{first}-{second}"] = int(np.count_nonzero(known[places] == looked_up))
    return counts


def _sorted_hashes(values: np.ndarray) -> np.ndarray:
    hashes = np.empty(len(values), dtype=np.uint64)
    for start in range(0, len(values), HASHED_ROWS):  # a loop over blocks of rows, not over rows
        hashes[start:start + HASHED_ROWS] = row_hashes(pd.DataFrame(values[start:start + HASHED_ROWS], copy=False))
    hashes.sort()  # the counts do not depend on the rows' order
    return hashes


def class_balance(y: dict[str, np.ndarray], classes: list[str]) -> dict[str, dict[str, int]]:
    """Rows per class in each split."""
    return {name: dict(zip(classes, np.bincount(labels, minlength=len(classes)).tolist()))
            for name, labels in y.items()}


def leak_note(counts: dict[str, int]) -> str | None:
    leaks = {pair: n for pair, n in counts.items() if n}
    if not leaks:
        return None
    parts = [f"{counted(n, pair.split('-')[1] + ' row')} also in {pair.split('-')[0]}" for pair, n in leaks.items()]
    return ("leak check: " + ", ".join(parts) + " (identical features after preparation); "
            "add {type: dedupe} to data.pipeline, or expect optimistic scores")
