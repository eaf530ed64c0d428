"""``python -m minidl.demo``: the same seed prints the same figures (times aside) on one machine,
and its tables hold plain numbers."""

import re

import pytest

import minidl as paddle
from minidl import demo
from minidl.models.book_mnist import build_conv_network
from minidl.pruning import finetune


def _run(capsys, *argv):
    demo.main(list(argv))
    text = capsys.readouterr().out
    # the seconds columns and the total time vary from run to run; nothing else may
    return [re.sub(r"\s+\d+$", "", line) for line in text.splitlines()
            if not line.startswith("total time")]


def _summary_rows(lines):
    start = next(i for i, line in enumerate(lines) if line.startswith("model"))
    return [line.split() for line in lines[start + 2:start + 5]]


def test_the_demo_trains_the_same_way_for_a_seed(capsys):
    argv = ("--passes", "1", "--no-prune", "--seed", "3")
    first, second = _run(capsys, *argv), _run(capsys, *argv)
    assert first == second
    assert any(line.startswith("test accuracy after 1 passes:") for line in first)


@pytest.mark.slow
def test_the_whole_demo_is_deterministic_for_a_seed(capsys):
    argv = ("--passes", "1", "--prune-passes", "1", "--seed", "3")
    first, second = _run(capsys, *argv), _run(capsys, *argv)
    assert first == second
    rows = _summary_rows(first)
    assert [row[0] for row in rows] == ["dense", "static", "dynamic"]
    for row in rows:
        for cell in row[1:]:
            float(cell.replace(",", ""))


def test_the_summary_table_prints_plain_numbers():
    """No '%' or 'p' glued to the numbers: every cell after the label parses as a number;
    ``change`` is the accuracy minus the dense model's, in points, with its sign."""
    cost, _ = build_conv_network()
    parameters = paddle.parameters.create(cost)
    runs = [finetune.StepResult(label, accuracy, 12.3, parameters, None)
            for label, accuracy in (("dense", 0.928), ("static", 0.954), ("dynamic", 0.9))]
    lines = finetune.summary_table(runs[0], runs[1:]).splitlines()
    assert lines[0].split()[:4] == ["model", "accuracy", "%", "change"]
    rows = _summary_rows(lines)
    for row in rows:
        for cell in row[1:]:
            float(cell.replace(",", ""))
    assert [row[1:3] for row in rows] == [["92.80", "+0.00"], ["95.40", "+2.60"],
                                          ["90.00", "-2.80"]]
