"""The model's outputs from its raw outputs (logits), per task: what `nntrain predict` writes, as tensors.

classification: `prediction` (string [N], the class name; empty for a row with a NaN output)
                and `probabilities` ([N, classes], in the order of the checkpoint's classes)
multilabel:     `prediction` (int64 [N, labels], 0/1) and `probabilities` ([N, labels])
regression:     `prediction` ([N, targets]) in the targets' own units
"""

import numpy as np

from nntrain.export.graph import Graph


def _class_scores(graph: Graph, logits: str, activation: str, dtype) -> tuple[str, str]:
    """(probabilities, class index): softmax and argmax of the logits, or for one sigmoid unit [1 − p, p]
    and p > 0.5 (logit > 0), as `nntrain.train.metrics.predicted_classes` decides."""
    if activation == "softmax":
        return graph.add("Softmax", [logits], axis=-1), graph.add("ArgMax", [logits], axis=1, keepdims=0)
    p = graph.add("Sigmoid", [logits])
    probabilities = graph.add("Concat", [graph.add("Sub", [graph.constant([[1]], "one", dtype), p]), p], axis=1)
    flat = graph.add("Reshape", [logits, graph.constant([-1], "shape", np.int64)])
    positive = graph.add("Greater", [flat, graph.constant([0], "zero", dtype)])
    return probabilities, graph.add("Cast", [positive], to=7)  # int64


def _classification(graph: Graph, logits: str, target: dict, activation: str, element: int, onnx) -> None:
    dtype = onnx.helper.tensor_dtype_to_np_dtype(element)
    probabilities, index = _class_scores(graph, logits, activation, dtype)
    labels = graph.add("Gather", [graph.constant(np.array(target["classes"], dtype=object), "classes"), index], axis=0)
    broken = graph.add("IsNaN", [graph.add("ReduceSum", [logits, graph.constant([1], "axis", np.int64)], keepdims=0)])
    label = graph.add("Where", [broken, graph.constant(np.array([""], dtype=object), "empty"), labels])
    graph.output(label, "prediction", onnx.TensorProto.STRING, ["N"])
    graph.output(probabilities, "probabilities", element, ["N", len(target["classes"])])


def _multilabel(graph: Graph, logits: str, target: dict, activation: str, element: int, onnx) -> None:
    dtype = onnx.helper.tensor_dtype_to_np_dtype(element)
    positive = graph.add("Greater", [logits, graph.constant([[0]], "zero", dtype)])
    width = len(target["columns"])
    graph.output(graph.add("Cast", [positive], to=onnx.TensorProto.INT64), "prediction", onnx.TensorProto.INT64,
                 ["N", width])
    graph.output(graph.add("Sigmoid", [logits]), "probabilities", element, ["N", width])


def _regression(graph: Graph, logits: str, target: dict, activation: str, element: int, onnx) -> None:
    """values·scale + center in double (exp for a log transform), as `decode_regression` does."""
    double = onnx.TensorProto.DOUBLE
    values = graph.add("Cast", [logits], to=double)
    values = graph.add("Add", [graph.add("Mul", [values, graph.constant([target["scale"]], "scale", np.float64)]),
                               graph.constant([target["center"]], "center", np.float64)])
    if target["transform"] == "log":
        values = graph.add("Exp", [values])
    graph.output(graph.add("Cast", [values], to=element), "prediction", element, ["N", len(target["columns"])])


TASK_OUTPUTS = {
    "classification": _classification,
    "multilabel": _multilabel,
    "regression": _regression,
}
