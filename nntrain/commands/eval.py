"""`nntrain eval`: loss and metrics of a trained model on held-out or new labelled rows."""

import json
import sys

from nntrain.commands.display import Display, Table
from nntrain.run.api import load
from nntrain.words import counted

MAX_CONFUSION_CLASSES = 20  # a larger confusion matrix is unreadable as a table; --json has it whole


def evaluate(run: str, data: str | None, display: Display, as_json: bool = False) -> dict:
    opened = load(run, progress=display.reporter())
    saved = opened.saved
    display.note(f"evaluating {saved.path} (epoch {saved.meta.get('epoch')}) on "
                 f"{data or saved.path.parent / 'test.csv'}")
    result = opened.evaluate(data)
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        _show(result, display)
    return result


def _show(result: dict, display: Display) -> None:
    table = Table(["metric", "value"], title=f"{counted(result['rows'], 'row')} of {result['data']}", right=(1,))
    table.add("loss", f"{result['loss']:.4f}")
    for name, value in result["metrics"].items():
        table.add(name, f"{value:.4f}")
    display.result(table)
    if "confusion_matrix" not in result:
        return
    labels = result["confusion_matrix"]["labels"]
    if len(labels) > MAX_CONFUSION_CLASSES:
        display.note(f"confusion matrix of {len(labels)} classes left out of the table; `--json` has it")
        return
    matrix = Table(["", *labels], title="confusion matrix (rows: true class, columns: predicted class)",
                   right=tuple(range(1, len(labels) + 1)))
    for label, row in zip(labels, result["confusion_matrix"]["matrix"]):
        matrix.add(label, *row)
    display.result(matrix)
