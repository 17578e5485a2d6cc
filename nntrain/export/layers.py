"""The network as ONNX nodes: each layer and activation of nntrain/nn by its registry name, for inference.

Tensors stay NHWC, as in nntrain; convolution and pooling transpose to ONNX's NCHW and back
(onnxruntime removes the pairs that cancel). Dropout is the identity at inference and adds
nothing; batchnorm's running statistics fold into one scale and shift per channel.
"""

import numpy as np

from nntrain.errors import ConfigError
from nntrain.export.graph import Graph
from nntrain.nn.activations import ALPHA_DEFAULTS
from nntrain.nn.conv import AvgPool2D, Conv2D, GlobalAvgPool, MaxPool2D
from nntrain.nn.embedding import EmbeddingBag
from nntrain.nn.layers import ActivationLayer, BatchNorm, Dense, Dropout, Flatten
from nntrain.nn.model import Model
from nntrain.nn.windows import padding_amounts

TO_NCHW, TO_NHWC = [0, 3, 1, 2], [0, 2, 3, 1]


def _gelu(graph: Graph, x: str, dtype) -> str:
    """x·Φ(x), Φ(x) = 0.5·(1 + erf(x/√2)); opset 17 has Erf but not Gelu."""
    scaled = graph.add("Mul", [x, graph.constant(np.sqrt(0.5), dtype=dtype)])
    cdf = graph.add("Mul", [graph.add("Add", [graph.add("Erf", [scaled]), graph.constant(1, dtype=dtype)]),
                            graph.constant(0.5, dtype=dtype)])
    return graph.add("Mul", [x, cdf])


def _gelu_tanh(graph: Graph, x: str, dtype) -> str:
    """0.5·x·(1 + tanh(c·(x + 0.044715·x³))), c = √(2/π)."""
    cube = graph.add("Mul", [graph.add("Mul", [x, x]), x])
    inner = graph.add("Add", [x, graph.add("Mul", [cube, graph.constant(0.044715, dtype=dtype)])])
    t = graph.add("Tanh", [graph.add("Mul", [inner, graph.constant(np.sqrt(2 / np.pi), dtype=dtype)])])
    half = graph.add("Mul", [x, graph.constant(0.5, dtype=dtype)])
    return graph.add("Mul", [half, graph.add("Add", [t, graph.constant(1, dtype=dtype)])])


ACTIVATION_NODES = {
    "linear": lambda graph, x, dtype, alpha: x,
    "relu": lambda graph, x, dtype, alpha: graph.add("Relu", [x]),
    "leaky_relu": lambda graph, x, dtype, alpha: graph.add("LeakyRelu", [x], alpha=float(alpha)),
    "elu": lambda graph, x, dtype, alpha: graph.add("Elu", [x], alpha=float(alpha)),
    "gelu": lambda graph, x, dtype, alpha: _gelu(graph, x, dtype),
    "gelu_tanh": lambda graph, x, dtype, alpha: _gelu_tanh(graph, x, dtype),
    "sigmoid": lambda graph, x, dtype, alpha: graph.add("Sigmoid", [x]),
    "tanh": lambda graph, x, dtype, alpha: graph.add("Tanh", [x]),
    "softmax": lambda graph, x, dtype, alpha: graph.add("Softmax", [x], axis=-1),
}


def activation_nodes(graph: Graph, x: str, layer, dtype) -> str:
    name = layer.activation_name
    if name not in ACTIVATION_NODES:
        raise ConfigError(f"export: activation {name!r} has no ONNX form; it cannot be exported")
    alpha = getattr(layer.act, "alpha", ALPHA_DEFAULTS.get(name))
    return ACTIVATION_NODES[name](graph, x, dtype, alpha)


def _dense(graph: Graph, x: str, layer: Dense, dtype, shape) -> str:
    z = graph.add("Gemm", [x, graph.constant(layer.params["W"], "W"), graph.constant(layer.params["b"], "b")])
    return activation_nodes(graph, z, layer, dtype)


def _conv(graph: Graph, x: str, layer: Conv2D, dtype, shape) -> str:
    """Conv on (height, width, channels) input `shape`, padded as nntrain pads (`padding_amounts`)."""
    (kh, kw), (sh, sw) = layer.kernel, layer.stride
    top, bottom = padding_amounts(shape[0], kh, sh, layer.padding)
    left, right = padding_amounts(shape[1], kw, sw, layer.padding)
    kernel = np.ascontiguousarray(layer.params["W"].transpose(3, 2, 0, 1))  # (kh, kw, C, F) -> (F, C, kh, kw)
    z = graph.add("Conv", [graph.add("Transpose", [x], perm=TO_NCHW), graph.constant(kernel, "W"),
                           graph.constant(layer.params["b"], "b")],
                  kernel_shape=list(layer.kernel), strides=list(layer.stride), pads=[top, left, bottom, right])
    return activation_nodes(graph, graph.add("Transpose", [z], perm=TO_NHWC), layer, dtype)


def _pool(op: str):
    def nodes(graph: Graph, x: str, layer, dtype, shape) -> str:
        y = graph.add(op, [graph.add("Transpose", [x], perm=TO_NCHW)], kernel_shape=list(layer.size),
                      strides=list(layer.stride))
        return graph.add("Transpose", [y], perm=TO_NHWC)
    return nodes


def _batchnorm(graph: Graph, x: str, layer: BatchNorm, dtype, shape) -> str:
    """y = x·a + c with a = γ/√(var + ε) and c = β − mean·a, on the last axis (features or channels)."""
    var, mean = layer.buffers["running_var"].astype(np.float64), layer.buffers["running_mean"].astype(np.float64)
    scale = layer.params["gamma"] / np.sqrt(var + layer.epsilon)
    shift = layer.params["beta"] - mean * scale
    return graph.add("Add", [graph.add("Mul", [x, graph.constant(scale, "scale", dtype)]),
                             graph.constant(shift, "shift", dtype)])


def _embedding_bag(graph: Graph, x: str, layer, dtype, shape) -> str:
    """Unreachable after the text step's refusal (nntrain.export.pipeline), stated here so the registry is whole."""
    raise ConfigError("export: embedding_bag reads the text step's token ids, which have no ONNX form; "
                      "it cannot be exported")


LAYER_NODES = {
    Dense: _dense,
    Dropout: lambda graph, x, layer, dtype, shape: x,
    BatchNorm: _batchnorm,
    ActivationLayer: lambda graph, x, layer, dtype, shape: activation_nodes(graph, x, layer, dtype),
    Flatten: lambda graph, x, layer, dtype, shape: graph.add("Flatten", [x], axis=1),
    Conv2D: _conv,
    MaxPool2D: _pool("MaxPool"),
    AvgPool2D: _pool("AveragePool"),
    GlobalAvgPool: lambda graph, x, layer, dtype, shape: graph.add("ReduceMean", [x], axes=[1, 2], keepdims=0),
    EmbeddingBag: _embedding_bag,
}

def network_nodes(graph: Graph, x: str, model: Model) -> str:
    """The model's layers in order, in evaluation mode, from tensor `x`; returns the raw outputs (logits)."""
    shapes = [model.input_shape, *model.shapes]  # each layer's input shape, without the batch axis
    for name, layer, shape in zip(model.names, model.layers, shapes):
        nodes = LAYER_NODES.get(type(layer))
        if nodes is None:
            raise ConfigError(f"export: layer {name} ({type(layer).__name__}) has no ONNX form; it cannot be exported")
        x = nodes(graph, x, layer, model.dtype, shape)
    return x
