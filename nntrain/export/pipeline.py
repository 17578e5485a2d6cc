"""The fitted data pipeline as ONNX nodes: raw columns in, the model's feature matrix out.

Columns are carried by name, as the pipeline's frame carries them, so each step touches only
the columns it names and the features are gathered at the end in the order training used.
Numbers are computed in double, as the pipeline does. A text column is its raw string input
and a pending value map (raw text -> its value after the steps so far; None is missing): clean
and encode only ever map values to values, so the map is composed in Python and becomes one
LabelEncoder when the column is encoded. Missing text is the empty string, any marker of a
clean step, or a text pandas reads as missing (NA, null...), as `nntrain predict` reads a CSV.

Steps that only change the rows of training data (dedupe, clean's row drops) add no nodes: a
row that predict refuses (a missing value no step fills) gives NaN features.
"""

from dataclasses import dataclass, field

import numpy as np
from pandas._libs.parsers import STR_NA_VALUES  # what read_csv reads as missing; predict reads CSVs with it

from nntrain.errors import ConfigError
from nntrain.export.graph import Graph


@dataclass
class Column:
    """A column of the frame: a graph tensor of shape [N, 1], double, or string with a pending value map."""

    tensor: str
    text: bool = False
    values: dict = field(default_factory=dict)  # text only: raw value -> value now (None: missing); else itself


def _remap(values: dict, change: dict) -> dict:
    """The value map after `change` (current value -> new value, None for missing) is applied too."""
    changed = {raw: change.get(now, now) for raw, now in values.items()}
    changed.update({raw: new for raw, new in change.items() if raw is not None and raw not in values})
    return changed


def missing_text() -> dict:
    return {text: None for text in sorted(STR_NA_VALUES | {""})}


def _clean(graph: Graph, columns: dict, state: dict, spec: dict, onnx) -> list[str]:
    double = onnx.TensorProto.DOUBLE
    for name in state.get("empty", ()):
        columns.pop(name, None)
    for name, kind in state["kinds"].items():
        if name in columns and columns[name].text != (kind == "categorical"):
            raise ConfigError(f"export: clean treats column {name!r} as {kind} after an earlier step made it "
                              f"{'text' if columns[name].text else 'numbers'}; this cannot be exported")
        if name in columns and columns[name].text:
            columns[name].values = _remap(columns[name].values, {marker: None for marker in state["markers"]})
    for name in state["indicators"]:
        if name not in columns:
            continue
        column = columns[name]
        if column.text:
            missing = [raw for raw, now in column.values.items() if now is None]
            flag = graph.add("LabelEncoder", [column.tensor], domain="ai.onnx.ml", keys_strings=missing,
                             values_floats=[1.0] * len(missing), default_float=0.0)
        else:
            flag = graph.add("IsNaN", [column.tensor])
        columns[f"{name}_missing"] = Column(graph.add("Cast", [flag], to=double))
    for name, value in state["fill"].items():
        if name not in columns or value is None:
            continue
        column = columns[name]
        if column.text:
            column.values = _remap(column.values, {None: str(value)})
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"export: clean fills numeric column {name!r} with {value!r}, which is no number; "
                              "this cannot be exported") from None
        column.tensor = graph.add("Where", [graph.add("IsNaN", [column.tensor]),
                                            graph.constant([[number]], "fill", np.float64), column.tensor])
    if any(strategy == "drop" for strategy in state["strategy"].values()):
        return ["clean drops rows with a missing value only while training: in the model such a value stays "
                "missing, and the row gets NaN probabilities and an empty prediction (predict refuses it)"]
    return []


def _codes(graph: Graph, column: Column, categories: list[str], double: int) -> str:
    """Category index per row as double: 0..K-1, -1 outside the categories, NaN when missing."""
    index = {category: float(i) for i, category in enumerate(categories)}
    mapped = {raw: np.nan if now is None else index.get(now, -1.0) for raw, now in column.values.items()}
    keys = list(mapped) + [category for category in categories if category not in mapped]
    codes = graph.add("LabelEncoder", [column.tensor], domain="ai.onnx.ml", keys_strings=keys,
                      values_floats=[mapped.get(key, index.get(key)) for key in keys], default_float=-1.0)
    return graph.add("Cast", [codes], to=double)


def _encode(graph: Graph, columns: dict, state: dict, spec: dict, onnx) -> list[str]:
    double = onnx.TensorProto.DOUBLE
    for name, column_state in state["columns"].items():
        if name not in columns:
            continue
        column = columns.pop(name)
        if not column.text:
            raise ConfigError(f"export: encode of numeric column {name!r} cannot be exported: predict matches its "
                              "categories as text written from the numbers of each file; encode only text columns")
        codes = _codes(graph, column, column_state["categories"], double)
        if state["method"] == "ordinal":
            columns[name] = Column(codes)
            continue
        zero = graph.add("Mul", [codes, graph.constant([[0.0]], "zero", np.float64)])  # NaN when missing, else 0
        tests = [(f"{name}={category}", "Equal", float(i)) for i, category in enumerate(column_state["categories"])]
        if column_state["other"]:
            tests.append((f"{name}=other", "Less", 0.0))
        for feature, op, value in tests:
            hit = graph.add("Cast", [graph.add(op, [codes, graph.constant([[value]], "code", np.float64)])],
                            to=double)
            columns[feature] = Column(graph.add("Add", [hit, zero]))
    return []


def _normalize(graph: Graph, columns: dict, state: dict, spec: dict, onnx) -> list[str]:
    for name, center, scale in zip(state["columns"], state["center"], state["scale"]):
        if name not in columns:
            continue
        column = columns[name]
        if column.text:
            raise ConfigError(f"export: normalize of text column {name!r} cannot be exported")
        shifted = graph.add("Sub", [column.tensor, graph.constant([[center]], "center", np.float64)])
        scaled = graph.add("Div", [shifted, graph.constant([[scale]], "scale", np.float64)])
        column.tensor = graph.add("Add", [scaled, graph.constant([[state["offset"]]], "offset", np.float64)])
    return []


def _drop(graph: Graph, columns: dict, state: dict, spec: dict, onnx) -> list[str]:
    for name in state["columns"]:
        columns.pop(name, None)
    return []


def _dates(graph: Graph, columns: dict, state: dict, spec: dict, onnx) -> list[str]:
    raise ConfigError("export: pipeline step 'dates' cannot be exported: parsing dates from text needs operators "
                      "standard ONNX does not have; to export, give the model the date parts as numeric columns "
                      "made before nntrain, and leave the dates step out")


def _training_only(graph: Graph, columns: dict, state: dict, spec: dict, onnx) -> list[str]:
    return [f"{spec['type']} only changes the rows of training data; left out of the model by design"]


def _text(graph: Graph, columns: dict, state: dict, spec: dict, onnx) -> list[str]:
    raise ConfigError(f"export: the text step (column {', '.join(map(repr, state['columns']))}) cannot be exported: "
                      "ONNX's standard operators have no Unicode word tokeniser or stable string hash; use "
                      "nntrain predict for this model")


STEP_NODES = {
    "clean": _clean,
    "dedupe": _training_only,
    "encode": _encode,
    "normalize": _normalize,
    "drop": _drop,
    "dates": _dates,
    "text": _text,
}


def pipeline_nodes(graph: Graph, columns: dict[str, Column], data: dict, onnx) -> tuple[str, list[str]]:
    """Replay the fitted steps on `columns`; returns the [N, features] double tensor and notes on what was left out."""
    notes = []
    for spec, state in zip(data["pipeline"]["steps"], data["pipeline"]["states"]):
        nodes = STEP_NODES.get(spec["type"])
        if nodes is None:
            raise ConfigError(f"export: pipeline step {spec['type']!r} has no ONNX form; it cannot be exported")
        notes += nodes(graph, columns, state, spec, onnx)
    text = [name for name in data["features"] if columns[name].text]
    if text:
        raise ConfigError(f"export: feature {text[0]!r} is still text when it reaches the model; "
                          "this cannot be exported")
    return graph.add("Concat", [columns[name].tensor for name in data["features"]], axis=1), notes
