"""Fused recurrent layers (``lstmemory``, ``grumemory``) and the networks built on them
(``simple_lstm``, ``simple_gru``, ``simple_gru2``, ``bidirectional_lstm``,
``bidirectional_gru``).

The layers are checked against naive loops written here from Paddle's equations, reading
the parameters from their flat memory the way Paddle's C++ layers do (so a v2 tarball's
values give v2's outputs); float64 gradient checks cover inputs, weights and biases
(peepholes included) on ragged batches, forwards and reversed, with non-default
activations; v2's parameter names and dims; sequences ending at different steps; the
construction errors; the networks' layer names and ``return_seq``; and the book's
``stacked_lstm_net`` built and trained through ``import minidl as paddle``.
"""

import io
import math

import numpy as np
import pytest

import minidl as paddle
from minidl.backends import get_kernel
from minidl.core import Tensor
from minidl.layers.graph import Network, RunContext
from minidl.training.feeding import Feeder

from conftest import to_numpy
from sequence_helpers import check_layer_gradients, ragged, run_layer

dense = paddle.data_type.dense_vector
dense_seq = paddle.data_type.dense_vector_sequence
act = paddle.activation

#: ragged batches: lengths 1, 2, 5 mixed (in two orders), one sequence, a single row
LENGTHS = ([1, 2, 5], [5, 1, 2], [3], [1])


# ---- naive definitions: one sequence, one timestep at a time ------------------------------

def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-np.clip(v, -40.0, 13.0)))     # Paddle's clipped sigmoid


NAIVE_ACT = {"tanh": np.tanh, "sigmoid": _sigmoid, "relu": lambda v: np.maximum(v, 0.0),
             "": lambda v: v}


def naive_lstm(x, w_memory, bias_memory, lengths, reverse=False, cell="tanh", gate="sigmoid",
               state="tanh"):
    """Paddle's LstmLayer: the weight memory read as a row-major (H, 4H) matrix, the bias as
    4H gate biases then checkI, checkF, checkO; rows [candidate, input, forget, output]."""
    hidden = x.shape[1] // 4
    w = np.asarray(w_memory, dtype=np.float64).reshape(hidden, 4 * hidden)
    b = np.asarray(bias_memory, dtype=np.float64).reshape(-1)
    gate_bias, check_i, check_f, check_o = (b[:4 * hidden], b[4 * hidden:5 * hidden],
                                            b[5 * hidden:6 * hidden], b[6 * hidden:])
    out, begin = [], 0
    for length in lengths:
        rows = list(range(begin, begin + length))
        begin += length
        outputs = {}
        h_prev, c_prev = np.zeros(hidden), np.zeros(hidden)
        for r in (reversed(rows) if reverse else rows):
            z = x[r] + gate_bias + h_prev @ w
            candidate = NAIVE_ACT[cell](z[:hidden])
            in_gate = NAIVE_ACT[gate](z[hidden:2 * hidden] + check_i * c_prev)
            forget = NAIVE_ACT[gate](z[2 * hidden:3 * hidden] + check_f * c_prev)
            c = candidate * in_gate + c_prev * forget
            out_gate = NAIVE_ACT[gate](z[3 * hidden:] + check_o * c)
            h = out_gate * NAIVE_ACT[state](c)
            outputs[r] = h
            h_prev, c_prev = h, c
        out.extend(outputs[r] for r in rows)
    return np.array(out).reshape(-1, hidden)


def naive_gru(x, w_memory, bias_memory, lengths, reverse=False, cell="tanh", gate="sigmoid"):
    """Paddle's GatedRecurrentLayer: the first 2H*H numbers of the weight are the (H, 2H)
    gate weight, the last H*H the (H, H) candidate weight; rows [update, reset, candidate]."""
    hidden = x.shape[1] // 3
    flat = np.asarray(w_memory, dtype=np.float64).reshape(-1)
    w_gate = flat[:2 * hidden * hidden].reshape(hidden, 2 * hidden)
    w_state = flat[2 * hidden * hidden:].reshape(hidden, hidden)
    b = np.asarray(bias_memory, dtype=np.float64).reshape(-1)
    out, begin = [], 0
    for length in lengths:
        rows = list(range(begin, begin + length))
        begin += length
        outputs = {}
        h_prev = np.zeros(hidden)
        for r in (reversed(rows) if reverse else rows):
            z = x[r] + b
            gates = z[:2 * hidden] + h_prev @ w_gate
            update = NAIVE_ACT[gate](gates[:hidden])
            reset = NAIVE_ACT[gate](gates[hidden:])
            candidate = NAIVE_ACT[cell](z[2 * hidden:] + (reset * h_prev) @ w_state)
            h = h_prev - update * h_prev + update * candidate
            outputs[r] = h
            h_prev = h
        out.extend(outputs[r] for r in rows)
    return np.array(out).reshape(-1, hidden)


# ---- helpers ------------------------------------------------------------------------------

def lstm_params(rng, hidden, scale=0.5):
    """Paddle-dims values: w0 (H, H, 4), wbias (1, 7H)."""
    return (rng.standard_normal((hidden, hidden, 4)) * scale,
            rng.standard_normal((1, 7 * hidden)) * scale)


def gru_params(rng, hidden, scale=0.5):
    return (rng.standard_normal((hidden, 3 * hidden)) * scale,
            rng.standard_normal((1, 3 * hidden)) * scale)


def layer_values(layer, w, b):
    """{name: value in the layer's compute shape} for run_layer / check_layer_gradients."""
    return {layer.weight.name: w.reshape(layer.weight.compute_shape), layer.bias.name: b}


def build(kind, hidden, **kw):
    data = paddle.layer.data("x", dense_seq((4 if kind == "lstm" else 3) * hidden))
    builder = paddle.layer.lstmemory if kind == "lstm" else paddle.layer.grumemory
    return builder(input=data, **kw)


# ---- forward against the naive loops ------------------------------------------------------

@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("reverse", [False, True])
def test_lstmemory_matches_the_naive_loop(backend, rng, lengths, reverse):
    hidden = 3
    layer = build("lstm", hidden, reverse=reverse)
    x, layout = ragged(rng, lengths, 4 * hidden)
    w, b = lstm_params(rng, hidden)
    y = run_layer(layer, [(x, layout)], layer_values(layer, w, b))
    np.testing.assert_allclose(to_numpy(y.data), naive_lstm(x, w, b, lengths, reverse),
                               rtol=1e-7, atol=1e-9)
    assert y.seq == layout and y.data.shape == (sum(lengths), hidden)


@pytest.mark.parametrize("lengths", LENGTHS)
@pytest.mark.parametrize("reverse", [False, True])
def test_grumemory_matches_the_naive_loop(backend, rng, lengths, reverse):
    hidden = 3
    layer = build("gru", hidden, reverse=reverse)
    x, layout = ragged(rng, lengths, 3 * hidden)
    w, b = gru_params(rng, hidden)
    y = run_layer(layer, [(x, layout)], layer_values(layer, w, b))
    np.testing.assert_allclose(to_numpy(y.data), naive_gru(x, w, b, lengths, reverse),
                               rtol=1e-7, atol=1e-9)
    assert y.seq == layout


NON_DEFAULT_LSTM = [  # (act, gate_act, state_act) as layer arguments and naive names
    ((act.Relu(), act.Sigmoid(), act.Linear()), ("relu", "sigmoid", "")),
    ((act.Linear(), act.Tanh(), act.Sigmoid()), ("", "tanh", "sigmoid")),
    ((act.Sigmoid(), act.Relu(), act.Relu()), ("sigmoid", "relu", "relu")),
]


@pytest.mark.parametrize("acts,names", NON_DEFAULT_LSTM)
def test_lstmemory_non_default_activations(backend, rng, acts, names):
    hidden, lengths = 4, [2, 5, 1]
    layer = build("lstm", hidden, act=acts[0], gate_act=acts[1], state_act=acts[2])
    x, layout = ragged(rng, lengths, 4 * hidden)
    w, b = lstm_params(rng, hidden, 0.3)
    y = run_layer(layer, [(x, layout)], layer_values(layer, w, b))
    np.testing.assert_allclose(to_numpy(y.data), naive_lstm(x, w, b, lengths, False, *names),
                               rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("acts,names", [((act.Relu(), act.Tanh()), ("relu", "tanh")),
                                        ((act.Linear(), act.Sigmoid()), ("", "sigmoid")),
                                        ((act.Sigmoid(), act.Linear()), ("sigmoid", ""))])
def test_grumemory_non_default_activations(backend, rng, acts, names):
    hidden, lengths = 4, [2, 5, 1]
    layer = build("gru", hidden, act=acts[0], gate_act=acts[1], reverse=True)
    x, layout = ragged(rng, lengths, 3 * hidden)
    w, b = gru_params(rng, hidden, 0.3)
    y = run_layer(layer, [(x, layout)], layer_values(layer, w, b))
    np.testing.assert_allclose(to_numpy(y.data), naive_gru(x, w, b, lengths, True, *names),
                               rtol=1e-7, atol=1e-9)


def test_float32_runs_match_float64(backend, rng):
    """The cpu kernels' float32 tanh/sigmoid are rational approximations: 50 steps stay
    within float32 rounding of the exact float64 result."""
    hidden, lengths = 16, [50, 7, 31]
    for kind, params, naive in (("lstm", lstm_params, naive_lstm), ("gru", gru_params,
                                                                     naive_gru)):
        layer = build(kind, hidden)
        gates = 4 if kind == "lstm" else 3
        x, layout = ragged(rng, lengths, gates * hidden)
        w, b = params(rng, hidden, 0.25)
        values = {name: v.astype(np.float32) for name, v in layer_values(layer, w, b).items()}
        y = run_layer(layer, [(x.astype(np.float32), layout)], values)
        assert y.data.dtype == np.float32
        np.testing.assert_allclose(to_numpy(y.data), naive(x, w, b, lengths), atol=2e-5)


# ---- sequences ending at different steps ---------------------------------------------------

@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("reverse", [False, True])
def test_each_sequence_is_its_own_run(backend, rng, kind, reverse):
    """Sequences of lengths 6, 1, 4, 2 (ending at different steps of the time loop, the
    running set shrinking 4, 4, 3, 3, 1, 1) give, and receive gradients, exactly as each
    run alone."""
    hidden, lengths = 3, [6, 1, 4, 2]
    gates = 4 if kind == "lstm" else 3
    layer = build(kind, hidden, reverse=reverse)
    x, layout = ragged(rng, lengths, gates * hidden)
    w, b = (lstm_params if kind == "lstm" else gru_params)(rng, hidden)
    values = layer_values(layer, w, b)
    gh = rng.standard_normal((sum(lengths), hidden))
    starts = layout.starts
    op = "lstm" if kind == "lstm" else "gru"

    def run(x_part, part_layout):
        tensor = paddle_tensor(x_part, part_layout)
        params = {name: paddle_tensor(v) for name, v in values.items()}
        y = layer.compute(RunContext(params), [tensor])
        return y, tensor, params

    y, tensor, params = run(x, layout)
    (y * paddle_tensor(gh)).sum().backward()
    for i in range(len(lengths)):
        rows = slice(int(starts[i]), int(starts[i + 1]))
        alone, alone_x, alone_params = run(x[rows], type(layout).from_lengths([lengths[i]]))
        (alone * paddle_tensor(gh[rows])).sum().backward()
        np.testing.assert_allclose(to_numpy(y.data)[rows], to_numpy(alone.data), rtol=1e-10,
                                   err_msg=f"{op} sequence {i} output")
        np.testing.assert_allclose(to_numpy(tensor.grad)[rows], to_numpy(alone_x.grad),
                                   rtol=1e-9, atol=1e-12, err_msg=f"{op} sequence {i} gx")


def paddle_tensor(value, layout=None):
    return Tensor(np.asarray(value), requires_grad=True, seq=layout)


def test_nested_input_runs_over_whole_sequences(rng):
    """A nested sequence runs over each whole sequence (Paddle reads the top-level
    sequence starts), across its subsequences, and the output keeps the nested layout."""
    from sequence_helpers import nested
    hidden = 2
    layer = build("gru", hidden)
    x, layout = nested(rng, [[1, 2], [3]], 3 * hidden)
    w, b = gru_params(rng, hidden)
    y = run_layer(layer, [(x, layout)], layer_values(layer, w, b))
    np.testing.assert_allclose(y.data, naive_gru(x, w, b, [3, 3]), rtol=1e-10)
    assert y.seq == layout and y.seq.is_nested


# ---- float64 gradients ----------------------------------------------------------------------

GRADIENT_CASES = [([1, 2, 5], False), ([1, 2, 5], True), ([1], False), ([4], True)]


@pytest.mark.parametrize("lengths,reverse", GRADIENT_CASES)
def test_lstmemory_gradients(backend, rng, lengths, reverse):
    """Input, weight and the whole 7H bias (gate biases and the three peepholes)."""
    hidden = 3
    layer = build("lstm", hidden, reverse=reverse)
    x, layout = ragged(rng, lengths, 4 * hidden)
    w, b = lstm_params(rng, hidden)
    check_layer_gradients(layer, [(x, layout)], layer_values(layer, w, b))


@pytest.mark.parametrize("lengths,reverse", GRADIENT_CASES)
def test_grumemory_gradients(backend, rng, lengths, reverse):
    hidden = 3
    layer = build("gru", hidden, reverse=reverse)
    x, layout = ragged(rng, lengths, 3 * hidden)
    w, b = gru_params(rng, hidden)
    check_layer_gradients(layer, [(x, layout)], layer_values(layer, w, b))


def test_gradients_with_non_default_activations(backend, rng):
    hidden, lengths = 3, [2, 1, 5]
    lstm = build("lstm", hidden, act=act.Sigmoid(), gate_act=act.Tanh(),
                 state_act=act.Linear(), reverse=True)
    x, layout = ragged(rng, lengths, 4 * hidden)
    check_layer_gradients(lstm, [(x, layout)], layer_values(lstm, *lstm_params(rng, hidden)))
    paddle.layer.reset_names()
    gru = build("gru", hidden, act=act.Linear(), gate_act=act.Tanh())
    x, layout = ragged(rng, lengths, 3 * hidden)
    check_layer_gradients(gru, [(x, layout)], layer_values(gru, *gru_params(rng, hidden)))


def test_peephole_gradients_are_the_bias_tail(rng):
    """The last 3H bias numbers are the peepholes: perturbing checkO alone moves the output,
    and its gradient is the sum over rows of dz_o * c (checked by finite differences)."""
    hidden, lengths = 2, [3, 2]
    layer = build("lstm", hidden)
    x, layout = ragged(rng, lengths, 4 * hidden)
    w, b = lstm_params(rng, hidden)
    base = run_layer(layer, [(x, layout)], layer_values(layer, w, b)).data.sum()
    for k in range(4 * hidden, 7 * hidden):
        bumped = b.copy()
        bumped[0, k] += 1e-6
        moved = run_layer(layer, [(x, layout)], layer_values(layer, w, bumped)).data.sum()
        assert moved != base, f"bias entry {k} (a peephole) has no effect"


# ---- parameters: v2's names, dims, defaults and tarballs -------------------------------------

def test_parameter_names_dims_and_defaults():
    lstm = build("lstm", 5)
    assert lstm.name == "__lstmemory_0__" and lstm.size == 5 and lstm.type == "lstmemory"
    assert [(s.name, s.shape) for s in lstm.params] == [
        ("___lstmemory_0__.w0", (5, 5, 4)), ("___lstmemory_0__.wbias", (1, 35))]
    assert lstm.weight.compute_shape == (5, 20)
    assert math.isclose(lstm.weight.default_std, 1 / math.sqrt(5)) and lstm.bias.is_bias
    paddle.layer.reset_names()
    gru = build("gru", 5)
    assert gru.name == "__gru_0__" and gru.size == 5 and gru.type == "gated_recurrent"
    assert [(s.name, s.shape) for s in gru.params] == [
        ("___gru_0__.w0", (5, 15)), ("___gru_0__.wbias", (1, 15))]
    named = build("lstm", 2, name="enc", param_attr=paddle.attr.Param(name="shared_w"),
                  bias_attr=paddle.attr.Param(name="shared_b"))
    assert [s.name for s in named.params] == ["shared_w", "shared_b"]


def test_size_given_equal_to_input_size_over_gates_is_accepted():
    assert build("lstm", 3, size=3).size == 3
    assert build("gru", 3, size=3).size == 3


@pytest.mark.parametrize("kind", ["lstm", "gru"])
def test_values_from_a_v2_tarball_give_v2_outputs(rng, kind):
    """Parameters written in Paddle's tarball layout (dims [H, H, 4] / [H, 3H], raw float32
    memory) load and give the outputs of Paddle's layers (the naive loops read the memory
    as Paddle's C++ does); a save/load round trip keeps them."""
    hidden, lengths = 4, [3, 1, 2]
    gates = 4 if kind == "lstm" else 3
    layer = build(kind, hidden)
    w, b = (lstm_params if kind == "lstm" else gru_params)(rng, hidden)
    w, b = w.astype(np.float32), b.astype(np.float32)
    parameters = paddle.parameters.create(layer)
    assert parameters.get_shape(layer.weight.name) == w.shape
    parameters.set(layer.weight.name, w)
    parameters.set(layer.bias.name, b)
    buffer = io.BytesIO()
    parameters.to_tar(buffer)
    buffer.seek(0)
    loaded = paddle.parameters.Parameters.from_tar(buffer)
    np.testing.assert_array_equal(loaded.get(layer.weight.name), w)
    sequences = [rng.standard_normal((n, gates * hidden)).astype(np.float32) for n in lengths]
    out = paddle.infer(output_layer=layer, parameters=loaded,
                       input=[(s.tolist(),) for s in sequences])
    x = np.concatenate(sequences).astype(np.float64)
    naive = naive_lstm if kind == "lstm" else naive_gru
    np.testing.assert_allclose(out, naive(x, w, b, lengths), rtol=1e-4, atol=1e-5)


# ---- construction errors ---------------------------------------------------------------------

def test_input_size_must_be_gates_times_hidden():
    data = paddle.layer.data("x", dense_seq(10))
    with pytest.raises(ValueError, match=r"layer my_lstm \(lstmemory\): input x has size 10, "
                                         r"which is not 4 \* hidden size"):
        paddle.layer.lstmemory(input=data, name="my_lstm")
    with pytest.raises(ValueError, match=r"layer my_gru \(gated_recurrent\): input x has size "
                                         r"10, which is not 3 \* hidden size"):
        paddle.layer.grumemory(input=data, name="my_gru")


def test_size_that_disagrees_with_the_input_is_named():
    data = paddle.layer.data("x", dense_seq(12))
    with pytest.raises(ValueError, match=r"layer l \(lstmemory\): size=4, but input x of size "
                                         r"12 gives hidden size 12 / 4 = 3"):
        paddle.layer.lstmemory(input=data, name="l", size=4)
    with pytest.raises(ValueError, match=r"layer g \(gated_recurrent\): size=3, but input x "
                                         r"of size 12 gives hidden size 12 / 3 = 4"):
        paddle.layer.grumemory(input=data, name="g", size=3)


def test_non_sequence_input_is_refused():
    flat = paddle.layer.data("flat", dense(8))
    with pytest.raises(ValueError, match=r"layer l \(lstmemory\).*flat is a non-sequence"):
        paddle.layer.lstmemory(input=flat, name="l")
    flat3 = paddle.layer.data("flat3", dense(6))
    with pytest.raises(ValueError, match=r"layer g \(gated_recurrent\).*flat3 is a "
                                         r"non-sequence"):
        paddle.layer.grumemory(input=flat3, name="g")


def test_integer_ids_are_refused():
    ids = paddle.layer.data("ids", paddle.data_type.integer_value_sequence(8))
    with pytest.raises(ValueError, match=r"layer l \(lstmemory\).*ids gives integer ids"):
        paddle.layer.lstmemory(input=ids, name="l")


def test_no_bias_is_refused_as_paddle_aborted():
    data = paddle.layer.data("x", dense_seq(8))
    with pytest.raises(ValueError, match=r"layer l \(lstmemory\): bias_attr=False.*bias of "
                                         r"14 numbers"):
        paddle.layer.lstmemory(input=data, name="l", bias_attr=False)
    data3 = paddle.layer.data("x3", dense_seq(6))
    with pytest.raises(ValueError, match=r"layer g \(gated_recurrent\): bias_attr=False.*"
                                         r"bias of 6 numbers"):
        paddle.layer.grumemory(input=data3, name="g", bias_attr=False)


def test_activations_paddle_lacks_are_refused():
    data = paddle.layer.data("x", dense_seq(8))
    with pytest.raises(ValueError, match=r"layer l: state_act=Softmax\(\) is not available.*"
                                         r"Tanh\(\), Sigmoid\(\), Relu\(\) or Linear\(\)"):
        paddle.layer.lstmemory(input=data, name="l", state_act=act.Softmax())
    with pytest.raises(ValueError, match=r"layer g: gate_act=STanh\(\) is not available"):
        paddle.layer.grumemory(input=paddle.layer.data("y", dense_seq(6)), name="g",
                               gate_act=act.STanh())


def test_a_value_without_its_layout_is_named(rng):
    layer = build("gru", 2, name="g")
    w, b = gru_params(rng, 2)
    with pytest.raises(ValueError, match=r"layer g \(gated_recurrent\): input x is declared a "
                                         r"sequence but its value carries no sequence layout"):
        run_layer(layer, [(rng.standard_normal((3, 6)), None)], layer_values(layer, w, b))


# ---- kernels: the float32 activations of the cpu backend ------------------------------------

def test_cpu_tanh_and_sigmoid_approximations():
    """The Numba kernels' float32 tanh (a rational fit) and sigmoid (through tanh, after
    Paddle's clip) stay within 4e-7 of the exact values, at 0, far out, and NaN stays NaN."""
    from minidl.backends.numba_cpu.recurrent_activations import _activate
    v = np.concatenate([np.linspace(-60, 60, 200001), [0.0, 1e-30, -1e-7]]).astype(np.float32)
    for code, exact in ((2, np.tanh(v.astype(np.float64))),
                        (1, _sigmoid(v.astype(np.float64)))):
        got = v.copy()
        _activate(code, got)
        np.testing.assert_allclose(got, exact, rtol=4e-7, atol=2e-7)
        assert np.abs(got).max() <= 1
    nan = np.array([np.nan], dtype=np.float32)
    for code in (1, 2, 3):
        out = nan.copy()
        _activate(code, out)
        assert np.isnan(out[0])


@pytest.mark.parametrize("op", ["lstm_forward", "gru_forward"])
def test_kernels_handle_empty_sequences(backend, op, rng):
    """A zero-length sequence in the batch (starts repeating) reads and writes nothing."""
    from minidl.backends import current_backend
    hidden, gates = 2, (4 if op == "lstm_forward" else 3)
    starts = np.array([0, 2, 2, 5])
    x = rng.standard_normal((5, gates * hidden))
    w = rng.standard_normal((hidden, gates * hidden)) * 0.5
    bias = rng.standard_normal((7 if gates == 4 else 3) * hidden)
    acts = ("tanh", "sigmoid", "tanh")[:gates - 1]
    got = get_kernel(op, current_backend().name)(x, w, bias, starts, False, *acts)
    keep = np.array([0, 1, 2, 3, 4])
    expected = get_kernel(op, "numpy")(x[keep], w, bias, np.array([0, 2, 5]), False, *acts)
    np.testing.assert_allclose(to_numpy(got[0]), expected[0], rtol=1e-12)


# ---- networks ------------------------------------------------------------------------------------

def _params_of(network, rng, scale=0.3):
    return {spec.name: rng.standard_normal(spec.compute_shape) * scale
            for spec in network.param_specs.values()}


def _forward(outputs, feeding, samples, params):
    network = Network(outputs)
    feed = Feeder(network.data_layers, feeding)(samples)
    tensors = {name: Tensor(value) for name, value in params.items()}
    return network, network.forward(feed, RunContext(tensors))


SAMPLES = [([[0.1, 0.2, -0.3], [0.5, 0.0, 0.1]],), ([[1.0, -1.0, 0.5]],),
           ([[0.3, 0.3, 0.3], [-0.2, 0.4, 0.0], [0.9, -0.5, 0.2], [0.0, 0.1, 0.0]],)]
SAMPLE_LENGTHS = [2, 1, 4]


def test_simple_lstm_layers_and_parameters(rng):
    words = paddle.layer.data("words", dense_seq(3))
    lstm = paddle.networks.simple_lstm(input=words, size=4)
    assert lstm.name == "__lstm_0__" and lstm.type == "lstmemory" and lstm.size == 4
    transform = lstm.inputs[0]
    assert transform.name == "lstm_transform___lstm_0__" and transform.size == 16
    assert transform.bias is None and transform.act.name == ""
    network = Network([lstm])
    assert {name: spec.shape for name, spec in network.param_specs.items()} == {
        "_lstm_transform___lstm_0__.w0": (3, 16), "___lstm_0__.w0": (4, 4, 4),
        "___lstm_0__.wbias": (1, 28)}
    params = _params_of(network, rng)
    _, values = _forward([lstm], {"words": 0}, SAMPLES, params)
    x = np.concatenate([np.array(s[0]) for s in SAMPLES]) @ params[
        "_lstm_transform___lstm_0__.w0"]
    expected = naive_lstm(x, params["___lstm_0__.w0"], params["___lstm_0__.wbias"],
                          SAMPLE_LENGTHS)
    np.testing.assert_allclose(values[lstm.name].data, expected, rtol=1e-5, atol=1e-6)


def test_simple_gru2_and_simple_gru_compute_the_same_gru(rng):
    """simple_gru2 is grumemory; simple_gru is Paddle's gru_group (gru_step layers in a
    recurrent group, parameters _<name>@<name>_recurrent_group.*): given the same values
    both give the naive GRU."""
    words = paddle.layer.data("words", dense_seq(3))
    fused = paddle.networks.simple_gru2(input=words, size=4, reverse=True)
    grouped = paddle.networks.simple_gru(input=words, size=4, reverse=True)
    assert fused.name == "__simple_gru2_0__" and fused.type == "gated_recurrent"
    assert fused.inputs[0].name == "__simple_gru2_0___transform"
    assert fused.inputs[0].bias is None and fused.inputs[0].size == 12
    assert grouped.name == "__simple_gru_0__"
    network = Network([fused, grouped])
    shapes = {name: spec.shape for name, spec in network.param_specs.items()}
    assert shapes == {
        "___simple_gru2_0___transform.w0": (3, 12), "___simple_gru2_0__.w0": (4, 12),
        "___simple_gru2_0__.wbias": (1, 12), "___simple_gru_0___transform.w0": (3, 12),
        "___simple_gru_0__@__simple_gru_0___recurrent_group.w0": (4, 12),
        "___simple_gru_0__@__simple_gru_0___recurrent_group.wbias": (1, 12)}
    params = _params_of(network, rng, 0.5)
    group = "___simple_gru_0__@__simple_gru_0___recurrent_group"
    params["___simple_gru_0___transform.w0"] = params["___simple_gru2_0___transform.w0"]
    params[f"{group}.w0"] = params["___simple_gru2_0__.w0"]
    params[f"{group}.wbias"] = params["___simple_gru2_0__.wbias"]
    _, values = _forward([fused, grouped], {"words": 0}, SAMPLES, params)
    x = np.concatenate([np.array(s[0]) for s in SAMPLES]) @ params[
        "___simple_gru2_0___transform.w0"]
    expected = naive_gru(x, params["___simple_gru2_0__.w0"], params["___simple_gru2_0__.wbias"],
                         SAMPLE_LENGTHS, reverse=True)
    np.testing.assert_allclose(values[fused.name].data, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(values[grouped.name].data, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru"])
@pytest.mark.parametrize("return_seq", [False, True])
def test_bidirectional_networks(rng, kind, return_seq):
    words = paddle.layer.data("words", dense_seq(3))
    builder = paddle.networks.bidirectional_lstm if kind == "lstm" else \
        paddle.networks.bidirectional_gru
    joined = builder(input=words, size=2, return_seq=return_seq)
    name = f"__bidirectional_{kind}_0__"
    assert joined.name == name and joined.type == "concat" and joined.size == 4
    network = Network([joined])
    names = {layer.name for layer in network.layers}
    forward_name, backward_name = f"{name}_fw", f"{name}_bw"
    assert {forward_name, backward_name} <= names
    forward = next(layer for layer in network.layers if layer.name == forward_name)
    backward = next(layer for layer in network.layers if layer.name == backward_name)
    assert not forward.reverse and backward.reverse
    params = _params_of(network, rng, 0.5)
    _, values = _forward([joined], {"words": 0}, SAMPLES, params)
    fw, bw = values[forward_name].data, values[backward_name].data
    out = values[name].data
    if return_seq:
        assert joined.seq_level == 1 and values[name].seq.lengths.tolist() == SAMPLE_LENGTHS
        np.testing.assert_allclose(out, np.concatenate([fw, bw], axis=1))
    else:
        assert {f"{name}_fw_last", f"{name}_bw_last"} <= names and joined.seq_level == 0
        ends = np.cumsum(SAMPLE_LENGTHS)
        np.testing.assert_allclose(out, np.concatenate([fw[ends - 1], bw[ends - SAMPLE_LENGTHS]],
                                                       axis=1))
    # the backward direction is the forward LSTM/GRU of each reversed sequence
    transform = params[f"_{'lstm_transform_' if kind == 'lstm' else ''}{backward_name}"
                       f"{'' if kind == 'lstm' else '_transform'}.w0"]
    x = np.concatenate([np.array(s[0]) for s in SAMPLES]) @ transform
    naive = naive_lstm if kind == "lstm" else naive_gru
    expected = naive(x, params[f"_{backward_name}.w0"], params[f"_{backward_name}.wbias"],
                     SAMPLE_LENGTHS, reverse=True)
    np.testing.assert_allclose(bw, expected, rtol=1e-5, atol=1e-6)


# ---- the book's stacked_lstm_net (06.understand_sentiment) ---------------------------------------

def stacked_lstm_net(input_dim, class_dim=2, emb_dim=128, hid_dim=512, stacked_num=3):
    """The book's network, as its train.py spells it (Python 3)."""
    assert stacked_num % 2 == 1

    fc_para_attr = paddle.attr.Param(learning_rate=1e-3)
    lstm_para_attr = paddle.attr.Param(initial_std=0., learning_rate=1.)
    para_attr = [fc_para_attr, lstm_para_attr]
    bias_attr = paddle.attr.Param(initial_std=0., l2_rate=0.)
    relu = paddle.activation.Relu()
    linear = paddle.activation.Linear()

    data = paddle.layer.data("word", paddle.data_type.integer_value_sequence(input_dim))
    emb = paddle.layer.embedding(input=data, size=emb_dim)

    fc1 = paddle.layer.fc(input=emb, size=hid_dim, act=linear, bias_attr=bias_attr)
    lstm1 = paddle.layer.lstmemory(input=fc1, act=relu, bias_attr=bias_attr)

    inputs = [fc1, lstm1]
    for i in range(2, stacked_num + 1):
        fc = paddle.layer.fc(input=inputs, size=hid_dim, act=linear, param_attr=para_attr,
                             bias_attr=bias_attr)
        lstm = paddle.layer.lstmemory(input=fc, reverse=(i % 2) == 0, act=relu,
                                      bias_attr=bias_attr)
        inputs = [fc, lstm]

    fc_last = paddle.layer.pooling(input=inputs[0], pooling_type=paddle.pooling.Max())
    lstm_last = paddle.layer.pooling(input=inputs[1], pooling_type=paddle.pooling.Max())
    output = paddle.layer.fc(input=[fc_last, lstm_last], size=class_dim,
                             act=paddle.activation.Softmax(), bias_attr=bias_attr,
                             param_attr=para_attr)

    lbl = paddle.layer.data("label", paddle.data_type.integer_value(2))
    cost = paddle.layer.classification_cost(input=output, label=lbl)
    return cost, output


def test_book_stacked_lstm_net_builds_and_trains():
    """Word sequences whose label is whether word 1 occurs more than word 2: the book's
    network (small dims) learns it with the book's optimizer (a larger learning rate, for
    a short test); the LSTMs are named and shaped as in Paddle (hidden = hid_dim / 4, the
    lstm weights [H, H, 4]), and their weights train."""
    paddle.init(seed=3)
    dict_dim, hid_dim = 12, 32
    cost, output = stacked_lstm_net(dict_dim, emb_dim=8, hid_dim=hid_dim, stacked_num=3)
    parameters = paddle.parameters.create(cost)
    lstm_names = [n for n in parameters.names() if n.startswith("___lstmemory_")]
    assert sorted(lstm_names) == [f"___lstmemory_{i}__.{s}" for i in range(3)
                                  for s in ("w0", "wbias")]
    assert parameters.get_shape("___lstmemory_1__.w0") == (8, 8, 4)
    assert parameters.get_shape("___lstmemory_1__.wbias") == (1, 56)
    data_rng = np.random.default_rng(7)

    def sample():
        words = data_rng.integers(0, dict_dim, int(data_rng.integers(2, 12))).tolist()
        return words, int(words.count(1) > words.count(2))

    train = [sample() for _ in range(256)]
    before = {name: parameters.get(name) for name in lstm_names}
    optimizer = paddle.optimizer.Adam(learning_rate=1e-2,
                                      regularization=paddle.optimizer.L2Regularization(rate=8e-4))
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer)
    costs = []

    def handler(event):
        if isinstance(event, paddle.event.EndPass):
            costs.append(trainer.test(reader=paddle.batch(lambda: iter(train), 64),
                                      feeding={"word": 0, "label": 1}).cost)

    trainer.train(reader=paddle.batch(lambda: iter(train), 32), num_passes=6,
                  event_handler=handler, feeding={"word": 0, "label": 1})
    assert all(np.isfinite(costs)) and costs[-1] < costs[0] * 0.8, costs
    assert all(not np.array_equal(parameters.get(name), before[name]) for name in lstm_names)
    probabilities = paddle.infer(output_layer=output, parameters=parameters,
                                 input=[(words,) for words, _ in train[:5]])
    assert probabilities.shape == (5, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
