"""The README's "Checkpoint layout" is what a fresh checkpoint holds: every meta.json key documented, nothing
documented that is not there, every array named by a documented pattern."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nntrain.train.checkpoint import FORMAT, VERSION, read_checkpoint_meta


def documented(repo) -> dict[str, dict[str, str]]:
    """The layout section's tables, by their first header: {"array": {pattern: text}, "key": ..., "step": ...}."""
    readme = (repo / "README.md").read_text()
    start = readme.index("\n### Checkpoint layout\n")
    text = readme[start:readme.index("\n### ", start + 1)] + "\n\n"
    tables = {}
    for block in re.findall(r"\n(\| \w+ \|.*?)\n\n", text, re.S):
        lines = block.splitlines()
        header = lines[0].split("|")[1].strip()
        rows = tables.setdefault(header, {})
        for line in lines[2:]:
            cells = [cell.strip() for cell in line.split("|")[1:-1]]
            rows[cells[0].strip("`")] = cells[1]
    return tables


@pytest.fixture(scope="module")
def checkpoints(repo, tmp_path_factory):
    """A table run whose pipeline has every step and whose model has batchnorm, and an image run."""
    folder = tmp_path_factory.mktemp("layout")
    images = folder / "images"
    for index, name in enumerate(["dark", "light"]):
        (images / name).mkdir(parents=True)
        for i in range(8):
            pixels = np.full((4, 4), 40 + 150 * index + i, dtype=np.uint8)
            Image.fromarray(pixels, mode="L").save(images / name / f"{i}.png")
    script = str(Path(sys.executable).parent / "nntrain")
    runs = {
        "table": ["configs/penguins.yaml", "--set",
                  "data.pipeline=[{type: clean, missing: median, indicator: true}, {type: dedupe}, "
                  "{type: drop, columns: [year]}, {type: dates}, {type: normalize}, {type: encode}]",
                  "--set", "model.layers=[{type: dense, units: 4}, {type: batchnorm}, {type: dropout, rate: 0.1}]"],
        "images": [str(folder / "images.yaml")],
    }
    (folder / "images.yaml").write_text(f"data: {{train: {images}, image: {{color: grayscale, size: [4, 4], "
                                        "normalize: true}, split: {validation: 0.25, test: 0}}\n"
                                        "model: {layers: [{type: flatten}]}\n")
    for name, args in runs.items():
        result = subprocess.run([script, "fit", *args, "--set", "training.epochs=1", "--set",
                                 f"output.dir={folder / name}"], capture_output=True, text=True, cwd=repo)
        assert result.returncode == 0, result.stderr
    return {f"{name}/{kind}": read_checkpoint_meta(folder / name / f"{kind}.npz")
            for name in runs for kind in ("best", "last")}


def test_documented_meta_keys_are_the_keys_of_a_checkpoint(repo, checkpoints):
    keys = documented(repo)["key"]
    top = {key for key in keys if "." not in key}
    assert set().union(*(meta.keys() for meta in checkpoints.values())) == top
    assert "training" not in checkpoints["table/best"] and "training" in checkpoints["table/last"]
    nested = {key.split(".")[0]: set() for key in keys if "." in key}
    for key in keys:
        if "." in key:
            nested[key.split(".")[0]].add(key.split(".")[1])
    for section, names in nested.items():
        assert set().union(*(meta[section].keys() for meta in checkpoints.values())) == names


def test_documented_format_and_version_are_the_ones_written(repo, checkpoints):
    keys = documented(repo)["key"]
    assert keys["format"] == f'`"{FORMAT}"`' and keys["version"] == f"the format version, `{VERSION}`"
    assert all(meta["format"] == FORMAT and meta["version"] == VERSION for meta in checkpoints.values())


def test_every_array_is_named_by_a_documented_pattern(repo, checkpoints):
    patterns = {pattern: re.compile("^" + re.sub(r"<\w+>", r"[^/]+", re.escape(pattern).replace(r"\<", "<")
                                                 .replace(r"\>", ">")) + "$") for pattern in documented(repo)["array"]}
    used = set()
    for meta in checkpoints.values():
        for name, info in meta["arrays"].items():
            matching = [pattern for pattern, regex in patterns.items() if regex.match(name)]
            assert len(matching) == 1, name
            used.update(matching)
            assert set(info) == {"shape", "dtype", "sha256"}
    assert used == set(patterns)


def test_documented_step_states_are_the_states_of_each_step(repo, checkpoints):
    steps = documented(repo)["step"]
    pipeline = checkpoints["table/best"]["data"]["pipeline"]
    assert {spec["type"] for spec in pipeline["steps"]} == set(steps)
    for spec, state in zip(pipeline["steps"], pipeline["states"]):
        names = set(re.findall(r"`(\w+)`", re.sub(r"\(.*?\)", "", steps[spec["type"]])))  # not what is in (...)
        assert set(state) == names, spec["type"]
