"""`nntrain eval` on a file or standard input read in chunks (forced tiny with NNTRAIN_CHUNK_ROWS): the
metrics add up over the chunks to those of one read of the whole input."""

import json

import numpy as np
import pandas as pd
import pytest

import nntrain

CHUNKS = {"NNTRAIN_CHUNK_ROWS": "5"}


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """A classifier and a regressor on the same 90 rows, and labelled rows to evaluate them on."""
    root = tmp_path_factory.mktemp("eval")
    rng = np.random.default_rng(3)
    x = rng.normal(size=(90, 2)).round(3)
    frame = pd.DataFrame({"x1": x[:, 0], "x2": x[:, 1], "label": np.where(x[:, 0] > x[:, 1], "up", "down"),
                          "value": (3 * x[:, 0] - x[:, 1] + rng.normal(0, 0.3, 90)).round(3)})
    frame.to_csv(root / "train.csv", index=False)
    for target, other in (("label", "value"), ("value", "label")):
        (root / f"{target}.yaml").write_text(f"""
seed: 1
data:
  train: {root / 'train.csv'}
  target: {target}
  pipeline: [{{type: drop, columns: [{other}]}}, {{type: normalize}}]
model: {{layers: [{{type: dense, units: 8, activation: relu}}]}}
optimizer: {{type: adam, lr: 0.05}}
training: {{epochs: 3, batch_size: 16}}
output: {{dir: {root / target}}}
""")
        nntrain.fit(root / f"{target}.yaml")
    new = frame.sample(frac=1.0, random_state=0).head(40).copy()
    new.loc[new.index[[6, 10, 11, 12, 13, 14, 33]], ["label", "value"]] = np.nan  # rows 10-14: a chunk of no label
    new.to_csv(root / "new.csv", index=False)
    return root


def _eval(cli, run, data, env=None, text=None):
    done = cli("eval", run, data, "--json", env=env, input=text)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_classification_eval_over_chunks_equals_the_one_shot_eval(cli, runs):
    whole, whole_notes = _eval(cli, runs / "label", runs / "new.csv")
    chunked, notes = _eval(cli, runs / "label", "-", env=CHUNKS, text=(runs / "new.csv").read_text())
    assert chunked["rows"] == whole["rows"] == 33
    # confusion counts add up exactly; the loss is a row-weighted mean of the chunks' float32 means: to rounding
    assert chunked["metrics"] == whole["metrics"] and chunked["confusion_matrix"] == whole["confusion_matrix"]
    assert chunked["loss"] == pytest.approx(whole["loss"], rel=1e-6)
    note = "dropped 7 rows with a missing target (first on line 8)"
    assert note in whole_notes and note in notes


def test_regression_eval_over_chunks_equals_the_one_shot_eval_to_rounding(cli, runs):
    whole, _ = _eval(cli, runs / "value", runs / "new.csv")
    chunked, _ = _eval(cli, runs / "value", runs / "new.csv", env=CHUNKS)
    assert chunked["rows"] == whole["rows"] == 33
    assert chunked["metrics"] == pytest.approx(whole["metrics"], rel=1e-9)  # float64 sums in another order
    assert chunked["loss"] == pytest.approx(whole["loss"], rel=1e-6)


def test_no_label_in_any_chunk_is_the_one_shot_error(cli, runs):
    text = "x1,x2,label\n" + "0.1,0.2,\n" * 12
    whole = cli("eval", runs / "label", "-", input=text)
    chunked = cli("eval", runs / "label", "-", input=text, env=CHUNKS)
    assert whole.returncode == chunked.returncode == 3
    assert "no labelled rows: the target column 'label' is missing in all 12 rows" in chunked.stderr
    assert chunked.stderr == whole.stderr
