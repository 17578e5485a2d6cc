"""CSV defects of issue 13, through the real CLI: each bad file gets exit 3 and a message naming the file,
column, line and value; no row is lost or silently shifted; no library warning reaches stderr."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what the CSV reader reports (see `cli_in_process`)."""
    return cli_in_process


def numeric_rows(rows: int = 40, seed: int = 0) -> list[str]:
    """Data lines of a small numeric table with columns a, b and a 0/1 target y."""
    rng = np.random.default_rng(seed)
    values = rng.normal(size=(rows, 2)).round(3)
    return [f"{a},{b},{i % 2}" for i, (a, b) in enumerate(values)]


def table_config(write, data: str, tmp_path, extra: str = "", name: str = "t.yaml"):
    return write(name, f"""
        seed: 0
        data:
          train: {data}
          target: y
          {extra}
        model: {{layers: [{{type: dense, units: 4, activation: relu}}]}}
        training: {{epochs: 2, batch_size: 8}}
        output: {{dir: {tmp_path / 'run'}}}
        """)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Two small trained runs on columns a, b -> y: `plain` (normalize only) and `cleaned` (clean, normalize)."""
    folder = tmp_path_factory.mktemp("runs")
    (folder / "train.csv").write_text("a,b,y\n" + "\n".join(numeric_rows(60)) + "\n")
    made = {}
    pipelines = {"plain": "[{type: normalize}]", "cleaned": "[{type: clean, missing: mean}, {type: normalize}]"}
    for name, steps in pipelines.items():
        (folder / f"{name}.yaml").write_text(f"""
seed: 0
data: {{train: {folder / 'train.csv'}, target: y, pipeline: {steps}}}
model: {{layers: [{{type: dense, units: 4, activation: relu}}]}}
training: {{epochs: 2, batch_size: 8}}
output: {{dir: {folder / name}}}
""")
        result = subprocess.run([str(Path(sys.executable).parent / "nntrain"), "fit", str(folder / f"{name}.yaml")],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stderr
        made[name] = folder / name
    return made


def assert_clean_stderr(result):
    assert "Traceback" not in result.stderr and "Warning" not in result.stderr, result.stderr


# defect 1 ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("split", ["{validation: 0.9, test: 0.05}", "{validation: 0.05, test: 0.9}"])
def test_text_in_a_numeric_column_is_named_whichever_split_its_row_lands_in(cli, write, tmp_path, split):
    rows = numeric_rows()
    rows[0] = "0.5,abc,0"  # line 2; nearly every row is in the validation (or test) split
    data = write("d.csv", "a,b,y\n" + "\n".join(rows) + "\n")
    result = cli("check", table_config(write, data, tmp_path, f"split: {split}"))
    assert_clean_stderr(result)
    assert result.returncode == 3, result.stderr
    assert f"{data}: column 'b' holds numbers but line 2 has 'abc' (1 such row)" in result.stderr


# defect 6 ----------------------------------------------------------------------------------------------

def test_a_target_missing_in_every_row_is_no_labelled_rows_at_check_and_eval(real_cli, write, tmp_path, runs):
    data = write("unlabelled.csv", "a,b,y\n" + "\n".join(row.rsplit(",", 1)[0] + "," for row in numeric_rows()))
    checked = real_cli("check", table_config(write, data, tmp_path))
    assert_clean_stderr(checked)
    assert checked.returncode == 3
    assert f"{data}: no labelled rows: the target column 'y' is missing in all 40 rows" in checked.stderr
    evaluated = real_cli("eval", runs["plain"], data)
    assert_clean_stderr(evaluated)
    assert evaluated.returncode == 3 and evaluated.stdout == ""
    assert (f"{data}: no labelled rows: the target column 'y' is missing in all 40 rows; fill in the target, "
            "or use nntrain predict for unlabelled rows") in evaluated.stderr


# defect 3 ----------------------------------------------------------------------------------------------

def test_a_column_name_given_twice_is_refused_at_fit_predict_and_eval(cli, write, tmp_path, runs):
    data = write("dup.csv", "a,b,a,y\n" + "\n".join(f"{row},{i}" for i, row in enumerate(numeric_rows())))
    checked = cli("check", table_config(write, data, tmp_path))
    assert_clean_stderr(checked)
    assert checked.returncode == 3
    assert (f"{data}: the header repeats a column name ('a' is columns 1 and 3); give each column its own name"
            in checked.stderr)
    new = write("new.csv", '\ufeff"a",b,"a"\n0.1,0.2,0.3\n')  # a byte-order mark and quotes: still the same name
    predicted = cli("predict", runs["plain"], new)
    assert predicted.returncode == 3 and predicted.stdout == ""
    assert f"{new}: the header repeats a column name ('a' is columns 1 and 3)" in predicted.stderr
    labelled = write("labelled.csv", "a,b,y,b,b\n0.1,0.2,1,0.3,0.4\n")
    evaluated = cli("eval", runs["plain"], labelled)
    assert evaluated.returncode == 3
    assert f"{labelled}: the header repeats a column name ('b' is columns 2, 4 and 5)" in evaluated.stderr


def test_a_real_column_named_like_a_pandas_renaming_is_used_as_is(cli, write, tmp_path):
    data = write("d.csv", "a,a.1,y\n" + "\n".join(numeric_rows()))
    result = cli("data", table_config(write, data, tmp_path), "--json")
    assert_clean_stderr(result)
    assert result.returncode == 0
    assert json.loads(result.stdout)["features"] == ["a", "a.1"]


# defect 7 ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("written", ["1e39", "-1E39", "1e308"])
def test_a_value_beyond_float32_is_named_as_written_before_normalisation(cli, write, tmp_path, written):
    rows = numeric_rows()
    rows[1] = f"{written},0.5,1"  # line 3
    data = write("d.csv", "a,b,y\n" + "\n".join(rows))
    result = cli("check", table_config(write, data, tmp_path, "pipeline: [{type: normalize}]"))
    assert_clean_stderr(result)
    assert result.returncode == 3
    assert (f"{data}: column 'a' has {written} on line 3, beyond float32's range (±3.4e38); fix the file, "
            "or train with engine.dtype: float64") in result.stderr
    assert "infinite" not in result.stderr


def test_values_beyond_float32_stop_predict_or_are_skipped_with_their_line(cli, write, runs):
    new = write("new.csv", "a,b\n0.1,0.2\n0.3,-1e39\n0.5,0.6\n")
    stopped = cli("predict", runs["plain"], new)
    assert_clean_stderr(stopped)
    assert stopped.returncode == 3 and stopped.stdout == ""
    assert f"{new}: column 'b' has -1e39 on line 3, beyond float32's range (±3.4e38)" in stopped.stderr
    skipped = cli("predict", runs["plain"], new, "--on-error", "skip")
    assert_clean_stderr(skipped)
    assert skipped.returncode == 0
    assert [line.split(",")[0] for line in skipped.stdout.splitlines()] == ["line", "2", "4"]
    assert "skipped 1 row that cannot be predicted (line 3: 'b' is '-1e39')" in skipped.stderr


def test_infinity_written_in_the_file_is_an_infinite_value_on_its_line(cli, write, tmp_path):
    rows = numeric_rows()
    rows[3] = "0.5,-inf,1"  # line 5
    data = write("d.csv", "a,b,y\n" + "\n".join(rows))
    result = cli("check", table_config(write, data, tmp_path, "pipeline: [{type: normalize}]"))
    assert_clean_stderr(result)
    assert result.returncode == 3
    assert f"{data}: column 'b' has an infinite value on line 5 (-inf); fix the file" in result.stderr


# defect 11 ---------------------------------------------------------------------------------------------

def test_lines_are_named_as_an_editor_shows_them_after_quoted_line_breaks(cli, write, tmp_path, runs):
    rows = [f"{row},plain" for row in numeric_rows()]
    rows[0] = rows[0].replace("plain", '"two\nlines"')    # line 2 and 3
    rows[1] = rows[1].replace("plain", '"three\n\nlines"')  # lines 4 to 6
    rows[2] = "0.5,abc,0,plain"                             # line 7
    data = write("d.csv", "a,b,y,note\n" + "\n".join(rows))
    checked = cli("check", table_config(write, data, tmp_path, "features: [a, b]"))
    assert_clean_stderr(checked)
    assert checked.returncode == 3
    assert f"{data}: column 'b' holds numbers but line 7 has 'abc'" in checked.stderr
    new = write("new.csv", 'a,b,note\n0.1,0.2,"x\ny"\n0.3,oops,z\n0.4,0.5,"p\nq"\n0.6,0.7,\n1,2,3,4\n')
    ragged = cli("predict", runs["plain"], new)
    assert ragged.returncode == 3
    assert f"{new}: line 8 has 4 fields but the header has 3; fix or remove that row" in ragged.stderr
    write("new.csv", new.read_text().rsplit("1,2,3,4", 1)[0])
    skipped = cli("predict", runs["plain"], new, "--on-error", "skip")
    assert_clean_stderr(skipped)
    assert skipped.returncode == 0
    assert [line.split(",")[0] for line in skipped.stdout.splitlines()] == ["line", "2", "5", "7"]
    assert "(line 4: 'b' is 'oops')" in skipped.stderr


def test_bad_utf8_names_its_offset_in_the_file_and_its_line(cli, tmp_path, runs):
    new = tmp_path / "new.csv"
    new.write_bytes(b"a,b\n" + b"0.1,0.2\n" * 100_000 + b"0.3,caf\xe9\n")  # beyond pandas' first buffer
    result = cli("predict", runs["plain"], new)
    assert_clean_stderr(result)
    assert result.returncode == 3
    assert (f"{new}: not UTF-8 text: the byte at offset 800011 (line 100002) is 0xe9; save the file as UTF-8 CSV"
            in result.stderr)


# defect 21 ---------------------------------------------------------------------------------------------

EMPTY_ROWS = "a,b\n0.1,0.2\n,\n\n0.3,0.4\n\n"  # a row of bare commas (line 3), a blank line (4), a final blank line


def test_predict_gives_each_empty_row_a_prediction_or_names_it(cli, write, runs):
    new = write("new.csv", EMPTY_ROWS)
    filled = cli("predict", runs["cleaned"], new, "--on-error", "skip")
    assert_clean_stderr(filled)
    assert filled.returncode == 0
    assert [line.split(",")[0] for line in filled.stdout.splitlines()] == ["line", "2", "3", "4", "5"]
    stopped = cli("predict", runs["plain"], new)
    assert stopped.returncode == 3 and stopped.stdout == ""
    assert f"{new}: column 'a' has 2 missing values, first on line 3; fill them with a clean step" in stopped.stderr
    skipped = cli("predict", runs["plain"], new, "--on-error", "skip")
    assert skipped.returncode == 0
    assert [line.split(",")[0] for line in skipped.stdout.splitlines()] == ["line", "2", "5"]
    assert ("skipped 2 rows that cannot be predicted (line 3: 'a' is missing; line 4: 'a' is missing)"
            in skipped.stderr)


def test_training_counts_the_empty_rows_it_drops(cli, write, tmp_path):
    rows = numeric_rows()
    rows[3:3] = ["", ",,"]  # lines 5 and 6
    data = write("d.csv", "a,b,y\n" + "\n".join(rows) + "\n\n")
    result = cli("data", table_config(write, data, tmp_path), "--json")
    assert_clean_stderr(result)
    assert result.returncode == 0
    report = json.loads(result.stdout)
    assert report["rows_read"] == {"train": 42} and report["empty_rows"] == {"train": 2}
    assert f"{data}: dropped 2 empty rows (first on line 5)" in report["notes"]
    assert sum(report["rows_used"].values()) == 40


# defect 22 ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("short", ["0.5,1", '"0.5","1"'])
def test_rows_with_too_few_fields_are_refused_naming_the_line(cli, write, tmp_path, short):
    rows = numeric_rows()
    rows[3] = short  # line 5
    data = write("d.csv", "a,b,y\n" + "\n".join(rows) + "\n")
    result = cli("check", table_config(write, data, tmp_path))
    assert_clean_stderr(result)
    assert result.returncode == 3
    assert f"{data}: line 5 has 2 fields but the header has 3; fix or remove that row" in result.stderr


def test_predict_refuses_rows_with_too_few_or_too_many_fields(cli, write, runs):
    short = write("short.csv", "a,b\n0.1,0.2\n0.3\n")
    result = cli("predict", runs["plain"], short, "--on-error", "skip")
    assert result.returncode == 3 and result.stdout == ""
    assert f"{short}: line 3 has 1 field but the header has 2; fix or remove that row" in result.stderr
    long = write("long.csv", "a,b\n0.1,0.2\n0.3,0.4\n0.3,0.4,0.5\n")
    result = cli("predict", runs["plain"], long)
    assert result.returncode == 3
    assert f"{long}: line 4 has 3 fields but the header has 2; fix or remove that row" in result.stderr
