"""Training preparation and its exact replay at predict time."""

import numpy as np
import pandas as pd
import pytest

from nntrain.data.tabular import prepare_inference, prepare_training
from nntrain.errors import DataError


def prepare(frame, **overrides):
    options = dict(source="t.csv", target="y", features=None, task="auto", loss=None, validation=0.0, test=0.0,
                   stratify=True, pipeline=[], target_transform="auto", rng=np.random.default_rng(0),
                   dtype=np.float32)
    options.update(overrides)
    return prepare_training({"train": frame}, {"train": options.pop("source")}, **options)


def lines(frame):
    frame.index = range(2, 2 + len(frame))
    return frame


def test_zscore_state_is_fitted_on_training_rows_and_replayed_by_hand():
    frame = lines(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "b": [10, 10, 10, 10], "y": ["p", "q", "p", "q"]}))
    data = prepare(frame, pipeline=[{"type": "normalize", "method": "zscore"}])
    state = data.state["pipeline"]["states"][0]
    assert state["columns"] == ["a", "b"]
    assert state["center"] == [2.5, 10.0]
    assert state["scale"] == pytest.approx([np.sqrt(1.25), 1.0])  # population std; constant column -> 1
    new = pd.DataFrame({"b": [12, 10], "a": [5.0, 2.5]})              # columns in another order
    x, y, _, _ = prepare_inference(new, data.state, source="new.csv", with_target=False, dtype=np.float32)
    assert y is None
    assert x.dtype == np.float32
    assert np.allclose(x, [[(5.0 - 2.5) / np.sqrt(1.25), 2.0], [0.0, 0.0]])


def test_minmax_uses_training_range():
    frame = lines(pd.DataFrame({"a": [2.0, 4.0, 6.0], "y": [0.5, 1.5, 2.5]}))
    data = prepare(frame, pipeline=[{"type": "normalize", "method": "minmax"}])
    x, _, _, _ = prepare_inference(pd.DataFrame({"a": [3.0, 8.0]}), data.state, source="n", with_target=False,
                                dtype=np.float64)
    assert np.allclose(x, [[0.25], [1.5]])


def test_statistics_ignore_validation_and_test_rows():
    frame = lines(pd.DataFrame({"a": np.arange(20, dtype=float), "y": ["u", "v"] * 10}))
    data = prepare(frame, validation=0.25, test=0.25, pipeline=[{"type": "normalize"}])
    center = data.state["pipeline"]["states"][0]["center"][0]
    train_rows = np.sort(data.x["train"][:, 0] * data.state["pipeline"]["states"][0]["scale"][0] + center)
    assert center == pytest.approx(train_rows.mean())
    assert len(data.x["train"]) == 10 and len(data.x["validation"]) == 5 and len(data.x["test"]) == 5


def test_classes_are_sorted_names_and_targets_indices():
    frame = lines(pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": ["zebra", "ant", "zebra"]}))
    data = prepare(frame)
    assert data.state["target"]["classes"] == ["ant", "zebra"]
    assert data.y["train"].tolist() == [1, 0, 1]


def test_integer_labels_infer_classification_with_a_note():
    frame = lines(pd.DataFrame({"a": np.arange(6.0), "y": [1, 2, 3, 1, 2, 3]}))
    data = prepare(frame)
    assert data.state["target"]["task"] == "classification"
    assert data.state["target"]["classes"] == ["1", "2", "3"]
    assert any("3 distinct integer values" in note for note in data.notes)


def test_regression_target_is_standardised_on_training_rows():
    frame = lines(pd.DataFrame({"a": np.arange(4.0), "y": [10.0, 20.0, 30.0, 40.0]}))
    data = prepare(frame, loss="mse")
    target = data.state["target"]
    assert target["center"] == [25.0] and target["scale"] == pytest.approx([np.sqrt(125.0)])
    assert np.allclose(data.y["train"][:, 0], (np.array([10, 20, 30, 40]) - 25) / np.sqrt(125))


def test_rows_without_target_are_dropped_and_counted():
    frame = lines(pd.DataFrame({"a": [1.0, 2.0, 3.0, 4.0], "y": ["p", None, "q", "p"]}))
    data = prepare(frame)
    assert len(data.x["train"]) == 3
    assert "t.csv: dropped 1 row with a missing target (first on line 3)" in data.notes


def test_missing_columns_are_listed_with_what_the_file_has():
    frame = lines(pd.DataFrame({"a": [1.0], "y": [1.0]}))
    with pytest.raises(DataError, match=r"missing target column 'label'; the file has: a, y"):
        prepare(frame, target="label")
    with pytest.raises(DataError, match=r"missing feature columns 'b', 'c'"):
        prepare(frame, features=["a", "b", "c"])


def test_text_and_missing_feature_values_name_the_line():
    frame = lines(pd.DataFrame({"a": ["1", "2", "oops", "4"], "y": ["p", "q", "p", "q"]}))
    with pytest.raises(DataError, match=r"column 'a' holds numbers but line 4 has 'oops'"):
        prepare(frame)
    frame = lines(pd.DataFrame({"a": [1.0, np.nan, 3.0, 4.0], "y": ["p", "q", "p", "q"]}))
    with pytest.raises(DataError, match=r"column 'a' has 1 missing value, first on line 3; fill them with a clean"):
        prepare(frame)


def test_clean_fill_and_drop():
    frame = lines(pd.DataFrame({"a": [1.0, np.nan, 5.0, 3.0], "y": ["p", "q", "p", "q"]}))
    data = prepare(frame, pipeline=[{"type": "clean", "missing": "mean"}])
    assert data.x["train"][:, 0].tolist() == [1.0, 3.0, 5.0, 3.0]
    data = prepare(frame, pipeline=[{"type": "clean", "missing": "drop"}])
    assert data.x["train"][:, 0].tolist() == [1.0, 5.0, 3.0]
    assert data.report["dropped_by_step"] == [("clean", 1)]


def test_dedupe_drops_exact_duplicates_only_while_training():
    frame = lines(pd.DataFrame({"a": [1.0, 1.0, 2.0, 3.0], "y": ["p", "p", "q", "q"]}))
    data = prepare(frame, pipeline=[{"type": "dedupe"}])
    assert len(data.x["train"]) == 3
    x, _, _, _ = prepare_inference(pd.DataFrame({"a": [1.0, 1.0]}), data.state, source="n", with_target=False,
                                dtype=np.float32)
    assert len(x) == 2


def test_single_class_and_empty_split_are_explained():
    frame = lines(pd.DataFrame({"a": [1.0, 2.0], "y": ["p", "p"]}))
    with pytest.raises(DataError, match="single class 'p'"):
        prepare(frame)
    frame = lines(pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": ["p", "q", "p"]}))
    with pytest.raises(DataError, match="the validation split is empty"):
        prepare(frame, validation=0.1)


def test_infinite_and_float32_overflowing_inputs_are_refused_before_the_pipeline_unless_dropped():
    frame = lines(pd.DataFrame({"a": [1.0, 1e39, 3.0, -1e39], "b": [1.0, 2.0, np.inf, 4.0], "y": ["p", "q"] * 2}))
    with pytest.raises(DataError, match=r"column 'a' has 1e\+39 on line 3, beyond float32's range \(±3.4e38\) "
                                        r"\(2 such values\)"):
        prepare(frame.copy(), pipeline=[{"type": "normalize"}])
    with pytest.raises(DataError, match=r"column 'b' has an infinite value on line 4 \(inf\); fix the file"):
        prepare(frame.copy(), pipeline=[{"type": "drop", "columns": ["a"]}, {"type": "normalize"}])
    data = prepare(frame.copy(), dtype=np.float64, pipeline=[{"type": "drop", "columns": ["b"]}])
    assert data.x["train"][:, 0].tolist() == [1.0, 1e39, 3.0, -1e39]  # in range for a float64 model
