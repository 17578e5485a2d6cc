"""CSV defects of issue 13, through the real CLI: each bad file gets exit 3 and a message naming the file,
column, line and value; no row is lost or silently shifted; no library warning reaches stderr."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest


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

def test_a_target_missing_in_every_row_is_no_labelled_rows_at_check_and_eval(cli, write, tmp_path, runs):
    data = write("unlabelled.csv", "a,b,y\n" + "\n".join(row.rsplit(",", 1)[0] + "," for row in numeric_rows()))
    checked = cli("check", table_config(write, data, tmp_path))
    assert_clean_stderr(checked)
    assert checked.returncode == 3
    assert f"{data}: no labelled rows: the target column 'y' is missing in all 40 rows" in checked.stderr
    evaluated = cli("eval", runs["plain"], data)
    assert_clean_stderr(evaluated)
    assert evaluated.returncode == 3 and evaluated.stdout == ""
    assert (f"{data}: no labelled rows: the target column 'y' is missing in all 40 rows; fill in the target, "
            "or use nntrain predict for unlabelled rows") in evaluated.stderr
