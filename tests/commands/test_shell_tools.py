"""The commands that help people write and manage runs: init, check, config, schema, runs, and --help."""

import json
import os
import pty
import re
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import yaml


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what the commands print and exit with (see `cli_in_process`)."""
    return cli_in_process


COMMANDS = ["fit", "eval", "predict", "summary", "data", "plot", "init", "check", "config", "schema", "runs", "sweep",
            "sweep status", "export", "prepare"]


@pytest.fixture
def fresh_csv(tmp_path):
    """A CSV nntrain has never seen: an id column, a text feature, missing values, a 0/1 outcome last."""
    rng = np.random.default_rng(3)
    rows = 300
    x = rng.normal(size=(rows, 3))
    colour = rng.choice(["red", "green", "blue"], rows)
    outcome = ((x[:, 0] + x[:, 1] + (colour == "red")) > 0.5).astype(int)
    frame = pd.DataFrame({"customer_id": np.arange(1000, 1000 + rows), "a": x[:, 0].round(3),
                          "b": x[:, 1].round(3), "c": x[:, 2].round(3), "colour": colour, "outcome": outcome})
    frame.loc[::17, "b"] = np.nan
    path = tmp_path / "customers.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_init_on_a_fresh_csv_writes_a_config_that_fits_with_no_edits(cli, fresh_csv, tmp_path):
    config = tmp_path / "customers.yaml"
    result = cli("init", "--data", fresh_csv, "-o", config, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "target 'outcome' (classification, 2 classes)" in result.stderr
    written = yaml.safe_load(config.read_text())
    assert written["data"]["target"] == "outcome"
    steps = [step["type"] for step in written["data"]["pipeline"]]
    assert steps == ["drop", "clean", "dedupe", "normalize", "encode"]
    assert written["data"]["pipeline"][0]["columns"] == ["customer_id"]
    assert config.read_text().count("#") > 10  # commented for a newcomer

    assert cli("check", config, cwd=tmp_path).returncode == 0
    fitted = cli("fit", config, "-q", cwd=tmp_path)
    assert fitted.returncode == 0, fitted.stderr
    [run] = list((tmp_path / "runs").iterdir())
    assert re.fullmatch(r"customers-\d{8}-\d{6}", run.name)  # named from the config and the time
    summary = json.loads((run / "summary.json").read_text())
    assert summary["test"]["accuracy"] > 0.8


def test_init_guesses_regression_for_a_continuous_target_and_refuses_to_overwrite(cli, tmp_path, repo):
    config = tmp_path / "d.yaml"
    result = cli("init", "--data", repo / "datasets/diabetes.csv", "-o", config)
    assert result.returncode == 0, result.stderr
    assert yaml.safe_load(config.read_text())["loss"] == "mse"
    again = cli("init", "--data", repo / "datasets/diabetes.csv", "-o", config)
    assert again.returncode == 2 and "already exists" in again.stderr and "--force" in again.stderr


def test_init_on_an_image_folder_writes_a_cnn_config_that_checks(cli, tmp_path, repo):
    config = tmp_path / "digits.yaml"
    result = cli("init", "--data", repo / "datasets/digits", "-o", config)
    assert result.returncode == 0, result.stderr
    assert "1797 images in 10 classes, 8x8 grayscale" in result.stderr
    written = yaml.safe_load(config.read_text())
    assert written["data"]["image"] == {"color": "grayscale", "size": [8, 8]}
    assert written["model"]["layers"][0]["type"] == "conv2d"
    assert cli("check", config, "-q").returncode == 0


def test_init_without_data_prints_a_template_on_stdout(real_cli):
    result = real_cli("init", "--task", "regression")
    assert result.returncode == 0
    assert yaml.safe_load(result.stdout)["loss"] == "mse"
    assert real_cli("init", "--task", "poetry").returncode == 2


def test_check_shows_the_resolved_config_data_and_model_and_fails_like_fit(cli, blobs_config, tmp_path):
    config = blobs_config()
    result = cli("check", config)
    assert result.returncode == 0, result.stderr
    assert "batch_size: 16" in result.stdout and "restore_best: true" in result.stdout  # defaults filled in
    assert "class balance" in result.stdout and "total" in result.stdout  # data report and model summary
    assert ": ok, `nntrain fit" in result.stderr and "ok" not in result.stdout.splitlines()[-1]
    assert not (tmp_path / "run").exists()  # nothing written

    missing_column = cli("check", config, "--set", "data.target=nope")
    assert missing_column.returncode == 3 and "nope" in missing_column.stderr


def test_check_refuses_a_config_whose_run_directory_is_taken(cli, blobs_config, tmp_path):
    config = blobs_config(epochs=1)
    assert cli("fit", config, "-q").returncode == 0
    result = cli("check", config)
    assert result.returncode == 2 and "already holds a run" in result.stderr


def test_config_prints_yaml_on_stdout_as_written_or_resolved(cli, blobs_config):
    config = blobs_config()
    written = yaml.safe_load(cli("config", config, "--set", "optimizer.lr=0.5").stdout)
    assert written["optimizer"]["lr"] == 0.5 and "engine" not in written
    resolved = yaml.safe_load(cli("config", config, "--resolved").stdout)
    assert resolved["engine"] == {"dtype": "float32", "threads": None, "sync_batchnorm": False,
                                 "collective_timeout": 600.0} and resolved["training"]["checkpoint"]["every"] == 1


def test_schema_validates_every_example_config_and_rejects_broken_ones(repo):
    import jsonschema

    from nntrain.config.json_schema import config_schema
    from nntrain.config.loading import read_config_file

    jsonschema.Draft7Validator.check_schema(config_schema())  # the draft editors' YAML support implements
    validator = jsonschema.Draft7Validator(config_schema())
    examples = sorted((repo / "configs").glob("*.yaml"))
    assert len(examples) >= 5
    for path in examples:
        data, _ = read_config_file(str(path))
        assert list(validator.iter_errors(data)) == [], path
        assert path.read_text().startswith("# yaml-language-server: $schema=../nntrain.schema.json")
    broken = {"data": {"train": "x.csv"}, "model": {"layers": [{"type": "dense", "units": -3}]}}
    assert not validator.is_valid(broken)
    assert not validator.is_valid({"data": {"train": "x.csv"}, "optimizer": {"type": "adam", "lrr": 0.1}})
    assert not validator.is_valid({"data": {"train": "x.csv"}, "trainning": {}})
    assert not validator.is_valid({"data": {"train": "d/", "image": {"size": [8, 8, 3]}}})
    shorthand = {"data": {"train": "x.csv"}, "loss": "mse", "optimizer": {"lr": 0.1, "schedule": "cosine"},
                 "training": {"stopping": {"patience": 3}}}
    assert validator.is_valid(shorthand)


def test_schema_describes_every_field_and_the_committed_copy_is_current(real_cli, repo):
    result = real_cli("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert json.loads((repo / "nntrain.schema.json").read_text()) == schema, "run `make docs`"
    for name, definition in [("Config", schema), *schema["$defs"].items()]:
        for key, field in definition.get("properties", {}).items():
            assert field.get("description"), f"{name}.{key} has no description"
    assert schema["$defs"]["Training"]["properties"]["checkpoint"]["default"] == {"every": 1, "keep": 0}


def test_runs_lists_two_runs_with_their_best_metrics(real_cli, blobs_config, tmp_path):
    config = blobs_config(epochs=3)
    for name, lr in (("first", 0.05), ("second", 0.001)):
        assert real_cli("fit", config, "-q", "--set", f"output.dir={tmp_path / 'all' / name}",
                   "--set", f"optimizer.lr={lr}").returncode == 0
    listed = real_cli("runs", tmp_path / "all", "--json")
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert [run["run"].rsplit("/", 1)[-1] for run in runs] == ["first", "second"]
    for run in runs:
        summary = json.loads((tmp_path / "all" / run["run"].rsplit("/", 1)[-1] / "summary.json").read_text())
        assert run["best_value"] == summary["best_value"] and run["monitor"] == "val_loss"
        assert run["epochs"] == 3 and run["stop_reason"].startswith("reached the epoch limit")
    assert runs[0]["best_value"] != runs[1]["best_value"]
    table = real_cli("runs", tmp_path / "all")
    assert "first" in table.stdout and f"val_loss {runs[0]['best_value']:.4g} @" in table.stdout
    assert real_cli("runs", tmp_path / "nowhere").returncode == 2


def test_logs_carry_iso_timestamps(cli, blobs_config, tmp_path):
    assert cli("fit", blobs_config(epochs=2), "-q").returncode == 0
    stamps = [json.loads(line)["time"] for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    pattern = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d"
    assert len(stamps) == 2 and all(re.fullmatch(pattern, stamp) for stamp in stamps + [summary["started"]])


def test_resume_auto_without_output_dir_continues_the_newest_run(cli, blobs_config, tmp_path):
    config = tmp_path / "blobs.yaml"
    text = blobs_config(epochs=2).read_text().replace(f"output: {{dir: {tmp_path / 'run'}}}", "")
    config.write_text(text)
    assert cli("fit", config, "-q", cwd=tmp_path).returncode == 0
    result = cli("fit", config, "--resume", "auto", "--force", "--set", "training.epochs=4", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    [run] = list((tmp_path / "runs").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    log = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert summary["epochs_run"] == 4
    assert summary["started"] == log[0]["time"]  # the first session's start, not the resume's
    assert summary["train_seconds"] == pytest.approx(sum(row["seconds"] for row in log), abs=0.01)
    assert summary["seconds"] >= summary["train_seconds"]  # the wall time of both sessions


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_ends_with_examples(cli, command):
    result = cli(*command.split(), "--help")
    assert result.returncode == 0
    text = result.stdout
    assert "Examples:" in text and text.index("Examples:") > text.index("--help")  # after the options
    examples = text.split("Examples:")[-1]
    assert f"nntrain {command}" in examples


def test_piped_help_is_plain_text_with_the_rich_helps_content_and_imports_no_rich(repo):
    """Typer's Rich help imports Rich's Markdown and traceback renderers, most of `--help`'s time: piped, the
    help is Click's plain text, listing each command's whole first paragraph and the install hints unescaped."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "nntrain", "--help"], capture_output=True,
                            text=True, cwd=repo, timeout=120)
    assert result.returncode == 0
    imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines() if "|" in line}
    assert {"rich", "rich.markdown", "typer.rich_utils"}.isdisjoint(imported)
    text = " ".join(result.stdout.split())
    assert "╭" not in text and "\\" not in text
    assert ("prepare Prepare a table bigger than memory in streaming passes into float32 arrays that fit and eval "
            "memory-map (data.train may name the directory); prints the directory. plot") in text
    assert "as PNG (needs: pip install 'nntrain[plot]')" in text and "'nntrain[sweep]'" in text


@pytest.mark.parametrize("group", ["", "sweep"])
def test_a_group_without_arguments_prints_its_help_on_stdout_and_exits_2(real_cli, group):
    result = real_cli(*group.split())
    assert result.returncode == 2 and result.stderr == ""
    assert result.stdout.startswith(f"Usage: nntrain {group} [OPTIONS] COMMAND".replace("  ", " "))


@pytest.mark.parametrize("command,extra", [("plot", "as PNG (needs: pip install 'nntrain[plot]')"),
                                           ("fit", "mpiexec (needs nntrain[mpi])")])
def test_help_on_a_terminal_is_drawn_by_rich_with_the_extras_brackets(repo, command, extra):
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "nntrain", command, "--help"], stdout=terminal,
                               stderr=terminal, cwd=repo, env={**os.environ, "COLUMNS": "100"})
    os.close(terminal)
    output = b""
    try:
        while chunk := os.read(controller, 65536):
            output += chunk
    except OSError:  # the terminal closes when the process ends
        pass
    os.close(controller)
    assert process.wait(timeout=120) == 0
    text = re.sub(r"\x1b\[[0-9;]*m", "", output.decode())
    assert "╭─ Options" in text and extra in " ".join(text.replace("│", " ").split())


@pytest.mark.parametrize("name", ["iris.yaml", "penguins.yaml", "digits.yaml"])
def test_resolved_config_round_trips_through_check(cli, repo, tmp_path, name):
    resolved = cli("config", f"configs/{name}", "--resolved", "--set", f"output.dir={tmp_path / 'run'}")
    assert resolved.returncode == 0
    (tmp_path / "r.yaml").write_text(resolved.stdout)
    result = cli("check", tmp_path / "r.yaml", "-q")
    assert result.returncode == 0, result.stderr


def test_a_config_with_a_validation_file_round_trips_and_its_run_config_checks(cli, blobs_csv, write, tmp_path):
    config = write("v.yaml", f"""
        data: {{train: {blobs_csv}, validation: {blobs_csv}, target: label}}
        training: {{epochs: 1}}
        output: {{dir: {tmp_path / 'run'}}}
        """)
    (tmp_path / "r.yaml").write_text(cli("config", config, "--resolved").stdout)
    assert cli("check", tmp_path / "r.yaml", "-q").returncode == 0
    assert cli("fit", config, "-q").returncode == 0
    saved = cli("check", tmp_path / "run" / "config.yaml", "-q", "--set", f"output.dir={tmp_path / 'other'}")
    assert saved.returncode == 0, saved.stderr


def test_runs_of_one_config_never_share_a_directory_and_resume_auto_matches_the_name_exactly(
        cli, blobs_config, tmp_path, monkeypatch):
    from nntrain.run import directory as runs

    monkeypatch.chdir(tmp_path)
    first, second = runs.new_run_dir("a/iris.yaml"), runs.new_run_dir("a/iris.yaml")  # the same second
    assert first != second and first.is_dir() and second.is_dir()
    assert second.name == f"{first.name}-2"
    (tmp_path / "runs" / "iris-deep-29991231-235959").mkdir()  # another config whose name starts alike
    assert runs.newest_run_dir("iris.yaml") == second


def test_check_refuses_an_output_dir_that_cannot_be_created(cli, blobs_config, tmp_path):
    (tmp_path / "afile").write_text("")
    for target in ("afile", "afile/sub"):
        result = cli("check", blobs_config(), "--set", f"output.dir={tmp_path / target}")
        assert result.returncode == 2 and "afile" in result.stderr and "is a file" in result.stderr


def test_runs_survives_damaged_and_unfinished_runs(cli, blobs_config, tmp_path):
    assert cli("fit", blobs_config(epochs=2), "-q", "--set", f"output.dir={tmp_path / 'all/ok'}").returncode == 0
    damaged = tmp_path / "all" / "damaged"
    damaged.mkdir()
    (damaged / "summary.json").write_text("[1, 2]")
    (damaged / "metrics.jsonl").write_text('{"epoch": 1, "loss": 0.5, "seconds": 2.0, "time": "yesterday"}\n')
    result = cli("runs", tmp_path / "all", "--json")
    assert result.returncode == 0, result.stderr
    listed = {run["run"].rsplit("/", 1)[-1]: run for run in json.loads(result.stdout)}
    assert listed["damaged"]["status"] == "failed" and listed["damaged"]["epochs"] == 1  # no checkpoint to resume
    assert "summary.json is unreadable" in result.stderr
    table = cli("runs", tmp_path / "all")
    assert table.returncode == 0 and "damaged" in table.stdout and "failed" in table.stdout
    single = json.loads(cli("runs", tmp_path / "all" / "ok", "--json").stdout)
    assert [run["status"] for run in single] == ["finished"]


@pytest.mark.parametrize("text,code,message", [
    ("a\n1\n2\n", 3, "single column"),
    ("a,y\n" + "".join(f"{i},p\n" for i in range(30)), 3, "single value"),
    ("a,y\n1,p\n2,q\n", 3, "at least 20"),
])
def test_init_refuses_data_it_cannot_build_a_config_for(cli, tmp_path, text, code, message):
    (tmp_path / "d.csv").write_text(text)
    result = cli("init", "--data", tmp_path / "d.csv")
    assert result.returncode == code and message in result.stderr and result.stdout == ""


def test_init_reads_every_row_and_sees_through_missing_markers(cli, tmp_path):
    rng = np.random.default_rng(0)
    rows = 12_000
    frame = pd.DataFrame({"a": rng.normal(size=rows).round(3).astype(object), "b": rng.normal(size=rows).round(3),
                          "empty": np.nan, "note": [f"free text {i}" for i in range(rows)],
                          "y": rng.integers(0, 2, rows)})
    frame.loc[::10, "a"] = "?"
    frame.loc[11_500, "b"] = np.nan  # a gap only near the end
    frame.to_csv(tmp_path / "d.csv", index=False)
    config = tmp_path / "d.yaml"
    assert cli("init", "--data", tmp_path / "d.csv", "-o", config).returncode == 0
    steps = {step["type"]: step for step in yaml.safe_load(config.read_text())["data"]["pipeline"]}
    assert steps["drop"]["columns"] == ["empty"]
    assert steps["text"]["columns"] == ["note"]  # three words per value, all distinct: free text, tokenised
    assert "clean" in steps and "encode" not in steps  # `a` is numbers with "?" markers, not categories
    assert cli("check", config, "-q").returncode == 0


def test_init_on_tiny_images_adds_only_pooling_that_fits(cli, tmp_path):
    from PIL import Image

    for label in ("a", "b"):
        (tmp_path / "img" / label).mkdir(parents=True)
        for index in range(12):
            Image.new("L", (40, 1), color=index * 10 + (100 if label == "b" else 0)).save(
                tmp_path / "img" / label / f"{index}.png")
    config = tmp_path / "i.yaml"
    assert cli("init", "--data", tmp_path / "img", "-o", config).returncode == 0
    layers = [layer["type"] for layer in yaml.safe_load(config.read_text())["model"]["layers"]]
    assert "maxpool2d" not in layers
    assert cli("check", config, "-q").returncode == 0


def test_a_single_class_image_folder_is_a_data_error(real_cli, tmp_path, write):
    from PIL import Image

    (tmp_path / "img" / "only").mkdir(parents=True)
    for index in range(5):
        Image.new("L", (4, 4)).save(tmp_path / "img" / "only" / f"{index}.png")
    config = write("c.yaml", f"data: {{train: {tmp_path / 'img'}}}\noutput: {{dir: {tmp_path / 'run'}}}\n")
    result = real_cli("check", config)
    assert result.returncode == 3 and "single class folder" in result.stderr
    assert real_cli("init", "--data", tmp_path / "img").returncode == 3


@pytest.mark.parametrize("override", [{"seed": True}, {"training": {"epochs": "10"}},
                                      {"training": {"shuffle": "yes"}}, {"optimizer": {"lr": "0.01"}}])
def test_schema_and_validation_agree_on_types(override):
    import jsonschema

    from nntrain.config.json_schema import config_schema
    from nntrain.config.loading import validate_config
    from nntrain.errors import ConfigError

    data = {"data": {"train": "x.csv", "target": "y"}, **override}
    assert not jsonschema.Draft7Validator(config_schema()).is_valid(data)
    with pytest.raises(ConfigError):
        validate_config(data, "c.yaml")


@pytest.mark.parametrize("seconds,shown", [(3.21, "3.2s"), (185, "3m 05s"), (7620, "2h 07m"), (None, "-")])
def test_durations_read_at_a_glance(seconds, shown):
    from nntrain.commands.display import human_duration

    assert human_duration(seconds) == shown
