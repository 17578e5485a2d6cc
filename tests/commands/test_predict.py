"""`nntrain predict --keep`: input columns (IDs) copied into the predictions, so they join back to the input."""

import io

import pandas as pd
import pytest

import nntrain


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A run trained on blobs with an `id` column the pipeline drops, and rows to predict."""
    root = tmp_path_factory.mktemp("keep")
    rows = pd.DataFrame({"id": [f"{i:04d}" for i in range(60)], "x1": [0.0, 5.0, 0.0] * 20,
                         "x2": [0.0, 5.0, 6.0] * 20, "label": ["a", "b", "c"] * 20})
    rows.to_csv(root / "train.csv", index=False)
    (root / "config.yaml").write_text(f"""
seed: 1
data:
  train: {root / 'train.csv'}
  target: label
  pipeline: [{{type: drop, columns: [id]}}, {{type: normalize}}]
model: {{layers: [{{type: dense, units: 8, activation: relu}}]}}
optimizer: {{type: adam, lr: 0.05}}
training: {{epochs: 3, batch_size: 16}}
output: {{dir: {root / 'run'}}}
""")
    nntrain.fit(root / "config.yaml")
    # IDs that only survive as text (leading zeros, a comma, quotes), a blank line, an unparsable row
    new = 'id,x1,x2,note\n007,0.1,0.2,first\n"0,8",5.1,4.9,"say ""hi"""\n\n011,oops,1,third\n012,0.2,6.1,\n'
    (root / "new.csv").write_text(new)
    return root


def test_kept_ids_join_back_to_the_input_with_no_missing_rows(cli, trained):
    done = cli("predict", trained / "run", trained / "new.csv", "--keep", "id", "--on-error", "skip")
    assert done.returncode == 0, done.stderr
    out = pd.read_csv(io.StringIO(done.stdout), dtype=str)
    assert list(out.columns) == ["line", "id", "prediction"]
    assert list(out["id"]) == ["007", "0,8", "012"]
    assert list(out["line"]) == ["2", "3", "6"]
    assert "ignored 1 column the model does not use: note\n" in done.stderr  # not `id`: it was kept
    source = pd.read_csv(trained / "new.csv", dtype=str)
    predictable = source[source["x1"] != "oops"]
    joined = predictable.merge(out, on="id", how="left", validate="one_to_one")
    assert joined["prediction"].notna().all() and len(joined) == len(predictable)


def test_keep_all_from_stdin_copies_every_column_as_written(cli, trained):
    text = (trained / "new.csv").read_text().replace("011,oops,1,third\n", "").replace("\n\n", "\n")
    done = cli("predict", trained / "run", "-", "--keep", "all", input=text)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "id,x1,x2,note,prediction"
    assert lines[1].startswith("007,0.1,0.2,first,")
    assert lines[2].startswith('"0,8",5.1,4.9,"say ""hi""",')
    assert lines[3].startswith("012,0.2,6.1,,")
    assert len(lines) == 4


def test_keep_with_proba_puts_the_kept_columns_first(cli, trained):
    done = cli("predict", trained / "run", trained / "new.csv", "--keep", "note", "--keep", "id", "--proba",
               "--on-error", "skip")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "line,note,id,prediction,proba_a,proba_b,proba_c"


def test_a_column_to_keep_that_the_input_lacks_is_exit_3_naming_it(cli, trained):
    done = cli("predict", trained / "run", trained / "new.csv", "--keep", "idd")
    assert done.returncode == 3
    assert "new.csv has no column 'idd' to keep (did you mean 'id'?)" in done.stderr
    assert done.stdout == ""


def test_a_kept_column_named_like_an_output_column_is_refused(cli, trained):
    done = cli("predict", trained / "run", "-", "--keep", "all", input="x1,x2,prediction\n0,0,old\n")
    assert done.returncode == 2
    assert "the input column 'prediction' has the name of an output column" in done.stderr
    done = cli("predict", trained / "run", "-", "--keep", "line", "--on-error", "skip", input="x1,x2,line\n0,0,9\n")
    assert done.returncode == 2
    assert "'line' has the name of an output column" in done.stderr


def test_keep_on_a_parquet_table_writes_its_values_in_full(cli, trained):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame({"id": [12345678901234, 7], "amount": [0.1 + 0.2, None], "x1": [0.1, 5.0],
                          "x2": [0.2, 5.0]})
    frame.to_parquet(trained / "new.parquet")
    done = cli("predict", trained / "run", trained / "new.parquet", "--keep", "id", "--keep", "amount")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "id,amount,prediction"
    assert lines[1].startswith("12345678901234,0.30000000000000004,")
    assert lines[2].startswith("7,,")


def test_the_api_keeps_a_dataframes_columns_as_they_are(trained):
    run = nntrain.load(trained / "run")
    frame = pd.DataFrame({"id": [3, 9], "x1": [0.1, 5.0], "x2": [0.2, 5.0]}, index=[10, 20])
    table = run.predict(frame, keep=["id"])
    assert list(table.columns) == ["id", "prediction"]
    assert table["id"].tolist() == [3, 9] and table.index.tolist() == [10, 20]
    assert table["id"].dtype == frame["id"].dtype


def test_an_image_model_refuses_keep(cli, image_config):
    config = image_config()
    assert cli("fit", config).returncode == 0
    run = config.parent / "run"
    done = cli("predict", run, config.parent / "images", "--keep", "id")
    assert done.returncode == 2
    assert "an image model's predictions already start with each image's `path`" in done.stderr
