"""`nntrain data`: run the data preparation without training and report what it did."""

import json
import sys

from nntrain.commands.display import Display
from nntrain.commands.session import load_training_data
from nntrain.config import load_config
from nntrain.words import counted

FATES = {"kept": "kept", "dropped": "dropped", "empty": "empty"}  # dropped by a drop step; by clean, empty


def data_report(config_path: str, display: Display, overrides: list[str] = (), as_json: bool = False) -> dict:
    config, _ = load_config(config_path, list(overrides))
    data = load_training_data(config)
    report = {**data.report, "notes": data.notes}
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        show_report(report, display)
    return report


def show_report(report: dict, display: Display) -> None:
    from rich.table import Table

    unit = "image" if "image_size" in report else "row"
    read = ", ".join(f"{report['sources'][name]}: {counted(rows, unit)}" for name, rows in report["rows_read"].items())
    used = ", ".join(f"{name} {rows}" for name, rows in report["rows_used"].items())
    display.note(f"read {read}; task {report['task']}; {unit}s used: {used}")
    if "image_size" in report:
        height, width = report["image_size"]
        display.note(f"images: {height}x{width} pixels, {counted(report['channels'], 'channel')}; "
                     f"{counted(report['skipped'], 'unreadable file')} skipped")
    else:
        _show_columns(report, display)
    _show_rest(report, display)


def _show_columns(report: dict, display: Display) -> None:
    from rich.table import Table

    columns = Table(title="columns", title_justify="left")
    for heading in ("column", "kind", "missing", "after", "distinct", "fate", "notes"):
        columns.add_column(heading, justify="right" if heading in ("missing", "after", "distinct") else "left",
                           no_wrap=heading in ("kind", "fate"))
    for profile in report["columns"]:
        columns.add_row(profile["column"], profile["kind"], str(profile["missing"]),
                        "-" if profile["missing_after"] is None else str(profile["missing_after"]),
                        "many" if profile["distinct"] is None else str(profile["distinct"]), _fate(profile),
                        _column_notes(profile))
    display.show(columns)


def _show_rest(report: dict, display: Display) -> None:
    from rich.table import Table

    steps = Table(title="pipeline", title_justify="left")
    steps.add_column("step")
    steps.add_column("rows dropped", justify="right")
    for index, (step, dropped) in enumerate(report["dropped_by_step"]):
        steps.add_row(f"{index + 1}. {step}", str(dropped))
    if report["dropped_by_step"]:
        display.show(steps)

    if "class_balance" in report:
        balance = Table(title="class balance", title_justify="left")
        balance.add_column("class")
        splits = [name for name, counts in report["class_balance"].items() if sum(counts.values())]
        for name in splits:
            balance.add_column(name, justify="right")
        for label in next(iter(report["class_balance"].values())):
            balance.add_row(label, *(str(report["class_balance"][name][label]) for name in splits))
        display.show(balance)

    features = report["features"]
    if features:
        shown = ", ".join(features[:12]) + (f", ... ({len(features) - 12} more)" if len(features) > 12 else "")
        display.note(f"{counted(len(features), 'feature')}: {shown}")
        leaks = {pair: n for pair, n in report["leaks"].items() if n}
        display.note("leak check: " + (", ".join(f"{pair} {n}" for pair, n in leaks.items()) if leaks else
                                       "no rows shared between splits"))
    for note in report["notes"]:
        display.note(f"note: {note}")


def _fate(profile: dict) -> str:
    if profile["fate"] == "encoded":
        return f"encoded ({profile['encoded_into']})"
    return FATES[profile["fate"]]


def _column_notes(profile: dict) -> str:
    notes = []
    if profile.get("constant"):
        notes.append("constant")
    if profile.get("text_values"):
        notes.append(counted(profile["text_values"], "text value"))
    if profile.get("top"):
        notes.append("e.g. " + ", ".join(profile["top"][:3]))
    return "; ".join(notes)
