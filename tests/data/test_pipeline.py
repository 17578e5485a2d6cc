"""Each pipeline step on a deliberately messy table, against hand-computed results."""

import json
import re
import zipfile

import numpy as np
import pandas as pd
import pytest

from nntrain.data import encode
from nntrain.data.pipeline import Pipeline
from nntrain.data.step import Context
from nntrain.data.tables import read_csv
from nntrain.data.tabular import prepare_inference, prepare_training
from nntrain.errors import DataError


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what pipeline steps do and report (see `cli_in_process`)."""
    return cli_in_process


# line:   2: plain row          3: empty age          4: '?' age            5: text in numeric weight
#         6: '?' colour         7,8: exact duplicates  9,10: same features, conflicting labels
MESSY = """\
id,age,weight,color,const,label
1,20,50,red,1,yes
2,,60,green,1,no
3,?,70,blue,1,yes
4,40,heavy,red,1,no
5,50,80,?,1,yes
6,60,90,green,1,no
6,60,90,green,1,no
7,70,100,blue,1,yes
7,70,100,blue,1,no
"""


@pytest.fixture
def messy(write):
    return read_csv(str(write("messy.csv", MESSY)))


def prepare(frame, pipeline, **options):
    settings = dict(target="label", features=None, task="auto", loss=None, validation=0.0, test=0.0,
                    stratify=True, target_transform="auto", rng=np.random.default_rng(0), dtype=np.float64)
    settings.update(options)
    return prepare_training({"train": frame}, {"train": "messy.csv"}, pipeline=pipeline, **settings)


def run_steps(frame, specs, target=("label",)):
    ctx = Context(target=list(target), training=True)
    prepared, states, drops = Pipeline(specs).fit_transform(frame, pd.Series(True, index=frame.index), ctx)
    return prepared, states, drops, ctx.notes


def test_clean_median_fills_numbers_and_mode_fills_categories(messy):
    prepared, states, _, notes = run_steps(messy, [{"type": "drop", "columns": ["id"]},
                                                   {"type": "clean", "missing": "median"}])
    state = states[1]
    assert state["kinds"] == {"age": "numeric", "weight": "numeric", "color": "categorical", "const": "numeric"}
    assert state["fill"] == {"age": 60.0, "weight": 85.0, "color": "blue", "const": 1.0}
    assert prepared["age"].tolist() == [20, 60, 60, 40, 50, 60, 60, 70, 70]
    assert prepared["weight"].tolist() == [50, 60, 70, 85, 80, 90, 90, 100, 100]
    assert prepared["color"].tolist()[4] == "blue"
    assert "clean: 1 unparsable value in numeric column 'weight' treated as missing (e.g. 'heavy' on line 5)" \
        in notes


def test_clean_drop_removes_rows_with_any_missing_feature(messy):
    prepared, _, drops, _ = run_steps(messy, [{"type": "drop", "columns": ["id"]}, {"type": "clean"}])
    assert list(prepared.index) == [2, 7, 8, 9, 10]
    assert drops == [("drop", 0), ("clean", 4)]


def test_clean_per_column_constant_and_indicator(messy):
    prepared, states, _, _ = run_steps(messy, [
        {"type": "drop", "columns": ["id"]},
        {"type": "clean", "missing": "mean", "indicator": True,
         "columns": {"age": {"missing": "constant", "value": -1}, "color": {"missing": "constant", "value": "none"}}}])
    assert prepared["age"].tolist()[:3] == [20, -1, -1]
    assert prepared["color"].tolist()[4] == "none"
    assert prepared["weight"].tolist()[3] == pytest.approx((50 + 60 + 70 + 80 + 90 + 90 + 100 + 100) / 8)
    assert states[1]["indicators"] == ["age", "weight", "color"]
    assert prepared["age_missing"].tolist() == [0, 1, 1, 0, 0, 0, 0, 0, 0]
    assert prepared["weight_missing"].tolist() == [0, 0, 0, 1, 0, 0, 0, 0, 0]


def test_custom_markers(write):
    frame = read_csv(str(write("m.csv", "a,b,label\n1,x,p\nmissing,y,q\n3,unknown,p\n")))
    prepared, _, _, _ = run_steps(frame, [{"type": "clean", "missing": "mean", "categorical": "mode",
                                           "markers": ["missing", "unknown"]}])
    assert prepared["a"].tolist() == [1, 2, 3]
    assert prepared["b"].tolist() == ["x", "y", "x"]


def test_dedupe_drops_duplicates_and_keeps_the_first_conflicting_row(messy):
    prepared, _, drops, notes = run_steps(messy, [{"type": "drop", "columns": ["id"]},
                                                  {"type": "clean", "missing": "median"}, {"type": "dedupe"}])
    assert list(prepared.index) == [2, 3, 4, 5, 6, 7, 9]
    assert drops[2] == ("dedupe", 2)
    assert "dedupe: dropped 1 duplicate row" in notes
    assert ("dedupe: 2 rows in 1 group have the same features but different targets; kept the first of each "
            "(conflicts: keep_first)") in notes


def test_dedupe_can_drop_every_conflicting_row_and_compare_a_subset(messy):
    prepared, _, _, _ = run_steps(messy, [{"type": "drop", "columns": ["id"]},
                                          {"type": "clean", "missing": "median"},
                                          {"type": "dedupe", "conflicts": "drop_all"}])
    assert list(prepared.index) == [2, 3, 4, 5, 6, 7]
    prepared, _, _, _ = run_steps(messy, [{"type": "dedupe", "subset": ["const"]}])
    assert list(prepared.index) == [2]  # every row has the same const: duplicates and conflicts keep line 2


def test_encode_onehot_in_place_and_ordinal(messy):
    specs = [{"type": "drop", "columns": ["id"]}, {"type": "clean", "missing": "median"}]
    prepared, states, _, _ = run_steps(messy, specs + [{"type": "encode"}])
    assert list(prepared.columns) == ["age", "weight", "color=blue", "color=green", "color=red", "const", "label"]
    assert prepared[["color=blue", "color=green", "color=red"]].iloc[0].tolist() == [0, 0, 1]
    assert states[2]["columns"]["color"] == {"categories": ["blue", "green", "red"], "other": False, "pooled": []}
    ordinal, _, _, _ = run_steps(messy, specs + [{"type": "encode", "method": "ordinal",
                                                  "categories": {"color": ["red", "green", "blue"]}}])
    assert ordinal["color"].tolist() == [0, 1, 2, 0, 2, 1, 1, 2, 2]


def test_encode_caps_categories_and_maps_unseen_values(messy):
    data = prepare(messy, [{"type": "drop", "columns": ["id"]}, {"type": "clean", "missing": "median"},
                           {"type": "encode", "max_categories": 2}])
    assert data.state["features"] == ["age", "weight", "color=blue", "color=green", "color=other", "const"]
    new = pd.DataFrame({"id": [9, 9], "age": [30, 30], "weight": [60, 60], "color": ["red", "purple"],
                        "const": [1, 1]}, index=[2, 3])
    x, _, notes, _ = prepare_inference(new, data.state, source="new.csv", with_target=False, dtype=np.float64)
    assert x[:, 2:5].tolist() == [[0, 0, 1], [0, 0, 1]]
    assert data.state["pipeline"]["states"][2]["columns"]["color"]["pooled"] == ["red"]
    # 'red' was pooled into other in training: known, so only 'purple' is unseen
    assert "encode: 1 value of 'color' was not seen in training (e.g. 'purple'); encoded as the other column" \
        in notes
    plain = prepare(messy, [{"type": "drop", "columns": ["id"]}, {"type": "clean", "missing": "median"},
                            {"type": "encode"}])
    x, _, notes, _ = prepare_inference(new, plain.state, source="new.csv", with_target=False, dtype=np.float64)
    assert x[1, 2:5].tolist() == [0, 0, 0]
    assert any("encoded as all zeros" in note for note in notes)


def test_encode_refuses_missing_categories_without_clean(messy):
    with pytest.raises(DataError, match=r"column 'color' has 1 missing value, first on line 6; add a clean step"):
        run_steps(messy.assign(color=messy["color"].mask(messy["color"] == "?")),
                  [{"type": "encode", "columns": ["color"]}])


def test_normalize_methods_and_constant_column(messy):
    base = [{"type": "drop", "columns": ["id"]}, {"type": "clean", "missing": "median"}, {"type": "dedupe"}]
    ages = np.array([20, 60, 60, 40, 50, 60, 70], dtype=float)
    for method, expected in [
        ("zscore", (ages - ages.mean()) / ages.std()),
        ("minmax", (ages - 20) / 50),
        ("robust", (ages - 60) / (np.percentile(ages, 75) - np.percentile(ages, 25))),
    ]:
        prepared, _, _, _ = run_steps(messy, base + [{"type": "normalize", "method": method}])
        assert np.allclose(prepared["age"], expected), method
        assert prepared["const"].tolist() == [0.0] * 7, method  # constant: no NaN, no Inf
    prepared, _, _, _ = run_steps(messy, base + [{"type": "normalize", "method": "minmax", "range": [-1, 1]}])
    assert prepared["age"].min() == -1 and prepared["age"].max() == 1
    assert prepared["const"].tolist() == [0.0] * 7  # constant: 0, not the low end of the range


def test_drop_unknown_column_is_an_error(messy):
    with pytest.raises(DataError, match="drop: no column 'ident'"):
        run_steps(messy, [{"type": "drop", "columns": ["ident"]}])


def test_whole_messy_table_prepares_to_the_hand_computed_matrix(messy):
    data = prepare(messy, [{"type": "drop", "columns": ["id"]}, {"type": "clean", "missing": "median"},
                           {"type": "dedupe"}, {"type": "encode"}])
    assert data.state["input_columns"] == ["age", "weight", "color", "const"]  # id is not needed to predict
    assert data.x["train"].tolist() == [
        [20, 50, 0, 0, 1, 1], [60, 60, 0, 1, 0, 1], [60, 70, 1, 0, 0, 1], [40, 85, 0, 0, 1, 1],
        [50, 80, 1, 0, 0, 1], [60, 90, 0, 1, 0, 1], [70, 100, 1, 0, 0, 1]]
    assert data.y["train"].tolist() == [1, 0, 1, 0, 1, 0, 1]
    assert data.report["dropped_by_step"] == [("drop", 0), ("clean", 0), ("dedupe", 2), ("encode", 0)]
    age = next(p for p in data.report["columns"] if p["column"] == "age")
    assert age["missing"] == 2 and age["missing_after"] == 0 and age["kind"] == "numeric"
    weight = next(p for p in data.report["columns"] if p["column"] == "weight")
    assert weight["text_values"] == 1 and weight["kind"] == "numeric"
    assert next(p for p in data.report["columns"] if p["column"] == "const")["constant"] is True


def test_leak_check_counts_rows_shared_between_splits(write):
    rows = "a,b,label\n" + "".join(f"{i % 10},{i % 10},{'p' if i % 2 else 'q'}\n" for i in range(40))
    data = prepare(read_csv(str(write("leaky.csv", rows))), [], validation=0.25, test=0.25)
    assert data.report["leaks"]["train-test"] > 0
    assert any(note.startswith("leak check:") for note in data.notes)
    clean = prepare(read_csv(str(write("leaky.csv", rows))), [{"type": "dedupe"}], validation=0.25, test=0.25)
    assert clean.report["leaks"] == {"train-validation": 0, "train-test": 0, "validation-test": 0}


def test_explicit_validation_and_test_files(write):
    train = read_csv(str(write("t.csv", "a,label\n1,p\n2,q\n3,p\n4,q\n")))
    validation = read_csv(str(write("v.csv", "a,label\n5,p\n6,q\n")))
    test = read_csv(str(write("s.csv", "a,label\n7,q\n")))
    data = prepare_training({"train": train, "validation": validation, "test": test},
                            {"train": "t.csv", "validation": "v.csv", "test": "s.csv"},
                            target="label", features=None, task="auto", loss=None, validation=0.2, test=0.1,
                            stratify=True, pipeline=[{"type": "normalize"}], target_transform="auto",
                            rng=np.random.default_rng(0), dtype=np.float64)
    assert len(data.x["train"]) == 4 and len(data.x["validation"]) == 2 and len(data.x["test"]) == 1
    assert data.state["pipeline"]["states"][0]["center"] == [2.5]  # fitted on the training file only
    assert data.test_rows["a"].tolist() == [7]


def test_pooled_categories_are_known_at_predict_and_old_checkpoints_still_work(cli, write, tmp_path,
                                                                               rewrite_checkpoint_meta):
    kinds = ["a"] * 30 + ["b"] * 30 + ["c"] * 10 + ["d"] * 10  # max_categories 2 keeps a, b and pools c, d
    lines = [f"{i % 7},{kind},{'p' if kind in 'ac' else 'q'}" for i, kind in enumerate(kinds)]
    data = write("kinds.csv", "x,kind,label\n" + "\n".join(lines) + "\n")
    config = write("kinds.yaml", f"""
        seed: 0
        data:
          train: {data}
          target: label
          split: {{validation: 0.2, test: 0}}
          pipeline:
            - {{type: normalize}}
            - {{type: encode, max_categories: 2}}
        model: {{layers: [{{type: dense, units: 4, activation: relu}}]}}
        training: {{epochs: 2}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    assert cli("fit", config, "-q").returncode == 0
    new = write("new.csv", "x,kind\n1,c\n2,d\n3,e\n4,a\n")
    result = cli("predict", tmp_path / "run", new)
    assert result.returncode == 0, result.stderr
    assert ("encode: 1 value of 'kind' was not seen in training (e.g. 'e'); encoded as the other column"
            in result.stderr)
    assert "'c'" not in result.stderr and "'d'" not in result.stderr

    def forget_pooled(meta):  # a checkpoint from before pooled values were kept
        for state in meta["data"]["pipeline"]["states"]:
            for spec in state.get("columns", {}).values() if isinstance(state.get("columns"), dict) else ():
                del spec["pooled"]

    for checkpoint in ("best.npz", "last.npz"):
        rewrite_checkpoint_meta(tmp_path / "run" / checkpoint, forget_pooled)
    old = cli("predict", tmp_path / "run", new)
    assert old.returncode == 0, old.stderr
    assert old.stdout == result.stdout
    assert "encode: 3 values of 'kind' were not seen in training (e.g. 'c')" in old.stderr  # it cannot tell


def test_pooled_values_are_listed_up_to_a_limit_and_ordinal_codes_them_minus_one(write, monkeypatch):
    frame = read_csv(str(write("k.csv", "kind,label\n" + "".join(f"{k},p\n" for k in "aaabbcde"))))
    _, states, _, _ = run_steps(frame, [{"type": "encode", "method": "ordinal", "max_categories": 2}])
    assert states[0]["columns"]["kind"] == {"categories": ["a", "b"], "other": True, "pooled": ["c", "d", "e"]}
    new = pd.DataFrame({"kind": ["c", "z", "b"]}, index=[2, 3, 4])
    ctx = Context(target=[], training=False)
    coded = Pipeline([{"type": "encode", "method": "ordinal", "max_categories": 2}]).transform(new, states, ctx)
    assert coded["kind"].tolist() == [-1, -1, 1]
    assert ctx.notes == ["encode: 1 value of 'kind' was not seen in training (e.g. 'z'); encoded as -1"]

    monkeypatch.setattr(encode, "POOLED_LISTED", 2)  # more pooled values than that: only their count is kept
    _, states, _, _ = run_steps(frame, [{"type": "encode", "max_categories": 2}])
    assert states[0]["columns"]["kind"]["pooled"] == 3
    ctx = Context(target=[], training=False)
    Pipeline([{"type": "encode", "max_categories": 2}]).transform(new, states, ctx)
    assert ctx.notes == []  # pooled or unseen cannot be told apart: no false warning


@pytest.mark.parametrize("bounds, expected", [([-1, 1], 0.0), ([0, 1], 0.0), ([1, 3], 1.0), ([-3, -2], -2.0)])
def test_minmax_maps_a_constant_column_to_zero_or_the_nearest_end_of_its_range(cli, write, tmp_path, bounds,
                                                                               expected):
    rows = "".join(f"{i},5,{'p' if i % 2 else 'q'}\n" for i in range(30))
    data = write("c.csv", "x,const,label\n" + rows)
    config = write("c.yaml", f"""
        data:
          train: {data}
          target: label
          split: {{validation: 0.2, test: 0}}
          pipeline: [{{type: normalize, method: minmax, range: {bounds}}}]
        model: {{layers: []}}
        training: {{epochs: 1}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    assert cli("fit", config, "-q").returncode == 0
    with zipfile.ZipFile(tmp_path / "run" / "best.npz") as archive:  # the state predict replays
        state = json.loads(archive.read("meta.json"))["data"]
    x, _, _, _ = prepare_inference(read_csv(str(data)), state, source="c.csv", with_target=False, dtype=np.float64)
    assert x[:, 1].tolist() == [expected] * len(x)


def test_clean_markers_make_a_target_cell_missing_so_its_row_is_dropped(cli, write, tmp_path):
    rows = [f"{i},{'?' if i in (3, 8) else 'pq'[i % 2]},{'-' if i == 5 else i * 1.5}" for i in range(30)]
    data = write("t.csv", "x,label,amount\n" + "\n".join(rows) + "\n")

    def config(name, target, pipeline):
        return write(f"{name}.yaml", f"""
            data:
              train: {data}
              target: {target}
              features: [x]
              split: {{validation: 0.2, test: 0}}
              pipeline: {pipeline}
            model: {{layers: []}}
            training: {{epochs: 2}}
            output: {{dir: {tmp_path / name}}}
            """)

    cleaned = cli("data", config("cleaned", "label", "[{type: clean}]"), "--json")
    assert cleaned.returncode == 0, cleaned.stderr
    report = json.loads(cleaned.stdout)
    assert any("2 rows with a missing target (first on line 5)" in note for note in report["notes"])
    assert list(report["class_balance"]["train"]) == ["p", "q"]
    assert sum(report["rows_used"].values()) == 28

    untouched = json.loads(cli("data", config("untouched", "label", "[]"), "--json").stdout)
    assert list(untouched["class_balance"]["train"]) == ["?", "p", "q"]  # no clean step: the target as written

    amount = cli("data", config("amount", "amount", "[{type: clean}]"), "--json")  # '-' was text in numbers
    assert amount.returncode == 0, amount.stderr
    assert json.loads(amount.stdout)["task"] == "regression"
    assert any(re.search(r"1 rows? with a missing target \(first on line 7\)", note)
               for note in json.loads(amount.stdout)["notes"])

    assert cli("fit", config("cleaned", "label", "[{type: clean}]"), "-q").returncode == 0
    labelled = write("labelled.csv", "x,label\n1,p\n2,?\n3,q\n")
    evaluated = cli("eval", tmp_path / "cleaned", labelled, "--json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert "labelled.csv: dropped 1 row" in evaluated.stderr and "missing target (first on line 3)" in evaluated.stderr
