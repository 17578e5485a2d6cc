"""The Python API: fit, load, evaluate, predict, callbacks and errors, as a notebook would use them."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import nntrain
from nntrain.errors import CheckpointError, ConfigError, DataError

REPO = Path(__file__).resolve().parent.parent.parent


def _readme_python_example() -> str:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_example_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(REPO)
    code = _readme_python_example().replace('"runs/iris-api"', repr(str(tmp_path / "iris-api")))
    namespace = {}
    exec(compile(code, "README.md", "exec"), namespace)
    run, predictions = namespace["run"], namespace["predictions"]
    assert run.summary["status"] == "finished"
    assert list(predictions.columns) == ["prediction", "proba_setosa", "proba_versicolor", "proba_virginica"]
    assert namespace["scores"]["metrics"]["accuracy"] >= 0.8


def test_fit_from_a_mapping_evaluate_and_predict_a_dataframe(blobs_csv, tmp_path):
    config = {"seed": 1, "data": {"train": str(blobs_csv), "target": "label", "pipeline": [{"type": "normalize"}]},
              "model": {"layers": [{"type": "dense", "units": 8, "activation": "relu"}]},
              "optimizer": {"lr": 0.05}, "training": {"epochs": 15, "batch_size": 16}}
    run = nntrain.fit(config, run_dir=tmp_path / "run", overrides={"training.epochs": 12})
    assert isinstance(run, nntrain.Run) and run.dir == tmp_path / "run"
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert run.summary == summary and summary["epochs_run"] == 12
    assert run.evaluate()["metrics"] == {k: v for k, v in summary["test"].items() if k != "loss"}
    frame = pd.read_csv(blobs_csv)
    predictions = run.predict(frame.drop(columns="label"), proba=True)
    assert len(predictions) == len(frame) and list(predictions.columns[:2]) == ["prediction", "proba_a"]
    assert (predictions["prediction"] == frame["label"]).mean() > 0.95
    assert np.allclose(predictions[["proba_a", "proba_b", "proba_c"]].sum(axis=1), 1, atol=1e-5)
    assert run.evaluate(frame)["rows"] == len(frame)
    loaded = nntrain.load(tmp_path / "run")
    pd.testing.assert_frame_equal(loaded.predict(frame), run.predict(frame))


def test_a_callback_sees_every_epoch_and_can_stop_training(blobs_config, tmp_path):
    seen = []

    def prune(record):
        seen.append(record["epoch"])
        return "pruned by the sweep" if record["epoch"] == 3 else None

    run = nntrain.fit(blobs_config(), callbacks=[prune])
    assert seen == [1, 2, 3]
    assert run.summary["stop_reason"] == "pruned by the sweep" and run.summary["epochs_run"] == 3


def test_resume_through_the_api_continues_where_the_first_call_stopped(blobs_config, tmp_path):
    config = blobs_config(epochs=6)
    straight = nntrain.fit(config, run_dir=tmp_path / "straight")
    first = nntrain.fit(config, callbacks=[lambda record: record["epoch"] == 2 or None])
    assert first.summary["epochs_run"] == 2
    (first.dir / "summary.json").unlink()  # as if interrupted after epoch 2
    resumed = nntrain.fit(config, resume=first.dir)
    assert resumed.summary["epochs_run"] == 6
    logs = [[{k: v for k, v in json.loads(line).items() if k not in ("seconds", "time")}
             for line in (run.dir / "metrics.jsonl").read_text().splitlines()] for run in (straight, resumed)]
    assert logs[0] == logs[1]


def test_errors_are_nntrain_exceptions_never_system_exit(blobs_config, blobs_csv, tmp_path):
    with pytest.raises(ConfigError, match=r"optimizer\.lrr.*did you mean optimizer\.lr\?"):
        nntrain.fit(blobs_config(), overrides={"optimizer.lrr": 0.1})
    with pytest.raises(ConfigError, match="data.target: required for CSV data"):
        nntrain.fit({"data": {"train": str(blobs_csv)}})
    with pytest.raises(CheckpointError, match="no run or checkpoint at"):
        nntrain.load(tmp_path / "nowhere")
    run = nntrain.fit(blobs_config(epochs=2))
    with pytest.raises(DataError, match="missing feature column 'x2'"):
        run.predict(pd.DataFrame({"x1": [1.0]}))
    with pytest.raises(ConfigError, match="on_error: expected error or skip"):
        run.predict(pd.DataFrame({"x1": [1.0], "x2": [2.0]}), on_error="ignore")


def test_progress_goes_to_the_reporter_given_and_is_silent_by_default(blobs_config, capsys):
    from nntrain.train.progress import Reporter

    class Collect(Reporter):
        def __init__(self):
            self.notes, self.epochs = [], []

        def note(self, message):
            self.notes.append(message)

        def epoch(self, record):
            self.epochs.append(record["epoch"])

    nntrain.fit(blobs_config(epochs=3), overwrite=True)
    assert capsys.readouterr() == ("", "")
    collect = Collect()
    nntrain.fit(blobs_config(epochs=3), overwrite=True, progress=collect)
    assert collect.epochs == [1, 2, 3] and any(note.startswith("training ") for note in collect.notes)


def test_predictions_for_a_dataframe_carry_its_index(blobs_config, blobs_csv):
    run = nntrain.fit(blobs_config(epochs=3))
    frame = pd.read_csv(blobs_csv)
    shuffled = frame.sample(frac=1, random_state=0)
    in_order = run.predict(frame)["prediction"]
    shuffled["prediction"] = run.predict(shuffled)["prediction"]  # lines up by label, as pandas users expect
    assert (shuffled.sort_index()["prediction"] == in_order).all()
    subset = frame.iloc[[10, 60, 110]]
    assert run.predict(subset).index.tolist() == [10, 60, 110]
    holes = frame.drop(columns="label").astype({"x1": "object"})
    holes.loc[5, "x1"] = "oops"
    kept = run.predict(holes, on_error="skip")
    assert 5 not in kept.index and len(kept) == len(frame) - 1 and "line" not in kept.columns


def test_nullable_and_categorical_dataframes_are_read_like_a_csv(blobs_config, blobs_csv):
    run = nntrain.fit(blobs_config(epochs=3))
    frame = pd.read_csv(blobs_csv)
    expected = run.predict(frame, proba=True)
    pd.testing.assert_frame_equal(run.predict(frame.convert_dtypes(), proba=True), expected)
    pd.testing.assert_frame_equal(run.predict(frame.astype({"label": "category"}), proba=True), expected)
    assert run.evaluate(frame.convert_dtypes())["metrics"] == run.evaluate(frame)["metrics"]
    with pytest.raises(DataError, match="the DataFrame has the column name 'x1' more than once"):
        run.predict(pd.concat([frame, frame[["x1"]]], axis=1))


def test_fit_runs_outside_the_main_thread(blobs_config, tmp_path):
    import threading

    outcome = {}
    thread = threading.Thread(target=lambda: outcome.update(run=nntrain.fit(blobs_config(epochs=2))))
    thread.start()
    thread.join()
    assert outcome["run"].summary["status"] == "finished" and outcome["run"].summary["epochs_run"] == 2


def test_odd_callback_answers_and_override_values_are_taken_as_meant(blobs_config, tmp_path, cli):
    run = nntrain.fit(blobs_config(epochs=5), callbacks=[lambda record: 1 if record["epoch"] == 2 else 0],
                      overrides={"training.batch_size": np.int64(8), "output.dir": tmp_path / "runs" / "odd"})
    assert run.dir == tmp_path / "runs" / "odd"
    assert run.summary["stop_reason"] == "stopped by a callback at epoch 2"
    assert run.config["training"]["batch_size"] == 8
    listed = cli("runs", tmp_path / "runs")
    assert listed.returncode == 0 and "stopped by a callback" in listed.stdout
    with pytest.raises(ConfigError, match="overrides: a mapping of key paths to values, or a list of KEY=VALUE"):
        nntrain.fit(blobs_config(), overrides="training.epochs=1")
