"""``paddle.init``'s seed as in Paddle: 1 unless chosen, 0 meaning "from the clock"."""

import numpy as np

import minidl as paddle


def _initial_weights():
    x = paddle.layer.data("x", paddle.data_type.dense_vector(6))
    out = paddle.layer.fc(input=x, size=4, name="seeded")
    return paddle.parameters.create(out).get("_seeded.w0")


def test_init_without_seed_starts_every_run_the_same_way():
    paddle.init()
    first = _initial_weights()
    paddle.init()
    np.testing.assert_array_equal(_initial_weights(), first)
    paddle.init(seed=1)   # the default is Paddle's seed 1
    np.testing.assert_array_equal(_initial_weights(), first)


def test_seed_zero_draws_a_fresh_seed():
    paddle.init(seed=0)
    first = _initial_weights()
    paddle.init(seed=0)
    assert not np.array_equal(_initial_weights(), first)


def test_other_seeds_differ_from_the_default():
    paddle.init(seed=2)
    two = _initial_weights()
    paddle.init()
    assert not np.array_equal(_initial_weights(), two)
