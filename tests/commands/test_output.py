"""Where output goes and how it looks: results on stdout, Rich on a terminal, plain text when piped."""

import io
import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

BOX = set("─│┃━┏┓┗┛┡┩╇╭╮╰╯┌┐└┘├┤┬┴┼")
ENTRY = str(Path(sys.executable).parent / "nntrain")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("output")
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(90, 2)), columns=["x1", "x2"]).assign(label=np.repeat(["a", "b", "c"], 30))
    frame.to_csv(folder / "d.csv", index=False)
    (folder / "c.yaml").write_text(f"data: {{train: {folder / 'd.csv'}, target: label}}\n"
                                   f"training: {{epochs: 2}}\noutput: {{dir: {folder / 'run'}}}\n")
    result = subprocess.run([ENTRY, "fit", str(folder / "c.yaml")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return folder


def _on_a_terminal(args, env=None, stdin: bytes | None = None) -> str:
    """Run nntrain with stdin, stdout and stderr on a pseudo-terminal; return what it printed."""
    controller, terminal = pty.openpty()
    environment = {k: v for k, v in os.environ.items() if k != "NO_COLOR"} | {"COLUMNS": "120", **(env or {})}
    process = subprocess.Popen([ENTRY, *map(str, args)], stdin=terminal, stdout=terminal, stderr=terminal,
                               env=environment, close_fds=True)
    os.close(terminal)
    if stdin is not None:
        os.write(controller, stdin)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=600)
    os.close(controller)
    return b"".join(chunks).decode("utf-8", "replace")


def test_eval_to_a_file_leaves_the_table_there(trained, tmp_path, shell_command):
    target = tmp_path / "eval.txt"
    result = subprocess.run(f"{shell_command} eval {trained / 'run'} > {target}", shell=True, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stderr
    text = target.read_text()
    assert text.splitlines()[0] == f"9 rows of {trained / 'run' / 'test.csv'}"
    assert "accuracy" in text and "confusion matrix" in text and not BOX & set(text)


@pytest.mark.parametrize("command", [["eval", "{run}"], ["summary", "{run}"], ["runs", "{folder}"],
                                     ["data", "{folder}/c.yaml"], ["check", "{folder}/c.yaml", "--set",
                                                                    "output.dir={folder}/other"]])
def test_result_tables_are_rich_on_a_terminal_and_plain_under_no_color(trained, command):
    args = [part.format(run=trained / "run", folder=trained) for part in command]
    fancy = _on_a_terminal(args)
    assert BOX & set(fancy), fancy
    plain = _on_a_terminal(args, env={"NO_COLOR": "1"})
    assert not BOX & set(plain), plain
    piped = subprocess.run([ENTRY, *args], capture_output=True, text=True, env={**os.environ, "NO_COLOR": ""})
    assert piped.returncode == 0 and piped.stdout and not BOX & set(piped.stdout)
    assert all(line == line.rstrip() for line in piped.stdout.splitlines())


def test_predict_on_a_terminal_says_it_reads_standard_input(trained):
    text = _on_a_terminal(["predict", trained / "run", "-"], stdin=b"x1,x2\n0.5,0.5\n\x04")
    assert "reading from standard input" in text and "prediction" in text


def test_a_reader_that_stops_early_never_turns_into_an_internal_error(trained, shell_command):
    for _ in range(3):
        result = subprocess.run(f"set -o pipefail; {shell_command} check {trained / 'c.yaml'} --set "
                                f"output.dir={trained / 'elsewhere'} 2>&1 | head -1", shell=True, capture_output=True,
                                text=True, executable="/bin/bash")
        assert result.returncode in (0, 141), result
        assert "internal error" not in result.stdout


def test_verbose_shows_the_numeric_environment(cli, blobs_config, tmp_path):
    result = cli("fit", blobs_config(epochs=1), "--verbose")
    assert result.returncode == 0, result.stderr
    assert f"NumPy {np.__version__} with" in result.stderr and "BLAS threads" in result.stderr
    assert "NumPy" not in cli("fit", blobs_config(epochs=1), "--overwrite").stderr
    evaluated = cli("eval", tmp_path / "run", "-v")
    assert evaluated.returncode == 0 and "BLAS threads" in evaluated.stderr


def test_proba_for_a_regression_model_is_a_usage_error(cli, write, tmp_path):
    rng = np.random.default_rng(0)
    pd.DataFrame({"x": rng.normal(size=40), "y": rng.normal(size=40)}).to_csv(tmp_path / "r.csv", index=False)
    config = write("r.yaml", f"data: {{train: {tmp_path / 'r.csv'}, target: y}}\ntraining: {{epochs: 1}}\n"
                             f"output: {{dir: {tmp_path / 'run'}}}\n")
    assert cli("fit", config).returncode == 0
    result = cli("predict", tmp_path / "run", tmp_path / "r.csv", "--proba")
    assert result.returncode == 2 and "a regression model predicts values, not class probabilities" in result.stderr
    assert result.stdout == ""


def test_hundreds_of_classes_keep_eval_readable_and_predict_quiet(cli, write, tmp_path):
    rng = np.random.default_rng(0)
    labels = np.repeat([f"class{i:03d}" for i in range(499)], 3)
    frame = pd.DataFrame({"x": rng.normal(size=len(labels)), "label": labels})
    frame.to_csv(tmp_path / "many.csv", index=False)
    config = write("m.yaml", f"data: {{train: {tmp_path / 'many.csv'}, target: label, split: {{test: 0.2}}}}\n"
                             f"training: {{epochs: 1}}\noutput: {{dir: {tmp_path / 'run'}}}\n")
    assert cli("fit", config).returncode == 0
    result = cli("eval", tmp_path / "run")
    assert result.returncode == 0, result.stderr
    assert len(result.stdout) < 2000 and "confusion matrix of 499 classes left out" in result.stderr
    matrix = json.loads(cli("eval", tmp_path / "run", "--json").stdout)["confusion_matrix"]["matrix"]
    assert len(matrix) == 499
    predicted = cli("predict", tmp_path / "run", tmp_path / "many.csv", "--proba")
    assert predicted.returncode == 0 and "Warning" not in predicted.stderr, predicted.stderr
    assert pd.read_csv(io.StringIO(predicted.stdout)).shape == (len(labels), 1 + 499)


def test_one_row_reads_right_and_paths_the_system_refuses_are_usage_errors(cli, trained, tmp_path):
    (tmp_path / "one.csv").write_text("x1,x2,label\n0.1,0.2,a\n")
    result = cli("eval", trained / "run", tmp_path / "one.csv")
    assert result.returncode == 0 and result.stdout.startswith(f"1 row of {tmp_path / 'one.csv'}\n")
    long = cli("predict", trained / "run", "x" * 300 + ".csv")
    assert long.returncode == 2 and "File name too long" in long.stderr and "internal error" not in long.stderr
    assert cli("summary", trained / "run", "--set", "training.epochs=3").returncode == 2
