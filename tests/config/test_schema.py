"""Cross-key rules of the schema, through the real CLI."""

import pytest
import yaml


@pytest.fixture
def cli(cli_in_process):
    """In the test process: these tests are about what the schema command and validation say (see `cli_in_process`)."""
    return cli_in_process


def _config(write, blobs_csv, tmp_path):
    """A config as `nntrain init` writes it: with an explicit split."""
    return write("c.yaml", f"""
        data:
          train: {blobs_csv}
          target: label
          split: {{validation: 0.2, test: 0.1}}
        training: {{epochs: 1}}
        output: {{dir: {tmp_path / 'run'}}}
        """)


def test_a_test_file_is_accepted_beside_a_zero_test_fraction(cli, write, blobs_csv, tmp_path):
    config = _config(write, blobs_csv, tmp_path)
    result = cli("check", config, "-q", "--set", f"data.test={blobs_csv}", "--set", "data.split.test=0")
    assert result.returncode == 0, result.stderr
    resolved = cli("config", config, "--resolved", "--set", f"data.test={blobs_csv}", "--set", "data.split.test=0")
    assert "test" not in yaml.safe_load(resolved.stdout)["data"]["split"]
    (tmp_path / "r.yaml").write_text(resolved.stdout)
    assert cli("check", tmp_path / "r.yaml", "-q").returncode == 0  # the resolved config validates back


def test_a_test_file_beside_a_nonzero_fraction_says_what_to_do(cli, write, blobs_csv, tmp_path):
    result = cli("check", _config(write, blobs_csv, tmp_path), "--set", f"data.test={blobs_csv}")
    assert result.returncode == 2
    assert "data (line 1, with --set data.test): data.test is a file, so no test rows are split off data.train: " \
           "remove data.split.test or set it to 0 (e.g. --set data.split.test=0)" in result.stderr
