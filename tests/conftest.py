"""Shared fixtures: the real `nntrain` entry point as a subprocess, and small generated data files."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
# A generous bound on any one command, for a hung process only: a busy 2-core host can make a
# few-second command take a minute, and CI must not go red because the host is loaded.
TIMEOUT = float(os.environ.get("NNTRAIN_TEST_TIMEOUT", 900))


def _entry_point() -> list[str]:
    script = Path(sys.executable).parent / "nntrain"
    return [str(script)] if script.exists() else [sys.executable, "-m", "nntrain"]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shell_command() -> str:
    """The entry point as a shell word, for real pipelines."""
    return " ".join(_entry_point())


def nntrain(*args, input: str | bytes | None = None, cwd: Path | None = None, env: dict | None = None,
            timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run `nntrain ARGS...` as a subprocess (from the repo root unless `cwd` is given)."""
    environment = {**os.environ, "NO_COLOR": "1", **(env or {})}
    environment.pop("NNTRAIN_DEBUG", None)
    return subprocess.run([*_entry_point(), *map(str, args)], input=input, capture_output=True,
                          text=not isinstance(input, bytes), cwd=cwd or REPO, env=environment, timeout=timeout)


@pytest.fixture
def cli():
    """Run `nntrain ARGS...` as a subprocess (from the repo root unless `cwd` is given)."""
    return nntrain


@pytest.fixture
def real_cli():
    """`cli` under a name that modules running `cli` in process (see `cli_in_process`) can still reach: their tests
    that keep a command's exit code through the real entry point."""
    return nntrain


def nntrain_in_process(*args, input: str | None = None, cwd: Path | None = None, env: dict | None = None,
                       timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """`nntrain ARGS...` in this process (Typer's CliRunner), in `cwd` (default the repo root) and back; returned
    as `nntrain` returns it. A call whose `env` sets a PYTHON* variable (PYTHONPATH hiding or adding a package)
    runs as a subprocess: only a new interpreter reads those."""
    from typer.testing import CliRunner

    from nntrain.cli import app

    if any(key.startswith("PYTHON") for key in env or {}):
        return nntrain(*args, input=input, cwd=cwd, env=env, timeout=timeout)
    here = os.getcwd()
    os.chdir(cwd or REPO)
    try:
        result = CliRunner().invoke(app, [str(arg) for arg in args], input=input, prog_name="nntrain",
                                    env={"NO_COLOR": "1", "NNTRAIN_DEBUG": None, **(env or {})},
                                    catch_exceptions=False)
    finally:
        os.chdir(here)
    return subprocess.CompletedProcess(["nntrain", *map(str, args)], result.exit_code, result.stdout, result.stderr)


@pytest.fixture(scope="session")
def cli_in_process():
    """Run `nntrain ARGS...` inside the test process: the same commands, exit codes, stdout and stderr as `cli`,
    returned the same way, without a new interpreter importing NumPy, pandas and the config schema again (about a
    second of CPU a call, most of the suite's time).

    For tests about what a command says, writes and returns. Tests about the process itself (signals, pipes, the
    environment, terminals, locks held by another process) use `cli`, and every command and exit code keeps
    tests through `cli` (tests/test_faults.py, tests/commands/test_cli.py and others).
    """
    return nntrain_in_process


@pytest.fixture(scope="session")
def example_run(tmp_path_factory):
    """`example_run(NAME)`: the run of `nntrain fit configs/NAME --set training.epochs=2`, trained once and shared.

    Shared because training the examples is among the slowest things the suite does, and the examples' own test,
    the ONNX export tests, the README's serving example and `nntrain data`'s no-skew check only read the run.
    Tests using it are marked `xdist_group("examples")` so that under `--dist loadgroup` one worker trains each
    example once. Read only: copy a run before changing it.
    """
    runs: dict[str, Path] = {}

    def run_of(name: str) -> Path:
        if name not in runs:
            run = tmp_path_factory.mktemp(name.removesuffix(".yaml")) / "run"
            fitted = nntrain("fit", f"configs/{name}", "--set", "training.epochs=2", "--set", f"output.dir={run}")
            assert fitted.returncode == 0, fitted.stderr
            runs[name] = run
        return runs[name]

    return run_of


@pytest.fixture
def write(tmp_path):
    """Write a text file under tmp_path (dedented) and return its path."""

    def write_file(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    return write_file


@pytest.fixture
def blobs_csv(tmp_path) -> Path:
    """Three well-separated classes in two features: any working classifier gets them right."""
    rng = np.random.default_rng(0)
    centers = np.array([[0.0, 0.0], [5.0, 5.0], [0.0, 6.0]])
    labels = np.repeat(["a", "b", "c"], 40)
    points = centers[np.repeat([0, 1, 2], 40)] + rng.normal(0, 0.6, (120, 2))
    frame = pd.DataFrame({"x1": points[:, 0].round(4), "x2": points[:, 1].round(4), "label": labels})
    path = tmp_path / "blobs.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture
def blobs_config(write, blobs_csv, tmp_path):
    """A quick classification config on blobs.csv, writing its run to tmp_path/run."""

    def make(extra: str = "", epochs: int = 20) -> Path:
        return write("blobs.yaml", f"""
            seed: 1
            data:
              train: {blobs_csv}
              target: label
              pipeline:
                - {{type: normalize}}
            model:
              layers:
                - {{type: dense, units: 8, activation: relu}}
            optimizer: {{type: adam, lr: 0.05}}
            training:
              epochs: {epochs}
              batch_size: 16
            output: {{dir: {tmp_path / 'run'}}}
            """ + textwrap.dedent(extra))

    return make


def _pattern(kind: int, rng) -> np.ndarray:
    """An 8x8 grayscale picture of class `kind`: a horizontal bar, a vertical bar, or a diagonal."""
    image = rng.integers(0, 40, (8, 8))
    offset = rng.integers(2, 6)
    if kind == 0:
        image[offset, :] = 255
    elif kind == 1:
        image[:, offset] = 255
    else:
        image[np.arange(8), np.arange(8)] = 255
    return image.astype(np.uint8)


@pytest.fixture
def image_folder(tmp_path):
    """bars/{horizontal,vertical,diagonal}/*.png (15 each), plus four bad files that must be skipped."""
    from PIL import Image

    rng = np.random.default_rng(0)
    root = tmp_path / "bars"
    for kind, name in enumerate(["horizontal", "vertical", "diagonal"]):
        (root / name).mkdir(parents=True)
        for index in range(15):
            Image.fromarray(_pattern(kind, rng), mode="L").save(root / name / f"{index:02d}.png")
    good = (root / "diagonal" / "00.png").read_bytes()
    (root / "diagonal" / "truncated.png").write_bytes(good[: len(good) // 2])
    (root / "vertical" / "notes.png").write_text("this is not an image")
    (root / "vertical" / "empty.png").write_bytes(b"")
    (root / "horizontal" / "readme.txt").write_text("hello")
    return root


@pytest.fixture
def image_config(write, image_folder, tmp_path):
    def make(extra: str = "") -> Path:
        return write("images.yaml", f"""
            seed: 0
            data:
              train: {image_folder}
              image: {{color: grayscale, size: [8, 8]}}
              split: {{validation: 0.2, test: 0.2}}
            model:
              layers:
                - {{type: flatten}}
                - {{type: dense, units: 16, activation: relu}}
            optimizer: {{lr: 0.01}}
            training: {{epochs: 30, batch_size: 8}}
            output: {{dir: {tmp_path / 'run'}}}
            """ + textwrap.dedent(extra))

    return make


@pytest.fixture(scope="session")
def header_only_png():
    """Bytes of a PNG that declares width x height pixels but holds almost no data (a decompression bomb)."""
    import struct
    import zlib

    def make(width: int, height: int) -> bytes:
        def chunk(kind, data):
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))

    return make


def rewrite_meta(source: Path, change, target: Path | None = None) -> Path:
    """Rewrite a checkpoint's meta.json (the array checksums do not cover it), e.g. as an older nntrain wrote it."""
    import json
    import zipfile

    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    meta = json.loads(members["meta.json"])
    change(meta)
    members["meta.json"] = json.dumps(meta).encode()
    target = target or source
    with zipfile.ZipFile(target, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return target


@pytest.fixture(scope="session")
def rewrite_checkpoint_meta():
    return rewrite_meta
