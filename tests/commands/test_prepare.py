"""`nntrain prepare` and training from a prepared directory, through the real CLI."""

import json

import numpy as np
import pandas as pd

from nntrain.train.checkpoint import read_checkpoint_meta


def _prepare(cli, config, out):
    result = cli("prepare", config, "-o", out)
    assert result.returncode == 0, result.stderr
    return result


def test_prepare_writes_a_directory_that_fit_and_eval_read_alike(cli, blobs_config, tmp_path):
    config = blobs_config()
    result = _prepare(cli, config, tmp_path / "blobs.prepared")
    assert result.stdout.strip() == str(tmp_path / "blobs.prepared")
    assert "prepare: pass 1, reading the column types" in result.stderr
    assert "prepare: pass 2, fitting normalize on the training rows" in result.stderr  # pass 1 also chose the rows
    assert "rows train 84, validation 24, test 12" in result.stderr
    manifest = json.loads((tmp_path / "blobs.prepared" / "manifest.json").read_text())
    assert manifest["rows"] == {"train": 84, "validation": 24, "test": 12}
    assert set(manifest["files"]) >= {"train-x.npy", "train-y.npy", "state.json", "test.csv"}
    assert all(len(entry["sha256"]) == 64 and entry["bytes"] > 0 for entry in manifest["files"].values())

    held = cli("fit", config, "-q", "--set", f"output.dir={tmp_path / 'held'}")
    mapped = cli("fit", config, "-q", "--set", f"output.dir={tmp_path / 'mapped'}",
                 "--set", f"data.train={tmp_path / 'blobs.prepared'}")
    assert held.returncode == 0 and mapped.returncode == 0, mapped.stderr
    scores = [json.loads(cli("eval", tmp_path / run, "--json").stdout) for run in ("held", "mapped")]
    assert scores[0]["rows"] == scores[1]["rows"] == 12
    assert abs(scores[0]["metrics"]["accuracy"] - scores[1]["metrics"]["accuracy"]) <= 0.01
    assert scores[0]["loss"] == scores[1]["loss"]  # same split, state and arrays: the same training


def test_a_damaged_prepared_file_is_exit_5_naming_it(cli, blobs_config, tmp_path):
    config = blobs_config()
    folder = tmp_path / "blobs.prepared"
    _prepare(cli, config, folder)
    features = folder / "train-x.npy"
    data = bytearray(features.read_bytes())
    data[-1] ^= 0xFF
    features.write_bytes(bytes(data))
    result = cli("fit", config, "--set", f"data.train={folder}")
    assert result.returncode == 5
    assert f"{features}: damaged (its SHA-256 differs from the manifest's); prepare it again" in result.stderr
    features.write_bytes(bytes(data[:-8]))
    result = cli("fit", config, "--set", f"data.train={folder}")
    assert result.returncode == 5
    assert f"{features}: damaged ({len(data) - 8} bytes, the manifest says {len(data)})" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_parquet_table_prepares_to_the_state_of_the_csv_with_its_rows(cli, blobs_config, blobs_csv, tmp_path):
    config = blobs_config()
    pd.read_csv(blobs_csv).to_parquet(tmp_path / "blobs.parquet", row_group_size=50)  # three row groups
    _prepare(cli, config, tmp_path / "csv.prepared")
    result = cli("prepare", config, "-o", tmp_path / "parquet.prepared",
                 "--set", f"data.train={tmp_path / 'blobs.parquet'}")
    assert result.returncode == 0, result.stderr
    states = [json.loads((tmp_path / name / "state.json").read_text(), parse_float=lambda text: round(float(text), 12))
              for name in ("csv.prepared", "parquet.prepared")]
    assert states[0] == states[1]  # to float rounding: three row groups' moments are merged, the CSV's one chunk's
    assert states[0]["pipeline"]["states"][0]["columns"] == ["x1", "x2"]


def test_prepare_refuses_what_it_cannot_read(cli, blobs_config, blobs_csv, tmp_path):
    result = cli("prepare", blobs_config(), "--set", f"data.validation={blobs_csv}", "--set", "data.split.validation=0")
    assert result.returncode == 2
    assert "data.validation: nntrain prepare splits data.train itself" in result.stderr
    folder = tmp_path / "not-prepared"
    folder.mkdir()
    (folder / "notes.txt").write_text("mine")
    result = cli("prepare", blobs_config(), "-o", folder)
    assert result.returncode == 2
    assert f"-o: {folder} exists and is not a prepared directory" in result.stderr


def _scores(cli, run):
    result = cli("eval", run, "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_fit_streams_a_table_over_data_memory_limit_and_reuses_the_preparation(cli, blobs_config, blobs_csv,
                                                                                tmp_path):
    config = blobs_config()
    held = cli("fit", config, "--set", f"output.dir={tmp_path / 'held'}")
    assert held.returncode == 0 and "streaming" not in held.stderr
    streamed = cli("fit", config, "--set", f"output.dir={tmp_path / 'streamed'}", "--set", "data.memory_limit=1KB")
    assert streamed.returncode == 0, streamed.stderr
    folder = blobs_csv.with_name("blobs.prepared")
    assert (f"data: {blobs_csv} takes about 1.4 KB as float32; data.memory_limit 1.0 KB: prepared in streaming "
            f"passes; training from the prepared directory {folder}") in streamed.stderr
    assert "prepare: pass 4, writing 120 prepared rows" in streamed.stderr
    assert (folder / "manifest.json").is_file()
    held_scores, streamed_scores = _scores(cli, tmp_path / "held"), _scores(cli, tmp_path / "streamed")
    assert abs(held_scores["metrics"]["accuracy"] - streamed_scores["metrics"]["accuracy"]) <= 0.01
    assert held_scores["loss"] == streamed_scores["loss"]

    blocks = cli("fit", config, "--set", f"output.dir={tmp_path / 'blocks'}", "--set", "data.memory_limit=1KB",
                 "--set", "data.shuffle_buffer=32")  # 84 training rows: three windows of blocks
    assert blocks.returncode == 0, blocks.stderr
    block_scores = _scores(cli, tmp_path / "blocks")
    assert abs(held_scores["metrics"]["accuracy"] - block_scores["metrics"]["accuracy"]) <= 0.01
    assert block_scores["loss"] != held_scores["loss"]  # another order of batches

    again = cli("fit", config, "--set", f"output.dir={tmp_path / 'again'}", "--set", "data.memory_limit=1KB")
    assert again.returncode == 0 and "prepare: pass" not in again.stderr  # the fingerprint matches: reused
    assert "training from the prepared directory" in again.stderr
    other_seed = cli("fit", config, "--set", f"output.dir={tmp_path / 'seed'}", "--set", "data.memory_limit=1KB",
                     "--set", "data.split.seed=5")
    assert "prepare: pass 1" in other_seed.stderr  # another split: prepared again


def test_a_resumed_streaming_fit_equals_an_uninterrupted_one(cli, blobs_config, tmp_path):
    config = blobs_config(epochs=6)
    limit = ["--set", "data.memory_limit=1KB", "--set", "data.shuffle_buffer=32"]  # a block shuffle
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert cli("fit", config, *limit, "--set", f"output.dir={straight}").returncode == 0
    assert cli("fit", config, *limit, "--set", f"output.dir={resumed}", "--set", "training.epochs=3").returncode == 0
    (resumed / "summary.json").unlink()  # as an interrupted run leaves it: last.npz after epoch 3
    result = cli("fit", config, *limit, "--set", f"output.dir={resumed}", "--resume", resumed, "--force")
    assert result.returncode == 0, result.stderr
    assert f"resuming {resumed} from last.npz at epoch 4" in result.stderr
    expected, actual = np.load(straight / "last.npz"), np.load(resumed / "last.npz")
    weights = [key for key in expected.files if key.startswith("param")] or \
        [key for key in expected.files if expected[key].dtype.kind == "f"]
    assert weights
    for key in weights:
        assert np.array_equal(expected[key], actual[key]), key
    assert _scores(cli, straight)["loss"] == _scores(cli, resumed)["loss"]


def test_check_shows_the_memory_limit_and_refuses_a_bad_one(cli, blobs_config, blobs_csv):
    result = cli("check", blobs_config(), "--set", "data.memory_limit=2GB")
    assert result.returncode == 0, result.stderr
    assert f"data: {blobs_csv} takes about 1.4 KB as float32; data.memory_limit 2.0 GB: prepared in memory" \
        in result.stderr
    result = cli("check", blobs_config())
    assert "(half the memory available): prepared in memory" in result.stderr
    result = cli("check", blobs_config(), "--set", "data.memory_limit=lots")
    assert result.returncode == 2
    assert "data.memory_limit (from --set): expected a size such as 512MB or 2GB, got 'lots'" in result.stderr


def test_a_table_with_dates_streams_and_trains_as_it_does_in_memory(cli, write, tmp_path):
    table = write("when.csv", "when,x,label\n" + "".join(
        f"2024-{month:02d}-{day:02d},{day},{'ab'[day % 2]}\n" for month in range(1, 11) for day in range(1, 29)))
    config = write("when.yaml", f"""
        data:
          train: {table}
          target: label
          pipeline: [{{type: dates}}, {{type: normalize}}]
        model: {{layers: [{{type: dense, units: 4, activation: relu}}]}}
        training: {{epochs: 1}}
        """)
    streamed = cli("fit", config, "--set", "data.memory_limit=1KB", "--set", f"output.dir={tmp_path / 'streamed'}")
    assert streamed.returncode == 0, streamed.stderr
    assert "prepare: pass 1" in streamed.stderr and table.with_name("when.prepared").is_dir()
    held = cli("fit", config, "-q", "--set", f"output.dir={tmp_path / 'held'}")
    assert held.returncode == 0, held.stderr
    states = [read_checkpoint_meta(tmp_path / name / "last.npz")["data"] for name in ("streamed", "held")]
    assert states[0]["features"] == states[1]["features"] and "when_weekday_sin" in states[0]["features"]
    assert states[0]["pipeline"]["states"][0] == states[1]["pipeline"]["states"][0]  # the dates step's state


def test_a_note_counting_rows_of_many_chunks_comes_out_once_in_a_streaming_fit(cli_in_process, write, tmp_path,
                                                                                 monkeypatch):
    """In process, where the chunks can be made small: the third of the table each."""
    from nntrain.data import chunks

    monkeypatch.setattr(chunks, "CHUNK_ROWS", 100)
    days = [f"2024-01-{row % 28 + 1:02d}" for row in range(300)]
    days[5], days[120], days[250] = "soon", "later", "never"  # one in each chunk
    table = write("days.csv", "day,x,label\n" + "".join(f"{day},{row % 7},{'ab'[row % 2]}\n"
                                                        for row, day in enumerate(days)))
    config = write("days.yaml", f"""
        data:
          train: {table}
          target: label
          pipeline: [{{type: dates}}, {{type: clean, missing: mean}}]
        model: {{layers: [{{type: dense, units: 4}}]}}
        training: {{epochs: 1}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    done = cli_in_process("fit", config, "--set", "data.memory_limit=1KB")
    assert done.returncode == 0, done.stderr
    note = "dates: 3 unparsable values in date column 'day' treated as missing (e.g. 'soon' on line 7)"
    assert [line for line in done.stderr.splitlines() if "dates:" in line] == [note]
    report = json.loads((table.with_name("days.prepared") / "report.json").read_text())
    assert [line for line in report["notes"] if "dates:" in line] == [note]
