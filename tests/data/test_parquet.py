"""Parquet tables (nntrain/data/parquet.py): read with the schema's types into the frames a CSV gives, so a
Parquet file trains, predicts and evaluates exactly as the CSV with the same rows; its defects are exit 3
naming the file and column, and without pyarrow it is exit 2 with the install line."""

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from nntrain.data.parquet import is_parquet, read_parquet, row_groups
from nntrain.data.readers import read_table
from nntrain.errors import ConfigError, DataError


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what the commands do with Parquet tables (see `cli_in_process`)."""
    return cli_in_process


def mixed_frame(rows: int = 90) -> pd.DataFrame:
    """Numbers with gaps, whole numbers, a category with gaps, a boolean, and a three-class label."""
    rng = np.random.default_rng(0)
    label = np.repeat(["a", "b", "c"], rows // 3)
    x1 = rng.normal(0, 1, rows).round(3) + (label == "b") * 3
    x1[[3, 17]] = np.nan
    color = rng.choice(["red", "green", "blue"], rows).astype(object)
    color[[5, 40]] = np.nan
    frame = pd.DataFrame({"x1": x1, "x2": rng.integers(0, 10, rows) + (label == "c") * 5, "color": color,
                          "flag": rng.choice([True, False], rows), "label": label})
    frame.iloc[1] = frame.iloc[0]  # a duplicate row, for dedupe
    return frame


@pytest.fixture
def tables(tmp_path):
    """The same rows as mixed.csv, mixed.parquet (two row groups) and parts/ (two Parquet files)."""
    frame = mixed_frame()
    frame.to_csv(tmp_path / "mixed.csv", index=False)
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, tmp_path / "mixed.parquet", row_group_size=50)
    (tmp_path / "parts").mkdir()
    pq.write_table(table.slice(0, 40), tmp_path / "parts" / "part-0.parquet")
    pq.write_table(table.slice(40), tmp_path / "parts" / "part-1.parquet")
    return tmp_path


def mixed_config(write, tmp_path, data, name: str) -> Path:
    return write(f"{name}.yaml", f"""
        seed: 1
        data:
          train: {data}
          target: label
          pipeline:
            - {{type: clean, missing: median}}
            - {{type: dedupe}}
            - {{type: normalize}}
            - {{type: encode}}
        model:
          layers:
            - {{type: dense, units: 8, activation: relu}}
        training: {{epochs: 4, batch_size: 16}}
        output: {{dir: {tmp_path / name}}}
        """)


def checkpoint_meta(run: Path) -> dict:
    with zipfile.ZipFile(run / "best.npz") as archive:
        return json.loads(archive.read("meta.json"))


# reading ------------------------------------------------------------------------------------------------

def test_columns_take_the_dtypes_a_csv_read_gives(tables):
    from_parquet = read_parquet(str(tables / "mixed.parquet"), narrow=True, keep=("label",))
    from_csv = read_table(str(tables / "mixed.csv"), narrow=True, keep=("label",))
    assert {name: from_parquet[name].dtype.kind for name in from_parquet} == \
        {"x1": "f", "x2": "i", "color": "O", "flag": "b", "label": "O"}
    assert from_parquet["x1"].dtype == np.float32 and from_parquet["x2"].dtype == np.int64
    assert from_parquet.index.name == "row" and from_parquet.index[0] == 1 and from_parquet.index[-1] == 90
    np.testing.assert_array_equal(from_parquet["x1"].to_numpy(), from_csv["x1"].to_numpy())
    assert from_parquet["color"].isna().sum() == 2 and from_parquet["color"][6] is np.nan
    assert list(from_parquet["color"].fillna("-")) == list(from_csv["color"].fillna("-"))


def test_types_without_text_parsing(tmp_path):
    table = pa.table({
        "small": pa.array([1, None, 3], pa.int16()),
        "count": pa.array([1, 2, 3], pa.uint8()),
        "half": pa.array([0.5, 1.5, None], pa.float32()),
        "price": pa.array([Decimal("1.25"), Decimal("2.50"), None], pa.decimal128(5, 2)),
        "kind": pa.array(["x", None, "y"]).dictionary_encode(),
        "code": pa.array(["007", "1e3", None], pa.large_string()),
        "ok": pa.array([True, None, False]),
        "nothing": pa.array([None, None, None], pa.null()),
        "y": [0, 1, 0]})
    pq.write_table(table, tmp_path / "types.parquet")
    frame = read_parquet(str(tmp_path / "types.parquet"), narrow=True, keep=("y",))
    assert frame["small"].dtype == np.float32 and np.isnan(frame["small"][2])  # integers with nulls: decimals
    assert frame["count"].dtype == np.int64
    np.testing.assert_array_equal(frame["price"].to_numpy()[:2], np.array([1.25, 2.5], np.float32))
    assert list(frame["kind"].fillna("-")) == ["x", "-", "y"]
    assert list(frame["code"][:2]) == ["007", "1e3"]  # text stays text, however numeric it looks
    assert list(frame["ok"].fillna("-")) == [True, "-", False]
    assert frame["nothing"].dtype == np.float32 and frame["nothing"].isna().all()
    wide = read_parquet(str(tmp_path / "types.parquet"), narrow=["count"])
    assert wide["half"].dtype == np.float64 and wide["count"].dtype == np.float32


def test_a_folder_reads_its_files_in_sorted_order_by_row_group(tables):
    groups = list(row_groups(str(tables / "mixed.parquet")))
    assert [group.num_rows for group in groups] == [50, 40]
    folder = read_parquet(str(tables / "parts"), narrow=True)
    single = read_parquet(str(tables / "mixed.parquet"), narrow=True)
    pd.testing.assert_frame_equal(folder, single)
    assert is_parquet(tables / "parts") and is_parquet(tables / "mixed.parquet")
    (tables / "photos" / "cat").mkdir(parents=True)  # an image folder: class subfolders, no .parquet file
    assert not is_parquet(tables / "mixed.csv") and not is_parquet(tables / "photos") and not is_parquet("-")


def test_the_row_labels_pandas_stores_are_not_a_column(tmp_path):
    frame = pd.DataFrame({"a": [1.0, 2.0, 3.0], "y": ["p", "q", "p"]}, index=[7, 3, 5])
    frame.to_parquet(tmp_path / "labelled.parquet")
    assert pq.ParquetFile(tmp_path / "labelled.parquet").schema_arrow.names == ["a", "y", "__index_level_0__"]
    read = read_parquet(str(tmp_path / "labelled.parquet"))
    assert list(read.columns) == ["a", "y"] and list(read.index) == [1, 2, 3]


def test_rows_of_nulls_are_empty_rows(tmp_path):
    pq.write_table(pa.table({"a": [1.0, None, 3.0], "y": ["p", None, "q"]}), tmp_path / "gap.parquet")
    assert list(read_parquet(str(tmp_path / "gap.parquet")).index) == [1, 3]
    assert list(read_parquet(str(tmp_path / "gap.parquet"), keep_empty=True).index) == [1, 2, 3]


@pytest.mark.parametrize("column, kind", [
    (pa.array([[1, 2], [3]]), "list<element: int64>"),
    (pa.array([{"a": 1}, {"a": 2}]), "struct<a: int64>"),
    (pa.array([b"\x00", b"\x01"]), "binary"),
    (pa.array([0, 1], pa.timestamp("ms")), "timestamp[ms]"),
])
def test_an_unsupported_type_is_refused_naming_the_column(tmp_path, column, kind):
    pq.write_table(pa.table({"x": [1.0, 2.0], "odd": column}), tmp_path / "odd.parquet")
    with pytest.raises(DataError) as raised:
        read_parquet(str(tmp_path / "odd.parquet"))
    assert str(raised.value) == (f"{tmp_path / 'odd.parquet'}: column 'odd' has the Parquet type {kind}, which "
                                 "nntrain cannot use (it reads numbers, booleans, text and categories); convert the "
                                 "column to one of those, or write the file without it")


def test_a_table_without_rows_is_refused(tmp_path):
    pq.write_table(pa.table({"a": pa.array([], pa.float64()), "y": pa.array([], pa.string())}), tmp_path / "none.parquet")
    with pytest.raises(DataError, match=r"none.parquet has columns but no data rows$"):
        read_parquet(str(tmp_path / "none.parquet"))


def test_a_missing_path_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"^data.train: file not found: .*nope.parquet$"):
        read_table(str(tmp_path / "nope.parquet"), key="data.train")


# through the CLI ----------------------------------------------------------------------------------------

def test_parquet_trains_like_the_csv_with_the_same_rows(cli, write, tables, tmp_path):
    """The pipeline state saved in the checkpoint and the predictions are identical for a CSV, a Parquet file
    and a folder of two Parquet files holding the same rows."""
    runs, reports = {}, {}
    for name, data in (("csv", "mixed.csv"), ("file", "mixed.parquet"), ("folder", "parts")):
        config = mixed_config(write, tmp_path, tables / data, name)
        result = cli("fit", config)
        assert result.returncode == 0, result.stderr
        runs[name] = tmp_path / name
        reports[name] = {key: value for key, value in json.loads(cli("data", config, "--json").stdout).items()
                         if key != "sources"}
    assert reports["csv"]["dropped_by_step"] == [["clean", 0], ["dedupe", 1], ["normalize", 0], ["encode", 0]]
    assert reports["file"] == reports["csv"] == reports["folder"]
    metas = {name: checkpoint_meta(run) for name, run in runs.items()}
    assert set(metas["csv"]["data"]["pipeline"]["states"][0]["fill"]) == {"x1", "x2", "color", "flag"}
    assert metas["file"]["data"] == metas["csv"]["data"] == metas["folder"]["data"]
    assert metas["file"]["data_fingerprint"] == metas["csv"]["data_fingerprint"] == metas["folder"]["data_fingerprint"]
    predictions = {}
    for name, run in runs.items():
        result = cli("predict", run, tables / "mixed.parquet", "--proba")
        assert result.returncode == 0, result.stderr
        predictions[name] = result.stdout
    assert predictions["file"] == predictions["csv"] == predictions["folder"]
    assert len(predictions["csv"].splitlines()) == 91
    from_csv = cli("predict", runs["file"], tables / "mixed.csv", "--proba")
    assert from_csv.stdout == predictions["file"]


def test_eval_and_predict_on_parquet(cli, write, tables, tmp_path):
    assert cli("fit", mixed_config(write, tmp_path, tables / "mixed.csv", "run")).returncode == 0
    on_parquet = cli("eval", tmp_path / "run", tables / "parts", "--json")
    on_csv = cli("eval", tmp_path / "run", tables / "mixed.csv", "--json")
    assert on_parquet.returncode == 0, on_parquet.stderr
    parquet_result, csv_result = json.loads(on_parquet.stdout), json.loads(on_csv.stdout)
    assert parquet_result["rows"] == 90 and parquet_result["data"] == str(tables / "parts")
    assert {k: parquet_result[k] for k in ("loss", "metrics", "confusion_matrix")} == \
        {k: csv_result[k] for k in ("loss", "metrics", "confusion_matrix")}

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "a.parquet").write_bytes((tables / "mixed.parquet").read_bytes())
    (damaged / "b.parquet").write_bytes((tables / "mixed.parquet").read_bytes()[:-300])
    result = cli("eval", tmp_path / "run", damaged)
    assert result.returncode == 3
    assert f"cannot read {damaged / 'b.parquet'}: not a Parquet file, or damaged" in result.stderr


def test_predict_skipping_rows_names_their_row_numbers(cli, blobs_config, blobs_csv, tmp_path):
    frame = pd.read_csv(blobs_csv)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "blobs.parquet")
    config = blobs_config(epochs=3)
    config.write_text(config.read_text().replace(str(blobs_csv), str(tmp_path / "blobs.parquet")))
    assert cli("fit", config).returncode == 0
    new = frame.drop(columns=["label"])[:5].copy()
    new.loc[2, "x2"] = None  # row 3
    pq.write_table(pa.Table.from_pandas(new, preserve_index=False), tmp_path / "new.parquet")
    strict = cli("predict", tmp_path / "run", tmp_path / "new.parquet")
    assert strict.returncode == 3
    assert f"{tmp_path / 'new.parquet'}: column 'x2' has 1 missing value, first on row 3" in strict.stderr
    skipped = cli("predict", tmp_path / "run", tmp_path / "new.parquet", "--on-error", "skip")
    assert skipped.returncode == 0, skipped.stderr
    lines = skipped.stdout.splitlines()
    assert lines[0] == "row,prediction" and [line.split(",")[0] for line in lines[1:]] == ["1", "2", "4", "5"]
    assert "skipped 1 row that cannot be predicted (row 3: 'x2' is missing)" in skipped.stderr


def test_a_parquet_error_names_the_row(cli, write, tables, tmp_path):
    frame = mixed_frame().drop(columns=["color"])  # x1 is missing on rows 4 and 18
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp_path / "gap.parquet")
    config = write("plain.yaml", f"""
        seed: 1
        data:
          train: {tmp_path / 'gap.parquet'}
          target: label
          pipeline: [{{type: normalize}}]
          split: {{validation: 0, test: 0}}
        model: {{layers: [{{type: dense, units: 4, activation: relu}}]}}
        training: {{epochs: 1}}
        output: {{dir: {tmp_path / 'plain'}}}
        """)
    result = cli("fit", config)
    assert result.returncode == 3
    assert (f"{tmp_path / 'gap.parquet'}: column 'x1' has 2 missing values, first on row 4; fill them with a clean "
            "step") in result.stderr


def test_init_data_and_check_accept_parquet(cli, tables, tmp_path):
    config = tmp_path / "started.yaml"
    result = cli("init", "--data", tables / "mixed.parquet", "--target", "label", "-o", config)
    assert result.returncode == 0, result.stderr
    assert f'train: "{tables / "mixed.parquet"}"' in config.read_text()
    report = cli("data", config, "--json")
    assert report.returncode == 0, report.stderr
    parsed = json.loads(report.stdout)
    assert parsed["rows_read"] == {"train": 90} and parsed["sources"] == {"train": str(tables / "mixed.parquet")}
    assert [c["column"] for c in parsed["columns"]] == ["x1", "x2", "color", "flag"]
    checked = cli("check", config)
    assert checked.returncode == 0, checked.stderr
    assert "read " + str(tables / "mixed.parquet") + ": 90 rows" in checked.stdout


def test_parquet_defects_are_exit_3_naming_the_file(real_cli, write, tables, tmp_path):
    damaged = tmp_path / "damaged.parquet"
    damaged.write_bytes(b"a,b\n1,2\n")
    result = real_cli("fit", mixed_config(write, tmp_path, damaged, "damaged"))
    assert result.returncode == 3
    assert f"cannot read {damaged}: not a Parquet file, or damaged" in result.stderr
    assert "Traceback" not in result.stderr

    odd = tmp_path / "odd"
    odd.mkdir()
    frame = mixed_frame()
    pq.write_table(pa.Table.from_pandas(frame[:45], preserve_index=False), odd / "a.parquet")
    changed = frame[45:].assign(x2=frame["x2"][45:].astype(float))
    pq.write_table(pa.Table.from_pandas(changed, preserve_index=False), odd / "b.parquet")
    result = real_cli("fit", mixed_config(write, tmp_path, odd, "odd"))
    assert result.returncode == 3
    assert (f"{odd / 'b.parquet'}: column 'x2' is double here but int64 in a.parquet; every Parquet file of {odd} "
            "must have the same columns and types") in result.stderr

    pq.write_table(pa.Table.from_pandas(frame[45:].drop(columns=["flag"]), preserve_index=False), odd / "b.parquet")
    result = real_cli("data", mixed_config(write, tmp_path, odd, "odd"))
    assert result.returncode == 3 and f"{odd / 'b.parquet'}: has no column 'flag', which a.parquet has" in result.stderr

    pq.write_table(pa.table({"x": [1.0, 2.0], "when": pa.array([0, 1], pa.timestamp("ms")), "label": ["a", "b"]}),
                   tmp_path / "dated.parquet")
    result = real_cli("data", mixed_config(write, tmp_path, tmp_path / "dated.parquet", "dated"))
    assert result.returncode == 3
    assert f"{tmp_path / 'dated.parquet'}: column 'when' has the Parquet type timestamp[ms]" in result.stderr


def test_without_pyarrow_a_parquet_table_is_exit_2_with_the_install_line(cli, write, tables, tmp_path):
    """pyarrow hidden by a package of that name that fails to import, as an uninstalled one would."""
    hidden = tmp_path / "no-pyarrow" / "pyarrow"
    hidden.mkdir(parents=True)
    (hidden / "__init__.py").write_text("raise ImportError(\"No module named 'pyarrow'\")\n")
    env = {"PYTHONPATH": str(hidden.parent)}
    config = mixed_config(write, tmp_path, tables / "mixed.parquet", "nope")
    for args in (("fit", config), ("init", "--data", tables / "parts")):
        result = cli(*args, env=env)
        assert result.returncode == 2, result.stderr
        assert "pip install 'nntrain[parquet]'" in result.stderr.splitlines()
        assert "needs pyarrow, an optional extra" in result.stderr
    assert not (tmp_path / "nope").exists()
    assert cli("fit", mixed_config(write, tmp_path, tables / "mixed.csv", "csv"), env=env).returncode == 0
