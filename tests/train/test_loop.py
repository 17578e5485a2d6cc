"""The training loop on small in-memory problems."""

import numpy as np
import pytest

from nntrain.nn.losses import LOSSES
from nntrain.nn.model import build_model
from nntrain.optim.optimizers import OPTIMIZERS
from nntrain.optim.schedules import SCHEDULES
from nntrain.train.loop import Settings, Trainer
from nntrain.train.stopping import Divergence, Plateau


def make_trainer(l2=0.0, lr=0.1, epochs=3, rules=(), evaluate=lambda: {}, monitor="loss", class_weight=None):
    model = build_model([{"type": "dense", "units": 4, "activation": "tanh", "l2": l2},
                         {"type": "dense", "units": 2, "l2": l2}], (3,), np.float64, np.random.default_rng(0))
    optimizer = OPTIMIZERS["sgd"]()
    optimizer.bind(model.flat_params.size, np.float64, model.decay_mask)
    settings = Settings(epochs=epochs, batch_size=100, shuffle=False, monitor=monitor, mode="min", restore_best=True)
    return Trainer(model, LOSSES["cross_entropy"](), optimizer, SCHEDULES["constant"](lr, epochs, 1), settings,
                   rules=list(rules), divergence=Divergence(), evaluate=evaluate,
                   shuffle_rng=np.random.default_rng(1), class_weight=class_weight)


def data():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(100, 3))
    return x, (x[:, 0] > 0).astype(np.int64)


class Recorder:
    def __init__(self):
        self.records = []

    def epoch_end(self, trainer, record, improved, final=False):
        self.records.append((dict(record), improved))


def test_reported_training_loss_includes_the_penalty():
    trainer = make_trainer(l2=0.3, lr=1e-12, epochs=1)
    recorder = trainer.recorder = Recorder()
    x, y = data()
    expected = LOSSES["cross_entropy"]().value(trainer.model.forward(x), y) + trainer.model.penalty()
    trainer.fit(x, y)
    assert recorder.records[0][0]["loss"] == pytest.approx(expected, rel=1e-9)
    assert trainer.model.penalty() > 0.01


def test_class_weights_change_the_loss():
    x, y = data()
    plain, weighted = make_trainer(epochs=1, lr=1e-12), make_trainer(epochs=1, lr=1e-12,
                                                                     class_weight=np.array([1.0, 5.0]))
    plain.recorder, weighted.recorder = Recorder(), Recorder()
    plain.fit(x, y)
    weighted.fit(x, y)
    outputs = plain.model.forward(x)
    expected = LOSSES["cross_entropy"]().value(outputs, y, np.where(y == 1, 5.0, 1.0))
    assert weighted.recorder.records[0][0]["loss"] == pytest.approx(expected)
    assert plain.recorder.records[0][0]["loss"] != pytest.approx(expected)


def test_best_epoch_is_restored_and_plateau_stops():
    values = iter([1.0, 0.5, 0.7, 0.8, 0.9, 0.95])
    trainer = make_trainer(epochs=6, rules=[Plateau("val_loss", "min", patience=2)],
                           evaluate=lambda: {"val_loss": next(values)}, monitor="val_loss")
    trainer.recorder = Recorder()
    snapshots = []
    original = trainer.recorder.epoch_end
    trainer.recorder.epoch_end = lambda t, r, i, final: (snapshots.append(t.model.flat_params.copy()),
                                                         original(t, r, i))
    x, y = data()
    outcome = trainer.fit(x, y)
    assert outcome.best_epoch == 2 and outcome.epochs_run == 4
    assert outcome.reason.startswith("val_loss has not improved for 2 epochs")
    assert [improved for _, improved in trainer.recorder.records] == [True, True, False, False]
    assert np.array_equal(trainer.model.flat_params, snapshots[1])


def test_a_log_line_torn_by_a_crash_is_skipped(tmp_path):
    from nntrain.train.recorder import RunRecorder, read_log

    first = '{"epoch": 1, "loss": 0.5, "time": "2026-01-02T03:04:05+00:00"}\n'
    (tmp_path / "metrics.jsonl").write_text(first + '{"epoch": 2, "loss": 0.4}\n{"epoch": 3, "lo')
    assert [row["epoch"] for row in read_log(tmp_path / "metrics.jsonl")] == [1, 2]
    RunRecorder(tmp_path, {}).truncate_logs(1)
    assert (tmp_path / "metrics.jsonl").read_text() == first  # kept as written, time included
    assert (tmp_path / "metrics.csv").read_text().splitlines() == ["epoch,loss,time", "1,0.5,2026-01-02T03:04:05+00:00"]


def test_augmentation_generator_state_is_saved_and_restored():
    from nntrain.data.augment import Augmenter

    def trainer(epochs):
        model = build_model([{"type": "flatten"}, {"type": "dense", "units": 2}], (3, 3, 1), np.float64,
                            np.random.default_rng(0))
        optimizer = OPTIMIZERS["adam"]()
        optimizer.bind(model.flat_params.size, np.float64, model.decay_mask)
        settings = Settings(epochs=epochs, batch_size=4, shuffle=True, monitor="loss", mode="min", restore_best=False)
        return Trainer(model, LOSSES["cross_entropy"](), optimizer, SCHEDULES["constant"](0.01, epochs, 3), settings,
                       rules=[], divergence=Divergence(), evaluate=lambda: {}, shuffle_rng=np.random.default_rng(1),
                       augment=Augmenter(flip_horizontal=True, shift=1), augment_rng=np.random.default_rng(2))

    rng = np.random.default_rng(5)
    x, y = rng.random((12, 3, 3, 1)), rng.integers(0, 2, 12)
    straight = trainer(4)
    straight.fit(x, y)
    first = trainer(2)
    first.fit(x, y)
    state, params, moments = first.state(), first.model.flat_params.copy(), dict(first.optimizer.state)
    second = trainer(4)
    second.load_state(state)
    second.model.flat_params[...] = params
    for name, value in moments.items():
        second.optimizer.state[name][...] = value
    second.fit(x, y)
    assert state["rng"]["augment"] is not None
    assert np.array_equal(second.model.flat_params, straight.model.flat_params)
