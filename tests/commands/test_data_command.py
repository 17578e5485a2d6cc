"""`nntrain data` and the promise of no train/serve skew, on the shipped penguins example."""

import io
import json

import numpy as np
import pandas as pd

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
                   "top": ["male", "female"]}
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
