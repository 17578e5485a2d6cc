"""`nntrain data`: run the data preparation without training and report what it did."""

import json
import sys

from nntrain.commands.display import Display, Table
from nntrain.config import load_config
from nntrain.run.data import load_training_data
from nntrain.words import counted


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
    """The report as tables and lines on stdout: it is what `nntrain data` (and `check`) is asked for."""
    unit = "image" if "image_size" in report else "row"
    read = ", ".join(f"{report['sources'][name]}: {counted(rows, unit)}" for name, rows in report["rows_read"].items())
    used = ", ".join(f"{name} {rows}" for name, rows in report["rows_used"].items())
    lines = [f"read {read}; task {report['task']}; {unit}s used: {used}"]
    if "image_size" in report:
        height, width = report["image_size"]
        lines.append(f"images: {height}x{width} pixels, {counted(report['channels'], 'channel')}; "
                     f"{counted(report['skipped'], 'unreadable file')} skipped")
    display.result_text("\n".join(lines))
    if "image_size" not in report:
        display.result(_columns(report))
    _show_rest(report, display)


def _columns(report: dict) -> Table:
    columns = Table(["column", "kind", "missing", "after", "distinct", "fate", "notes"], title="columns",
                    right=(2, 3, 4))
    for profile in report["columns"]:
        columns.add(profile["column"], profile["kind"], profile["missing"],
                    "-" if profile["missing_after"] is None else profile["missing_after"],
                    "many" if profile["distinct"] is None else profile["distinct"], _fate(profile),
                    _column_notes(profile))
    return columns


def _show_rest(report: dict, display: Display) -> None:
    if report["dropped_by_step"]:
        steps = Table(["step", "rows dropped"], title="pipeline", right=(1,))
        for index, (step, dropped) in enumerate(report["dropped_by_step"]):
            steps.add(f"{index + 1}. {step}", dropped)
        display.result(steps)

    if "class_balance" in report:
        splits = [name for name, counts in report["class_balance"].items() if sum(counts.values())]
        balance = Table(["class", *splits], title="class balance", right=tuple(range(1, len(splits) + 1)))
        for label in next(iter(report["class_balance"].values())):
            balance.add(label, *(report["class_balance"][name][label] for name in splits))
        display.result(balance)

    lines = []
    features = report["features"]
    if features:
        shown = ", ".join(features[:12]) + (f", ... ({len(features) - 12} more)" if len(features) > 12 else "")
        lines.append(f"{counted(len(features), 'feature')}: {shown}")
        leaks = {pair: n for pair, n in report["leaks"].items() if n}
        lines.append("leak check: " + (", ".join(f"{pair} {n}" for pair, n in leaks.items()) if leaks else
                                       "no rows shared between splits"))
    lines += [f"note: {note}" for note in report["notes"]]
    if lines:
        display.result_text("\n".join(lines))


def _fate(profile: dict) -> str:
    """kept, dropped (by a drop step), empty (dropped by clean), encoded into how many columns, or tokenized:
    the vocabulary's size (or hash buckets) and the mean tokens per training row."""
    if profile["fate"] == "tokenized":
        ids = f"{profile['hash_buckets']:,} hash buckets" if profile["hash_buckets"] else \
            f"vocabulary {profile['vocabulary']:,}"
        return f"tokenized ({ids}, {profile['tokens_per_row']:g} tokens per row)"
    return f"encoded ({profile['encoded_into']})" if profile["fate"] == "encoded" else profile["fate"]


def _column_notes(profile: dict) -> str:
    notes = []
    if profile.get("constant"):
        notes.append("constant")
    if profile.get("text_values"):
        notes.append(counted(profile["text_values"], "text value"))
    if profile["kind"] == "date":
        notes.append(f"{_moment(profile['first'])} to {_moment(profile['last'])}, {profile['parse_rate']:.0%} parse "
                     f"as {' or '.join(profile['formats'])}")
    if profile.get("top"):
        notes.append("e.g. " + ", ".join(profile["top"][:3]))
    return "; ".join(notes)


def _moment(iso: str) -> str:
    """An ISO date and time as short as it reads: '2024-03-01' at midnight, else '2024-03-01 07:15'."""
    moment = iso.removesuffix("T00:00:00").replace("T", " ")
    return moment.removesuffix(":00") if len(moment) == 19 else moment
