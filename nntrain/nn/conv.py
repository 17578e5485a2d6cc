"""Image layers on NHWC batches: convolution and pooling, looping over kernel offsets, never over pixels."""

import numpy as np

from nntrain.nn.layer import Layer, WeightedLayer
from nntrain.nn.windows import im2col, im2col_by_offset, offset_slices, output_size, padding_amounts, pair


def _image_shape(input_shape: tuple[int, ...], kind: str) -> tuple[int, int, int]:
    if len(input_shape) != 3:
        raise ValueError(f"{kind} needs image input (height, width, channels), got shape {tuple(input_shape)}")
    return input_shape


class Conv2D(WeightedLayer):
    """2-D convolution of NHWC images as one matrix product: y = act(im2col(x)·W + b).

    W has shape (kh, kw, C_in, filters), the same order as an im2col row, so the
    product is cols (N·Ho·Wo, kh·kw·C_in) · W (kh·kw·C_in, filters). With g = dL/dz
    as an (N·Ho·Wo, filters) matrix:
      dW = colsᵀ·g,  db = Σ g,  dcols = g·Wᵀ,  dx = col2im(dcols), cropped to the unpadded input.
    col2im adds each kernel offset's columns back onto the pixels they were copied from; dcols is
    computed one offset at a time, g·W[i, j]ᵀ, so each add reads a contiguous block (see benchmarks/).
    Inputs whose window rows are short (kw·C_in ≤ SHORT_ROW values: first layers on gray or two-channel
    images) are gathered offset by offset instead (`im2col_by_offset`); the products give the same bits.
    """

    SHORT_ROW = 9  # measured: offset-major wins for 3x3 on 1-3 channels and 5x5 on 1, loses from 3x3 on 4

    def __init__(self, filters: int, kernel: int | list[int], stride: int | list[int] = 1,
                 padding: str | int = "valid", activation: str = "linear", alpha: float | None = None,
                 init: str | None = None, l1: float = 0.0, l2: float = 0.0):
        super().__init__(activation, alpha, init, l1, l2)
        self.filters = filters
        self.kernel = pair(kernel, "kernel")
        self.stride = pair(stride, "stride")
        self.padding = padding

    def plan(self, input_shape):
        height, width, channels = _image_shape(input_shape, "conv2d")
        (kh, kw), (sh, sw) = self.kernel, self.stride
        self._pads = (padding_amounts(height, kh, sh, self.padding), padding_amounts(width, kw, sw, self.padding))
        padded = (height + sum(self._pads[0]), width + sum(self._pads[1]))
        if padded[0] < kh or padded[1] < kw:
            raise ValueError(f"conv2d kernel {kh}x{kw} does not fit its {padded[0]}x{padded[1]} input "
                             f"(padding {self.padding!r}); use a smaller kernel or padding: same")
        self._out = (output_size(padded[0], kh, sh), output_size(padded[1], kw, sw))
        self._padded_shape = padded
        self._slices = offset_slices(self.kernel, self.stride, self._out)
        self._offset_major = kw * channels <= self.SHORT_ROW
        outputs = self._out[0] * self._out[1] * self.filters
        self._plan_weights((kh, kw, channels, self.filters), kh * kw * channels, kh * kw * self.filters, outputs)
        return (*self._out, self.filters)

    def scratch_size(self):
        """The im2col rows (Ho·Wo windows of kh·kw·C_in values), and the activation's scratch."""
        kh, kw, channels, _ = self.param_shapes["W"]
        return self._out[0] * self._out[1] * kh * kw * channels + super().scratch_size()

    def forward(self, x, training):
        n = len(x)
        kernel_w = self.params["W"]
        window = kernel_w[..., 0].size  # kh·kw·C_in values
        if self._offset_major:
            cols = im2col_by_offset(self._pad(x), self._slices, np.empty((*kernel_w.shape[:3], n, *self._out),
                                                                         dtype=x.dtype)).reshape(window, -1).T
        else:
            cols = im2col(self._pad(x), self.kernel, self.stride,
                          np.empty((n, *self._out, *kernel_w.shape[:3]), dtype=x.dtype)).reshape(-1, window)
        self._cols = cols if training else None  # the (N·Ho·Wo, kh·kw·C_in) matrix, either layout
        z = cols @ kernel_w.reshape(window, self.filters)
        z = z.reshape(-1, self._out[1] * self.filters)  # rows of Wo·filters: long strides, fast even for few filters
        z += np.tile(self.params["b"], self._out[1])
        return self.act.forward(z.reshape(n, *self._out, self.filters))

    def backward(self, grad_y):
        g = self.act.backward(grad_y).reshape(-1, self.filters)
        cols = self._cols
        np.matmul(cols.T, g, out=self.grads["W"].reshape(cols.shape[1], self.filters))
        by_column = g.reshape(-1, self._out[1] * self.filters).sum(axis=0)  # as in forward: rows of Wo·filters
        np.sum(by_column.reshape(-1, self.filters), axis=0, out=self.grads["b"])
        if not self.input_grad:
            return None
        kernel_w = self.params["W"]
        n, channels = len(grad_y), kernel_w.shape[2]
        dx = np.zeros((n, *self._padded_shape, channels), dtype=g.dtype)
        dcols = np.empty((len(g), channels), dtype=g.dtype)
        for (i, j), rows, columns in self._slices:
            np.matmul(g, kernel_w[i, j].T, out=dcols)
            dx[:, rows, columns] += dcols.reshape(n, *self._out, channels)
        (top, bottom), (left, right) = self._pads
        return dx[:, top:dx.shape[1] - bottom, left:dx.shape[2] - right]

    def _pad(self, x):
        (top, bottom), (left, right) = self._pads
        if not (top or bottom or left or right):
            return x
        padded = np.zeros((len(x), *self._padded_shape, x.shape[3]), dtype=x.dtype)
        padded[:, top:top + x.shape[1], left:left + x.shape[2]] = x
        return padded


class _Pool2D(Layer):
    """Shared shape logic of pooling: size×size windows every `stride` pixels, whole windows only."""

    kind = ""

    def __init__(self, size: int | list[int], stride: int | list[int] | None = None):
        super().__init__()
        self.size = pair(size, "size")
        self.stride = self.size if stride is None else pair(stride, "stride")

    def plan(self, input_shape):
        height, width, channels = _image_shape(input_shape, self.kind)
        (ph, pw), (sh, sw) = self.size, self.stride
        if height < ph or width < pw:
            raise ValueError(f"{self.kind} window {ph}x{pw} does not fit its {height}x{width} input")
        out = (output_size(height, ph, sh), output_size(width, pw, sw))
        self._slices = offset_slices(self.size, self.stride, out)
        self._disjoint = sh >= ph and sw >= pw  # each input pixel is in at most one window
        return (*out, channels)

    def _scatter(self, dx, rows, columns, values):
        """Route one window offset's gradient to its pixels: added where windows overlap, written where not."""
        if self._disjoint:
            dx[:, rows, columns] = values
        else:
            dx[:, rows, columns] += values


class MaxPool2D(_Pool2D):
    """Maximum of each window; the gradient goes to the input that held it (the first one on ties).

    Forward keeps, per output, the index of the winning offset in the window (a small integer
    array); backward routes dy to that offset, one offset at a time, adding where windows overlap.
    """

    kind = "maxpool2d"

    def forward(self, x, training):
        (_, rows, columns), *rest = self._slices
        y = x[:, rows, columns].copy()
        # Offsets are visited in increasing order, so the offset that last raised the running maximum,
        # max(winner, index·[window > y]), is the first one holding the window's maximum.
        winner = np.zeros(y.shape, dtype=np.min_scalar_type(len(self._slices) - 1))
        window, raised, candidate = np.empty_like(y), np.empty(y.shape, dtype=bool), np.empty_like(winner)
        for index, (_, rows, columns) in enumerate(rest, start=1):
            np.copyto(window, x[:, rows, columns])  # one strided read; the rest runs on contiguous arrays
            np.greater(window, y, out=raised)
            np.multiply(raised, winner.dtype.type(index), out=candidate)
            np.maximum(winner, candidate, out=winner)
            np.maximum(y, window, out=y)
        self._winner, self._input_shape = winner, x.shape
        return y

    def backward(self, grad_y):
        if not self.input_grad:
            return None
        dx = np.zeros(self._input_shape, dtype=grad_y.dtype)
        for index, (_, rows, columns) in enumerate(self._slices):
            self._scatter(dx, rows, columns, grad_y * (self._winner == index))
        return dx


class AvgPool2D(_Pool2D):
    """Mean of each window; each input gets dy / (ph·pw) from every window that contains it."""

    kind = "avgpool2d"

    def forward(self, x, training):
        (_, rows, columns), *rest = self._slices
        y = x[:, rows, columns].copy()
        for _, rows, columns in rest:
            y += x[:, rows, columns]
        y *= x.dtype.type(1 / len(self._slices))
        self._input_shape = x.shape
        return y

    def backward(self, grad_y):
        if not self.input_grad:
            return None
        share = grad_y * grad_y.dtype.type(1 / len(self._slices))
        dx = np.zeros(self._input_shape, dtype=grad_y.dtype)
        for _, rows, columns in self._slices:
            self._scatter(dx, rows, columns, share)
        return dx


class GlobalAvgPool(Layer):
    """Mean of each channel over the whole image, (N, H, W, C) -> (N, C); dx = dy / (H·W) at every pixel."""

    def plan(self, input_shape):
        return (_image_shape(input_shape, "global_avgpool")[2],)

    def forward(self, x, training):
        self._input_shape = x.shape
        return x.mean(axis=(1, 2))

    def backward(self, grad_y):
        if not self.input_grad:
            return None
        n, height, width, channels = self._input_shape
        dx = np.empty(self._input_shape, dtype=grad_y.dtype)
        dx[...] = (grad_y * grad_y.dtype.type(1 / (height * width)))[:, None, None, :]
        return dx
