"""Key paths in raw config data resolve to schema types, tagged unions chosen by their `type`."""

from typing import get_args

from nntrain.config.fields import _strip, accepts_text, model_at, type_at
from nntrain.config.schema import AdamOptimizer, HuberLoss, PlateauRule

DATA = {"data": {"train": "d.csv"}, "loss": "huber", "optimizer": {"lr": 0.1},
        "model": {"layers": [{"type": "dropout", "rate": 0.1}, {"type": "dense", "units": 3}]},
        "training": {"stopping": {"patience": 3}, "class_weight": {"a": 2}}}


def test_tagged_unions_resolve_to_the_member_their_type_names():
    assert _strip(type_at(("model", "layers", 1, "units"), DATA)) is int
    assert type_at(("model", "layers", 0, "units"), DATA) is None  # dropout has no units
    assert model_at(("loss",), DATA) is HuberLoss  # the `loss: huber` shorthand
    assert model_at(("optimizer",), DATA) is AdamOptimizer  # no `type`: the member whose type has a default
    assert model_at(("training", "stopping"), DATA) is PlateauRule  # one rule written as a mapping


def test_which_keys_take_text():
    assert accepts_text(type_at(("data", "train"), DATA)) and accepts_text(type_at(("data", "target"), DATA))
    assert accepts_text(type_at(("task",), DATA))  # a choice of names
    assert not accepts_text(type_at(("training", "epochs"), DATA))
    assert _strip(type_at(("training", "class_weight", "a"), DATA)) is float
    assert get_args(type_at(("data", "pipeline", 0, "columns"), {"data": {"pipeline": [{"type": "clean"}]}}))
