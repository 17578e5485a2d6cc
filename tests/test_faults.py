"""Fault injection through the real CLI: every bad input and fault gets a clear message, the right exit
code, and loses nothing already saved.

The numbered cases follow the hardening issue. Cases tested elsewhere through the CLI:
  1  unknown key, no run dir created ... tests/commands/test_cli.py::test_config_errors_exit_2_...
  5  missing target column ............ tests/commands/test_cli.py::test_data_errors_exit_3
  9  skipped and fatal bad images ...... tests/commands/test_image_cli.py
  10 divergence, NaN and finite ........ tests/commands/test_cli.py, tests/commands/test_training_control.py
  11 kill -9 during checkpoint writes .. tests/commands/test_training_control.py::test_sigkill_...
  13 --resume of a missing path ........ tests/commands/test_training_control.py::test_resume_refuses_...
  14 --resume auto falls back .......... tests/commands/test_training_control.py::test_checkpoint_every_...
  17 missing, extra, reordered columns . tests/commands/test_cli.py::test_predict_names_missing_columns_...,
                                         ::test_predict_proba_reordered_columns_and_output_file
"""

import errno
import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from typer.testing import CliRunner

from nntrain.cli import app
from nntrain.train.checkpoint import load_checkpoint

PACKAGE = Path(__file__).resolve().parent.parent / "nntrain"


@pytest.fixture(scope="module")
def blobs_run(tmp_path_factory):
    """A small trained run, shared by the checkpoint and predict cases (which never modify it)."""
    folder = tmp_path_factory.mktemp("blobs")
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])
    points = centers[np.repeat([0, 1, 2], 30)] + rng.normal(0, 0.6, (90, 2))
    frame = pd.DataFrame({"x1": points[:, 0], "x2": points[:, 1], "color": np.tile(["red", "blue", "green"], 30),
                          "label": np.repeat(["a", "b", "c"], 30)})
    frame.to_csv(folder / "blobs.csv", index=False)
    (folder / "c.yaml").write_text(f"""
data:
  train: {folder / 'blobs.csv'}
  target: label
  pipeline: [{{type: normalize}}, {{type: encode}}]
model: {{layers: [{{type: dense, units: 8, activation: relu}}]}}
optimizer: {{lr: 0.05}}
training: {{epochs: 10, batch_size: 16}}
output: {{dir: {folder / 'run'}}}
""")
    result = subprocess.run([str(Path(sys.executable).parent / "nntrain"), "fit", str(folder / "c.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return folder


def snapshot(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


def no_traceback(result):
    assert "Traceback" not in result.stderr
    return result


# 1-4: config problems -------------------------------------------------------------------------------

@pytest.mark.parametrize("text,expected", [
    ("lr: 0.1\n", "lr (line 3): unknown key; did you mean optimizer.lr?"),
    ("training: {epochs: ten}\n", "training.epochs (line 3): must be an integer, got 'ten'"),
    ("training: {batch_size: 0}\n", "training.batch_size (line 3): must be a positive integer, got 0"),
    ("model: {layers: [{type: dropout, rate: 1.5}]}\n", "model.layers[0].rate (line 3): must be less than 1"),
    ("optimizer: {lr: -0.01}\n", "optimizer.lr (line 3): must be greater than 0, got -0.01"),
])
def test_bad_keys_types_and_ranges_exit_2(cli, write, tmp_path, text, expected):
    config = write("c.yaml", f"data: {{train: x.csv, target: y}}\noutput: {{dir: {tmp_path / 'run'}}}\n" + text)
    result = no_traceback(cli("fit", config))
    assert result.returncode == 2
    assert f"invalid config {config}" in result.stderr and expected in result.stderr
    assert not (tmp_path / "run").exists()


def test_exponent_learning_rate_reaches_the_optimizer_as_a_float(cli, write, blobs_csv, tmp_path):
    from nntrain.run.build import make_schedule
    from nntrain.config import load_config

    config = write("c.yaml", f"""
        data: {{train: {blobs_csv}, target: label}}
        optimizer: {{type: sgd, lr: 1e-3}}
        training: {{epochs: 1}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    loaded, _ = load_config(str(config))
    schedule = make_schedule(loaded, steps_per_epoch=3, monitor="val_loss", mode="min")
    assert type(schedule.base_lr) is float and schedule.base_lr == 0.001
    assert cli("fit", config).returncode == 0
    assert "lr: 0.001" in (tmp_path / "run" / "config.yaml").read_text()


@pytest.mark.parametrize("text,expected", [
    ("seed: 1\ndata:\n\ttrain: x.csv\n", r"c.yaml:3:1: invalid YAML: tab character: indent YAML with spaces"),
    ("seed: [1, 2\ndata: {train: x.csv}\n", r"c.yaml:2:5: invalid YAML"),
    ("seed: 1\ndata: {train: x.csv, target: y}\nseed: 2\n",
     r"c.yaml:3:1: invalid YAML: duplicate key 'seed' \(first set on line 1\)"),
    ("", r"c.yaml is empty"),
])
def test_malformed_yaml_exits_2_with_line_and_column(cli, write, text, expected):
    result = no_traceback(cli("fit", write("c.yaml", text)))
    assert result.returncode == 2 and re.search(expected, result.stderr)


def test_a_directory_as_config(cli, tmp_path):
    result = no_traceback(cli("fit", tmp_path))
    assert result.returncode == 2 and "is a directory; pass a YAML config file" in result.stderr


def test_python_object_tags_are_refused_and_never_run(cli, write, tmp_path):
    canary = tmp_path / "canary"
    config = write("c.yaml", f"seed: !!python/object/apply:os.system ['touch {canary}']\n")
    result = no_traceback(cli("fit", config))
    assert result.returncode == 2 and "the tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed" \
        in result.stderr
    assert not canary.exists()


# 5-8: training data problems --------------------------------------------------------------------------

def fit_table(cli, write, tmp_path, csv_text, data_extra=""):
    (tmp_path / "d.csv").write_text(csv_text)
    config = write("c.yaml", f"data: {{train: {tmp_path / 'd.csv'}, target: y, split: {{validation: 0, test: 0}}"
                             f"{data_extra}}}\noutput: {{dir: {tmp_path / 'run'}}}\ntraining: {{epochs: 1}}\n")
    return no_traceback(cli("fit", config))


def test_listed_feature_column_missing(cli, write, tmp_path):
    result = fit_table(cli, write, tmp_path, "a,b,y\n1,2,p\n3,4,q\n", ", features: [a, c, d]")
    assert result.returncode == 3
    assert "missing feature columns 'c', 'd'; the file has: a, b, y" in result.stderr
    assert not (tmp_path / "run" / "last.npz").exists()


@pytest.mark.parametrize("cells,expected", [
    ("1,p\nabc,q\n3,p\nx,q\n", r"d.csv: column 'a' holds numbers but line 3 has 'abc' \(2 such rows\)"),
    ("1,p\n2,q\ninf,p\n", r"d.csv: column 'a' has an infinite value on line 4 \(inf\); fix the file"),
    ("1,p\n1e400,q\n3,p\n", r"d.csv: column 'a' has an infinite value on line 3 \(inf\); fix the file"),
    ("1,p\n,q\n3,p\n,q\n", r"d.csv: column 'a' has 2 missing values, first on line 3"),
])
def test_bad_cells_without_a_clean_step_exit_3_naming_line_and_column(cli, write, tmp_path, cells, expected):
    result = fit_table(cli, write, tmp_path, "a,y\n" + cells)
    assert result.returncode == 3 and re.search(expected, result.stderr)


@pytest.mark.parametrize("text,line", [("a,b,y\n1,2,p,9\n3,4,q\n", 2), ("a,b,y\n1,2,p\n3,4,q\n5,6,p,7\n", 4)])
def test_ragged_rows_exit_3_naming_the_line(cli, write, tmp_path, text, line):
    result = fit_table(cli, write, tmp_path, text)
    assert result.returncode == 3
    assert f"d.csv: line {line} has 4 fields but the header has 3; fix or remove that row" in result.stderr


@pytest.mark.parametrize("text,data_extra,expected", [
    ("", "", "d.csv is empty: expected a header line and data rows"),
    ("a,y\n", "", "d.csv has a header but no data rows"),
    ("a,y\n1,p\n2,p\n3,p\n", "", "target 'y' has a single class 'p'; classification needs at least two"),
    ("a,y\n1,p\n2,q\n3,p\n", ", split: {validation: 0.1, test: 0}", "the validation split is empty"),
])
def test_empty_and_degenerate_tables_exit_3(cli, write, tmp_path, text, data_extra, expected):
    (tmp_path / "d.csv").write_text(text)
    split = "" if data_extra else ", split: {validation: 0, test: 0}"
    config = write("c.yaml", f"data: {{train: {tmp_path / 'd.csv'}, target: y{split}{data_extra}}}\n"
                             f"output: {{dir: {tmp_path / 'run'}}}\n")
    result = no_traceback(cli("fit", config))
    assert result.returncode == 3 and expected in result.stderr


def test_fewer_rows_than_one_batch_is_a_warning(cli, write, tmp_path):
    result = fit_table(cli, write, tmp_path, "a,y\n1,p\n2,q\n3,p\n4,q\n")
    assert result.returncode == 0
    assert "warning: the training split has 4 rows, fewer than one batch (training.batch_size: 32)" in result.stderr


# 9: images ----------------------------------------------------------------------------------------------

def test_unusual_images_are_converted_and_bombs_skipped(cli, write, tmp_path, header_only_png):
    root = tmp_path / "photos"
    for name in ("cmyk", "deep"):
        (root / name).mkdir(parents=True)
    for index in range(6):
        Image.new("CMYK", (6, 6), (index * 10, 200, 0, 0)).save(root / "cmyk" / f"{index}.jpg")
        Image.new("RGBA", (6, 6), (0, 0, 255, 40 * index)).save(root / "cmyk" / f"{index}.png")
        Image.fromarray(np.full((6, 6), 60000 - index * 100, dtype=np.uint16)).save(root / "deep" / f"{index}.png")
        palette = Image.new("P", (6, 6), 1)
        palette.putpalette([0, 0, 0, 10, 20 * index, 30] + [0] * 762)
        palette.save(root / "deep" / f"p{index}.png")
    (root / "deep" / "bomb.png").write_bytes(header_only_png(20000, 10000))
    config = write("c.yaml", f"""
        data: {{train: {root}, image: {{color: rgb, size: [6, 6]}}, split: {{validation: 0.25, test: 0}}}}
        model: {{layers: [{{type: flatten}}]}}
        training: {{epochs: 2}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    result = no_traceback(cli("fit", config))
    assert result.returncode == 0, result.stderr
    assert "skipped 1 unreadable image file: " in result.stderr
    assert "bomb.png (declares 200,000,000 pixels, over the limit of 40,000,000" in result.stderr
    assert "on 18 rows (6 validation, 0 test)" in result.stderr


# 12-16: checkpoints ------------------------------------------------------------------------------------

def test_disk_full_while_saving_exits_5_and_keeps_the_previous_checkpoint(blobs_config, tmp_path, monkeypatch):
    import nntrain.files as files

    calls = {"n": 0}
    real_fsync = files.os.fsync

    def failing_fsync(descriptor):
        calls["n"] += 1
        # config.yaml and test.csv, then epoch 1's best.npz and last.npz: a file and a folder sync each
        if calls["n"] > 8:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_fsync(descriptor)

    monkeypatch.setattr(files.os, "fsync", failing_fsync)
    run = tmp_path / "run"
    result = CliRunner().invoke(app, ["fit", str(blobs_config()), "--set", "training.epochs=5",
                                      "--set", "training.monitor=loss"])
    assert result.exit_code == 5
    assert f"could not write checkpoint to {run / 'best.npz'}: No space left on device" in result.stderr
    assert load_checkpoint(run / "best.npz")[0]["epoch"] == 1
    assert load_checkpoint(run / "last.npz")[0]["epoch"] == 1
    assert not list(run.glob(".tmp-*"))


def test_output_dir_that_is_a_file_or_below_one(cli, blobs_config, tmp_path):
    (tmp_path / "taken").write_text("a file")
    for target in (tmp_path / "taken", tmp_path / "taken" / "run"):
        result = no_traceback(cli("fit", blobs_config(), "--set", f"output.dir={target}"))
        assert result.returncode == 2 and "output.dir: " in result.stderr and str(target) in result.stderr
    assert (tmp_path / "taken").read_text() == "a file"


def damaged_copies(run: Path, folder: Path) -> dict[str, Path]:
    original = (run / "best.npz").read_bytes()
    copies = {}
    copies["truncated"] = folder / "truncated.npz"
    copies["truncated"].write_bytes(original[:-200])
    flipped = bytearray(original)
    flipped[original.index(b"\x93NUMPY") + 200] ^= 0x01
    copies["flipped"] = folder / "flipped.npz"
    copies["flipped"].write_bytes(bytes(flipped))
    copies["missing member"] = folder / "missing.npz"
    with zipfile.ZipFile(run / "best.npz") as source, zipfile.ZipFile(copies["missing member"], "w") as target:
        for name in source.namelist():
            if name != "params/output.b.npy":
                target.writestr(name, source.read(name))
    return copies


@pytest.mark.parametrize("damage,expected", [
    ("truncated", "is damaged or not an nntrain checkpoint"),
    ("flipped", "damaged"),
    ("missing member", "is damaged: the array 'params/output.b' is missing"),
])
def test_damaged_checkpoints_exit_5_in_eval_and_predict(cli, blobs_run, tmp_path, damage, expected):
    path = damaged_copies(blobs_run / "run", tmp_path)[damage]
    for args in (["eval", path, blobs_run / "blobs.csv"], ["predict", path, blobs_run / "blobs.csv"]):
        result = no_traceback(cli(*args))
        assert result.returncode == 5 and expected in result.stderr and str(path) in result.stderr
        assert result.stdout == ""


def test_damaged_last_checkpoint_stops_resume(cli, blobs_config, tmp_path):
    assert cli("fit", blobs_config(), "--set", "training.epochs=2").returncode == 0
    run = tmp_path / "run"
    (run / "summary.json").unlink()
    data = bytearray((run / "last.npz").read_bytes())
    data[data.index(b"\x93NUMPY") + 150] ^= 0x01
    (run / "last.npz").write_bytes(bytes(data))
    before = snapshot(run)
    result = no_traceback(cli("fit", blobs_config(), "--set", "training.epochs=2", "--resume", run))
    assert result.returncode == 5 and "damaged" in result.stderr
    assert snapshot(run) == before


def rewrite_meta(source: Path, target: Path, change=None, members=None, drop=()):
    with zipfile.ZipFile(source) as archive:
        files = {name: archive.read(name) for name in archive.namelist() if name not in drop}
    meta = json.loads(files["meta.json"])
    if change:
        change(meta)
    files.update(members or {})
    files["meta.json"] = json.dumps(meta).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return target


class Canary:
    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_malicious_checkpoints_are_refused_without_running_code(cli, blobs_run, tmp_path):
    canary = tmp_path / "canary"
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.array([Canary(str(canary))], dtype=object), allow_pickle=True)
    evil = buffer.getvalue()

    def point_at_evil(meta):
        meta["arrays"]["params/output.b"]["sha256"] = hashlib.sha256(evil).hexdigest()

    pickled = rewrite_meta(blobs_run / "run" / "best.npz", tmp_path / "pickled.npz", point_at_evil,
                           {"params/output.b.npy": evil})
    result = no_traceback(cli("predict", pickled, blobs_run / "blobs.csv"))
    assert result.returncode == 5 and "cannot be loaded safely" in result.stderr
    assert not canary.exists()

    def callable_layer(meta):
        meta["model"]["layers"][0]["type"] = "os.system"

    calling = rewrite_meta(blobs_run / "run" / "best.npz", tmp_path / "callable.npz", callable_layer)
    result = no_traceback(cli("eval", calling, blobs_run / "blobs.csv"))
    assert result.returncode == 5 and "unknown layer type 'os.system'" in result.stderr

    def unknown_activation(meta):
        meta["model"]["layers"][0]["activation"] = "swish"

    unknown = rewrite_meta(blobs_run / "run" / "best.npz", tmp_path / "swish.npz", unknown_activation)
    for command in ("eval", "predict"):
        result = no_traceback(cli(command, unknown, blobs_run / "blobs.csv"))
        assert result.returncode == 5 and "unknown activation 'swish'" in result.stderr

    def callable_loss(meta):
        meta["loss"] = {"type": "builtins.eval", "source": f"open('{canary}', 'w')"}

    result = no_traceback(cli("eval", rewrite_meta(blobs_run / "run" / "best.npz", tmp_path / "loss.npz",
                                                   callable_loss), blobs_run / "blobs.csv"))
    assert result.returncode == 5 and "unknown loss" in result.stderr
    assert not canary.exists()


def test_incompatible_checkpoints_name_the_tensor(cli, blobs_run, tmp_path):
    best = blobs_run / "run" / "best.npz"
    wrong = np.zeros((3, 8), dtype=np.float32)
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, wrong)

    def reshape(meta):
        meta["arrays"]["params/dense_1.W"] = {"shape": [3, 8], "dtype": "float32",
                                             "sha256": hashlib.sha256(buffer.getvalue()).hexdigest()}

    shaped = rewrite_meta(best, tmp_path / "shape.npz", reshape, {"params/dense_1.W.npy": buffer.getvalue()})
    result = no_traceback(cli("eval", shaped, blobs_run / "blobs.csv"))
    assert result.returncode == 5
    assert "params/dense_1.W has shape (3, 8), expected (5, 8)" in result.stderr

    def forget(meta):
        del meta["arrays"]["params/output.b"]

    missing = rewrite_meta(best, tmp_path / "forgot.npz", forget, drop={"params/output.b.npy"})
    result = no_traceback(cli("eval", missing, blobs_run / "blobs.csv"))
    assert result.returncode == 5 and "params missing output.b" in result.stderr

    def extra(meta):
        meta["arrays"]["params/ghost.W"] = meta["arrays"]["params/output.b"]

    with zipfile.ZipFile(best) as archive:
        bias = archive.read("params/output.b.npy")
    ghost = rewrite_meta(best, tmp_path / "ghost.npz", extra, {"params/ghost.W.npy": bias})
    result = no_traceback(cli("eval", ghost, blobs_run / "blobs.csv"))
    assert result.returncode == 5 and "params unexpected ghost.W" in result.stderr

    newer = rewrite_meta(best, tmp_path / "newer.npz", lambda meta: meta.update(version=2))
    result = no_traceback(cli("predict", newer, blobs_run / "blobs.csv"))
    assert result.returncode == 5 and "written by a newer nntrain (checkpoint format 2" in result.stderr


# 17-18: predict inputs and pipes --------------------------------------------------------------------------

def test_unseen_category_is_counted_never_a_crash(cli, blobs_run, tmp_path):
    (tmp_path / "new.csv").write_text("x1,x2,color\n0.1,0.2,purple\n5,5,red\n")
    result = no_traceback(cli("predict", blobs_run / "run", tmp_path / "new.csv"))
    assert result.returncode == 0
    assert "encode: 1 value of 'color' was not seen in training (e.g. 'purple'); encoded as all zeros" \
        in result.stderr
    assert result.stdout.splitlines() == ["prediction", "a", "b"]


def test_text_in_a_numeric_column_stops_predict_or_is_skipped(cli, blobs_run, tmp_path):
    (tmp_path / "new.csv").write_text("x1,x2,color\n0.1,0.2,red\nn/a?,5,red\n5,5,blue\n0,6,\n")
    result = no_traceback(cli("predict", blobs_run / "run", tmp_path / "new.csv"))
    assert result.returncode == 3
    assert "new.csv: column 'x1' holds numbers but line 3 has 'n/a?' (1 such row)" in result.stderr
    assert result.stdout == ""
    skipped = no_traceback(cli("predict", blobs_run / "run", tmp_path / "new.csv", "--on-error", "skip"))
    assert skipped.returncode == 0
    assert skipped.stdout.splitlines() == ["line,prediction", "2,a", "4,b"]
    assert ("warning: skipped 2 rows that cannot be predicted (line 3: 'x1' is 'n/a?'; line 5: 'color' is missing)"
            in skipped.stderr)
    (tmp_path / "bad.csv").write_text("x1,x2,color\nn/a?,5,red\n")
    nothing = no_traceback(cli("predict", blobs_run / "run", tmp_path / "bad.csv", "--on-error", "skip"))
    assert nothing.returncode == 3 and nothing.stdout == ""
    assert "bad.csv: every row was skipped, nothing to predict; skipped 1 row" in nothing.stderr


def test_stdin_pipe_closed_early_ends_quietly(blobs_run, shell_command):
    frame = pd.read_csv(blobs_run / "blobs.csv")
    big = blobs_run / "big.csv"
    # ~650 KB of predictions, ten times a pipe's buffer: nntrain cannot finish writing before `head` exits
    pd.concat([frame] * 3600).to_csv(big, index=False)
    result = subprocess.run(f"set -o pipefail; cat {big} | {shell_command} predict {blobs_run / 'run'} - | head -1",
                            shell=True, capture_output=True, text=True, executable="/bin/bash")
    assert result.stdout == "prediction\n" and result.stderr == "" and result.returncode == 141


def test_no_colour_codes_when_not_a_terminal_or_no_color(cli, blobs_config):
    for env in ({"NO_COLOR": "1"}, {"NO_COLOR": "", "FORCE_COLOR": ""}):
        result = cli("fit", blobs_config(), "--set", "training.epochs=2", "--overwrite", env=env)
        assert result.returncode == 0
        assert "\x1b[" not in result.stderr and "epoch 2/2" in result.stderr


def test_the_package_never_unpickles_or_loads_yaml_unsafely():
    sources = {path: path.read_text() for path in PACKAGE.rglob("*.py")}
    offenders = [str(path) for path, text in sources.items()
                 if re.search(r"\bpickle\b|allow_pickle=True|yaml\.load\(|yaml\.unsafe_load|yaml\.Loader\b", text)]
    assert offenders == []
