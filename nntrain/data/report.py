"""What preparation did to the data, for `nntrain data` and the notes of `fit`.

Column profiles (kind, missing cells before and after, categories), class
balance per split, and the leak check: rows whose prepared features appear in
more than one split, the quiet cause of test scores that are too good.
"""

import numpy as np
import pandas as pd

from nntrain.data.pipeline import DEFAULT_MARKERS, is_numeric

SPLIT_PAIRS = (("train", "validation"), ("train", "test"), ("validation", "test"))


def profile_columns(raw: pd.DataFrame, prepared: pd.DataFrame, markers: list[str]) -> list[dict]:
    """Per raw feature column: kind, missing cells before preparation (markers included) and after."""
    profiles = []
    for name in raw.columns:
        column = raw[name]
        missing = column.isna()
        if not is_numeric(column):
            missing |= column.isin(markers)
        present = column[~missing]
        numeric = is_numeric(column) or (len(present) > 0 and pd.to_numeric(present, errors="coerce").notna().mean() >= 0.5)
        profile = {"column": str(name), "kind": "numeric" if numeric else "categorical",
                   "missing": int(missing.sum()),
                   "missing_after": int(prepared[name].isna().sum()) if name in prepared else None,
                   "distinct": int(present.nunique())}
        if numeric and not is_numeric(column):
            profile["text_values"] = int(pd.to_numeric(present, errors="coerce").isna().sum())
        if not numeric:
            profile["top"] = [str(v) for v in present.value_counts().index[:5]]
        if profile["distinct"] == 1:
            profile["constant"] = True
        profiles.append(profile)
    return profiles


def markers_of(pipeline: list[dict]) -> list[str]:
    """The missing markers the pipeline's clean steps use (the defaults if none)."""
    found = [m for spec in pipeline if spec["type"] == "clean" for m in spec.get("markers", DEFAULT_MARKERS)]
    return list(dict.fromkeys(found)) or list(DEFAULT_MARKERS)


def leak_counts(x: dict[str, np.ndarray]) -> dict[str, int]:
    """For each pair of splits, how many rows of the second have features identical to a row of the first."""
    hashes = {name: pd.util.hash_pandas_object(pd.DataFrame(values), index=False).to_numpy()
              for name, values in x.items() if len(values)}
    return {f"{first}-{second}": int(np.isin(hashes[second], hashes[first]).sum())
            for first, second in SPLIT_PAIRS if first in hashes and second in hashes}


def class_balance(y: dict[str, np.ndarray], classes: list[str]) -> dict[str, dict[str, int]]:
    """Rows per class in each split."""
    return {name: dict(zip(classes, np.bincount(labels, minlength=len(classes)).tolist()))
            for name, labels in y.items()}


def leak_note(counts: dict[str, int]) -> str | None:
    leaks = {pair: n for pair, n in counts.items() if n}
    if not leaks:
        return None
    parts = [f"{n} {pair.split('-')[1]} rows also in {pair.split('-')[0]}" for pair, n in leaks.items()]
    return ("leak check: " + ", ".join(parts) + " (identical features after preparation); "
            "add {type: dedupe} to data.pipeline, or expect optimistic scores")
