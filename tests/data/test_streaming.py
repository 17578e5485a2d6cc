"""The streaming preparation fits the same pipeline state, and writes the same arrays, as the in-memory one."""

import json

import numpy as np
import pandas as pd
import pytest

import nntrain.data.chunks as chunks
from nntrain.config.loading import validate_config
from nntrain.data.prepared_dir import open_prepared
from nntrain.run.data import load_training_data, prepare_directory


@pytest.fixture
def mixed_csv(tmp_path):
    """Gaps, markers, typos in a numeric column, categories, an id, exact duplicates and conflicting labels."""
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"a": rng.normal(3, 2, n).round(3), "b": rng.integers(0, 50, n),
                          "c": rng.choice(["x", "y", "z", "?"], n),
                          "d": rng.choice(["1", "2", "oops", "?"], n, p=[.5, .3, .1, .1]), "id": np.arange(n)})
    frame.loc[rng.random(n) < 0.05, "a"] = np.nan
    frame["label"] = np.where(frame.a.fillna(0) + rng.normal(0, 1, n) > 3, "pos", "neg")
    frame = pd.concat([frame, frame.iloc[:100]])
    frame.iloc[200:210, frame.columns.get_loc("label")] = "neg"
    path = tmp_path / "mixed.csv"
    frame.to_csv(path, index=False)
    return path


def _config(train, pipeline, target="label", tmp_path=None):
    return validate_config({"seed": 3, "data": {"train": str(train), "target": target, "pipeline": pipeline},
                            "model": {"layers": [{"type": "dense", "units": 4}]}}, "test")


def assert_same(held, streamed, path="state"):
    """Equal, floats to float32 rounding."""
    if isinstance(held, dict):
        assert set(held) == set(streamed), path
        for key in held:
            assert_same(held[key], streamed[key], f"{path}.{key}")
    elif isinstance(held, (list, tuple)):
        assert len(held) == len(streamed), path
        for index, (a, b) in enumerate(zip(held, streamed)):
            assert_same(a, b, f"{path}[{index}]")
    elif isinstance(held, float):
        assert streamed == pytest.approx(held, rel=1e-6, abs=1e-9), path
    else:
        assert held == streamed, path


PIPELINES = {
    "median-indicator-keep_first-onehot-zscore": [
        {"type": "drop", "columns": ["id"]}, {"type": "clean", "missing": "median", "indicator": True},
        {"type": "dedupe"}, {"type": "encode", "max_categories": 2}, {"type": "normalize"}],
    "mean-mode-drop_all-ordinal-robust": [
        {"type": "drop", "columns": ["id"]}, {"type": "clean", "missing": "mean", "categorical": "mode"},
        {"type": "dedupe", "conflicts": "drop_all"}, {"type": "encode", "method": "ordinal"},
        {"type": "normalize", "method": "robust"}],
    "drop-rows-minmax": [{"type": "clean"}, {"type": "encode"}, {"type": "normalize", "method": "minmax"}],
}


@pytest.mark.parametrize("name", PIPELINES)
@pytest.mark.parametrize("target", ["label", "a"])
def test_streamed_preparation_equals_in_memory(name, target, mixed_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 700)  # five chunks: every statistic is merged across chunks
    pipeline = PIPELINES[name]
    if target == "a":
        pipeline = [{"type": "clean", "missing": "median"}, *pipeline[1:]] if name != "drop-rows-minmax" else pipeline
    config = _config(mixed_csv, pipeline, target)
    held = load_training_data(config)
    streamed = open_prepared(prepare_directory(config, tmp_path / "prepared"))
    assert_same(json.loads(json.dumps(held.state)), streamed.state)
    assert streamed.notes == held.notes
    for split in ("train", "validation", "test"):
        np.testing.assert_allclose(streamed.x[split], held.x[split], rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(streamed.y[split], held.y[split]) if target == "label" else \
            np.testing.assert_allclose(streamed.y[split], held.y[split], rtol=1e-6, atol=1e-6)
    for key in ("rows_read", "empty_rows", "rows_used", "leaks", "task", "features", "class_balance"):
        assert streamed.report.get(key) == held.report.get(key), key
    assert [tuple(step) for step in streamed.report["dropped_by_step"]] == held.report["dropped_by_step"]
    test_rows = pd.read_csv(tmp_path / "prepared" / "test.csv")
    assert len(test_rows) == len(held.test_rows)
    assert (test_rows["b"].to_numpy() == held.test_rows["b"].to_numpy()).all()


def test_dedupe_and_leak_counts_equal_in_memory(mixed_csv, tmp_path, monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 450)
    pipeline = [{"type": "drop", "columns": ["id"]}, {"type": "clean"}, {"type": "dedupe"}, {"type": "encode"}]
    held = load_training_data(_config(mixed_csv, pipeline))
    streamed = open_prepared(prepare_directory(_config(mixed_csv, pipeline), tmp_path / "prepared"))
    assert "dedupe: dropped 51 duplicate rows" in held.notes
    assert [n for n in streamed.notes if n.startswith("dedupe")] == [n for n in held.notes if n.startswith("dedupe")]
    without = [{"type": "drop", "columns": ["id"]}, {"type": "clean"}, {"type": "encode"}]
    held = load_training_data(_config(mixed_csv, without))
    streamed = open_prepared(prepare_directory(_config(mixed_csv, without), tmp_path / "prepared"))
    assert streamed.report["leaks"] == held.report["leaks"]
    assert streamed.report["leaks"]["train-test"] > 0


@pytest.mark.parametrize("ids", ["vocabulary", "hashed"])
def test_dates_and_text_learn_chunk_by_chunk_what_they_learn_from_the_whole_table(ids, tmp_path, monkeypatch):
    """Formats from the first chunk; parse rate, times of day, earliest date, token counts and longest row over all."""
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 400)
    rng = np.random.default_rng(5)
    n = 2000
    words = np.array(["fix", "crash", "update", "docs", "build", "arm64", "tests", "typo", "über", "release"])
    when = pd.Timestamp("2021-03-01") + pd.to_timedelta(rng.integers(0, 900, n), unit="D")
    frame = pd.DataFrame({"when": when.strftime("%d/%m/%Y").to_numpy(dtype=object),
                          "note": [" ".join(rng.choice(words, rng.integers(0, 9))) for _ in range(n)],
                          "x": rng.normal(size=n).round(3)})
    frame.loc[0:9, "when"] = "05/05/2021 10:15"  # times of day, in the first chunk (where formats are found)
    frame.loc[1500:1509, "when"] = "31/12/2019 22:30"  # the earliest dates, in a late chunk
    frame.loc[1700, "when"] = "soon"  # unparsable: missing, for clean
    frame.loc[1900:1909, "note"] = " ".join(["rare"] * 30)  # the longest rows, in the last chunk
    frame["label"] = np.where(frame.note.str.contains("crash"), "bug", "other")
    path = tmp_path / "notes.csv"
    frame.to_csv(path, index=False)
    text = {"type": "text", "columns": ["note"], "min_count": 1, **({"hash_buckets": 64} if ids == "hashed" else {})}
    config = _config(path, [{"type": "dates", "columns": ["when"], "days_since": True}, text,
                            {"type": "clean", "missing": "median"}, {"type": "normalize"}])
    held = load_training_data(config)
    streamed = open_prepared(prepare_directory(config, tmp_path / "prepared"))
    assert_same(json.loads(json.dumps(held.state)), streamed.state)
    steps = streamed.state["pipeline"]["states"]
    assert steps[0]["columns"]["when"]["formats"] == ["%d/%m/%Y", "%d/%m/%Y %H:%M"]
    assert "hour" in steps[0]["columns"]["when"]["parts"]
    assert steps[0]["columns"]["when"]["reference"] == "2019-12-31T22:30:00"
    assert steps[1]["columns"]["note"]["width"] == 30


def test_a_column_whose_type_changes_down_the_file_is_chosen_again_with_the_whole_files_types(mixed_csv, tmp_path,
                                                                                             monkeypatch):
    monkeypatch.setattr(chunks, "CHUNK_ROWS", 700)
    assert chunks.ChunkedTable(str(mixed_csv), scan=lambda chunk: None).scanned  # one pass chose the rows
    frame = pd.read_csv(mixed_csv)
    frame["b"] = frame["b"].astype("Int64")
    frame.loc[2500:, "b"] = pd.NA  # whole numbers in the first chunks, gaps (so floats) in the last
    changing = tmp_path / "changing.csv"
    frame.to_csv(changing, index=False)
    seen = []
    table = chunks.ChunkedTable(str(changing), scan=seen.append)
    assert not table.scanned and table.dtypes["b"] == np.float64 and seen[0]["b"].dtype == np.int64
    pipeline = [{"type": "drop", "columns": ["id"]}, {"type": "clean", "missing": "median"}, {"type": "encode"},
                {"type": "normalize"}]
    held = load_training_data(_config(changing, pipeline))
    streamed = open_prepared(prepare_directory(_config(changing, pipeline), tmp_path / "prepared"))
    assert_same(json.loads(json.dumps(held.state)), streamed.state)
    for split in ("train", "validation", "test"):
        np.testing.assert_allclose(streamed.x[split], held.x[split], rtol=1e-6, atol=1e-6)
