"""Image splits read per batch give bit for bit the floats of the whole-array path they replace."""

import numpy as np
import pytest

from nntrain.data.image_rows import ImageRows
from nntrain.data.images import normalise
from nntrain.nn.losses import LOSSES
from nntrain.nn.model import build_model
from nntrain.optim.optimizers import OPTIMIZERS
from nntrain.optim.schedules import SCHEDULES
from nntrain.train.loop import Settings, Trainer
from nntrain.train.stopping import Divergence
from nntrain.data.augment import Augmenter


def whole_array(pixels: np.ndarray, dtype, mean=None, std=None) -> np.ndarray:
    """What training used before the cache: each image as float32 /255, stored in the model's dtype,
    then the whole array normalised in place."""
    x = np.empty(pixels.shape, dtype=dtype)
    for index, image in enumerate(pixels):
        array = np.asarray(image, dtype=np.float32)
        array /= 255.0
        x[index] = array
    if mean is not None:
        normalise(x, mean, std)
    return x


@pytest.fixture
def pixels():
    return np.random.default_rng(0).integers(0, 256, (40, 5, 6, 3), dtype=np.uint8)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("statistics", [(None, None), ([0.41, 0.5, 0.13], [0.27, 0.31, 1.0])])
def test_batches_equal_the_whole_array_bit_for_bit(pixels, dtype, statistics):
    rows = np.array([3, 0, 7, 8, 9, 21, 39, 22])
    expected = whole_array(pixels[rows], dtype, *statistics)
    images = ImageRows(pixels, rows, dtype, *statistics)
    assert images.shape == (8, 5, 6, 3) and images.dtype == dtype and len(images) == 8
    assert np.array_equal(images[2:5], expected[2:5]) and images[2:5].dtype == dtype
    out = np.empty((3, 5, 6, 3), dtype=dtype)
    taken = images.take(np.array([6, 1, 4]), axis=0, out=out, mode="clip")
    assert taken is out and np.array_equal(out, expected[[6, 1, 4]])


def _trainer(shape):
    model = build_model([{"type": "flatten"}, {"type": "dense", "units": 3}], shape, np.float32,
                        np.random.default_rng(1))
    optimizer = OPTIMIZERS["adam"]()
    optimizer.bind(model.flat_params.size, np.float32, model.decay_mask)
    return Trainer(model, LOSSES["cross_entropy"](), optimizer, SCHEDULES["constant"](1e-2, 3, 5),
                   Settings(epochs=3, batch_size=8, shuffle=True, monitor="loss", mode="min", restore_best=False),
                   rules=[], divergence=Divergence(), evaluate=dict, shuffle_rng=np.random.default_rng(2),
                   augment=Augmenter(flip_horizontal=True, shift=1), augment_rng=np.random.default_rng(3))


def test_training_on_image_rows_equals_training_on_the_float_array(pixels):
    rows = np.arange(1, 40, 1)
    statistics = ([0.5, 0.45, 0.52], [0.29, 0.3, 0.28])
    y = np.random.default_rng(4).integers(0, 3, len(rows))
    on_floats, on_rows = _trainer((5, 6, 3)), _trainer((5, 6, 3))
    on_floats.fit(whole_array(pixels[rows], np.float32, *statistics), y)
    on_rows.fit(ImageRows(pixels, rows, np.float32, *statistics), y)
    assert np.array_equal(on_floats.model.flat_params, on_rows.model.flat_params)
    assert np.array_equal(on_floats.model.predict(whole_array(pixels, np.float32, *statistics)),
                          on_rows.model.predict(ImageRows(pixels, np.arange(40), np.float32, *statistics)))
