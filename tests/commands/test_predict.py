"""`nntrain predict`: input columns (IDs) copied into the predictions with --keep, so they join back to the
input; and a file or standard input read, predicted and written in chunks (forced tiny here with
NNTRAIN_CHUNK_ROWS), giving exactly what one read of the whole input gives."""

import gzip
import io
import os
import subprocess

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


def _rows(count: int, bad: dict[int, str] = {}) -> str:
    """A CSV of `count` rows to predict with the `trained` run; `bad` puts text in x1 of the given rows (from 0),
    and row 5 has a quoted note with a line break, so every later row's line is one more than its record's."""
    lines = ["id,x1,x2,note"]
    for row in range(count):
        note = '"two\nlines"' if row == 5 else f"n{row}"
        lines.append(f"{row:03d},{bad.get(row, round(row % 7 * 0.9, 1))},{row % 5 * 1.3:.1f},{note}")
    return "\n".join(lines) + "\n"


CHUNKS = {"NNTRAIN_CHUNK_ROWS": "4"}


def test_predictions_from_chunked_stdin_equal_one_read_of_the_file(cli, trained):
    text = _rows(30, bad={9: "oops", 22: "x"})
    (trained / "many.csv").write_text(text)
    (trained / "many.csv.gz").write_bytes(gzip.compress(text.encode()))
    options = ("--keep", "id", "--proba", "--on-error", "skip")
    whole = cli("predict", trained / "run", trained / "many.csv", *options)
    chunked = cli("predict", trained / "run", "-", *options, input=text, env=CHUNKS)
    compressed = cli("predict", trained / "run", trained / "many.csv.gz", *options, env=CHUNKS)
    assert (whole.returncode, chunked.returncode, compressed.returncode) == (0, 0, 0), chunked.stderr
    assert chunked.stdout == whole.stdout == compressed.stdout
    out = pd.read_csv(io.StringIO(chunked.stdout), dtype=str)
    assert len(out) == 28 and list(out["line"][8:10]) == ["11", "13"]  # row 9, line 12, skipped
    warning = "warning: skipped 2 rows that cannot be predicted (line 12: 'x1' is 'oops'; line 25: 'x1' is 'x')"
    assert warning in whole.stderr and warning in chunked.stderr
    assert chunked.stderr.count("ignored 1 column the model does not use: note") == 1


def test_every_input_row_has_an_output_row_through_the_chunks(cli, trained):
    done = cli("predict", trained / "run", "-", input=_rows(41), env=CHUNKS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[0] == "prediction" and len(done.stdout.splitlines()) == 1 + 41


def test_an_error_in_the_third_chunk_names_its_line_in_the_whole_input(cli, trained):
    text = _rows(20, bad={9: "oops"})  # rows 8 to 11 make the third chunk; row 9 is on line 12 (+1: row 5's note)
    done = cli("predict", trained / "run", "-", input=text, env=CHUNKS)
    assert done.returncode == 3
    assert "standard input: column 'x1' holds numbers but line 12 has 'oops' (1 such row)" in done.stderr
    assert len(done.stdout.splitlines()) == 1 + 8  # the two chunks before it were written as they came
    ragged = cli("predict", trained / "run", "-", input=text.replace("oops", "1,2"), env=CHUNKS)
    assert ragged.returncode == 3 and "line 12 has 5 fields but the header has 4" in ragged.stderr
    (trained / "bad.csv").write_text(text)
    to_file = cli("predict", trained / "run", trained / "bad.csv", "-o", trained / "out.csv", env=CHUNKS)
    assert to_file.returncode == 3 and not (trained / "out.csv").exists()  # a file is written whole or not at all


def test_the_first_predictions_come_out_before_the_input_ends(trained):
    """Deterministic: the first chunk's output is read (a blocking read) while the input is still open."""
    from tests.conftest import _entry_point

    text = _rows(12).encode()
    first, rest = text[:text.index(b"\n008,")], text[text.index(b"\n008,"):]  # 8 rows: two whole chunks
    child = subprocess.Popen([*_entry_point(), "predict", str(trained / "run"), "-"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, **CHUNKS})
    try:
        child.stdin.write(first)
        child.stdin.flush()
        assert child.stdout.readline() == b"prediction\n"
        early = [child.stdout.readline() for _ in range(4)]  # the first chunk, while the input is still open
        child.stdin.write(rest)
        child.stdin.close()
        later = child.stdout.read().splitlines()
    except BaseException:
        child.kill()
        raise
    assert child.wait() == 0
    assert all(line.strip() in (b"a", b"b", b"c") for line in early) and len(later) == 12 - 4


def test_a_parquet_table_predicts_in_chunks_across_row_groups(cli, trained):
    pytest.importorskip("pyarrow")
    frame = pd.read_csv(io.StringIO(_rows(30)))
    frame.to_parquet(trained / "many.parquet", row_group_size=7)
    whole = cli("predict", trained / "run", trained / "many.parquet", "--keep", "id", "--proba")
    chunked = cli("predict", trained / "run", trained / "many.parquet", "--keep", "id", "--proba", env=CHUNKS)
    assert whole.returncode == chunked.returncode == 0, chunked.stderr
    assert chunked.stdout == whole.stdout and len(chunked.stdout.splitlines()) == 31


def test_text_in_one_row_leaves_the_other_rows_predictions_as_they_are(cli, trained):
    """x1 was float32 in training; a word in one row made the whole column text, and its numbers float64."""
    clean = _rows(6)
    (trained / "clean.csv").write_text(clean)
    (trained / "one_word.csv").write_text(clean + "099,oops,1.0,n\n")
    alone = cli("predict", trained / "run", trained / "clean.csv", "--proba")
    beside = cli("predict", trained / "run", trained / "one_word.csv", "--proba", "--on-error", "skip")
    assert alone.returncode == beside.returncode == 0, beside.stderr
    assert len(alone.stdout.splitlines()) == len(beside.stdout.splitlines()) == 7
    assert [row.split(",", 1)[1] for row in beside.stdout.splitlines()[1:]] == alone.stdout.splitlines()[1:]


@pytest.fixture(scope="module")
def cities(tmp_path_factory):
    """A run trained on a categorical `city` and a date `day`, for notes that count rows chunk by chunk."""
    root = tmp_path_factory.mktemp("cities")
    rows = pd.DataFrame({"city": ["oslo", "rome", "paris"] * 10, "day": [f"2024-01-{d:02d}" for d in range(1, 31)],
                         "x": [0.0, 5.0, 2.0] * 10, "label": ["a", "b", "c"] * 10})
    rows.to_csv(root / "train.csv", index=False)
    (root / "config.yaml").write_text(f"""
seed: 1
data:
  train: {root / 'train.csv'}
  target: label
  split: {{validation: 0, test: 0}}
  pipeline: [{{type: dates, columns: [day]}}, {{type: clean, missing: mean}}, {{type: encode, columns: [city]}},
             {{type: normalize}}]
model: {{layers: [{{type: dense, units: 4, activation: relu}}]}}
training: {{epochs: 1, batch_size: 16}}
output: {{dir: {root / 'run'}}}
""")
    nntrain.fit(root / "config.yaml")
    return root


def test_a_note_counting_rows_of_many_chunks_comes_out_once_with_their_total(cli, cities):
    unseen = {1: "lima", 5: "cairo", 6: "lima", 9: "quito", 13: "oslo2"}  # in chunks 1, 2, 2, 3 and 4 (of 4 rows)
    bad_days = {2: "soon", 10: "later"}
    lines = ["city,day,x,label"] + [f"{unseen.get(row, 'rome')},{bad_days.get(row, '2024-02-01')},1.0,b"
                                    for row in range(14)]
    (cities / "new.csv").write_text("\n".join(lines) + "\n")
    predicted = cli("predict", cities / "run", "-", input="\n".join(lines) + "\n", env=CHUNKS)
    evaluated = cli("eval", cities / "run", cities / "new.csv", env=CHUNKS)
    for done in (predicted, evaluated):
        assert done.returncode == 0, done.stderr
        notes = [line for line in done.stderr.splitlines() if line.startswith(("encode:", "dates:"))]
        assert notes == ["dates: 2 unparsable values in date column 'day' treated as missing (e.g. 'soon' on line 4)",
                         "encode: 5 values of 'city' were not seen in training (e.g. 'lima'); encoded as all zeros"]
    assert len(predicted.stdout.splitlines()) == 1 + 14


def test_ctrl_c_says_the_notes_of_the_rows_read_before_it(cities):
    """Deterministic: SIGINT is sent once the first chunk's predictions are out, while predict waits for the rest
    of the second chunk."""
    import signal

    from tests.conftest import _entry_point

    rows = ["lima", "rome", "rome", "cairo", "rome"]  # a chunk of 4 rows, and the first row of the next
    text = "city,day,x,label\n" + "".join(f"{city},2024-02-01,1.0,b\n" for city in rows)
    child = subprocess.Popen([*_entry_point(), "predict", str(cities / "run"), "-"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env={**os.environ, **CHUNKS})
    try:
        child.stdin.write(text.encode())
        child.stdin.flush()
        early = [child.stdout.readline() for _ in range(1 + 4)]  # the header and the first chunk
        child.send_signal(signal.SIGINT)
        _, stderr = child.communicate()
    except BaseException:
        child.kill()
        raise
    assert child.returncode == 130 and early[0] == b"prediction\n"
    assert ("encode: 2 values of 'city' were not seen in training (e.g. 'lima'); encoded as all zeros "
            "(in the rows read before the interruption)") in stderr.decode()


@pytest.mark.parametrize("name,message", [
    ("nope.csv", "file not found: {path}"),
    ("rows.csv.zst", "{path}: nntrain reads CSV, plain or compressed as .gz, .bz2, .xz or .zip"),
    ("folder", "{path} is a directory, expected a CSV file"),  # fit reads a folder as images
])
def test_predict_fit_and_prepare_refuse_a_path_in_the_same_words(cli, trained, name, message):
    path = trained / name
    (trained / "folder").mkdir(exist_ok=True)
    (trained / "rows.csv.zst").write_bytes(b"x1,x2,label\n0,0,a\n")
    predicted = cli("predict", trained / "run", path)
    assert predicted.returncode == 2 and f"DATA: {message.format(path=path)}" in predicted.stderr
    if name != "folder":  # a .zst was an internal error (exit 1) in fit's memory estimate and in prepare
        fitted = cli("fit", trained / "config.yaml", "--set", f"data.train={path}", "--set",
                     f"output.dir={trained / 'refused'}")
        prepared = cli("prepare", trained / "config.yaml", "--set", f"data.train={path}", "-o",
                       trained / "refused.prepared")
        for done in (fitted, prepared):
            assert done.returncode == 2 and f"data.train: {message.format(path=path)}" in done.stderr
