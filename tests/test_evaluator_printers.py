"""The printer evaluators: what each writes per batch (captured and compared with text built
by hand), seqtext_printer's result file, and that printers add no metric -- also through
the trainer."""

import numpy as np
import pytest

import minidl as paddle
from minidl.core import Tensor
from minidl.core.sequence import SequenceLayout
from minidl.layers.graph import Network, RunContext
from minidl.training.evaluators import host_outputs
from minidl.training.events import Metrics
from minidl.training.printers import (ClassificationErrorPrinter, MaxFramePrinter,
                                      classification_error_printer, gradient_printer,
                                      maxframe_printer, maxid_printer, value_printer)
from minidl.training.seqtext_printer import seqtext_printer

dense, dense_seq = paddle.data_type.dense_vector, paddle.data_type.dense_vector_sequence
ints, int_seq = paddle.data_type.integer_value, paddle.data_type.integer_value_sequence


def test_value_printer_prints_values_ids_and_offsets(capsys):
    x = paddle.layer.data("x", dense_seq(2))
    ids = paddle.layer.data("ids", ints(5))
    printer = value_printer(input=[x, ids])
    assert printer.name == "__value_printer_evaluator_0__"
    batch = {"x": np.array([[1.0, 2.5], [3.0, 4.0], [5.0, 6.0]]),
             ("x", "seq"): SequenceLayout.from_lengths([2, 1]), "ids": np.array([4, 0, 2])}
    assert printer.add(batch) == {}
    assert capsys.readouterr().out == ("layer=x value matrix:\n1 2.5\n3 4\n5 6\n"
                                       "layer=x sequence pos vector:\n0 2 3\n"
                                       "layer=ids ids vector:\n4 0 2\n")
    printer.add(batch)      # every batch
    assert capsys.readouterr().out.count("layer=x value matrix:") == 1
    assert printer.result() == {} and Metrics({printer.name: printer.result()}).values == {}


def test_maxid_printer_top_k_per_row(capsys):
    x = paddle.layer.data("x", dense(3))
    printer = maxid_printer(input=x, num_results=2)
    printer.add({"x": np.array([[0.1, 0.7, 0.2], [0.5, 0.25, 0.25]])})
    assert capsys.readouterr().out == ("layer=x row max id vector:\n"
                                       "1 : 0.7, 2 : 0.2, \n0 : 0.5, 1 : 0.25, \n")
    with pytest.raises(ValueError, match="num_results=4 is more than the 3 columns of x"):
        maxid_printer(input=x, num_results=4)
    with pytest.raises(ValueError, match="num_results=0 must be a positive integer"):
        maxid_printer(input=x, num_results=0)


def test_maxframe_printer_top_frames_per_sequence(capsys):
    score = paddle.layer.data("score", dense_seq(1))
    printer = maxframe_printer(input=score, num_results=2)
    printer.add({"score": np.array([[0.2], [0.9], [0.4], [0.3]]),
                 ("score", "seq"): SequenceLayout.from_lengths([3, 1])})
    assert capsys.readouterr().out == ("layer=score sequence max frames:\n"
                                       "1 : 0.9, 2 : 0.4, total 3 frames\n"
                                       "0 : 0.3, total 1 frames\n")
    with pytest.raises(ValueError, match="wide must be a sequence of size 1"):
        MaxFramePrinter(paddle.layer.data("wide", dense_seq(2)))


def test_classification_error_printer_per_row(capsys):
    scores, label = paddle.layer.data("s", dense(3)), paddle.layer.data("y", ints(3))
    printer = classification_error_printer(input=scores, label=label)
    assert printer.name == "__classification_error_printer_evaluator_0__"
    printer.add({"s": np.eye(3)[[0, 2, 1]], "y": np.array([0, 1, 1])})
    assert capsys.readouterr().out == (f"Printer={printer.name} Classification Error:\n"
                                       "0\n1\n0\n")
    with pytest.raises(ValueError, match="gives float64 values, not ids"):
        ClassificationErrorPrinter(scores, scores).add({"s": np.eye(3)})


def test_gradient_printer_prints_the_cost_gradient_of_a_layer(capsys):
    """d(sum(w * y))/d(hidden) for y = 3 * hidden, hidden = x + 1: 3 w."""
    import minidl.v2.op  # noqa: F401  (layer arithmetic)
    x = paddle.layer.data("x", dense(2))
    hidden = x + 1
    y = hidden * 3
    printer = gradient_printer(input=hidden)
    network = Network([y])
    outputs = network.forward({"x": Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]),
                                           requires_grad=True)}, RunContext({}))
    weight = np.array([[1.0, -1.0], [0.5, 2.0]])
    outputs[y.name].backward(weight, retain_grad=True)
    printer.add(host_outputs(outputs, [printer]))
    assert capsys.readouterr().out == f"layer={hidden.name} grad matrix:\n3 -3\n1.5 6\n"


def test_seqtext_printer_writes_words_of_each_sequence(tmp_path):
    words = tmp_path / "dict.txt"
    words.write_text("<s>\nthe\ncat\nsat\n")
    result = tmp_path / "out.txt"
    result.write_text("old contents\n")
    ids = paddle.layer.data("ids", int_seq(4))
    sample = paddle.layer.data("sample", ints(100))
    printer = seqtext_printer(input=ids, result_file=str(result), id_input=sample,
                              dict_file=str(words))
    assert result.read_text() == ""                     # emptied when declared
    batch = {"ids": np.array([1, 2, 3, 2]), ("ids", "seq"): SequenceLayout.from_lengths([3, 1]),
             "sample": np.array([17, 42])}
    assert printer.add(batch) == {}
    printer.add(batch)                                  # appended each batch
    assert result.read_text() == "17\t the cat sat\n42\t cat\n" * 2

    plain = seqtext_printer(input=ids, result_file=str(tmp_path / "ids.txt"), delimited=False)
    nested = {"ids": np.array([1, 2, 3, 0, 1]),
              ("ids", "seq"): SequenceLayout.from_lengths(None, [[2, 1], [2]])}
    plain.add(nested)
    assert (tmp_path / "ids.txt").read_text() == "0\t12\n\t3\n\n1\t01\n\n"


def test_seqtext_printer_errors(tmp_path):
    ids = paddle.layer.data("ids", int_seq(4))
    with pytest.raises(ValueError, match="result_file must be a file path"):
        seqtext_printer(input=ids, result_file=None)
    with pytest.raises(ValueError, match="input flat is a non-sequence"):
        seqtext_printer(input=paddle.layer.data("flat", ints(4)),
                        result_file=str(tmp_path / "r"))
    words = tmp_path / "dict.txt"
    words.write_text("a\nb\n")
    printer = seqtext_printer(input=ids, result_file=str(tmp_path / "r"), dict_file=str(words))
    with pytest.raises(ValueError, match="id 3 of ids is not in the dictionary of 2 words"):
        printer.add({"ids": np.array([0, 3]), ("ids", "seq"): SequenceLayout.from_lengths([2])})


def test_printers_in_training_print_each_batch_and_add_no_metric(capsys):
    x = paddle.layer.data("x", dense(2))
    target = paddle.layer.data("t", dense(1))
    out = paddle.layer.fc(input=x, size=1, act=paddle.activation.Linear())
    cost = paddle.layer.square_error_cost(input=out, label=target)
    printer = value_printer(input=out)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Momentum(learning_rate=0.01))
    batches = [[([1.0, 2.0], [1.0]), ([0.5, 0.0], [0.0])], [([3.0, 1.0], [2.0])]]
    seen = []
    trainer.train(lambda: iter(batches), num_passes=1, feeding={"x": 0, "t": 1},
                  event_handler=lambda e: seen.append(dict(getattr(e, "metrics", {}))))
    assert all(printer.name not in metrics for metrics in seen)
    printed = capsys.readouterr().out
    assert printed.count(f"layer={out.name} value matrix:") == 2
    assert trainer.test(lambda: iter(batches[:1]), feeding={"x": 0, "t": 1}).metrics == {}


def test_gradient_printer_prints_during_training(capsys):
    """The trainer keeps layer-output gradients when a printer reads them."""
    x = paddle.layer.data("gx", dense(2))
    target = paddle.layer.data("gy", dense(1))
    hidden = paddle.layer.fc(input=x, size=1, act=paddle.activation.Linear(), name="gp_hidden",
                             bias_attr=False,
                             param_attr=paddle.attr.Param(initial_std=0, initial_mean=0))
    cost = paddle.layer.square_error_cost(input=hidden, label=target)
    gradient_printer(input=hidden)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Momentum(learning_rate=0.0))
    trainer.train(lambda: iter([[([1.0, 2.0], [1.5]), ([0.0, 1.0], [-2.0])]]), num_passes=1)
    # hidden = 0 (zero weights): d/dh sum (h - t)^2 = 2 (h - t)
    assert "layer=gp_hidden grad matrix:\n-3\n4\n" in capsys.readouterr().out
