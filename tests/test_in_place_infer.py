"""``paddle.infer`` on samples fed in place (``training/in_place.py``: one sample of dense
arrays, or consecutive rows of one array): the same outputs as the general path, the
general path for everything else, and a plan that follows the parameters, the backend, the
``sparse`` setting and the number of samples."""

import numpy as np
import pytest

import minidl as paddle
from minidl.core import settings
from minidl.training import inference as inference_module
from minidl.training.feeding import FeedError
from minidl.training.in_place import dense_widths, in_place_feed


def _two_input_net():
    """Two dense inputs of different widths into one fc, then a second fc (ReLU)."""
    a = paddle.layer.data("a", paddle.data_type.dense_vector(6))
    b = paddle.layer.data("b", paddle.data_type.dense_vector(4))
    hidden = paddle.layer.fc(input=[a, b], size=48, act=paddle.activation.Relu(), name="h")
    out = paddle.layer.fc(input=hidden, size=5, act=paddle.activation.Linear(), name="o")
    return out, paddle.parameters.create(out)


def _general(monkeypatch, out, parameters, input, **kwargs):
    """What the general path gives for the same call."""
    with monkeypatch.context() as patch:
        patch.setattr(inference_module, "in_place_feed", lambda *args: None)
        return paddle.infer(output_layer=out, parameters=parameters, input=input, **kwargs)


def _count_in_place_batches(monkeypatch):
    """A list that grows by one for every batch the in-place path feeds."""
    fed = []
    real = inference_module.in_place_feed

    def counting(*args):
        feed = real(*args)
        if feed is not None:
            fed.append(feed)
        return feed
    monkeypatch.setattr(inference_module, "in_place_feed", counting)
    return fed


def test_one_sample_gives_what_the_general_path_gives(monkeypatch):
    out, parameters = _two_input_net()
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    a_before = a.copy()
    fed = _count_in_place_batches(monkeypatch)
    got = paddle.infer(output_layer=out, parameters=parameters, input=[(a, b)])
    assert len(fed) == 1
    row = fed[0]["a"]
    assert np.shares_memory(row, a) and not row.flags.writeable and a.flags.writeable
    np.testing.assert_array_equal(a, a_before)
    expected = _general(monkeypatch, out, parameters, [(a, b)])
    np.testing.assert_array_equal(got, expected)
    # an independent check of the general path: the two layers by hand
    w_h = np.concatenate([parameters.get("_h.w0"), parameters.get("_h.w1")])
    hidden = np.maximum(np.concatenate([a, b]) @ w_h + parameters.get("_h.wbias"), 0)
    by_hand = hidden @ parameters.get("_o.w0") + parameters.get("_o.wbias")
    np.testing.assert_allclose(got, by_hand.reshape(1, 5), rtol=1e-5, atol=1e-6)
    # feeding by names, in the other order: the fields follow the names
    swapped = paddle.infer(output_layer=out, parameters=parameters, input=[(b, a)],
                           feeding={"b": 0, "a": 1})
    assert len(fed) == 2
    np.testing.assert_array_equal(swapped, got)


@pytest.mark.parametrize("make", [
    lambda a, b: [(a.astype(np.float64), b)],               # converted
    lambda a, b: [(np.repeat(a, 2)[::2], b)],               # strided: copied
    lambda a, b: [(list(map(float, a)), b)],                # a list of numbers
    lambda a, b: [(a, b), (a, b)],                          # two samples
    lambda a, b: ((a, b),),                                 # a tuple of samples
    lambda a, b: [[a, b]],                                  # a sample as a list: still one
])
def test_other_inputs_go_the_general_way_with_the_same_values(monkeypatch, make):
    out, parameters = _two_input_net()
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(6).astype(np.float32), rng.standard_normal(4).astype(np.float32)
    expected = paddle.infer(output_layer=out, parameters=parameters, input=[(a, b)])
    fed = _count_in_place_batches(monkeypatch)
    input = make(a, b)
    got = paddle.infer(output_layer=out, parameters=parameters, input=input)
    one_sample = isinstance(input, list) and len(input) == 1 and \
        all(type(v) is np.ndarray and v.dtype == np.float32 and v.flags.c_contiguous
            for v in input[0])
    assert len(fed) == (1 if one_sample else 0)
    # (a batch of two may sum in another order: float32 rounding apart)
    np.testing.assert_allclose(got, np.repeat(expected, len(input), axis=0), rtol=1e-5,
                               atol=1e-6)


def test_a_wrong_sample_gets_the_general_paths_error(monkeypatch):
    out, parameters = _two_input_net()
    with pytest.raises(FeedError, match="data layer a expects a vector of 6 values"):
        paddle.infer(output_layer=out, parameters=parameters,
                     input=[(np.ones(5, np.float32), np.ones(4, np.float32))])
    with pytest.raises(FeedError, match="reads field 1"):
        paddle.infer(output_layer=out, parameters=parameters,
                     input=[(np.ones(6, np.float32),)])


def test_only_dense_vectors_take_the_in_place_path():
    dense = paddle.layer.data("x", paddle.data_type.dense_vector(3))
    label = paddle.layer.data("y", paddle.data_type.integer_value(3))
    words = paddle.layer.data("w", paddle.data_type.integer_value_sequence(10))
    series = paddle.layer.data("s", paddle.data_type.dense_vector_sequence(3))
    assert dense_widths([dense]) == {"x": 3}
    for other in (label, words, series):
        assert dense_widths([dense, other]) is None
    widths, fields = {"x": 3}, {"x": 0}
    ok = np.ones(3, np.float32)
    assert in_place_feed(widths, [(ok,)], fields)["x"].shape == (1, 3)
    for input in ([(ok,), (ok,)], [ok], [()], [(np.ones(4, np.float32),)],
                  [(np.ones(3, np.int32),)]):
        assert in_place_feed(widths, input, fields) is None, input
    assert in_place_feed(None, [(ok,)], fields) is None
    image = np.arange(6, dtype=np.float32).reshape(2, 3)     # any shape of the width
    assert in_place_feed({"x": 6}, [(image,)], fields)["x"].shape == (1, 6)
    assert in_place_feed({"x": 6}, [(np.asfortranarray(image),)], fields) is None


def _pruned_net(rng, sparsity=0.95):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(256))
    out = paddle.layer.fc(input=x, size=256, act=paddle.activation.Relu(), name="p")
    parameters = paddle.parameters.create(out)
    w = rng.standard_normal((256, 256)).astype(np.float32)
    w[rng.random(w.shape) < sparsity] = 0
    parameters.set("_p.w0", w)
    return out, parameters


def _dense_reference(parameters, x):
    y = x.astype(np.float64) @ parameters.get("_p.w0") + parameters.get("_p.wbias")
    return np.maximum(y, 0).reshape(1, -1)


def test_the_kept_plan_follows_weights_backend_and_the_sparse_setting(monkeypatch):
    rng = np.random.default_rng(2)
    out, parameters = _pruned_net(rng)
    x = rng.standard_normal(256).astype(np.float32)
    inference = paddle.inference.Inference(out, parameters, sparse=True)
    fed = _count_in_place_batches(monkeypatch)
    for _ in range(2):
        np.testing.assert_allclose(inference.infer([(x,)]), _dense_reference(parameters, x),
                                   rtol=1e-4, atol=1e-4)
    assert len(fed) == 2 and inference.sparse_plan.rows()[0].choice == "sparse"
    # a new weight (its generation moves): the plan is made again and reads it
    w = parameters.get("_p.w0")
    w[w != 0] *= -2
    parameters.set("_p.w0", w)
    np.testing.assert_allclose(inference.infer([(x,)]), _dense_reference(parameters, x),
                               rtol=1e-4, atol=1e-4)
    # the setting of paddle.init: an Inference without its own follows it
    follower = paddle.inference.Inference(out, parameters)
    saved = settings.get("sparse")
    try:
        for mode in (False, True, False):
            settings.update(sparse=mode)
            np.testing.assert_allclose(follower.infer([(x,)]), _dense_reference(parameters, x),
                                       rtol=1e-4, atol=1e-4)
            assert follower.sparse_plan.mode is mode
    finally:
        settings.update(sparse=saved)
    # another backend: values and plan are made for it
    from minidl.backends import current_backend, set_backend
    before = current_backend().name
    try:
        for name in ("numpy", before):
            set_backend(name)
            np.testing.assert_allclose(inference.infer([(x,)]),
                                       _dense_reference(parameters, x), rtol=1e-4, atol=1e-4)
    finally:
        set_backend(before)


def _wide_net():
    """One dense input of 8192 values (32 KB a float32 sample: rows that large are fed in
    place), one fc layer."""
    x = paddle.layer.data("x", paddle.data_type.dense_vector(8192))
    out = paddle.layer.fc(input=x, size=3, act=paddle.activation.Linear(), name="w")
    return out, paddle.parameters.create(out)


def test_consecutive_rows_of_one_array_are_fed_in_place(monkeypatch):
    out, parameters = _wide_net()
    rows = np.random.default_rng(3).standard_normal((5, 8192)).astype(np.float32)
    fed = _count_in_place_batches(monkeypatch)
    expected = rows.astype(np.float64) @ parameters.get("_w.w0") + parameters.get("_w.wbias")
    for count in (4, 1, 4, 5):       # a plan per number of samples
        samples = [(row,) for row in rows[:count]]
        got = paddle.infer(output_layer=out, parameters=parameters, input=samples)
        np.testing.assert_allclose(got, expected[:count], rtol=1e-4, atol=1e-4)
        batch = fed[-1]["x"]
        assert batch.shape == (count, 8192) and np.shares_memory(batch, rows)
        assert not batch.flags.writeable and rows.flags.writeable
    assert len(fed) == 4
    # rows out of order, or of two arrays: the general path's copy, the same values
    for samples in ([(rows[1],), (rows[0],)], [(rows[0],), (rows[1].copy(),)]):
        got = paddle.infer(output_layer=out, parameters=parameters, input=samples)
        want = np.stack([s[0] for s in samples]).astype(np.float64) @ \
            parameters.get("_w.w0") + parameters.get("_w.wbias")
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    assert len(fed) == 4
    assert np.array_equal(_general(monkeypatch, out, parameters, [(r,) for r in rows[:4]]),
                          paddle.infer(output_layer=out, parameters=parameters,
                                       input=[(r,) for r in rows[:4]]))


def test_a_plan_per_number_of_samples_fed_in_place():
    rng = np.random.default_rng(4)
    x = paddle.layer.data("x", paddle.data_type.dense_vector(8192))
    out = paddle.layer.fc(input=x, size=64, act=paddle.activation.Relu(), name="q")
    parameters = paddle.parameters.create(out)
    w = rng.standard_normal((8192, 64)).astype(np.float32)
    w[rng.random(w.shape) < 0.95] = 0
    parameters.set("_q.w0", w)
    rows = rng.standard_normal((3, 8192)).astype(np.float32)
    want = np.maximum(rows.astype(np.float64) @ w + parameters.get("_q.wbias"), 0)
    inference = paddle.inference.Inference(out, parameters, sparse=True)
    for count in (1, 3, 1, 3):
        got = inference.infer([(row,) for row in rows[:count]])
        np.testing.assert_allclose(got, want[:count], rtol=1e-4, atol=1e-4)
    assert {d.batch for d in inference.sparse_plan.rows()} == {1, 3}
    assert all(d.choice == "sparse" for d in inference.sparse_plan.rows())
