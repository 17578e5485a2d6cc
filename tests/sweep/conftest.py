"""Sweep fixtures: a real, throw-away PostgreSQL server, a base config on the blobs data, sweep files beside it."""

import os
import shutil
import subprocess
import tempfile
import textwrap
from pathlib import Path

import pytest

SERVER_TIMEOUT = 300  # seconds for initdb, start and stop: generous, a loaded host is slow, never hung


def _postgres_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        pytest.fail("PostgreSQL's server is not installed (initdb, pg_ctl); `make test` installs Debian's postgresql "
                    "package, or run: apt-get install -y postgresql")
    return found[-1].parent


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL server in a temp dir, on a unix socket there (no TCP port), with an empty database `nntrain`.

    PostgreSQL refuses to run as root, so as root (CI) the server runs as the `postgres` user. Yields
    the database's URL; the server is stopped and its folder removed afterwards, whatever the tests did.
    """
    server = _postgres_bin()
    as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    root = Path(tempfile.mkdtemp(prefix="nntrain-pg-"))  # short: a socket path must fit in 107 bytes
    data = root / "data"

    def run(*command):
        result = subprocess.run([*as_owner, *map(str, command)], capture_output=True, text=True,
                                timeout=SERVER_TIMEOUT)
        assert result.returncode == 0, f"{command[0]} failed:\n{result.stdout}\n{result.stderr}"

    started = False
    try:
        if as_owner:
            shutil.chown(root, "postgres")
        run(server / "initdb", "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8")
        run(server / "pg_ctl", "-D", data, "-l", root / "server.log", "-w", "-t", SERVER_TIMEOUT,
            "-o", f"-k {root} -c listen_addresses='' -F", "start")
        started = True
        run(server / "createdb", "-h", root, "-U", "postgres", "nntrain")
        yield f"postgresql://postgres@/nntrain?host={root}"
    finally:
        if started:
            subprocess.run([*as_owner, str(server / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                           capture_output=True, timeout=SERVER_TIMEOUT)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def base_config(write, blobs_csv):
    """A base config on blobs.csv: a tiny network, a few epochs; `training` adds keys to its training section,
    `extra` is appended as YAML."""

    def make(epochs: int = 3, training: str = "", extra: str = "", name: str = "blobs.yaml") -> Path:
        return write(name, textwrap.dedent(f"""
            seed: 1
            data:
              train: {blobs_csv}
              target: label
              pipeline: [{{type: normalize}}]
            model:
              layers:
                - {{type: dense, units: 8, activation: relu}}
            optimizer: {{type: adam, lr: 0.05}}
            training: {{epochs: {epochs}, batch_size: 32{", " + training if training else ""}}}
            """) + textwrap.dedent(extra))

    return make


@pytest.fixture
def sweep_file(write, tmp_path):
    """A sweep file over `base`, its trials in tmp_path/sweep; `body` is the rest of the file (space, sampler...)."""

    def make(base: Path, body: str, name: str = "blobs.sweep.yaml") -> Path:
        return write(name, f"base: {base}\ndir: {tmp_path / 'sweep'}\n" + textwrap.dedent(body).lstrip("\n"))

    return make
