"""`nntrain data` and the promise of no train/serve skew, on the shipped penguins example."""

import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from nntrain.run.saved import open_run
from nntrain.run.build import build as build_session
from nntrain.config import load_config
from nntrain.data.tables import read_csv
from nntrain.data.tabular import prepare_inference
from nntrain.nn.losses import output_transform


def test_data_report_on_penguins(cli):
    result = cli("data", "configs/penguins.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    report = result.stdout
    assert "read datasets/penguins.csv: 344 rows" in report
    assert "class balance" in report and "Chinstrap" in report
    assert "leak check: no rows shared between splits" in report
    assert "15 features:" in report

    as_json = json.loads(cli("data", "configs/penguins.yaml", "--json").stdout)
    sex = next(p for p in as_json["columns"] if p["column"] == "sex")
    assert sex == {"column": "sex", "kind": "categorical", "missing": 11, "missing_after": None, "distinct": 2,
                   "top": ["male", "female"], "fate": "encoded", "encoded_into": 2}
    assert as_json["rows_used"] == {"train": 206, "validation": 69, "test": 69}
    assert sum(as_json["class_balance"]["train"].values()) == 206


def test_predict_on_raw_training_rows_equals_the_model_on_the_training_matrix(cli, tmp_path, repo):
    assert cli("fit", "configs/penguins.yaml", "--set", f"output.dir={tmp_path}",
               "--set", "training.epochs=5").returncode == 0
    config, _ = load_config(str(repo / "configs/penguins.yaml"), [f"output.dir={tmp_path}"])
    session = build_session(config)  # the same seed gives the same split and the same fitted pipeline
    raw = read_csv(str(repo / "datasets/penguins.csv"), narrow=session.data.state["float32_inputs"])
    raw_train = raw.loc[session.data.lines["train"]]  # the training split's rows, exactly as in the CSV
    assert len(raw_train) == len(session.data.x["train"]) == 206
    x, _, _, _ = prepare_inference(raw_train, session.data.state, source="raw", with_target=False, dtype=np.float32)
    assert np.array_equal(x, session.data.x["train"])  # the replayed pipeline gives the identical matrix

    raw_train.to_csv(tmp_path / "raw_train.csv", index=False)
    result = cli("predict", tmp_path, tmp_path / "raw_train.csv", "--proba")
    assert result.returncode == 0, result.stderr
    predicted = pd.read_csv(io.StringIO(result.stdout))
    saved = open_run(str(tmp_path))
    expected = output_transform("softmax", saved.model.predict(session.data.x["train"]))
    probabilities = predicted[[f"proba_{c}" for c in session.target["classes"]]].to_numpy()
    assert np.allclose(probabilities, expected, rtol=1e-6, atol=1e-7)
    assert predicted["prediction"].tolist() == list(np.array(session.target["classes"])[expected.argmax(axis=1)])


@pytest.fixture
def fates_csv(tmp_path):
    """An identifier, two numbers, a column empty in every row, a three-valued text column, a 0/1 label."""
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(2, 80)).round(3)
    frame = pd.DataFrame({"id": np.arange(80), "a": a, "b": b, "blank": np.nan,
                          "colour": rng.choice(["red", "green", "blue"], 80), "label": (a + b > 0).astype(int)})
    frame.to_csv(tmp_path / "fates.csv", index=False)
    return tmp_path / "fates.csv"


def test_data_report_shows_each_columns_fate_and_drops_an_empty_column(cli, write, fates_csv, tmp_path):
    config = write("fates.yaml", f"""
        data:
          train: {fates_csv}
          target: label
          pipeline:
            - {{type: drop, columns: [id]}}
            - {{type: clean, missing: median}}
            - {{type: normalize}}
            - {{type: encode}}
        model: {{layers: [{{type: dense, units: 4, activation: relu}}]}}
        training: {{epochs: 2}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    result = cli("data", config, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    fates = {p["column"]: {k: p[k] for k in ("fate", "encoded_into", "missing_after") if k in p}
             for p in report["columns"]}
    assert fates == {"id": {"fate": "dropped", "missing_after": None},
                     "a": {"fate": "kept", "missing_after": 0}, "b": {"fate": "kept", "missing_after": 0},
                     "blank": {"fate": "empty", "missing_after": None},
                     "colour": {"fate": "encoded", "encoded_into": 3, "missing_after": None}}
    assert "clean: column 'blank' is empty in the training rows; dropped it" in report["notes"]
    assert report["features"] == ["a", "b", "colour=blue", "colour=green", "colour=red"]

    shown = cli("data", config, env={"COLUMNS": "120"})
    rows = {re.split(r"[\s│]+", line.strip("│ "))[0]: line for line in (shown.stdout + shown.stderr).splitlines()}
    assert "dropped" in rows["id"] and "kept" in rows["a"] and "empty" in rows["blank"]
    assert "encoded (3)" in rows["colour"]

    assert cli("fit", config, "-q").returncode == 0
    # predict and eval need neither the dropped identifier nor the empty column: they are no features
    new = write("new.csv", "a,b,colour,label\n0.5,0.5,red,1\n-1,-1,blue,0\n")
    predicted = cli("predict", tmp_path / "run", new)
    assert predicted.returncode == 0, predicted.stderr
    assert predicted.stdout.splitlines()[0] == "prediction" and len(predicted.stdout.splitlines()) == 3
    evaluated = cli("eval", tmp_path / "run", new, "--json")
    assert evaluated.returncode == 0, evaluated.stderr


def test_data_report_counts_read_right_for_one(cli, write, tmp_path):
    rows = [f"{i},{'pq'[i % 2]}" for i in range(30)] + ["3,q", "oops,q"]  # line 32 repeats line 5; line 33 text
    # whose fill, the median 14, gives line 16's features with another label
    data = write("one.csv", "x,label\n" + "\n".join(rows) + "\n")
    config = write("one.yaml", f"""
        data:
          train: {data}
          target: label
          pipeline: [{{type: clean, missing: median}}, {{type: dedupe}}]
        model: {{layers: []}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    result = cli("data", config)
    assert result.returncode == 0, result.stderr
    shown = result.stdout + result.stderr
    assert "clean: 1 unparsable value in numeric column 'x' treated as missing (e.g. 'oops' on line 33)" in shown
    assert "dedupe: dropped 1 duplicate row\n" in shown and "1 feature: x" in shown
    assert "dedupe: 2 rows in 1 group have the same features but different targets" in shown


def test_a_pipeline_that_leaves_no_feature_is_refused(cli, write, tmp_path):
    data = write("blank.csv", "blank,id,label\n" + "".join(f",{i},{'pq'[i % 2]}\n" for i in range(30)))
    config = write("blank.yaml", f"""
        data:
          train: {data}
          target: label
          pipeline: [{{type: drop, columns: [id]}}, {{type: clean, missing: median}}]
        model: {{layers: []}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    result = cli("check", config)
    assert result.returncode == 3
    assert ("data.pipeline leaves no feature column: its steps removed every one (column 'blank' had no value in "
            "the training rows); a model needs at least one feature") in result.stderr


def test_data_report_shows_a_date_columns_range_and_parse_rate(cli, write, tmp_path):
    days = [f"{day:02d}.03.2024 {day % 24:02d}:15" for day in range(1, 31)] + ["31.03.2024 07:00"] * 9 + ["soon"]
    data = write("d.csv", "when,label\n" + "\n".join(f"{day},{'ab'[i % 2]}" for i, day in enumerate(days)) + "\n")
    config = write("d.yaml", f"""
        data: {{train: {data}, target: label, pipeline: [{{type: clean, missing: median}}, {{type: encode}}]}}
        """)
    shown = cli("data", config)
    assert shown.returncode == 0, shown.stderr
    row = next(line for line in shown.stdout.splitlines() if line.startswith("when "))
    assert row.split()[:2] == ["when", "date"]
    assert row.endswith("2024-03-01 01:15 to 2024-03-31 07:00, 98% parse as %d.%m.%Y %H:%M")
    assert ("note: clean: column 'when' holds dates; put {type: dates, columns: [when]} before clean to learn from "
            "its year, month and weekday rather than from categories") in shown.stdout
    profile = json.loads(cli("data", config, "--json").stdout)["columns"][0]
    assert {key: profile[key] for key in ("kind", "formats", "parse_rate", "unparsable", "first", "last")} == {
        "kind": "date", "formats": ["%d.%m.%Y %H:%M"], "parse_rate": 0.975, "unparsable": 1,
        "first": "2024-03-01T01:15:00", "last": "2024-03-31T07:00:00"}


def test_data_report_shows_a_text_columns_vocabulary_and_tokens_per_row(cli, write):
    """The changelogs example in vocabulary mode, then hashed: sizes as fitted on its training rows."""
    result = cli("data", "configs/changelogs.yaml", "--json")
    assert result.returncode == 0, result.stderr
    text = next(p for p in json.loads(result.stdout)["columns"] if p["column"] == "text")
    assert {k: text[k] for k in ("fate", "encoded_into", "vocabulary", "hash_buckets", "tokens_per_row")} == \
        {"fate": "tokenized", "encoded_into": 112, "vocabulary": 1649, "hash_buckets": None, "tokens_per_row": 41.95}
    shown = cli("data", "configs/changelogs.yaml", env={"COLUMNS": "200"})
    assert "tokenized (vocabulary 1,649, 41.95 tokens per row)" in shown.stdout
    hashed = cli("data", "configs/changelogs.yaml", "--set",
                 "data.pipeline[2].hash_buckets=4096",
                 env={"COLUMNS": "200"})
    assert "tokenized (4,096 hash buckets, 41.95 tokens per row)" in hashed.stdout
