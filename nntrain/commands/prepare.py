"""`nntrain prepare`: fit a config's data preparation on a table in streaming passes and write the prepared arrays."""

import json

from nntrain.commands.display import Display
from nntrain.run.api import prepare as prepare_data


def prepare(config_path: str, output: str | None, overrides: list[str], display: Display) -> None:
    folder = prepare_data(config_path, output, overrides=overrides, progress=display.reporter())
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    rows = ", ".join(f"{name} {count}" for name, count in manifest["rows"].items())
    display.note(f"prepared {folder}: rows {rows}; train on it with data.train: {folder}")
    display.result_text(str(folder))
