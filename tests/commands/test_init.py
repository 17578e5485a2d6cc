"""`nntrain init` on CSV files: what it notices, the order of the steps it writes, and configs that train as written."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml


def _init_and_fit(cli, tmp_path, data: str) -> tuple[str, dict]:
    """Write a config for `data` (relative to tmp_path) with init, check that it trains, return its text and YAML."""
    result = cli("init", "--data", data, "-o", "init.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    fitted = cli("fit", "init.yaml", "-q", "--set", "training.epochs=2", "--set", "output.dir=run", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    assert (tmp_path / "run" / "summary.json").exists()
    text = (tmp_path / "init.yaml").read_text()
    return text, yaml.safe_load(text)


@pytest.fixture
def numbers(tmp_path):
    """Three numeric features and a 0/1 label; `frame` is written to numbers.csv by the test."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 3)).round(3)
    return pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "label": (x[:, 0] + x[:, 1] > 0).astype(int)})


def test_init_sees_a_text_cell_in_a_numeric_column_and_adds_a_clean_step(cli, tmp_path, numbers):
    frame = numbers.astype({"b": object})
    frame.loc[0, "b"] = "abc"  # line 2, column 2
    frame.to_csv(tmp_path / "numbers.csv", index=False)
    text, config = _init_and_fit(cli, tmp_path, "numbers.csv")
    assert [step["type"] for step in config["data"]["pipeline"]] == ["clean", "dedupe", "normalize"]
    assert "# 1 column has gaps: numbers get the median" in text
    assert "column 'b' has 1 text value that will be treated as missing" in text
    assert "no missing values" not in text


def test_init_without_gaps_leaves_clean_commented_out(cli, tmp_path, numbers):
    numbers.to_csv(tmp_path / "numbers.csv", index=False)
    result = cli("init", "--data", "numbers.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "    # - {type: clean, missing: median}   # no missing values now" in result.stdout


def test_init_puts_normalize_before_encode_so_one_hot_columns_stay_0_1(cli, tmp_path, numbers):
    numbers.assign(colour=np.where(numbers["c"] > 0, "red", "blue")).to_csv(tmp_path / "colours.csv", index=False)
    _, config = _init_and_fit(cli, tmp_path, "colours.csv")
    assert [step["type"] for step in config["data"]["pipeline"]] == ["dedupe", "normalize", "encode"]


def test_init_on_a_wide_csv_summarises_long_lists_within_120_characters(cli, tmp_path):
    rng = np.random.default_rng(6)
    rows = 60
    columns = {"id": np.arange(rows)}
    columns |= {f"blank_pixel_{i:03d}": np.zeros(rows, dtype=int) for i in range(100)}  # constant: dropped
    columns |= {f"pixel_{i:03d}": rng.integers(0, 255, rows) for i in range(180)}
    columns |= {f"colour_{i}": rng.choice(["red", "green", "blue"], rows) for i in range(10)}
    columns |= {f"comment_{i}": [f"remark {j}" for j in rng.permutation(rows)] for i in range(8)}  # free text
    frame = pd.DataFrame(columns)
    frame["label"] = np.where(frame["pixel_050"] > 127, "high", "low")
    assert frame.shape[1] == 300
    frame.to_csv(tmp_path / "wide.csv", index=False)
    text, config = _init_and_fit(cli, tmp_path, "wide.csv")
    assert max(map(len, text.splitlines())) <= 120
    drop = config["data"]["pipeline"][0]
    assert drop["type"] == "drop"
    assert drop["columns"] == ["id", *(f"blank_pixel_{i:03d}" for i in range(100)), *(f"comment_{i}" for i in range(8))]
    assert "    # one value throughout: blank_pixel_000, blank_pixel_001, blank_pixel_002 ... 97 more\n" in text
    assert "    # text with over 50 distinct values: comment_0, comment_1, comment_2 ... 5 more\n" in text
    assert "# one-hot encode the text columns: colour_0, colour_1, colour_2 ... 7 more\n" in text


def test_init_counts_read_right_for_one_feature(cli, tmp_path, numbers):
    numbers[["a", "label"]].to_csv(tmp_path / "one.csv", index=False)
    result = cli("init", "--data", "one.csv", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "wrote standard output: 1 feature, target 'label'" in result.stderr
    assert "# hidden layers for 1 feature;" in result.stdout


@pytest.mark.slow
def test_init_sweep_takes_a_csv_to_a_tuned_model_with_no_hand_edits(cli, blobs_csv, tmp_path):
    """init --sweep, sweep, fit best.yaml: a stranger's CSV to a tuned model (one trial here, for speed)."""
    made = cli("init", "--data", blobs_csv.name, "-o", "blobs.yaml", "--sweep", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert "next: nntrain sweep blobs.sweep.yaml  then  nntrain fit sweeps/blobs/best.yaml" in made.stderr
    written = yaml.safe_load((tmp_path / "blobs.sweep.yaml").read_text())
    assert written["base"] == "blobs.yaml"
    assert set(written["space"]) == {"optimizer.lr", "model.layers", "model.layers[0].units", "model.layers[1].rate",
                                     "regularization.l2", "training.batch_size"}
    assert written["space"]["training.batch_size"]["choices"] == [16, 32]  # 84 training rows fill no larger batch
    assert [len(choice) for choice in written["space"]["model.layers"]["choices"]] == [2, 3, 4]  # depth 1 to 3

    swept = cli("sweep", "blobs.sweep.yaml", "--trials", "1", cwd=tmp_path)
    assert swept.returncode == 0, swept.stderr
    assert "sweep 'blobs': 1 trial," in swept.stderr  # --trials overrides the file's 30
    fitted = cli("fit", "sweeps/blobs/best.yaml", "-q", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    [run] = (tmp_path / "runs").iterdir()
    trial = json.loads((tmp_path / "sweeps" / "blobs" / "trial-0000" / "summary.json").read_text())
    assert json.loads((run / "summary.json").read_text())["best_value"] == trial["best_value"]

    again = cli("init", "--data", blobs_csv.name, "-o", "blobs.yaml", "--sweep", cwd=tmp_path)
    assert again.returncode == 2 and "already exists" in again.stderr
    assert cli("init", "--data", blobs_csv.name, "--sweep", cwd=tmp_path).returncode == 2  # no -o: nowhere beside


def test_init_turns_a_date_column_into_numbers_with_a_dates_step_instead_of_one_hot(cli, tmp_path, numbers):
    """120 distinct dates were left out as free text, or one-hot encoded below 50: now a dates step, first."""
    days = pd.date_range("2023-12-20", periods=len(numbers), freq="D").strftime("%d/%m/%Y").to_numpy(dtype=object)
    days[3] = "unknown"  # 59 of 60 parse: still a date column, and clean fills the one that does not
    numbers.assign(ordered=days, shop=np.where(numbers["c"] > 0, "north", "south")).to_csv(tmp_path / "orders.csv",
                                                                                        index=False)
    text, config = _init_and_fit(cli, tmp_path, "orders.csv")
    assert [step["type"] for step in config["data"]["pipeline"]] == ["dates", "clean", "dedupe", "normalize", "encode"]
    assert config["data"]["pipeline"][0] == {"type": "dates", "columns": ["ordered"]}
    assert "# dates as numbers (year; month, weekday, day of year... as sin/cos): ordered" in text
    assert "#   date column 'ordered' has 1 value that is no date, treated as missing" in text
    assert "# one-hot encode the text columns: shop\n" in text
    report = json.loads(cli("data", "init.yaml", "--json", cwd=tmp_path).stdout)
    assert "ordered_weekday_sin" in report["features"] and "ordered=20/12/2023" not in report["features"]


def test_init_proposes_the_text_step_and_embedding_bag_for_free_text_but_not_for_dates_or_codes(cli, tmp_path, repo):
    """The changelogs: `text` (many values of many words) is tokenised and read by an embedding_bag first layer;
    `date` (many values, that parse as dates) goes to the dates step; the config trains as written."""
    frame = pd.read_csv(repo / "datasets" / "changelogs.csv")
    frame.insert(1, "code", [f"pkg-{i}" for i in range(len(frame))])  # the target stays last, where init looks
    frame.to_csv(tmp_path / "logs.csv", index=False)
    text, config = _init_and_fit(cli, tmp_path, "logs.csv")
    assert [step["type"] for step in config["data"]["pipeline"]] == \
        ["drop", "dates", "dedupe", "text", "normalize", "encode"]
    assert config["data"]["pipeline"][0]["columns"] == ["code"]  # code: one word each
    assert config["data"]["pipeline"][1]["columns"] == ["date"]
    assert config["data"]["pipeline"][3]["columns"] == ["text"]
    assert config["model"]["layers"][0] == {"type": "embedding_bag", "dim": 64}
    assert "# free text to word ids for the embedding_bag layer: text" in text
    assert "one-hot encode the text columns: distribution, urgency" in text
