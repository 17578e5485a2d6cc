"""CSV defects of issue 13, through the real CLI: each bad file gets exit 3 and a message naming the file,
column, line and value; no row is lost or silently shifted; no library warning reaches stderr."""

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
