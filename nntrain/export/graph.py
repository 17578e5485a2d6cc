"""An ONNX graph under construction: nodes and constants added in order, tensor names made unique.

Every pipeline step and layer adds its nodes through `Graph.add`, and its fitted numbers
through `Graph.constant`; `Graph.model` assembles the ModelProto at the opset and IR
version nntrain promises (see the README's "Export and serve").
"""

import numpy as np

OPSET = 17      # onnxruntime 1.13 (2022) and later run it
ML_OPSET = 3    # ai.onnx.ml: LabelEncoder for categories
IR_VERSION = 8  # the IR version of opset 17


class Graph:
    """Nodes, constants, inputs and outputs of one model; `onnx` is the module, imported by the caller."""

    def __init__(self, onnx):
        self.onnx = onnx
        self.nodes, self.constants, self.inputs, self.outputs = [], [], [], []
        self._taken: set[str] = set()
        self._count = 0

    def name(self, hint: str) -> str:
        """A fresh tensor name; internal names start with '/' so they never meet a column's name."""
        self._count += 1
        return self._claim(f"/{hint}/{self._count}")

    def _claim(self, name: str) -> str:
        if name in self._taken:
            raise ValueError(f"tensor name {name!r} used twice")
        self._taken.add(name)
        return name

    def input(self, name: str, element: int, shape: list) -> str:
        self.inputs.append(self.onnx.helper.make_tensor_value_info(self._claim(name), element, shape))
        return name

    def output(self, tensor: str, name: str, element: int, shape: list) -> None:
        """Expose `tensor` as the graph output `name`."""
        self.add("Identity", [tensor], output=self._claim(name))
        self.outputs.append(self.onnx.helper.make_tensor_value_info(name, element, shape))

    def constant(self, value, hint: str = "const", dtype=None) -> str:
        array = np.asarray(value, dtype=dtype)
        name = self.name(hint)
        self.constants.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def add(self, op: str, inputs: list[str], output: str | None = None, domain: str = "", **attributes) -> str:
        """One node with one output; returns the output's name."""
        output = output or self.name(op)
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [output], name=output, domain=domain, **attributes))
        return output

    def model(self, doc: str):
        helper = self.onnx.helper
        graph = helper.make_graph(self.nodes, "nntrain", self.inputs, self.outputs, initializer=self.constants)
        model = helper.make_model(graph, producer_name="nntrain", doc_string=doc, ir_version=IR_VERSION,
                                  opset_imports=[helper.make_opsetid("", OPSET),
                                                 helper.make_opsetid("ai.onnx.ml", ML_OPSET)])
        self.onnx.checker.check_model(model, full_check=True)
        return model
