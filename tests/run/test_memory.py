"""Models and images too big for this machine are refused up front with the estimate (exit 2), not a MemoryError."""

import json
import re

import pytest


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what check and fit say about memory (see `cli_in_process`)."""
    return cli_in_process


HUGE = "model.layers=[{type: dense, units: 50000000000}]"  # 1e11 weights on two features: terabytes


def test_check_and_fit_refuse_a_model_that_cannot_fit_and_summary_still_shows_it(cli, blobs_config, tmp_path):
    for command in ("check", "fit"):
        result = cli(command, blobs_config(), "--set", HUGE)
        assert result.returncode == 2, result.stderr
        assert re.search(r"training this model \(300,000,000,003 parameters, batches of 16\) needs about [\d.]+ TB, "
                         r"but only [\d.]+ [GMT]B of memory is available; make the model smaller", result.stderr)
        assert "MemoryError" not in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "run").exists()
    shown = cli("summary", blobs_config(), "--set", HUGE, "--json")
    assert shown.returncode == 0, shown.stderr
    table = json.loads(shown.stdout)
    assert table["trainable_parameters"] == 300_000_000_003
    assert table["memory_bytes"]["training"] > 3e12 and table["memory_bytes"]["prediction"] > 1e12


def test_images_too_big_to_decode_are_refused_before_decoding(cli, image_config):
    result = cli("check", image_config(), "--set", "data.image.size=[60000, 60000]")
    assert result.returncode == 2, result.stderr
    assert re.search(r"decoding 49 images at 60000x60000x1 needs about [\d.]+ GB, but only .* is available; "
                     r"set a smaller data.image.size", result.stderr)


def test_an_address_space_limit_counts_as_the_memory_available(cli, blobs_config):
    import resource

    def limit():  # as `ulimit -v` or `prlimit --as` would
        resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, resource.RLIM_INFINITY))

    import subprocess
    import sys
    from pathlib import Path

    result = subprocess.run([str(Path(sys.executable).parent / "nntrain"), "check", str(blobs_config()),
                             "--set", "model.layers=[{type: dense, units: 100000000}]"], capture_output=True, text=True,
                            preexec_fn=limit)
    assert result.returncode == 2, result.stderr
    assert "training this model (600,000,003 parameters" in result.stderr
    assert re.search(r"but only [0-3]\.\d GB of memory is available", result.stderr)  # not the machine's 24 GB
