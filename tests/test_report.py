"""Sparsity reports, the per-pass reporter, the plot and ``python -m minidl.inspect``."""

import io
import json
import subprocess
import sys

import numpy as np
import pytest

import minidl as paddle
from minidl.layers.attrs import Hook, ParamAttr
from minidl.io.inspect import main as inspect_main
from minidl.training.parameters import Parameters
from minidl.pruning import (SparsityReporter, file_sizes, format_report, plot_sparsity,
                            sparsity_report)

W0 = "___fc_layer_0__.w0"
B0 = "___fc_layer_0__.wbias"
W1 = "___fc_layer_1__.w0"
B1 = "___fc_layer_1__.wbias"
DYNAMIC = Hook("dynamic_pruning", upper_bound=0.8, inter_pass=2, end_pass=10, curve="linear")


def hand_built():
    """4 -> 3 -> 2 fc layers with hand-set values: 9 of 23 values are zero."""
    x = paddle.layer.data("x", paddle.data_type.dense_vector(4))
    h = paddle.layer.fc(input=x, size=3,
                        param_attr=ParamAttr(update_hooks=Hook("pruning", sparsity_ratio=0.5)))
    out = paddle.layer.fc(input=h, size=2, param_attr=ParamAttr(update_hooks=DYNAMIC))
    parameters = paddle.parameters.create(out)
    w0 = np.arange(1, 13, dtype=np.float32).reshape(4, 3)
    w0.flat[[0, 4, 5, 9]] = 0.0
    w0.flat[11] = -0.0                       # what a mask leaves on a negative weight
    parameters.set(W0, w0)
    parameters.set(B0, [[0.0, 1.0, 0.0]])
    parameters.set(W1, np.full((3, 2), 0.5))
    parameters.set(B1, [[0.0, 0.0]])
    return parameters


def by_name(rows):
    return {row.name: row for row in rows}


def test_rows_of_a_hand_built_example():
    parameters = hand_built()
    rows = by_name(sparsity_report(parameters, pass_id=5))
    assert list(rows) == [W0, B0, W1, B1]
    w0 = rows[W0]
    assert (w0.shape, w0.size, w0.nonzeros, w0.hook, w0.target) == \
        ((4, 3), 12, 7, "pruning 0.5", 0.5)
    assert w0.sparsity == pytest.approx(5 / 12)
    assert (rows[B0].nonzeros, rows[B0].hook, rows[B0].target) == (1, "-", None)
    assert rows[B0].sparsity == pytest.approx(2 / 3)
    w1 = rows[W1]
    assert (w1.nonzeros, w1.sparsity) == (6, 0.0)
    assert w1.hook == "dynamic_pruning linear U=0.8 I=2 E=10"
    assert w1.target == pytest.approx(0.8 * 4 / 10)   # pass 5 runs on change point 4's mask
    assert (rows[B1].nonzeros, rows[B1].sparsity) == (0, 1.0)
    # without a pass: the hooks' final sparsity
    rows = by_name(sparsity_report(parameters))
    assert rows[W1].target == 0.8 and rows[W0].target == 0.5


def test_hooks_override_and_hooks_read_from_a_tarball():
    parameters = hand_built()
    quick = Hook("dynamic_pruning", upper_bound=0.6, inter_pass=1, end_pass=3, curve="linear")
    rows = by_name(sparsity_report(parameters, hooks={W0: quick}, pass_id=1))
    assert rows[W0].target == pytest.approx(0.2) and rows[W0].hook.startswith("dynamic")
    assert rows[W1].hook == "-" and rows[W1].target is None
    buffer = io.BytesIO()
    parameters.to_tar(buffer)
    buffer.seek(0)
    rows = by_name(sparsity_report(Parameters.from_tar(buffer), pass_id=5))
    assert rows[W0].hook == "pruning 0.5" and rows[W0].nonzeros == 7
    # the tarball keeps no schedule: the upper bound is the only honest target
    assert rows[W1].hook == "dynamic_pruning U=0.8 (schedule not saved)"
    assert rows[W1].target == 0.8


def test_format_report_aligns_columns_and_totals():
    text = format_report(sparsity_report(hand_built()))
    lines = text.splitlines()
    header = lines[0]
    assert header.split() == ["parameter", "shape", "size", "nonzeros", "sparsity", "target",
                              "hook"]
    end = header.index("sparsity") + len("sparsity")
    expected = {W0: "0.4167", B0: "0.6667", W1: "0.0000", B1: "1.0000"}
    for line in lines[2:6]:
        assert line[end - 6:end] == expected[line.split()[0]]
    assert lines[3].split()[5:] == ["-", "-"]             # bias: no target, no hook
    assert lines[-1].split() == ["total", "(4", "parameters)", "23", "14", "0.3913"]


def regression(n_in=20, n_out=5):
    x = paddle.layer.data("x", paddle.data_type.dense_vector(n_in))
    y = paddle.layer.data("y", paddle.data_type.dense_vector(n_out))
    hook = Hook("dynamic_pruning", upper_bound=0.6, inter_pass=1, end_pass=3, curve="linear")
    out = paddle.layer.fc(input=x, size=n_out, act=paddle.activation.Linear(),
                          param_attr=ParamAttr(update_hooks=hook))
    cost = paddle.layer.square_error_cost(input=out, label=y)
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((32, n_in)).astype(np.float32)
    ys = xs @ rng.standard_normal((n_in, n_out)).astype(np.float32)
    samples = [(xs[i], ys[i]) for i in range(32)]
    return cost, paddle.batch(lambda: iter(samples), 8)


def test_reporter_records_target_and_achieved_sparsity_each_pass():
    cost, reader = regression()
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, parameters, paddle.optimizer.Momentum(
        learning_rate=1e-3, momentum=0.9))
    stream, seen = io.StringIO(), []
    reporter = SparsityReporter(trainer, every_pass=2, stream=stream,
                                then=lambda e: seen.append(type(e).__name__))
    trainer.train(reader, num_passes=5, event_handler=reporter)
    history = reporter.history[W0]
    assert [p.pass_id for p in history] == [0, 1, 2, 3, 4]
    expected = [0.0, 0.2, 0.4, 0.6, 0.6]             # linear U=0.6, I=1, E=3: frozen after 3
    assert [p.target for p in history] == pytest.approx(expected)
    assert [p.sparsity for p in history] == pytest.approx(expected)   # 100 weights
    assert [p.target for p in reporter.history[B0]] == [None] * 5
    assert np.count_nonzero(parameters.get(W0)) == 40
    printed = stream.getvalue()
    assert [f"after pass {p}" in printed for p in range(5)] == [True, False, True, False, True]
    assert seen.count("EndPass") == 5 and seen.count("EndIteration") == 20
    # a report from the trainer itself: runtime hooks, current target without a pass
    assert by_name(sparsity_report(trainer))[W0].target == pytest.approx(0.6)


def test_reporter_wants_a_trainer():
    with pytest.raises(TypeError, match="trainer"):
        SparsityReporter(hand_built())


def test_plot_without_matplotlib_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match=r"pip install minidl\[plot\]"):
        plot_sparsity({}, "unused.png")


def test_plot_writes_an_image(tmp_path):
    pytest.importorskip("matplotlib")
    cost, reader = regression()
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, parameters, paddle.optimizer.Momentum(learning_rate=1e-3))
    reporter = SparsityReporter(trainer, every_pass=False)
    trainer.train(reader, num_passes=3, event_handler=reporter)
    plot_sparsity(reporter.history, tmp_path / "sparsity.png")
    assert (tmp_path / "sparsity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --- python -m minidl.inspect ----------------------------------------------------------

def run_inspect(*args):
    return subprocess.run([sys.executable, "-m", "minidl.inspect", *map(str, args)],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def compact_file(tmp_path):
    parameters = hand_built()
    w0 = np.zeros((4, 3), np.float32)
    w0[2, 1] = 7.0
    parameters.set(W0, w0)    # 11 of 12 zeros: 28 + 5 bytes compact, 16 + 48 dense
    path = tmp_path / "model.tar"
    parameters.to_tar(path, compact=True)
    return path, parameters


def test_cli_prints_the_table_and_sizes(compact_file):
    path, parameters = compact_file
    result = run_inspect(path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"{path}: 4 parameters")
    rows = {line.split()[0]: line.split() for line in lines if line.startswith("___")}
    assert rows[W0][6] == "compact" and rows[W0][3] == "1"
    # compact only where smaller: all-zero B1 would take 28 bytes compact, 16 + 8 dense
    assert [rows[name][6] for name in (B0, W1, B1)] == ["dense"] * 3
    sizes = file_sizes(parameters)
    assert f"{sizes.compact_tar:,}" in result.stdout and "dense tar.gz" in result.stdout


def test_cli_json_matches_the_python_api(compact_file, capsys):
    path, parameters = compact_file
    assert inspect_main([str(path), "--json", "--pass", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["file_bytes"] == path.stat().st_size
    assert [p["name"] for p in report["parameters"]] == parameters.names()
    w1 = report["parameters"][2]
    assert (w1["shape"], w1["stored"], w1["target"]) == ([3, 2], "dense", 0.8)
    assert report["total"]["size"] == 23
    assert report["sizes"]["compact_tar"] == file_sizes(parameters).compact_tar
    assert report["sizes"]["compact_tar"] == path.stat().st_size


def test_cli_errors_name_the_file_and_exit_2(tmp_path):
    missing = tmp_path / "missing.tar"
    result = run_inspect(missing)
    assert result.returncode == 2 and str(missing) in result.stderr
    assert "Traceback" not in result.stderr
    corrupt = tmp_path / "corrupt.tar"
    corrupt.write_bytes(b"this is not a tarball" * 40)
    assert inspect_main([str(corrupt)]) == 2
    cut = tmp_path / "cut.tar.gz"
    hand_built().to_tar(cut)
    cut.write_bytes(cut.read_bytes()[:-40])
    assert inspect_main([str(cut)]) == 2


def test_cli_error_messages(tmp_path, capsys):
    corrupt = tmp_path / "corrupt.tar"
    corrupt.write_bytes(b"\0" * 100 + b"junk" * 200)
    assert inspect_main([str(corrupt)]) == 2
    error = capsys.readouterr().err
    assert error.startswith("python -m minidl.inspect: error: ") and str(corrupt) in error
