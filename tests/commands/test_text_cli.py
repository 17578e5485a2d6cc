"""Free text through the real CLI: the text step and embedding_bag in both id modes, through checkpoint and
predict, unseen tokens at predict, and the configs that cannot work refused with exit 2."""

import csv
import io
import json

import pytest

CONFIG = "configs/changelogs.yaml"


def fit(cli, tmp_path, *sets):
    run = tmp_path / "run"
    overrides = [arg for key in ("training.epochs=8", f"output.dir={run}", *sets) for arg in ("--set", key)]
    result = cli("fit", CONFIG, *overrides)
    assert result.returncode == 0, result.stderr
    return run


@pytest.mark.parametrize("mode", ["vocabulary", "hashed"])
def test_both_id_modes_round_trip_through_the_checkpoint_and_predict_with_unseen_tokens(cli, write, tmp_path, mode):
    sets = ["data.pipeline=[{type: drop, columns: [date]}, {type: text, columns: [text], hash_buckets: 4096, "
            "char_ngrams: [3, 4]}, {type: encode}]"] if mode == "hashed" else []
    run = fit(cli, tmp_path, *sets)
    evaluated = cli("eval", run, "datasets/changelogs.csv", "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    predicted = cli("predict", run, "datasets/changelogs.csv")
    assert predicted.returncode == 0, predicted.stderr
    rows = list(csv.DictReader(io.StringIO(predicted.stdout)))
    truth = [row["package"] for row in csv.DictReader(open("datasets/changelogs.csv", encoding="utf-8"))]
    accuracy = sum(row["prediction"] == label for row, label in zip(rows, truth)) / len(truth)
    assert len(rows) == 709
    assert accuracy == pytest.approx(json.loads(evaluated.stdout)["metrics"]["accuracy"], abs=1e-9)
    assert accuracy > 0.8

    new = write("new.csv", "date,distribution,urgency,text\n"
                           "\"Mon, 01 Jan 2024 10:00:00 +0000\",unstable,low,zzqxv wibblewobble systemd\n"
                           "\"Mon, 01 Jan 2024 10:00:00 +0000\",unstable,low,\n")
    result = cli("predict", run, new)
    assert result.returncode == 0, result.stderr
    assert len(list(csv.DictReader(io.StringIO(result.stdout)))) == 2
    unseen = "text: 2 tokens of 'text' are not in the training vocabulary (e.g. 'zzqxv'); read as out-of-vocabulary"
    assert (unseen in result.stderr) == (mode == "vocabulary")  # hashed ids have no vocabulary to miss


def test_token_ids_without_an_embedding_bag_first_are_refused(cli, tmp_path):
    result = cli("fit", CONFIG, "--set", "model.layers=[{type: dense, units: 8}]", "--set", f"output.dir={tmp_path}")
    assert result.returncode == 2
    assert "model.layers: the text step's token ids are read by an embedding_bag layer, which must be the first " \
           "layer" in result.stderr


def test_an_embedding_bag_without_a_text_step_is_refused(cli, blobs_config):
    result = cli("fit", blobs_config(epochs=1), "--set", "model.layers=[{type: embedding_bag, dim: 4}]")
    assert result.returncode == 2
    assert "model.layers: embedding_bag reads token ids; add a text step to data.pipeline" in result.stderr


def test_char_ngrams_must_be_shortest_then_longest(cli, tmp_path):
    result = cli("check", CONFIG, "--set",
                 "data.pipeline=[{type: drop, columns: [date]}, {type: text, columns: [text], char_ngrams: [5, 3]}]")
    assert result.returncode == 2
    assert "char_ngrams must be [shortest, longest], got [5, 3]" in result.stderr
