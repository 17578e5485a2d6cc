"""nntrain/extras.py: one way to import an optional extra, or to say how to install it."""

import sys

import pytest

from nntrain.errors import ConfigError
from nntrain.extras import require


def test_require_returns_the_module():
    assert require("json", "none", "this", "json") is sys.modules["json"]


def test_a_missing_extra_is_exit_2_with_the_install_line_alone(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    with pytest.raises(ConfigError) as raised:
        require("pyarrow", "parquet", "data.train: t.parquet is a Parquet table; reading it", "pyarrow")
    assert str(raised.value).splitlines() == [
        "data.train: t.parquet is a Parquet table; reading it needs pyarrow, an optional extra; install it with:",
        "pip install 'nntrain[parquet]'"]
    assert raised.value.exit_code == 2
