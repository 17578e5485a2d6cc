"""The config schema: every key a user can write, with its type, default and a one-line description.

This file is the single source of truth: validation, the README's config
reference and the JSON Schema are all generated from these models. The `type`
names of each kind match the engine's registries (a test checks they agree).
"""

from typing import Annotated, Literal, Union

from pydantic import (BaseModel, BeforeValidator, ConfigDict, Field, WithJsonSchema, field_validator,
                      model_validator)

from nntrain.data.clean import DEFAULT_MARKERS
from nntrain.data.dates import PARTS, check_format
from nntrain.nn.activations import ACTIVATIONS, ALPHA_DEFAULTS
from nntrain.nn.initializers import INITIALIZERS
from nntrain.resources import parse_size
from nntrain.train.stopping import DURATION, parse_duration

PositiveInt = Annotated[int, Field(gt=0)]
PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]
Fraction = Annotated[float, Field(ge=0, lt=1)]
Factor = Annotated[float, Field(gt=0, le=1)]
# A string in Annotated names what a mapping's keys or values are, for the reference ("mapping of column → ...").
Column = Annotated[str, "column"]


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _int_or_pair(value):
    if _positive_int(value) or (isinstance(value, list) and len(value) == 2 and all(map(_positive_int, value))):
        return value
    raise ValueError(f"must be a positive integer or a pair [height, width] of them, got {value!r}")


def _padding(value):
    if value in ("valid", "same") or (isinstance(value, int) and not isinstance(value, bool) and value >= 0):
        return value
    raise ValueError(f"must be valid, same or a number of pixels (an integer ≥ 0), got {value!r}")


# One message naming every accepted form, instead of one per member of the union.
WindowSize = Annotated[PositiveInt | Annotated[list[PositiveInt], Field(min_length=2, max_length=2)],
                       BeforeValidator(_int_or_pair)]
Padding = Annotated[Literal["valid", "same"] | Annotated[int, Field(ge=0)], BeforeValidator(_padding)]

# The engine's registries are the choices, so a new activation or initializer needs no edit here.
ActivationName = Literal[tuple(ACTIVATIONS)]
InitializerName = Literal[tuple(INITIALIZERS)]
Mode = Literal["auto", "min", "max"]


class Spec(BaseModel):
    """Base of every config section: unknown keys are errors, attribute docstrings are descriptions (read by
    nntrain.config.descriptions for the docs, not by pydantic as each model is built).

    Types are strict (a quoted "10" is not a number, `seed: true` is not a seed), as in the JSON Schema
    generated from these models; tests/config/test_json_schema.py lists what draft-07 cannot say.
    """

    model_config = ConfigDict(extra="forbid", validate_default=True, strict=True)


# ---------------------------------------------------------------- layers

class _Activated(Spec):
    """An activation and its slope, as the activation layer and the layers with a fused activation take them."""

    type: str  # first in a resolved config; each kind narrows it to its name
    activation: ActivationName = "linear"
    """Activation applied to the output."""
    alpha: float | None = None
    """Slope for `leaky_relu` (default 0.01) or scale for `elu` (default 1.0)."""

    @model_validator(mode="after")
    def _alpha_applies(self):
        if self.alpha is not None and self.activation not in ALPHA_DEFAULTS:
            raise ValueError(f"alpha only applies to {' and '.join(ALPHA_DEFAULTS)}, not {self.activation}")
        return self


class _WeightedLayer(_Activated):
    """What dense and conv2d layers share: the fused activation, the initialiser and per-layer penalties."""

    init: InitializerName | None = None
    """Weight initialiser; by default `he_normal` for relu, leaky_relu, elu and gelu, `xavier_uniform` otherwise
    (for conv2d, fan-in is kernel area × input channels)."""
    l1: NonNegativeFloat | None = None
    """L1 penalty on this layer's weights; default `regularization.l1`."""
    l2: NonNegativeFloat | None = None
    """L2 penalty on this layer's weights; default `regularization.l2`."""


class DenseLayer(_WeightedLayer):
    """Fully connected layer: `activation(x·W + b)`."""

    type: Literal["dense"]
    units: PositiveInt
    """Number of output units."""


class DropoutLayer(Spec):
    """Inverted dropout: zeroes a fraction of inputs in training, nothing at evaluation."""

    type: Literal["dropout"]
    rate: Fraction
    """Fraction of inputs to drop, in [0, 1)."""


class BatchNormLayer(Spec):
    """Batch normalisation over features (or image channels), with a learned scale and shift."""

    type: Literal["batchnorm"]
    momentum: Fraction = 0.9
    """Running statistics update: `running = momentum·running + (1 − momentum)·batch`."""
    epsilon: PositiveFloat = 1e-5
    """Added to the variance before the square root."""


class ActivationLayer(_Activated):
    """An activation as a layer of its own, e.g. after batchnorm."""

    type: Literal["activation"]
    activation: ActivationName
    """Which activation."""


class FlattenLayer(Spec):
    """Reshapes each sample to a vector."""

    type: Literal["flatten"]


class Conv2DLayer(_WeightedLayer):
    """2-D convolution over images (height, width, channels): `activation(conv(x, W) + b)`."""

    type: Literal["conv2d"]
    filters: PositiveInt
    """Number of output channels (feature maps)."""
    kernel: WindowSize
    """Window size: an integer for a square window, or `[height, width]`."""
    stride: WindowSize = 1
    """Step between windows: an integer, or `[down, across]`."""
    padding: Padding = "valid"
    """`valid`: windows inside the image only; `same`: zero-pad so the output is ceil(input / stride);
    or a number of zero pixels on every side."""


class _PoolLayer(Spec):
    """What the window pooling layers share."""

    type: str  # first in a resolved config; each kind narrows it to its name
    size: WindowSize
    """Window size: an integer for a square window, or `[height, width]`."""
    stride: WindowSize | None = None
    """Step between windows: an integer, or `[down, across]`; default `size` (windows side by side)."""


class MaxPool2DLayer(_PoolLayer):
    """Maximum over each window of every channel; only whole windows (a leftover edge is dropped)."""

    type: Literal["maxpool2d"]


class AvgPool2DLayer(_PoolLayer):
    """Mean over each window of every channel; only whole windows (a leftover edge is dropped)."""

    type: Literal["avgpool2d"]


class GlobalAvgPoolLayer(Spec):
    """Mean of each channel over the whole image: (height, width, channels) becomes (channels)."""

    type: Literal["global_avgpool"]


class EmbeddingBagLayer(Spec):
    """Mean (or sum) of learned embeddings of each row's tokens from the `text` step; must be the first layer.

    The other features pass through, followed by one `dim`-vector per text column (as fastText does)."""

    type: Literal["embedding_bag"]
    dim: PositiveInt
    """Size of each token's embedding (in mean mode, the units of a linear first layer over word frequencies)."""
    mode: Literal["mean", "sum"] = "mean"
    """`mean`: average of the row's token embeddings; `sum`: their sum (grows with the text's length)."""
    l1: NonNegativeFloat | None = None
    """L1 penalty on the embeddings; default `regularization.l1`."""
    l2: NonNegativeFloat | None = None
    """L2 penalty on the embeddings; default `regularization.l2`."""


Layer = Annotated[Union[DenseLayer, DropoutLayer, BatchNormLayer, ActivationLayer, FlattenLayer, Conv2DLayer,
                        MaxPool2DLayer, AvgPool2DLayer, GlobalAvgPoolLayer, EmbeddingBagLayer],
                  Field(discriminator="type")]


# ---------------------------------------------------------------- losses

class MSELoss(Spec):
    """Mean squared error (regression)."""

    type: Literal["mse"]


class MAELoss(Spec):
    """Mean absolute error (regression)."""

    type: Literal["mae"]


class HuberLoss(Spec):
    """Squared error below `delta`, absolute error above it (regression, robust to outliers)."""

    type: Literal["huber"]
    delta: PositiveFloat = 1.0
    """Where the loss turns from squared to linear, in training units (standardised targets by default)."""


class CrossEntropyLoss(Spec):
    """Softmax cross-entropy (classification); the softmax is fused into the loss."""

    type: Literal["cross_entropy"]
    label_smoothing: Fraction = 0.0
    """Mix this fraction of a uniform distribution into the one-hot targets."""


class BinaryCrossEntropyLoss(Spec):
    """Sigmoid cross-entropy on one output per label (binary or multi-label classification)."""

    type: Literal["binary_cross_entropy"]


LossSpec = Annotated[Union[MSELoss, MAELoss, HuberLoss, CrossEntropyLoss, BinaryCrossEntropyLoss],
                     Field(discriminator="type")]


# ---------------------------------------------------------------- schedules

class ConstantSchedule(Spec):
    """The optimizer's `lr` throughout."""

    type: Literal["constant"]


class StepSchedule(Spec):
    """Multiply the rate by `gamma` every `step_size` epochs."""

    type: Literal["step"]
    step_size: PositiveInt = 10
    """Epochs between reductions."""
    gamma: Factor = 0.1
    """Factor applied at each reduction."""


class ExponentialSchedule(Spec):
    """Multiply the rate by `gamma` after every epoch."""

    type: Literal["exponential"]
    gamma: Factor = 0.95
    """Factor applied per epoch."""


class CosineSchedule(Spec):
    """Linear warm-up, then cosine decay to `min_lr` at the last epoch."""

    type: Literal["cosine"]
    warmup_epochs: NonNegativeFloat = 0
    """Epochs of linear warm-up from 0 to `lr` (fractions allowed)."""
    min_lr: NonNegativeFloat = 0.0
    """Rate at the end of the decay."""


class OneCycleSchedule(Spec):
    """One-cycle policy with `lr` as the peak (as PyTorch's OneCycleLR)."""

    type: Literal["one_cycle"]
    pct_start: Annotated[float, Field(gt=0, lt=1)] = 0.3
    """Fraction of all steps spent rising to the peak."""
    div_factor: PositiveFloat = 25.0
    """Start rate is `lr / div_factor`."""
    final_div_factor: PositiveFloat = 1e4
    """End rate is the start rate divided by this."""


class _Watch(Spec):
    """What the plateau stopping rule and the plateau schedule share: the value they watch for improvement."""

    type: str  # first in a resolved config; each kind narrows it to its name
    monitor: str | None = None
    """Metric to watch; default `training.monitor`."""
    mode: Mode = "auto"
    """`min` or `max`; `auto` picks from the metric name (losses and errors min, scores max)."""
    min_delta: NonNegativeFloat = 0.0
    """Smallest change that counts as an improvement."""
    relative: bool = False
    """Read `min_delta` as a fraction of the best value instead of an absolute amount."""


class ReduceOnPlateauSchedule(_Watch):
    """Multiply the rate by `factor` when the monitored value stops improving."""

    type: Literal["reduce_on_plateau"]
    factor: Annotated[float, Field(gt=0, lt=1)] = 0.1
    """Factor applied at each reduction."""
    patience: PositiveInt = 5
    """Epochs without improvement before reducing."""
    min_lr: NonNegativeFloat = 0.0
    """Never reduce below this rate."""


ScheduleSpec = Annotated[Union[ConstantSchedule, StepSchedule, ExponentialSchedule, CosineSchedule,
                               OneCycleSchedule, ReduceOnPlateauSchedule], Field(discriminator="type")]


# ---------------------------------------------------------------- optimizers

class OptimizerBase(Spec):
    type: str
    """Optimizer name."""
    lr: PositiveFloat
    """Learning rate (the peak rate for `one_cycle`)."""
    schedule: ScheduleSpec = Field(default_factory=lambda: ConstantSchedule(type="constant"))
    """Learning-rate schedule (a name or a mapping with `type`)."""
    clip_norm: PositiveFloat | None = None
    """Rescale the gradient when its global L2 norm exceeds this."""
    clip_value: PositiveFloat | None = None
    """Clip every gradient element to ±this."""

    @field_validator("schedule", mode="before")
    @classmethod
    def _schedule_shorthand(cls, value):
        return {"type": value} if isinstance(value, str) else value


class SGDOptimizer(OptimizerBase):
    """Stochastic gradient descent, optionally with (Nesterov) momentum."""

    type: Literal["sgd"]
    lr: PositiveFloat = 0.01
    """Learning rate."""
    momentum: Fraction = 0.0
    """Momentum factor μ in `v = μ·v + g`."""
    nesterov: bool = False
    """Use Nesterov momentum (needs `momentum` > 0)."""

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self):
        if self.nesterov and not self.momentum:
            raise ValueError("nesterov needs momentum > 0; set momentum, e.g. 0.9")
        return self


class AdamOptimizer(OptimizerBase):
    """Adam with bias correction."""

    type: Literal["adam"] = "adam"  # the optimizer a mapping without `type` tunes
    lr: PositiveFloat = 0.001
    """Learning rate."""
    beta1: Fraction = 0.9
    """Decay of the first-moment average."""
    beta2: Fraction = 0.999
    """Decay of the second-moment average."""
    eps: PositiveFloat = 1e-8
    """Added to the denominator for stability."""


class AdamWOptimizer(AdamOptimizer):
    """Adam with decoupled weight decay (applied to weights, not biases)."""

    type: Literal["adamw"]
    weight_decay: NonNegativeFloat = 0.01
    """Decay rate: each step shrinks weights by `lr·weight_decay`."""


class RMSpropOptimizer(OptimizerBase):
    """RMSprop: divides by a running root mean square of gradients."""

    type: Literal["rmsprop"]
    lr: PositiveFloat = 0.001
    """Learning rate."""
    rho: Fraction = 0.9
    """Decay of the squared-gradient average."""
    eps: PositiveFloat = 1e-8
    """Added to the denominator for stability."""


class AdagradOptimizer(OptimizerBase):
    """Adagrad: divides by the root of all past squared gradients."""

    type: Literal["adagrad"]
    lr: PositiveFloat = 0.01
    """Learning rate."""
    eps: PositiveFloat = 1e-10
    """Added to the denominator for stability."""


OptimizerSpec = Annotated[Union[SGDOptimizer, AdamOptimizer, AdamWOptimizer, RMSpropOptimizer, AdagradOptimizer],
                          Field(discriminator="type")]


# ---------------------------------------------------------------- stopping rules

class PlateauRule(_Watch):
    """Stop when the monitored value has not improved for `patience` epochs."""

    type: Literal["plateau"] = "plateau"
    patience: PositiveInt = 10
    """Epochs without improvement before stopping."""


class TargetRule(Spec):
    """Stop once a metric reaches a value, e.g. val_accuracy >= 0.98."""

    type: Literal["target"]
    monitor: str
    """Metric to watch."""
    value: float
    """Value to reach."""
    mode: Mode = "auto"
    """`max` stops at >= value, `min` at <= value; `auto` picks from the metric name."""


class MaxTimeRule(Spec):
    """Stop after a wall-clock budget, at the end of the epoch that exceeds it."""

    type: Literal["max_time"]
    limit: Annotated[str, WithJsonSchema({"type": "string", "pattern": DURATION})] | float
    """Budget as seconds or a duration such as `90s`, `10m`, `1h30m`."""

    @field_validator("limit")
    @classmethod
    def _parse(cls, value):
        parse_duration(value)
        return value


class DivergenceRule(Spec):
    """Stop with exit code 4 when a step's loss is NaN/Inf or above `factor` × the first step's loss (always on)."""

    type: Literal["divergence"]
    factor: Annotated[float, Field(gt=1)] = 100.0
    """Blow-up factor over the first step's loss that counts as divergence."""


StoppingRule = Annotated[Union[PlateauRule, TargetRule, MaxTimeRule, DivergenceRule], Field(discriminator="type")]


# ---------------------------------------------------------------- pipeline steps

MissingStrategy = Literal["drop", "mean", "median", "mode", "constant"]


class ColumnCleaning(Spec):
    """How one column's missing values are handled."""

    missing: MissingStrategy
    """`drop` the rows, or fill with the column's `mean`, `median`, `mode`, or `value`."""
    value: float | str | None = None
    """Fill value for `missing: constant`."""

    @model_validator(mode="after")
    def _constant_needs_value(self):
        if self.missing == "constant" and self.value is None:
            raise ValueError("missing: constant needs a value, e.g. value: 0")
        return self


class CleanStep(Spec):
    """Missing values: markers and unparsable numbers become missing, then rows are dropped or values filled.

    Rows whose target is missing are always dropped. The markers apply to the target columns too: a
    target cell that is a marker is missing, so its row is dropped and counted as having no target
    (without a clean step the target is used as written). A column with no value in the training rows
    is dropped, with a note: it carries nothing to learn or to fill with. Dropping rows happens only
    while training: predict needs every row filled, so prefer a fill strategy for data you will predict on.
    """

    type: Literal["clean"]
    missing: MissingStrategy = "drop"
    """Strategy for numeric columns: `drop` rows, or fill with the column's `mean`, `median`, `mode`, or `value`."""
    categorical: Literal["drop", "mode", "constant"] | None = None
    """Strategy for categorical columns; default `mode` when `missing` is mean or median, else the same as `missing`."""
    value: float | None = None
    """Fill value for numeric columns when a strategy is `constant`."""
    categorical_value: str = "missing"
    """Fill value for categorical columns when a strategy is `constant`."""
    columns: dict[Column, Annotated[ColumnCleaning, "strategy or mapping"]] = {}
    """Per-column strategies that override the above, e.g. `{age: median, cabin: {missing: constant, value: none}}`."""
    indicator: bool = False
    """Add a 0/1 `<column>_missing` feature for each filled column that had missing values in training."""
    markers: list[str] = Field(default_factory=lambda: list(DEFAULT_MARKERS))
    """Cell values that mean missing, in features and targets, besides empty cells and pandas' NA markers (NA, N/A,
    null, NaN, None)."""

    @field_validator("columns", mode="before")
    @classmethod
    def _strategy_shorthand(cls, value):
        if isinstance(value, dict):
            return {k: {"missing": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _constant_needs_value(self):
        if self.missing == "constant" and self.value is None:
            raise ValueError("missing: constant needs a value for numeric columns, e.g. value: 0")
        return self


class DedupeStep(Spec):
    """Drop duplicate rows while training, keeping the first, and resolve rows whose targets conflict."""

    type: Literal["dedupe"]
    subset: list[str] | None = None
    """Columns that make rows duplicates; default every feature column."""
    conflicts: Literal["keep_first", "drop_all"] = "keep_first"
    """Rows with the same features but different targets: keep the first of each group, or drop them all."""


class EncodeStep(Spec):
    """Categorical columns to one-hot columns (`column=value`) or ordinal codes, learnt from training rows."""

    type: Literal["encode"]
    method: Literal["onehot", "ordinal"] = "onehot"
    """`onehot`: one 0/1 column per category; `ordinal`: one column of category codes 0..K−1, and −1 for a value
    outside them (never seen in training, or pooled by `max_categories`)."""
    columns: list[str] | None = None
    """Columns to encode; default every non-numeric feature column."""
    max_categories: PositiveInt | None = None
    """Keep the most frequent categories of each column; the rest share an `other` column (ordinal: code −1)."""
    categories: dict[Column, list[Annotated[str | int | float, "category"]]] = {}
    """The categories (and for ordinal, their order) of given columns, instead of learning them."""


class NormalizeStep(Spec):
    """Scale numeric feature columns with statistics of the training rows; constant columns map to 0."""

    type: Literal["normalize"]
    method: Literal["zscore", "minmax", "robust"] = "zscore"
    """`zscore`: (x − mean)/std; `minmax`: into `range`; `robust`: (x − median)/IQR, for outliers."""
    columns: list[str] | None = None
    """Columns to scale; default every numeric feature column (place before `encode` to leave one-hot columns 0/1)."""
    range: tuple[float, float] = Field((0.0, 1.0), strict=False)  # YAML gives a list
    """Target interval `[low, high]` for `minmax`, with low < high. A constant column maps to 0, or to the end
    nearest 0 if 0 is outside it."""

    @field_validator("range")
    @classmethod
    def _increasing(cls, value):
        if value[0] >= value[1]:
            raise ValueError(f"range must be [low, high] with low < high, got {list(value)}")
        return value


class DropStep(Spec):
    """Remove columns from the features, e.g. identifiers and free text; predict does not need them."""

    type: Literal["drop"]
    columns: list[str]
    """Columns to remove."""


class DatesStep(Spec):
    """Date columns to numbers: year, cyclical parts as sin/cos pairs, optionally the days since the first date.

    The formats are detected on the training rows. A time with a UTC offset is converted to UTC; one without is
    read as written. A value that does not parse is missing in every part, for a later `clean` step to fill:
    place `dates` before `clean` and `normalize`.
    """

    type: Literal["dates"]
    columns: list[str] | None = None
    """Date columns; default every text feature column of which at least 95% of the training values parse as
    dates of one format."""
    parts: Annotated[list[Literal[tuple(PARTS)]], Field(min_length=1)] = list(PARTS)
    """Parts to make: `year` as a number, the others as `<column>_<part>_sin` and `_cos`; `hour` (the time of day)
    only when a training value has a time other than midnight."""
    days_since: bool = False
    """Add `<column>_days_since`: days since the earliest date in the training rows (fractions for times)."""
    formats: dict[Column, Annotated[str, "strftime format"]] = {}
    """Formats of given columns instead of detecting them, e.g. `{when: "%d/%m/%Y %H:%M"}`, or `ISO8601`."""

    @field_validator("formats")
    @classmethod
    def _known_codes(cls, value):
        return {column: check_format(fmt) for column, fmt in value.items()}


class TextStep(Spec):
    """Free-text columns to token ids for an `embedding_bag` layer, from a vocabulary or a stable hash.

    Text is lower-cased and split into runs of Unicode letters, digits and underscores (`\\w+`), optionally with
    character n-grams; a token outside the vocabulary fitted on the training rows gets the out-of-vocabulary id."""

    type: Literal["text"]
    columns: Annotated[list[str], Field(min_length=1)]
    """Text columns to tokenise; each becomes `width` id columns (the longest training row, at most `max_length`)."""
    max_tokens: PositiveInt = 20000
    """Vocabulary size: the most frequent training tokens kept (ties alphabetical)."""
    min_count: PositiveInt = 2
    """Tokens seen fewer times than this in the training rows are out of vocabulary."""
    hash_buckets: Annotated[int, Field(gt=0, le=2**24)] | None = None
    """Hash tokens into this many ids instead of fitting a vocabulary (nothing stored, unseen tokens spread over
    buckets); at most 2^24, the ids float32 carries exactly."""
    char_ngrams: tuple[PositiveInt, PositiveInt] | None = Field(None, strict=False)  # YAML gives a list
    """`[a, b]`: add every character n-gram of length a..b of each word wrapped in `<` `>`, e.g. `[3, 5]`."""
    max_length: PositiveInt = 256
    """Most tokens (words, then n-grams) read per row; the rest are cut, with a note."""

    @field_validator("char_ngrams")
    @classmethod
    def _ordered(cls, value):
        if value is not None and value[0] > value[1]:
            raise ValueError(f"char_ngrams must be [shortest, longest], got {list(value)}")
        return value


PipelineStep = Annotated[Union[CleanStep, DedupeStep, EncodeStep, NormalizeStep, DropStep, DatesStep, TextStep],
                         Field(discriminator="type")]


# ---------------------------------------------------------------- sections

class ImageInput(Spec):
    """How images are read when `data.train` is a folder with one subfolder per class."""

    color: Literal["grayscale", "rgb"] = "rgb"
    """Convert every image to one gray channel or three RGB channels (transparency is composited on white)."""
    size: tuple[PositiveInt, PositiveInt] | None = Field(None, strict=False)  # YAML gives a list
    """[height, width] to resize every image to; default: the most common size among up to 200 sampled images."""
    resize: Literal["nearest", "bilinear", "bicubic", "lanczos"] = "bilinear"
    """Resampling filter used when resizing."""
    normalize: bool = False
    """Standardise each channel with the mean and deviation of the training images (pixels are 0..1 otherwise)."""
    on_bad_image: Literal["skip", "error"] = "skip"
    """Unreadable, empty, truncated or oversized files: skip them with a warning, or stop with exit code 3."""


class Augment(Spec):
    """Random changes to training images (never to validation, test or predict), drawn from the seed."""

    flip_horizontal: bool = False
    """Mirror half of the images left to right."""
    shift: Annotated[int, Field(ge=0)] = 0
    """Move images by up to this many pixels in each direction."""
    rotate: Annotated[float, Field(ge=0, le=180)] = 0.0
    """Rotate images by up to this many degrees either way."""


class Split(Spec):
    """How the training file is split into train, validation and test rows (validation + test below 1)."""

    validation: Fraction = 0.2
    """Fraction of rows held out to monitor training; 0 or left out when `data.validation` is a file."""
    test: Fraction = 0.1
    """Fraction of rows held out for the final evaluation (`nntrain eval RUN`); 0 or left out when `data.test`
    is a file."""
    stratify: bool = True
    """Keep class proportions equal across splits (classification only)."""
    seed: Annotated[int, Field(ge=0)] | None = None
    """Seed of the split alone; default the top-level `seed`. A sweep sets it so that every trial, whatever its own
    seed, is judged on the same validation rows."""

    @model_validator(mode="after")
    def _leaves_training_rows(self):
        if self.validation + self.test >= 1:
            raise ValueError(f"validation + test must be below 1, got {self.validation} + {self.test}")
        return self


class Data(Spec):
    """Where the data comes from and how it is prepared."""

    train: str
    """CSV file with the training rows, `-` for standard input, a Parquet file or folder of Parquet files, a folder
    of images with one subfolder per class, or a prepared directory written by `nntrain prepare`."""
    validation: str | None = None
    """CSV or Parquet file (or image folder) of validation rows, used instead of splitting them off `train`."""
    test: str | None = None
    """CSV or Parquet file (or image folder) of test rows, used instead of splitting them off `train`."""
    target: str | list[str] | None = None
    """Column to predict, or a list of columns (multi-output regression, multi-label). Required for CSV data;
    image folders take their classes from the subfolder names."""
    features: list[str] | None = None
    """Columns to use as inputs; default every column but the target."""
    split: Split = Field(default_factory=Split)
    """Held-out fractions."""
    pipeline: list[PipelineStep] = []
    """Preparation steps for CSV data, applied in order, fitted on the training split only."""
    image: ImageInput = Field(default_factory=ImageInput)
    """Image reading, for image folders."""
    augment: Augment = Field(default_factory=Augment)
    """Training-time image augmentation, for image folders."""
    target_transform: Literal["auto", "none", "zscore", "log"] = "auto"
    """Regression targets: `zscore` standardises, `log` takes ln then standardises; `auto` is `zscore`."""
    memory_limit: str | None = None
    """A size such as `512MB` or `2GB`: a table whose float32 size is estimated above it is prepared in streaming
    passes into a prepared directory beside it (`NAME.prepared`, reused while its fingerprint matches) and trained
    from it, read from disk as batches need rows. Default: half the memory available (`nntrain check` shows it)."""

    shuffle_buffer: PositiveInt = 100_000
    """Rows of a prepared training set (a prepared directory) shuffled together: each epoch visits blocks of 1024
    rows in a random order and shuffles the rows within each window of this many, so the file is read block by
    block (training keeps two windows of rows in memory); a training set of at most this many rows, or one in
    memory, is fully shuffled."""

    @field_validator("memory_limit")
    @classmethod
    def _size(cls, value):
        if value is not None:
            parse_size(value)
        return value

    @model_validator(mode="after")
    def _file_or_fraction(self):
        for part in ("validation", "test"):
            if getattr(self, part) and getattr(self.split, part) and part in self.split.model_fields_set:
                raise ValueError(f"data.{part} is a file, so no {part} rows are split off data.train: remove "
                                 f"data.split.{part} or set it to 0 (e.g. --set data.split.{part}=0)")
        return self


class Model(Spec):
    """The network; the output layer is added from the task."""

    layers: list[Layer] = []
    """Hidden layers, in order."""


class Regularization(Spec):
    """Penalties on all weights (not biases), added to the training loss."""

    l1: NonNegativeFloat = 0.0
    """L1 penalty `l1·Σ|w|`."""
    l2: NonNegativeFloat = 0.0
    """L2 penalty `l2·Σw²`."""


class Checkpointing(Spec):
    """When checkpoints are written; `best.npz` is always written when the monitored value improves."""

    every: PositiveInt = 1
    """Write `last.npz` every this many epochs (and always at the end, and on interrupt)."""
    keep: Annotated[int, Field(ge=0)] = 0
    """Also keep the last K epoch checkpoints as `epoch-NNNN.npz`, for `--resume auto` to fall back on."""


class Training(Spec):
    """The training loop."""

    epochs: PositiveInt = 100
    """Maximum number of passes over the training rows."""
    batch_size: PositiveInt = 32
    """Rows per optimizer step."""
    shuffle: bool = True
    """Reshuffle the training rows every epoch."""
    monitor: str | None = None
    """Metric that picks the best epoch; default `val_loss`, or `loss` without a validation split."""
    mode: Mode = "auto"
    """`min` or `max` for `monitor`; `auto` picks from the metric name."""
    stopping: list[StoppingRule] = []
    """Stopping rules; the first to fire ends training. A single mapping is one rule (`plateau` if no type)."""
    restore_best: bool = True
    """Finish with the weights of the best epoch rather than the last."""
    checkpoint: Checkpointing = Field(default_factory=Checkpointing)
    """Checkpoint cadence and retention."""
    log_every: PositiveInt = 1
    """When progress is plain text (piped, a CI log), print every Nth epoch, plus the first, each one where
    `monitor` improves and the last; 1 prints every epoch. metrics.jsonl and metrics.csv keep every epoch."""
    class_weight: Literal["balanced"] | dict[Annotated[str, "class name"], PositiveFloat] | None = None
    """Weight of each class in the loss: `balanced` (inverse class frequency in the training split) or a
    mapping from class name to weight (unlisted classes weigh 1). Classification only."""

    @field_validator("class_weight", mode="before")
    @classmethod
    def _class_names_as_text(cls, value):
        return {str(k): v for k, v in value.items()} if isinstance(value, dict) else value

    @field_validator("stopping", mode="before")
    @classmethod
    def _stopping_shorthand(cls, value):
        rules = [value] if isinstance(value, dict) else value
        if isinstance(rules, list):
            return [{"type": "plateau", **rule} if isinstance(rule, dict) and "type" not in rule else rule
                    for rule in rules]
        return value


class MlflowTracking(Spec):
    """An MLflow tracking server the run is logged to as it trains."""

    uri: Annotated[str, Field(min_length=1)]
    """Tracking URI, e.g. `http://127.0.0.1:5000` (what `mlflow server` prints; a `file:` or database URI works
    too)."""
    experiment: Annotated[str, Field(min_length=1)] = "Default"
    """Experiment to log the run in, created when missing; MLflow's own `Default` unless named."""


class Tracking(Spec):
    """Experiment trackers fed while the run trains; each is an optional extra and fails soft (a warning)."""

    mlflow: MlflowTracking | None = None
    """Log params, per-epoch metrics, test metrics, the stop reason and the run's files to MLflow (needs
    `pip install 'nntrain[tracking]'`)."""
    tensorboard: bool = False
    """Write every epoch's scalars as TensorBoard event files in `<run dir>/tensorboard/` (needs
    `pip install 'nntrain[tensorboard]'`)."""


class Output(Spec):
    """Where the run is written, and where else it is tracked."""

    dir: str | None = None
    """Run directory; default `runs/<config file name>-<date>-<time>` (`--resume auto` then picks the newest)."""
    tracking: Tracking = Field(default_factory=Tracking)
    """Experiment tracking: MLflow and TensorBoard."""


class Engine(Spec):
    """Numeric settings."""

    dtype: Literal["float32", "float64"] = "float32"
    """Floating-point type of weights and data; float64 is for gradient checks."""
    threads: PositiveInt | None = None
    """Threads for the matrix products (BLAS) of each process; default: the library's own choice (all cores)
    for one process, cores ÷ ranks for MPI ranks sharing a machine. Needs threadpoolctl (`nntrain[threads]`)."""
    sync_batchnorm: bool = False
    """On several MPI ranks, batchnorm statistics over the whole global batch (one process's result, three small
    reductions per layer and step) rather than over each rank's rows; no effect on one process."""
    collective_timeout: PositiveFloat | None = 600.0
    """On several MPI ranks, seconds a rank waits for the others in one exchange before it ends the job (a rank
    that is alive but stuck); rank 0 writing a checkpoint counts as waiting for the others, so keep it above the
    longest checkpoint write. `null` waits for ever."""


class Config(Spec):
    """A complete nntrain run."""

    seed: Annotated[int, Field(ge=0)] = 0
    """Seed for initialisation, splits, shuffling and dropout: same seed, same result."""
    task: Literal["auto", "classification", "regression", "multilabel"] = "auto"
    """What to predict; `auto` decides from the loss, then from the target column."""
    data: Data
    """Input data and preparation."""
    model: Model = Field(default_factory=Model)
    """Network architecture."""
    loss: LossSpec | None = None
    """Loss (a name or a mapping with `type`); default `cross_entropy` for classification, `mse` for regression,
    `binary_cross_entropy` for multilabel."""
    optimizer: OptimizerSpec = Field(default_factory=lambda: AdamOptimizer(type="adam"))
    """Optimizer (a name, or a mapping with `type`; without `type` the mapping tunes `adam`)."""
    regularization: Regularization = Field(default_factory=Regularization)
    """Global weight penalties."""
    training: Training = Field(default_factory=Training)
    """Training loop settings."""
    output: Output = Field(default_factory=Output)
    """Run directory and experiment tracking."""
    engine: Engine = Field(default_factory=Engine)
    """Numeric settings."""

    def resolved(self) -> dict:
        """Every key with its value, defaults filled in, as plain data that validates back to this config.

        Fractions that separate files replace, and image settings of CSV data, are left out:
        written out, they would contradict the files they do not apply to.
        """
        data = self.model_dump(mode="json")
        for part in ("validation", "test"):
            if getattr(self.data, part):
                del data["data"]["split"][part]
        return data

    @field_validator("loss", "optimizer", mode="before")
    @classmethod
    def _name_shorthand(cls, value, info):
        if isinstance(value, str):
            return {"type": value}
        if info.field_name == "optimizer" and isinstance(value, dict) and "type" not in value:
            return {"type": "adam", **value}  # `optimizer: {lr: 0.01}` tunes the default optimizer
        return value
