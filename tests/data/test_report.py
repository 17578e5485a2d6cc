"""What the data report says about each column, and the leak note."""

import numpy as np
import pandas as pd

from nntrain.data.pipeline import Pipeline
from nntrain.data.step import Context
from nntrain.data import report
from nntrain.data.report import add_outcomes, leak_note, profile_columns


def outcomes(frame: pd.DataFrame, specs: list[dict]) -> tuple[dict, list[str]]:
    steps = Pipeline(specs)
    ctx = Context(target=["label"], training=True)
    prepared, states, _ = steps.fit_transform(frame, pd.Series(True, index=frame.index), ctx)
    profiles = profile_columns(frame.drop(columns="label"), ["?"])
    add_outcomes(profiles, prepared, steps.fates(states))
    return {p["column"]: {k: p[k] for k in ("fate", "encoded_into", "missing_after") if k in p}
            for p in profiles}, ctx.notes


def test_each_column_gets_its_fate_and_the_last_step_to_touch_it_decides():
    frame = pd.DataFrame({"a": [1.0, np.nan, 3.0], "gone": [np.nan] * 3, "size": ["s", "m", "s"],
                          "code": ["x", "y", "x"], "colour": ["red", "?", "blue"], "label": ["p", "q", "p"]},
                         index=[2, 3, 4])
    fates, notes = outcomes(frame, [
        {"type": "clean", "missing": "median"},
        {"type": "drop", "columns": ["gone"]},  # already removed by clean: not an error
        {"type": "encode", "method": "ordinal", "columns": ["size", "code"]},
        {"type": "drop", "columns": ["code"]},  # an ordinal code can be dropped after encoding
        {"type": "encode"},
    ])
    assert fates == {"a": {"fate": "kept", "missing_after": 0}, "gone": {"fate": "empty", "missing_after": None},
                     "size": {"fate": "encoded", "encoded_into": 1, "missing_after": 0},
                     "code": {"fate": "dropped", "missing_after": None},
                     "colour": {"fate": "encoded", "encoded_into": 2, "missing_after": None}}
    assert notes == ["clean: column 'gone' is empty in the training rows; dropped it"]


def test_an_empty_column_is_one_with_no_value_in_the_training_rows_only():
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "late": [np.nan, "?", np.nan, "7"], "b": ["?"] * 4,
                          "label": ["p", "q", "p", "q"]}, index=[2, 3, 4, 5])
    steps = Pipeline([{"type": "clean", "missing": "median"}, {"type": "normalize", "columns": ["a", "late"]}])
    ctx = Context(target=["label"], training=True)
    prepared, states, _ = steps.fit_transform(frame, pd.Series([True, True, True, False], index=frame.index), ctx)
    assert list(prepared.columns) == ["a", "label"]  # line 5's '7' is not a training row
    assert states[0]["empty"] == ["late", "b"]
    assert ctx.notes == ["clean: columns 'late', 'b' are empty in the training rows; dropped them"]
    assert steps.removed_columns(states) == {"late", "b"}


def test_leak_note_counts_read_right():
    assert leak_note({"train-validation": 0, "train-test": 1, "validation-test": 2}) == (
        "leak check: 1 test row also in train, 2 test rows also in validation (identical features after "
        "preparation); add {type: dedupe} to data.pipeline, or expect optimistic scores")
    assert leak_note({"train-test": 0}) is None


def test_leak_counts_count_each_row_of_the_second_split_found_in_the_first_across_hashing_blocks(monkeypatch):
    monkeypatch.setattr(report, "HASHED_ROWS", 3)  # several blocks per split
    rows = np.arange(40, dtype=np.float32).reshape(20, 2)
    train = rows[:10]
    validation = np.concatenate([rows[[2, 2, 9]], rows[10:14]])  # row 2 twice: each copy counts
    test = np.concatenate([rows[[0, 11, 11]], rows[15:20], train[[9]]])
    counts = report.leak_counts({"train": train, "validation": validation, "test": test})
    assert counts == {"train-validation": 3, "train-test": 2, "validation-test": 3}
    assert report.leak_counts({"train": train, "validation": rows[:0], "test": rows[19:]}) == {"train-test": 0}
