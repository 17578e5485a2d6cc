"""`nntrain eval`: loss and metrics of a trained model on held-out or new labelled rows."""

import json
import sys
from nntrain.commands.display import Display
from nntrain.commands.runs import evaluate_split
from nntrain.commands.saved_run import open_run
from nntrain.data.image_folders import prepare_labelled_images
from nntrain.data.tables import read_csv
from nntrain.data.tabular import prepare_inference
from nntrain.errors import ConfigError


def evaluate(run: str, data: str | None, display: Display, as_json: bool = False) -> dict:
    saved = open_run(run)
    if data is None:
        held_out = saved.path.parent / "test.csv"
        if not held_out.exists():
            raise ConfigError(f"{run} has no held-out test split (data.split.test was 0); "
                              "pass a labelled CSV to evaluate on: nntrain eval RUN DATA")
        data = str(held_out)
    display.note(f"evaluating {saved.path} (epoch {saved.meta.get('epoch')}) on {data}")
    source = "standard input" if data == "-" else data
    if saved.images:
        x, y, notes = prepare_labelled_images(data, saved.data, saved.model.dtype)
    else:
        frame = read_csv(data, key="DATA", narrow=saved.data.get("float32_inputs", []), keep_empty=True)
        x, y, notes, _ = prepare_inference(frame, saved.data, source=source, with_target=True,
                                           dtype=saved.model.dtype)
    for note in notes:
        display.note(note)
    loss, metrics, confusion = evaluate_split(saved.model, saved.loss, x, y, saved.target)
    result = {"checkpoint": str(saved.path), "data": source, "rows": int(len(x)), "loss": loss, "metrics": metrics}
    if confusion is not None:
        result["confusion_matrix"] = {"labels": saved.target["classes"], "matrix": confusion.tolist()}
    if as_json:
        sys.stdout.write(json.dumps(result) + "\n")
    else:
        _show(result, display)
    return result


def _show(result: dict, display: Display) -> None:
    from rich.table import Table

    display.note(f"{result['rows']} rows")
    table = Table()
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("loss", f"{result['loss']:.4f}")
    for name, value in result["metrics"].items():
        table.add_row(name, f"{value:.4f}")
    display.show(table)
    if "confusion_matrix" in result:
        labels = result["confusion_matrix"]["labels"]
        display.note("confusion matrix (rows: true class, columns: predicted class)")
        matrix = Table()
        matrix.add_column("")
        for label in labels:
            matrix.add_column(label, justify="right")
        for label, row in zip(labels, result["confusion_matrix"]["matrix"]):
            matrix.add_row(label, *map(str, row))
        display.show(matrix)
