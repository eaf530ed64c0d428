"""recurrent_group, memory, StaticInput, SubsequenceInput and the step layers (lstm_step,
gru_step, gru_step_naive, get_output) with the networks built from them: outputs against
naive per-sequence loops, float64 gradients through the unrolled steps on ragged batches
(reverse included), Paddle's parameter names, a training step, and the build-time errors."""

import numpy as np
import pytest

import minidl as paddle
from minidl.core import Tensor
from minidl.core.gradcheck import check_directional
from minidl.core.sequence import SequenceLayout
from minidl.layers.graph import Network, RunContext

from sequence_helpers import nested, ragged

L = paddle.layer
A = paddle.activation
dt = paddle.data_type

#: ragged batches: lengths 1, 2 and 5 mixed, and batches of one
LENGTHS = ([1, 2, 5], [5, 1, 2, 2], [1], [3])


# --- helpers ---------------------------------------------------------------------------------

def random_params(out, rng, scale=0.5):
    """{name: float64 array} for every parameter ``out`` depends on."""
    specs = Network(out).param_specs
    return {name: scale * rng.standard_normal(spec.compute_shape) for name, spec in specs.items()}


def forward(out, feed, params):
    """``out``'s value; ``feed``: {data layer: (array, layout or None)}."""
    ctx = RunContext({name: Tensor(value) for name, value in params.items()})
    fed = {name: Tensor(array, seq=layout) for name, (array, layout) in feed.items()}
    return Network(out).forward(fed, ctx)[out.name]


def check_gradients(out, feed, params, **tolerances):
    """Float64 directional check with respect to every float input and every parameter."""
    data = [name for name, (array, _) in feed.items() if array.dtype.kind == "f"]
    names = list(params)
    net = Network(out)

    def fn(*tensors):
        fed = {}
        for name, (array, layout) in feed.items():
            fed[name] = Tensor(array, seq=layout)
        for name, tensor in zip(data, tensors):
            tensor.seq = feed[name][1]
            fed[name] = tensor
        ctx = RunContext(dict(zip(names, tensors[len(data):])))
        return net.forward(fed, ctx)[out.name]

    check_directional(fn, *[feed[name][0] for name in data], *[params[n] for n in names],
                      **tolerances)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def timesteps(layout, i, reverse):
    rows = range(int(layout.starts[i]), int(layout.starts[i + 1]))
    return rows[::-1] if reverse else rows


# --- a simple step against a loop ------------------------------------------------------------

def simple_rnn(name, reverse=False, size=4, width=3):
    x = L.data(name="x", type=dt.dense_vector_sequence(width))

    def step(xt):
        h_prev = L.memory(name="h", size=size)
        return L.fc(input=[xt, h_prev], size=size, act=A.Tanh(), name="h")

    return L.recurrent_group(step=step, input=x, reverse=reverse, name=name)


def naive_rnn(xv, layout, p, group, reverse):
    w0, w1, b = p[f"_h@{group}.w0"], p[f"_h@{group}.w1"], p[f"_h@{group}.wbias"]
    out = np.zeros((len(xv), w0.shape[1]))
    for i in range(layout.num_sequences):
        h = np.zeros(w0.shape[1])
        for r in timesteps(layout, i, reverse):
            h = np.tanh(xv[r] @ w0 + h @ w1 + b[0])
            out[r] = h
    return out


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS)
def test_simple_step_matches_a_loop_over_each_sequence(lengths, reverse):
    rng = np.random.default_rng(1)
    out = simple_rnn("rnn", reverse)
    params = random_params(out, rng)
    xv, layout = ragged(rng, lengths, 3)
    y = forward(out, {"x": (xv, layout)}, params)
    np.testing.assert_allclose(y.data, naive_rnn(xv, layout, params, "rnn", reverse),
                               rtol=1e-12, atol=1e-12)
    assert y.seq == layout and out.seq_level == 1 and out.name == "h"


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("lengths", LENGTHS)
def test_gradients_flow_through_the_unrolled_steps(lengths, reverse):
    rng = np.random.default_rng(2)
    out = simple_rnn("rnn", reverse)
    xv, layout = ragged(rng, lengths, 3)
    check_gradients(out, {"x": (xv, layout)}, random_params(out, rng))


def test_memory_of_sequences_of_length_one_is_its_boot_value():
    rng = np.random.default_rng(3)
    out = simple_rnn("rnn")
    params = random_params(out, rng)
    xv, layout = ragged(rng, [1, 1, 1], 3)
    y = forward(out, {"x": (xv, layout)}, params)
    expected = np.tanh(xv @ params["_h@rnn.w0"] + params["_h@rnn.wbias"])  # memory = zeros
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)
    check_gradients(out, {"x": (xv, layout)}, params)


def test_parameters_are_named_inside_the_group_as_paddle_names_them():
    out = simple_rnn("my_group")
    assert [spec.name for spec in out.params] == ["_h@my_group.w0", "_h@my_group.w1",
                                                  "_h@my_group.wbias"]
    parameters = paddle.parameters.create(out)
    assert parameters.get_shape("_h@my_group.w1") == (4, 4)


def test_default_group_names_count_like_paddle():
    L.reset_names()
    x = L.data(name="x", type=dt.dense_vector_sequence(3))
    first = L.recurrent_group(step=lambda xt: L.fc(input=xt, size=2), input=x)
    second = L.recurrent_group(step=lambda xt: L.fc(input=xt, size=2), input=x)
    assert [s.name for s in first.params] == ["___fc_layer_0__@__recurrent_group_0__.w0",
                                              "___fc_layer_0__@__recurrent_group_0__.wbias"]
    assert second.params[0].name == "___fc_layer_1__@__recurrent_group_1__.w0"


# --- boot values ------------------------------------------------------------------------------

def test_boot_layer_starts_the_memory_and_gets_its_gradient():
    rng = np.random.default_rng(4)
    x = L.data(name="x", type=dt.dense_vector_sequence(3))
    s = L.data(name="s", type=dt.dense_vector(2))
    boot = L.fc(input=s, size=4, act=A.Tanh(), name="boot")

    def step(xt):
        h_prev = L.memory(name="h", size=4, boot_layer=boot)
        return L.fc(input=[xt, h_prev], size=4, act=A.Tanh(), name="h")

    out = L.recurrent_group(step=step, input=x, name="g")
    params = random_params(out, rng)
    xv, layout = ragged(rng, [2, 5, 1], 3)
    sv = rng.standard_normal((3, 2))
    y = forward(out, {"x": (xv, layout), "s": (sv, None)}, params)
    h0 = np.tanh(sv @ params["_boot.w0"] + params["_boot.wbias"])
    expected = np.zeros_like(y.data)
    for i in range(3):
        h = h0[i]
        for r in timesteps(layout, i, False):
            h = np.tanh(xv[r] @ params["_h@g.w0"] + h @ params["_h@g.w1"] + params["_h@g.wbias"][0])
            expected[r] = h
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)
    check_gradients(out, {"x": (xv, layout), "s": (sv, None)}, params)


def test_boot_bias_with_its_activation_and_boot_with_const_id():
    rng = np.random.default_rng(5)
    x = L.data(name="x", type=dt.dense_vector_sequence(3))

    def step(xt):
        h_prev = L.memory(name="h", size=4, boot_bias=paddle.attr.ParamAttr(initial_std=0.1),
                          boot_bias_active_type=A.Tanh())
        return L.fc(input=[xt, h_prev], size=4, act=A.Tanh(), name="h")

    out = L.recurrent_group(step=step, input=x, name="g")
    assert "_h+delay1@g.wbias" in Network(out).param_specs
    params = random_params(out, rng)
    xv, layout = ragged(rng, [1, 3], 3)
    y = forward(out, {"x": (xv, layout)}, params)
    h0 = np.tanh(params["_h+delay1@g.wbias"][0])
    first = np.tanh(xv[0] @ params["_h@g.w0"] + h0 @ params["_h@g.w1"] + params["_h@g.wbias"])
    np.testing.assert_allclose(y.data[0], first[0], rtol=1e-12)
    check_gradients(out, {"x": (xv, layout)}, params)


def test_boot_with_const_id_starts_an_id_memory():
    """A memory of ids (the previous step's max_id) booted with a constant id."""
    rng = np.random.default_rng(16)
    words = L.data(name="w", type=dt.integer_value_sequence(5))

    def step(word):
        previous = L.memory(name="word", size=5, boot_with_const_id=3)
        logits = L.fc(input=[L.embedding(input=previous, size=2, name="emb_prev"),
                             L.embedding(input=word, size=2, name="emb_word")],
                      size=5, act=A.Linear(), name="logits")
        return L.max_id(input=logits, name="word")

    out = L.recurrent_group(step=step, input=words, name="ids")
    params = random_params(out, rng)
    wv, layout = np.array([1, 4, 0, 2]), SequenceLayout.from_lengths([3, 1])
    y = forward(out, {"w": (wv, layout)}, params)
    p = {k.replace("@ids", ""): v for k, v in params.items()}
    expected = []
    for i in range(2):
        previous = 3
        for r in timesteps(layout, i, False):
            logits = (p["_emb_prev.w0"][previous] @ p["_logits.w0"] +
                      p["_emb_word.w0"][wv[r]] @ p["_logits.w1"] + p["_logits.wbias"][0])
            previous = int(np.argmax(logits))
            expected.append(previous)
    assert y.data.tolist() == expected


# --- static inputs ----------------------------------------------------------------------------

def test_static_inputs_are_whole_at_every_step_and_get_gradients():
    """A per-sample vector and a per-sample sequence (attention-like: pooled with the step's
    state) read whole at every step, ragged batch, both directions."""
    rng = np.random.default_rng(6)
    x = L.data(name="x", type=dt.dense_vector_sequence(3))
    v = L.data(name="v", type=dt.dense_vector(2))
    enc = L.data(name="enc", type=dt.dense_vector_sequence(4))

    def step(xt, vs, es):
        h_prev = L.memory(name="h", size=4)
        scores = L.fc(input=L.expand(input=h_prev, expand_as=es), size=4, act=A.Tanh(),
                      name="att")
        weight = L.fc(input=scores, size=1, act=A.Sigmoid(), name="w")
        context = L.pooling(input=L.scaling(input=es, weight=weight),
                            pooling_type=paddle.pooling.Sum(), name="ctx")
        return L.fc(input=[xt, vs, context, h_prev], size=4, act=A.Tanh(), name="h")

    for reverse in (False, True):
        out = L.recurrent_group(step=step, input=[x, L.StaticInput(v), L.StaticInput(enc)],
                                name=f"g{reverse}", reverse=reverse)
        params = random_params(out, rng)
        xv, layout = ragged(rng, [2, 1, 5], 3)
        vv = rng.standard_normal((3, 2))
        ev, elayout = ragged(rng, [3, 1, 2], 4)
        feed = {"x": (xv, layout), "v": (vv, None), "enc": (ev, elayout)}
        y = forward(out, feed, params)
        g = f"g{reverse}"
        p = {k.replace(f"@{g}", ""): val for k, val in params.items()}
        expected = np.zeros_like(y.data)
        for i in range(3):
            h = np.zeros(4)
            e = ev[elayout.starts[i]:elayout.starts[i + 1]]
            for r in timesteps(layout, i, reverse):
                scores = np.tanh(np.repeat(h[None], len(e), 0) @ p["_att.w0"] + p["_att.wbias"])
                w = sigmoid(scores @ p["_w.w0"] + p["_w.wbias"])
                context = (w * e).sum(axis=0)
                h = np.tanh(xv[r] @ p["_h.w0"] + vv[i] @ p["_h.w1"] + context @ p["_h.w2"] +
                            h @ p["_h.w3"] + p["_h.wbias"][0])
                expected[r] = h
        np.testing.assert_allclose(y.data, expected, rtol=1e-10, atol=1e-12)
        check_gradients(out, feed, params)


def test_a_sequence_memory_and_a_nested_static_input():
    """A memory holding a sequence per sample (booted from a sequence layer) and a nested
    StaticInput: the running sequences' whole rows are kept and trimmed step by step."""
    rng = np.random.default_rng(17)
    x = L.data(name="x", type=dt.dense_vector_sequence(3))
    enc = L.data(name="enc", type=dt.dense_vector_sequence(4))
    nest = L.data(name="nest", type=dt.dense_vector_sub_sequence(2))

    def step(xt, ns):
        state = L.memory(name="s", size=4, boot_layer=enc)
        pooled = L.pooling(input=ns, pooling_type=paddle.pooling.Sum())
        grow = L.expand(input=L.fc(input=[xt, pooled], size=4, name="inp"), expand_as=state)
        s = L.mixed(size=4, name="s", act=A.Tanh(),
                    input=[L.identity_projection(state), L.full_matrix_projection(grow)])
        return L.pooling(input=s, pooling_type=paddle.pooling.Sum(), name="o")

    xv, layout = ragged(rng, [2, 5, 1], 3)
    ev, elayout = ragged(rng, [3, 1, 2], 4)
    nv, nlayout = nested(rng, [[1, 2], [3], [1, 1]], 2)
    feed = {"x": (xv, layout), "enc": (ev, elayout), "nest": (nv, nlayout)}
    for reverse in (False, True):
        group = f"q{reverse}"
        out = L.recurrent_group(step=step, input=[x, L.StaticInput(nest)], name=group,
                                reverse=reverse)
        params = random_params(out, rng)
        y = forward(out, feed, params)
        p = {k.replace(f"@{group}", ""): v for k, v in params.items()}
        expected = np.zeros((len(xv), 4))
        for i in range(3):
            state = ev[elayout.starts[i]:elayout.starts[i + 1]]
            pooled = nv[nlayout.starts[i]:nlayout.starts[i + 1]].sum(axis=0)
            for r in timesteps(layout, i, reverse):
                grow = np.tanh(xv[r] @ p["_inp.w0"] + pooled @ p["_inp.w1"] + p["_inp.wbias"][0])
                state = np.tanh(state + grow @ p["_s.w1"])
                expected[r] = state.sum(axis=0)
        np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-14)
        check_gradients(out, feed, params)


# --- nested input -----------------------------------------------------------------------------

def test_subsequence_input_steps_over_whole_subsequences():
    rng = np.random.default_rng(7)
    x = L.data(name="x", type=dt.dense_vector_sub_sequence(3))

    def step(sub):
        h_prev = L.memory(name="h", size=4)
        pooled = L.pooling(input=sub, pooling_type=paddle.pooling.Sum(), name="pool")
        return L.fc(input=[pooled, h_prev], size=4, act=A.Tanh(), name="h")

    sub_lengths = [[2, 1], [1], [3, 1, 2]]
    xv, layout = nested(rng, sub_lengths, 3)
    for reverse in (False, True):
        out = L.recurrent_group(step=step, input=L.SubsequenceInput(x), name=f"n{reverse}",
                                reverse=reverse)
        params = random_params(out, rng)
        y = forward(out, {"x": (xv, layout)}, params)
        assert out.seq_level == 1
        assert y.seq == SequenceLayout.from_lengths([2, 1, 3])
        g = f"n{reverse}"
        expected, sub = [], 0
        for subs in sub_lengths:
            h, spans = np.zeros(4), []
            for n in subs:
                start = layout.sub_starts[sub]
                spans.append((start, start + n))
                sub += 1
            outs = [None] * len(spans)
            for k in (range(len(spans))[::-1] if reverse else range(len(spans))):
                pooled = xv[spans[k][0]:spans[k][1]].sum(axis=0)
                h = np.tanh(pooled @ params[f"_h@{g}.w0"] + h @ params[f"_h@{g}.w1"] +
                            params[f"_h@{g}.wbias"][0])
                outs[k] = h
            expected.extend(outs)
        np.testing.assert_allclose(y.data, np.array(expected), rtol=1e-12)
        check_gradients(out, {"x": (xv, layout)}, params)


def test_a_group_inside_a_group_gives_a_nested_sequence():
    """The outer step runs an inner recurrent_group over its subsequence, booted from the
    outer memory: the output is nested like the input."""
    rng = np.random.default_rng(8)
    x = L.data(name="x", type=dt.dense_vector_sub_sequence(3))

    def outer_step(sub):
        outer_prev = L.memory(name="last", size=4)

        def inner_step(xt):
            h_prev = L.memory(name="h", size=4, boot_layer=outer_prev)
            return L.fc(input=[xt, h_prev], size=4, act=A.Tanh(), name="h")

        inner = L.recurrent_group(step=inner_step, input=sub, name="inner")
        L.last_seq(input=inner, name="last")
        return inner

    out = L.recurrent_group(step=outer_step, input=x, name="outer")
    assert out.seq_level == 2
    sub_lengths = [[2, 1], [1], [3, 1, 2]]
    xv, layout = nested(rng, sub_lengths, 3)
    params = random_params(out, rng)
    assert set(params) == {"_h@inner.w0", "_h@inner.w1", "_h@inner.wbias"}
    y = forward(out, {"x": (xv, layout)}, params)
    assert y.seq == layout
    expected = np.zeros((len(xv), 4))
    for i in range(3):
        h = np.zeros(4)
        for j in range(np.searchsorted(layout.sub_starts, layout.starts[i]),
                       np.searchsorted(layout.sub_starts, layout.starts[i + 1])):
            for r in range(layout.sub_starts[j], layout.sub_starts[j + 1]):
                h = np.tanh(xv[r] @ params["_h@inner.w0"] + h @ params["_h@inner.w1"] +
                            params["_h@inner.wbias"][0])
                expected[r] = h
    np.testing.assert_allclose(y.data, expected, rtol=1e-12)
    check_gradients(out, {"x": (xv, layout)}, params)


# --- the step layers against their equations ----------------------------------------------------

def naive_lstm(xv, layout, w, check, reverse):
    size = w.shape[0]
    ci, cf, co = check[0, :size], check[0, size:2 * size], check[0, 2 * size:]
    out = np.zeros((len(xv), size))
    for i in range(layout.num_sequences):
        h, c = np.zeros(size), np.zeros(size)
        for r in timesteps(layout, i, reverse):
            g = xv[r] + h @ w
            a = np.tanh(g[:size])
            ig = sigmoid(g[size:2 * size] + c * ci)
            fg = sigmoid(g[2 * size:3 * size] + c * cf)
            c = a * ig + c * fg
            og = sigmoid(g[3 * size:] + c * co)
            h = og * np.tanh(c)
            out[r] = h
    return out


def naive_gru(xv, layout, w, bias, reverse):
    size = w.shape[0]
    flat = w.reshape(-1)
    ug, uc = flat[:2 * size * size].reshape(size, 2 * size), flat[2 * size * size:].reshape(size,
                                                                                          size)
    out = np.zeros((len(xv), size))
    for i in range(layout.num_sequences):
        h = np.zeros(size)
        for r in timesteps(layout, i, reverse):
            g = xv[r] + bias[0]
            z = sigmoid(g[:size] + h @ ug[:, :size])
            rg = sigmoid(g[size:2 * size] + h @ ug[:, size:])
            c = np.tanh(g[2 * size:] + (rg * h) @ uc)
            h = (1 - z) * h + z * c
            out[r] = h
    return out


@pytest.mark.parametrize("reverse", [False, True])
def test_lstmemory_group_follows_the_lstm_step_equations(reverse):
    rng = np.random.default_rng(9)
    size = 3
    x = L.data(name="x", type=dt.dense_vector_sequence(4 * size))
    out = paddle.networks.lstmemory_group(input=x, size=size, name="lstm", reverse=reverse)
    assert out.name == "lstm"
    params = random_params(out, rng)
    names = sorted(params)
    assert names == ["_lstm@lstm_recurrent_group.wbias",
                     "_lstm_input_recurrent@lstm_recurrent_group.w1"]
    assert params["_lstm@lstm_recurrent_group.wbias"].shape == (1, 3 * size)
    for lengths in ([1, 2, 5], [3]):
        xv, layout = ragged(rng, lengths, 4 * size)
        y = forward(out, {"x": (xv, layout)}, params)
        expected = naive_lstm(xv, layout, params["_lstm_input_recurrent@lstm_recurrent_group.w1"],
                              params["_lstm@lstm_recurrent_group.wbias"], reverse)
        np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-14)
        check_gradients(out, {"x": (xv, layout)}, params)


@pytest.mark.parametrize("reverse", [False, True])
def test_gru_group_follows_the_gru_step_equations(reverse):
    rng = np.random.default_rng(10)
    size = 3
    x = L.data(name="x", type=dt.dense_vector_sequence(3 * size))
    out = paddle.networks.gru_group(input=x, size=size, name="gru", reverse=reverse)
    params = random_params(out, rng)
    assert sorted(params) == ["_gru@gru_recurrent_group.w0", "_gru@gru_recurrent_group.wbias"]
    assert params["_gru@gru_recurrent_group.w0"].shape == (size, 3 * size)
    for lengths in ([1, 2, 5], [3]):
        xv, layout = ragged(rng, lengths, 3 * size)
        y = forward(out, {"x": (xv, layout)}, params)
        expected = naive_gru(xv, layout, params["_gru@gru_recurrent_group.w0"],
                             params["_gru@gru_recurrent_group.wbias"], reverse)
        np.testing.assert_allclose(y.data, expected, rtol=1e-12, atol=1e-14)
        check_gradients(out, {"x": (xv, layout)}, params)


def test_gru_step_naive_computes_the_same_step_from_mixed_layers():
    rng = np.random.default_rng(11)
    size = 3
    x = L.data(name="x", type=dt.dense_vector_sequence(3 * size))
    fused = paddle.networks.gru_group(input=x, size=size, name="a")
    naive = paddle.networks.gru_group(input=x, size=size, name="b", naive=True)
    pa = random_params(fused, rng)
    w, b = pa["_a@a_recurrent_group.w0"], pa["_a@a_recurrent_group.wbias"]
    flat = w.reshape(-1)
    ug, uc = flat[:2 * size * size].reshape(size, 2 * size), flat[2 * size * size:].reshape(size,
                                                                                          size)
    g = "@b_recurrent_group"
    pb = {f"_b_update{g}.w1": ug[:, :size], f"_b_update{g}.wbias": b[:, :size],
          f"_b_reset{g}.w1": ug[:, size:], f"_b_reset{g}.wbias": b[:, size:2 * size],
          f"_b_output_candidate{g}.w1": uc, f"_b_output_candidate{g}.wbias": b[:, 2 * size:]}
    assert set(pb) == set(Network(naive).param_specs)
    xv, layout = ragged(rng, [2, 5, 1], 3 * size)
    np.testing.assert_allclose(forward(naive, {"x": (xv, layout)}, pb).data,
                               forward(fused, {"x": (xv, layout)}, pa).data, rtol=1e-12)


def test_step_groups_agree_with_the_fused_layers():
    """gru_group / lstmemory_group and grumemory / lstmemory compute the same recurrences
    with the same parameters (the fused layers' bias holds what the group's projection adds)."""
    from minidl.layers import recurrent
    rng = np.random.default_rng(12)
    size = 3
    xg = L.data(name="xg", type=dt.dense_vector_sequence(3 * size))
    xv, layout = ragged(rng, [2, 5, 1], 3 * size)
    fused = recurrent.grumemory(input=xg, name="fused_gru")
    group = paddle.networks.gru_group(input=xg, size=size, name="grp")
    pf = random_params(fused, rng)
    pg = {"_grp@grp_recurrent_group.w0": pf["_fused_gru.w0"].reshape(size, 3 * size),
          "_grp@grp_recurrent_group.wbias": pf["_fused_gru.wbias"].reshape(1, 3 * size)}
    np.testing.assert_allclose(forward(group, {"xg": (xv, layout)}, pg).data,
                               forward(fused, {"xg": (xv, layout)}, pf).data, rtol=1e-10)

    xl = L.data(name="xl", type=dt.dense_vector_sequence(4 * size))
    xv, layout = ragged(rng, [2, 5, 1], 4 * size)
    fused = recurrent.lstmemory(input=xl, name="fused_lstm")
    group = paddle.networks.lstmemory_group(
        input=xl, size=size, name="lg", input_proj_bias_attr=paddle.attr.ParamAttr())
    pf = random_params(fused, rng)
    bias = pf["_fused_lstm.wbias"].reshape(1, 7 * size)
    pg = {"_lg_input_recurrent@lg_recurrent_group.w1": pf["_fused_lstm.w0"].reshape(size,
                                                                                    4 * size),
          "_lg_input_recurrent@lg_recurrent_group.wbias": bias[:, :4 * size],
          "_lg@lg_recurrent_group.wbias": bias[:, 4 * size:]}
    np.testing.assert_allclose(forward(group, {"xl": (xv, layout)}, pg).data,
                               forward(fused, {"xl": (xv, layout)}, pf).data, rtol=1e-10)


def test_get_output_gives_the_lstm_state():
    rng = np.random.default_rng(13)
    size = 2
    x = L.data(name="x", type=dt.dense_vector_sequence(4 * size))

    def step(xt):
        c_prev = L.memory(name="c", size=size)
        h = L.lstm_step(input=xt, state=c_prev, name="lstm")
        return [h, L.get_output(input=h, arg_name="state", name="c")]

    h, c = L.recurrent_group(step=step, input=x, name="g")
    params = random_params(h, rng)
    xv, layout = ragged(rng, [3, 1], 4 * size)
    hv = forward(h, {"x": (xv, layout)}, params).data
    cv = forward(c, {"x": (xv, layout)}, params).data
    check = params["_lstm@g.wbias"][0]
    state = np.zeros(size)
    for r in range(3):
        a = np.tanh(xv[r, :size])
        ig = sigmoid(xv[r, size:2 * size] + state * check[:size])
        fg = sigmoid(xv[r, 2 * size:3 * size] + state * check[size:2 * size])
        state = a * ig + state * fg
        og = sigmoid(xv[r, 3 * size:] + state * check[2 * size:])
        np.testing.assert_allclose(cv[r], state, rtol=1e-12)
        np.testing.assert_allclose(hv[r], og * np.tanh(state), rtol=1e-12)
    check_gradients(c, {"x": (xv, layout)}, params)


def test_simple_attention_normalises_over_each_source_sequence():
    rng = np.random.default_rng(14)
    enc = L.data(name="enc", type=dt.dense_vector_sequence(4))
    proj = L.data(name="proj", type=dt.dense_vector_sequence(3))
    state = L.data(name="state", type=dt.dense_vector(3))
    context = paddle.networks.simple_attention(encoded_sequence=enc, encoded_proj=proj,
                                               decoder_state=state, name="att")
    params = random_params(context, rng)
    assert sorted(params) == ["_att_softmax.w0", "_att_transform.w0"]
    ev, layout = ragged(rng, [2, 1, 4], 4)
    pv = rng.standard_normal((7, 3))
    sv = rng.standard_normal((3, 3))
    feed = {"enc": (ev, layout), "proj": (pv, layout), "state": (sv, None)}
    y = forward(context, feed, params)
    for i in range(3):
        rows = slice(layout.starts[i], layout.starts[i + 1])
        scores = np.tanh(sv[i] @ params["_att_transform.w0"] + pv[rows]) @ params["_att_softmax.w0"]
        weights = np.exp(scores - scores.max())
        weights /= weights.sum()
        np.testing.assert_allclose(y.data[i], (weights * ev[rows]).sum(axis=0), rtol=1e-12)
    check_gradients(context, feed, params)


# --- a network trained through the feeder ------------------------------------------------------

def test_a_recurrent_group_trains_through_the_feeder():
    L.reset_names()
    words = L.data(name="words", type=dt.integer_value_sequence(10))
    label = L.data(name="label", type=dt.integer_value(2))
    emb = L.embedding(input=words, size=4)
    proj = L.fc(input=emb, size=3 * 5, act=A.Linear(), bias_attr=False)
    gru = paddle.networks.gru_group(input=proj, size=5)
    prob = L.fc(input=L.last_seq(input=gru), size=2, act=A.Softmax())
    cost = L.classification_cost(input=prob, label=label)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=0.05))
    samples = [([1, 2, 3], 0), ([4], 1), ([5, 6, 7, 8, 9], 0), ([2, 2], 1)] * 4
    costs = []
    trainer.train(reader=paddle.batch(lambda: iter(samples), batch_size=8), num_passes=10,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert costs[-1] < costs[0]
    assert "___gru_group_0__@__gru_group_0___recurrent_group.w0" in parameters.names()
    result = paddle.infer(output_layer=prob, parameters=parameters,
                          input=[(s,) for s, _ in samples[:4]])
    assert result.shape == (4, 2)


# --- errors at build time ------------------------------------------------------------------------

def test_a_memory_naming_no_step_layer_is_an_error():
    x = L.data(name="x", type=dt.dense_vector_sequence(3))

    def step(xt):
        h_prev = L.memory(name="hidden", size=4)
        return L.fc(input=[xt, h_prev], size=4, name="h")

    with pytest.raises(ValueError, match=r"memory 'hidden' in recurrent_group g: no layer "
                                         r"named 'hidden'.*its layers: .*h"):
        L.recurrent_group(step=step, input=x, name="g")


def test_a_memory_of_the_wrong_size_is_an_error():
    x = L.data(name="x", type=dt.dense_vector_sequence(3))

    def step(xt):
        h_prev = L.memory(name="h", size=5)
        return L.fc(input=[xt, h_prev], size=4, name="h")

    with pytest.raises(ValueError, match=r"memory 'h' in recurrent_group g has size 5, but "
                                         r"layer h \(fc, size 4\) has size 4"):
        L.recurrent_group(step=step, input=x, name="g")


def test_a_boot_layer_of_the_wrong_size_is_an_error():
    x = L.data(name="x", type=dt.dense_vector_sequence(3))
    boot = L.data(name="boot", type=dt.dense_vector(3))

    def step(xt):
        h_prev = L.memory(name="h", size=4, boot_layer=boot)
        return L.fc(input=[xt, h_prev], size=4, name="h")

    with pytest.raises(ValueError, match=r"memory h: boot_layer boot \(dense_vector\(3\) "
                                         r"data\) must have the memory's size 4"):
        L.recurrent_group(step=step, input=x, name="g")


def test_other_build_errors_name_the_culprit():
    x = L.data(name="x", type=dt.dense_vector_sequence(3))
    outside = L.fc(input=L.data(name="o", type=dt.dense_vector(2)), size=3, name="outside")
    with pytest.raises(ValueError, match="only be used inside the step function"):
        L.memory(name="h", size=4)
    with pytest.raises(ValueError, match=r"layer h inside recurrent_group g reads outside, "
                                         r"which is outside the group.*StaticInput\(outside\)"):
        L.recurrent_group(step=lambda xt: L.fc(input=[xt, outside], size=2, name="h"),
                          input=x, name="g")
    with pytest.raises(ValueError, match="must return layers"):
        L.recurrent_group(step=lambda xt: 3, input=x, name="g")
    with pytest.raises(ValueError, match="at least one input must be a sequence"):
        L.recurrent_group(step=lambda s: L.fc(input=s, size=2), input=L.StaticInput(outside),
                          name="g")
    with pytest.raises(ValueError, match="at most one of boot_layer, boot_bias"):
        L.recurrent_group(step=lambda xt: L.memory(name="h", size=3, boot_layer=outside,
                                                   boot_with_const_id=1),
                          input=x, name="g")
    with pytest.raises(ValueError, match="must be a nested sequence"):
        L.SubsequenceInput(x)
    with pytest.raises(ValueError, match="two layers of the step are named 'x'"):
        L.recurrent_group(step=lambda xt: L.fc(input=xt, size=2, name="x"), input=x, name="g")
    with pytest.raises(ValueError, match=r"gru_step\): input .* not a multiple of 3"):
        L.gru_step(input=L.data(name="g4", type=dt.dense_vector(4)),
                   output_mem=L.data(name="m", type=dt.dense_vector(1)))
    with pytest.raises(ValueError, match=r"output_mem m2 has size 3, expected the layer's size 2"):
        L.gru_step(input=L.data(name="g6", type=dt.dense_vector(6)),
                   output_mem=L.data(name="m2", type=dt.dense_vector(3)))
    with pytest.raises(ValueError, match=r"lstm_step\): input .* expected 4 \* size = 8"):
        L.lstm_step(input=L.data(name="l6", type=dt.dense_vector(6)),
                    state=L.data(name="c2", type=dt.dense_vector(2)))
    with pytest.raises(ValueError, match="arg_name='cell' is not an output"):
        lstm = L.lstm_step(input=L.data(name="l8", type=dt.dense_vector(8)),
                           state=L.data(name="c3", type=dt.dense_vector(2)))
        L.get_output(input=lstm, arg_name="cell")
    with pytest.raises(ValueError, match="not available in a step layer"):
        L.gru_step(input=L.data(name="g9", type=dt.dense_vector(9)),
                   output_mem=L.data(name="m3", type=dt.dense_vector(3)), act=A.Softmax())


def test_sequences_of_different_lengths_in_two_inlinks_are_an_error_at_run_time():
    rng = np.random.default_rng(15)
    a = L.data(name="a", type=dt.dense_vector_sequence(2))
    b = L.data(name="b", type=dt.dense_vector_sequence(2))
    out = L.recurrent_group(step=lambda at, bt: L.fc(input=[at, bt], size=2), input=[a, b],
                            name="two")
    params = random_params(out, rng)
    av, la = ragged(rng, [2, 1], 2)
    bv, lb = ragged(rng, [1, 2], 2)
    with pytest.raises(ValueError, match=r"inputs a and b have different numbers of timesteps"):
        forward(out, {"a": (av, la), "b": (bv, lb)}, params)
