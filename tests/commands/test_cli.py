"""The command line end to end, through the real entry point: outputs, pipes and exit codes."""

import io
import json
import subprocess

import numpy as np
import pandas as pd
import pytest

from nntrain.train.checkpoint import load_checkpoint


@pytest.fixture
def trained(cli, blobs_config, tmp_path):
    """A finished run on the blobs data."""
    result = cli("fit", blobs_config(), "--set", "training.epochs=15")
    assert result.returncode == 0, result.stderr
    return tmp_path / "run", result


def test_fit_writes_a_complete_run(trained):
    run, result = trained
    assert sorted(p.name for p in run.iterdir()) == ["best.npz", "config.yaml", "last.npz", "metrics.csv",
                                                     "metrics.jsonl", "summary.json", "test.csv"]
    summary = json.loads((run / "summary.json").read_text())
    assert summary["epochs_run"] == 15
    assert summary["stop_reason"] == "reached the epoch limit (training.epochs: 15)"
    assert summary["test"]["accuracy"] == 1.0
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert [row["epoch"] for row in log] == list(range(1, 16))
    assert set(log[0]) >= {"epoch", "loss", "val_loss", "val_accuracy", "lr", "seconds"}
    assert pd.read_csv(run / "metrics.csv")["epoch"].tolist() == list(range(1, 16))
    assert "epoch 15/15" in result.stderr and result.stdout == ""


def test_set_overrides_land_in_the_resolved_config(trained):
    run, _ = trained
    resolved = (run / "config.yaml").read_text()
    assert "epochs: 15" in resolved and "batch_size: 16" in resolved and "beta2: 0.999" in resolved


def test_eval_json_reproduces_the_test_metrics_of_fit(cli, trained):
    run, _ = trained
    result = cli("eval", run, "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    summary = json.loads((run / "summary.json").read_text())
    assert report["metrics"] == {k: v for k, v in summary["test"].items() if k != "loss"}
    assert report["loss"] == summary["test"]["loss"]
    assert report["rows"] == 12
    assert report["confusion_matrix"]["labels"] == ["a", "b", "c"]
    assert np.trace(np.array(report["confusion_matrix"]["matrix"])) == 12


def test_eval_table_goes_to_stdout_as_plain_text_when_piped(cli, trained, blobs_csv):
    result = cli("eval", trained[0], blobs_csv)
    assert result.returncode == 0
    assert "accuracy" in result.stdout and "120 rows" in result.stdout
    assert not set("─│┃━┏┓┗┛┡┩╇") & set(result.stdout)  # no box drawing when piped
    assert all(line == line.rstrip() for line in result.stdout.splitlines())  # no padding at line ends
    assert "evaluating" in result.stderr and "accuracy" not in result.stderr


def test_predict_from_stdin_to_stdout_through_a_pipe(trained, blobs_csv, shell_command):
    run, _ = trained
    result = subprocess.run(f"cat {blobs_csv} | {shell_command} predict {run} -", shell=True,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    predictions = pd.read_csv(io.StringIO(result.stdout))
    truth = pd.read_csv(blobs_csv)
    assert list(predictions.columns) == ["prediction"]
    assert predictions["prediction"].tolist() == truth["label"].tolist()  # row order kept, target ignored


def test_predict_proba_reordered_columns_and_output_file(cli, trained, blobs_csv, tmp_path):
    run, _ = trained
    frame = pd.read_csv(blobs_csv)
    shuffled = tmp_path / "reordered.csv"
    frame[["label", "x2", "x1"]].head(5).to_csv(shuffled, index=False)
    first = cli("predict", run, blobs_csv, "--proba")
    second = cli("predict", run, shuffled, "--proba", "-o", tmp_path / "out.csv")
    assert second.stdout == ""
    table = pd.read_csv(io.StringIO(first.stdout))
    assert list(table.columns) == ["prediction", "proba_a", "proba_b", "proba_c"]
    assert np.allclose(table[["proba_a", "proba_b", "proba_c"]].sum(axis=1), 1, atol=1e-5)
    assert (tmp_path / "out.csv").read_text().splitlines() == first.stdout.splitlines()[:6]


def test_same_seed_gives_identical_weights(cli, blobs_config, tmp_path):
    layers = "model.layers=[{type: dense, units: 8, activation: relu}, {type: dropout, rate: 0.3}]"
    for name in ("one", "two"):
        result = cli("fit", blobs_config(), "--set", f"output.dir={tmp_path / name}", "--set", "training.epochs=4",
                     "--set", "training.restore_best=false", "--set", layers)
        assert result.returncode == 0, result.stderr
    one, two = load_checkpoint(tmp_path / "one" / "last.npz")[1], load_checkpoint(tmp_path / "two" / "last.npz")[1]
    assert one.keys() == two.keys()
    assert all(np.array_equal(one[name], two[name]) for name in one)


def test_existing_run_is_not_overwritten_by_accident(cli, trained, blobs_config):
    run, _ = trained
    before = (run / "best.npz").read_bytes()
    result = cli("fit", blobs_config())
    assert result.returncode == 2
    assert "already holds a run" in result.stderr and "--overwrite" in result.stderr
    assert (run / "best.npz").read_bytes() == before
    assert cli("fit", blobs_config(), "--overwrite", "--set", "training.epochs=2").returncode == 0
    assert json.loads((run / "summary.json").read_text())["epochs_run"] == 2


def test_config_errors_exit_2_naming_the_key_and_create_nothing(cli, write, tmp_path):
    config = write("bad.yaml", f"""
        data: {{train: x.csv, target: y}}
        optimizer: {{type: adam, lrr: 0.1}}
        output: {{dir: {tmp_path / 'never'}}}
        """)
    result = cli("fit", config)
    assert result.returncode == 2
    assert "optimizer.lrr (line 2): unknown key; did you mean optimizer.lr?" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "never").exists()


def test_missing_files_exit_2_naming_them(cli, write, tmp_path):
    result = cli("fit", tmp_path / "nope.yaml")
    assert result.returncode == 2 and "config file not found" in result.stderr
    config = write("c.yaml", f"data: {{train: {tmp_path / 'absent.csv'}, target: y}}\n"
                             f"output: {{dir: {tmp_path / 'run'}}}\n")
    result = cli("fit", config)
    assert result.returncode == 2 and "data.train: file not found" in result.stderr


def test_csv_data_needs_a_target(cli, write, blobs_csv, tmp_path):
    config = write("c.yaml", f"data: {{train: {blobs_csv}}}\noutput: {{dir: {tmp_path / 'run'}}}\n")
    result = cli("fit", config)
    assert result.returncode == 2 and "data.target: required for CSV data" in result.stderr


def test_data_errors_exit_3(cli, blobs_config):
    result = cli("fit", blobs_config(), "--set", "data.target=species")
    assert result.returncode == 3
    assert "missing target column 'species'; the file has: x1, x2, label" in result.stderr


def test_checkpoint_errors_exit_5(cli, trained, tmp_path, blobs_csv):
    run, _ = trained
    assert cli("predict", tmp_path / "nowhere", blobs_csv).returncode == 5
    damaged = tmp_path / "damaged.npz"
    damaged.write_bytes((run / "best.npz").read_bytes()[:-100])
    result = cli("eval", damaged, blobs_csv)
    assert result.returncode == 5 and "damaged" in result.stderr and "Traceback" not in result.stderr


def test_divergence_exits_4_without_a_checkpoint_from_the_bad_state(cli, blobs_config, tmp_path):
    result = cli("fit", blobs_config(), "--set", "optimizer={type: sgd, lr: 1e30}")
    assert result.returncode == 4
    assert "training diverged at epoch 1, step" in result.stderr and "lower optimizer.lr" in result.stderr
    assert not (tmp_path / "run" / "best.npz").exists() and not (tmp_path / "run" / "last.npz").exists()


def test_broken_stdout_pipe_ends_quietly(trained, tmp_path, shell_command):
    run, _ = trained
    rng = np.random.default_rng(0)
    big = tmp_path / "big.csv"
    # ~600 KB of predictions, ten times a pipe's buffer: nntrain cannot finish writing before `head` exits
    pd.DataFrame(rng.normal(size=(300_000, 2)).round(3), columns=["x1", "x2"]).to_csv(big, index=False)
    result = subprocess.run(f"set -o pipefail; {shell_command} predict {run} {big} | head -1", shell=True,
                            capture_output=True, text=True, executable="/bin/bash")
    assert result.stdout == "prediction\n"
    assert result.returncode == 141
    assert result.stderr == ""


def test_unknown_command_and_missing_argument_are_usage_errors(cli):
    assert cli("train", "x.yaml").returncode == 2
    assert cli("predict").returncode == 2
    version = cli("--version")
    assert version.returncode == 0 and version.stdout.startswith("nntrain ")


def test_predict_names_missing_columns_and_notes_extra_ones(cli, trained, tmp_path):
    run, _ = trained
    (tmp_path / "partial.csv").write_text("x1,notes\n1.0,hello\n")
    result = cli("predict", run, tmp_path / "partial.csv")
    assert result.returncode == 3
    assert "missing feature column 'x2'; the file has: x1, notes" in result.stderr
    (tmp_path / "extra.csv").write_text("x2,x1,notes\n1.0,2.0,hello\n")
    result = cli("predict", run, tmp_path / "extra.csv")
    assert result.returncode == 0
    assert "ignored 1 column the model does not use: notes" in result.stderr
    assert result.stdout.splitlines()[0] == "prediction" and len(result.stdout.splitlines()) == 2


def test_explicit_validation_and_test_files(cli, write, blobs_csv, tmp_path):
    frame = pd.read_csv(blobs_csv)
    frame.iloc[::4].to_csv(tmp_path / "val.csv", index=False)
    frame.iloc[1::4].to_csv(tmp_path / "test.csv", index=False)
    frame.iloc[[i for i in range(len(frame)) if i % 4 > 1]].to_csv(tmp_path / "train.csv", index=False)
    config = write("files.yaml", f"""
        data: {{train: {tmp_path / 'train.csv'}, validation: {tmp_path / 'val.csv'}, test: {tmp_path / 'test.csv'}, target: label}}
        training: {{epochs: 3}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    result = cli("fit", config)
    assert result.returncode == 0, result.stderr
    assert "on 60 rows (30 validation, 30 test)" in result.stderr
    assert len(pd.read_csv(tmp_path / "run" / "test.csv")) == 30
    both = cli("fit", config, "--set", "data.split.test=0.1", "--overwrite")
    assert both.returncode == 2 and "data.test is a file, so no test rows are split off data.train: remove " \
        "data.split.test or set it to 0 (e.g. --set data.split.test=0)" in both.stderr
