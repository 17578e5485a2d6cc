"""Image folders end to end through the CLI: training with bad files, eval on folders, predict on folders and stdin."""

import io
import json
import subprocess

import pandas as pd
import pytest
import yaml

from nntrain.train.checkpoint import load_checkpoint


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what commands do with image folders (see `cli_in_process`)."""
    return cli_in_process


def test_fit_on_an_image_folder_skips_and_reports_bad_files(cli, image_config, tmp_path):
    result = cli("fit", image_config())
    assert result.returncode == 0, result.stderr
    assert "skipped 4 unreadable image files:" in result.stderr
    assert "empty.png (empty file)" in result.stderr and "; and 1 more" in result.stderr
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["test"]["accuracy"] >= 0.9
    meta, _ = load_checkpoint(tmp_path / "run" / "best.npz")
    assert meta["model"]["input_shape"] == [8, 8, 1]
    assert meta["data"]["target"]["classes"] == ["diagonal", "horizontal", "vertical"]


def test_bad_images_can_be_made_fatal(cli, image_config):
    result = cli("fit", image_config(), "--set", "data.image.on_bad_image=error")
    assert result.returncode == 3
    assert "(and 3 more bad images)" in result.stderr and "Traceback" not in result.stderr


def test_eval_on_a_class_per_subfolder_folder(cli, image_config, image_folder, tmp_path):
    assert cli("fit", image_config()).returncode == 0
    report = json.loads(cli("eval", tmp_path / "run", image_folder, "--json").stdout)
    assert report["rows"] == 45
    chunked = json.loads(cli("eval", tmp_path / "run", image_folder, "--json", env={"NNTRAIN_CHUNK_ROWS": "4"}).stdout)
    assert {key: chunked[key] for key in ("rows", "metrics", "confusion_matrix")} == \
        {key: report[key] for key in ("rows", "metrics", "confusion_matrix")}  # counts: exactly
    assert chunked["loss"] == pytest.approx(report["loss"], rel=1e-6)  # a mean of chunk means: to rounding
    assert report["confusion_matrix"]["labels"] == ["diagonal", "horizontal", "vertical"]
    assert sum(map(sum, report["confusion_matrix"]["matrix"])) == 45
    assert report["metrics"]["accuracy"] >= 0.9
    held_out = json.loads(cli("eval", tmp_path / "run", "--json").stdout)
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert held_out["metrics"]["accuracy"] == summary["test"]["accuracy"]


def test_predict_on_a_folder_and_on_paths_from_stdin(cli, image_config, image_folder, tmp_path, shell_command):
    assert cli("fit", image_config()).returncode == 0
    result = cli("predict", tmp_path / "run", image_folder)
    assert result.returncode == 0, result.stderr
    table = pd.read_csv(io.StringIO(result.stdout))
    assert list(table.columns) == ["path", "prediction"] and len(table) == 45  # one row per readable image
    assert "skipped 4 unreadable image files" in result.stderr
    chunked = cli("predict", tmp_path / "run", image_folder, env={"NNTRAIN_CHUNK_ROWS": "4"})  # 4 paths at a time
    assert (chunked.returncode, chunked.stdout) == (0, result.stdout)
    assert chunked.stderr.count("skipped 4 unreadable image files") == 1
    listed = "\n".join([str(image_folder / "vertical" / "03.png"), str(image_folder / "vertical" / "empty.png"),
                        str(image_folder / "horizontal" / "07.png")])
    piped = subprocess.run(f"{shell_command} predict {tmp_path / 'run'} - --proba", shell=True, input=listed,
                           capture_output=True, text=True)
    table = pd.read_csv(io.StringIO(piped.stdout))
    assert table["path"].tolist() == [str(image_folder / "vertical" / "03.png"),
                                      str(image_folder / "horizontal" / "07.png")]
    assert table["prediction"].tolist() == ["vertical", "horizontal"]
    assert list(table.columns) == ["path", "prediction", "proba_diagonal", "proba_horizontal", "proba_vertical"]


def test_channel_statistics_are_fitted_and_stored(cli, image_config, tmp_path):
    assert cli("fit", image_config(), "--set", "data.image.normalize=true", "--set", "training.epochs=2").returncode == 0
    meta, _ = load_checkpoint(tmp_path / "run" / "best.npz")
    assert len(meta["data"]["image"]["mean"]) == 1 and 0.1 < meta["data"]["image"]["mean"][0] < 0.3


def test_image_folder_config_mistakes(cli, image_config, image_folder, tmp_path):
    (image_folder / "empty_class").mkdir()
    result = cli("fit", image_config())
    assert result.returncode == 2 and "empty_class is empty" in result.stderr
    (image_folder / "empty_class").rmdir()
    result = cli("fit", image_config(), "--set", "data.target=label")
    assert result.returncode == 2 and "data.target: does not apply to image folders" in result.stderr
    result = cli("fit", image_config(), "--set", "model.layers=[{type: dense, units: 4}]")
    assert result.returncode == 2 and "add a flatten layer before it" in result.stderr


def _odd_first_image(image_folder):
    """A 1x1 colour image that sorts first among the 8x8 grayscale ones."""
    from PIL import Image

    Image.new("RGB", (1, 1), (255, 0, 0)).save(image_folder / "diagonal" / "0.png")


def test_init_takes_size_and_mode_from_a_sample_not_the_first_file(cli, image_folder, tmp_path):
    _odd_first_image(image_folder)
    result = cli("init", "--data", image_folder, "-o", tmp_path / "init.yaml")
    assert result.returncode == 0, result.stderr
    text = (tmp_path / "init.yaml").read_text()
    assert yaml.safe_load(text)["data"]["image"] == {"color": "grayscale", "size": [8, 8]}
    sizes = f"sizes vary among 47 sampled images of {image_folder}: 8x8 (46 files), 1x1 (1 file); using 8x8"
    modes = f"colour modes vary among 47 sampled images of {image_folder}: 46 grayscale, 1 colour; using grayscale"
    assert f"  # {sizes}\n  # {modes}\n" in text
    assert sizes in result.stderr and modes in result.stderr
    assert "in 3 classes, 8x8 grayscale" in result.stderr


def test_fit_without_a_size_uses_the_most_common_one(cli, image_config, image_folder, tmp_path):
    _odd_first_image(image_folder)
    result = cli("fit", image_config(), "--set", "data.image.size=null", "--set", "training.epochs=2")
    assert result.returncode == 0, result.stderr
    assert (f"sizes vary among 47 sampled images of {image_folder}: 8x8 (46 files), 1x1 (1 file); using 8x8 "
            "(data.image.size sets it)") in result.stderr
    meta, _ = load_checkpoint(tmp_path / "run" / "best.npz")
    assert meta["model"]["input_shape"] == [8, 8, 1] and meta["data"]["image"]["size"] == [8, 8]


def test_predict_exits_3_when_nothing_can_be_predicted(cli, image_config, image_folder, tmp_path, write):
    assert cli("fit", image_config(), "--set", "training.epochs=2").returncode == 0
    run = tmp_path / "run"
    (tmp_path / "empty").mkdir()
    result = cli("predict", run, tmp_path / "empty")
    assert (result.returncode, result.stdout) == (3, "")
    assert f"DATA: {tmp_path / 'empty'} holds no files, nothing to predict" in result.stderr
    result = cli("predict", run, "-", input="gone/a.png\ngone/b.png\n")
    assert (result.returncode, result.stdout) == (3, "")
    assert ("DATA: standard input: no readable image, nothing to predict; skipped 2 unreadable image files: "
            "gone/a.png (not found); gone/b.png (not found)") in result.stderr
    table = write("new.csv", "x1,x2\n1,2\n")
    result = cli("predict", run, table)
    assert (result.returncode, result.stdout) == (3, "")
    assert (f"DATA: {table} is a CSV file, but {run} is an image model; pass an image folder, an image file, "
            "or - for a list of paths") in result.stderr
    result = cli("predict", run, "-", input=f"gone/a.png\n{image_folder / 'vertical' / '03.png'}\n")
    assert result.returncode == 0 and len(pd.read_csv(io.StringIO(result.stdout))) == 1
    assert "warning: skipped 1 unreadable image file: gone/a.png (not found)" in result.stderr


def test_files_at_the_top_of_an_image_folder_are_noted(cli, image_config, image_folder, tmp_path):
    (image_folder / "readme.txt").write_text("hello")
    (image_folder / "labels.csv").write_text("a,b\n")
    note = (f"ignored 2 files at the top of {image_folder}/ (labels.csv, readme.txt): images go in one "
            "subfolder per class")
    result = cli("check", image_config())
    assert result.returncode == 0, result.stderr
    assert note in result.stdout  # check reports the data notes with its result
    result = cli("init", "--data", image_folder, "-o", tmp_path / "init.yaml")
    assert result.returncode == 0 and note in result.stderr
    assert f"  # {note}\n" in (tmp_path / "init.yaml").read_text()


def test_augment_shift_is_checked_against_the_image_size(cli, image_config):
    result = cli("check", image_config(), "--set", "data.augment.shift=8")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert ("data.augment.shift: 8 is not below the smaller side of the 8x8 images (8 pixels), so a shifted image "
            "can be nothing but repeated edge pixels; use at most 2 (a quarter of the side)") in result.stderr
    result = cli("check", image_config(), "--set", "data.augment.shift=3")
    assert result.returncode == 0, result.stderr
    assert "data.augment.shift: 3 is over a quarter of the smaller side of the 8x8 images (8 pixels)" in result.stdout


def test_init_does_not_shift_images_too_small_for_it(cli, tmp_path):
    from PIL import Image

    for name in ("dark", "light"):
        (tmp_path / "tiny" / name).mkdir(parents=True)
        for index in range(10):
            Image.new("L", (3, 3), 40 if name == "dark" else 220).save(tmp_path / "tiny" / name / f"{index}.png")
    assert cli("init", "--data", tmp_path / "tiny", "-o", tmp_path / "tiny.yaml").returncode == 0
    assert yaml.safe_load((tmp_path / "tiny.yaml").read_text())["data"]["augment"] == {"shift": 0}
    result = cli("check", tmp_path / "tiny.yaml", "--set", f"output.dir={tmp_path / 'run'}")
    assert result.returncode == 0, result.stderr
    assert "data.augment.shift" not in result.stdout


def test_eval_on_a_folder_without_a_readable_image_exits_3(cli, image_config, tmp_path):
    assert cli("fit", image_config(), "--set", "training.epochs=2").returncode == 0
    for name in ("horizontal", "vertical"):
        (tmp_path / "broken" / name).mkdir(parents=True)
        (tmp_path / "broken" / name / "a.png").write_text("not an image")
    result = cli("eval", tmp_path / "run", tmp_path / "broken")
    assert result.returncode == 3 and "Warning" not in result.stderr, result.stderr
    assert (f"{tmp_path / 'broken'}: no readable image, nothing to evaluate; skipped 2 unreadable image files: "
            f"{tmp_path / 'broken' / 'horizontal' / 'a.png'} (not an image") in result.stderr
