"""paddle.evaluator.chunk: chunks of each scheme (IOB, IOE, IOBES, plain) against chunks
counted by hand, precision / recall / F1 from counts summed over a pass (not averaged over
batches), v2's metric names in event.metrics, and the evaluator's errors."""

import numpy as np
import pytest

import minidl as paddle
from minidl.core.sequence import SequenceLayout
from minidl.core.tensor import Tensor
from minidl.training.evaluators import Chunk, host_outputs


def tag_layers(num_tags):
    pred = paddle.layer.data("pred", paddle.data_type.integer_value_sequence(num_tags))
    label = paddle.layer.data("label", paddle.data_type.integer_value_sequence(num_tags))
    return pred, label


def chunks_of(scheme, num_chunk_types, ids):
    pred, label = tag_layers(100)
    return Chunk(pred, label, scheme, num_chunk_types).chunks(ids)


# Each case: (scheme, num_chunk_types, tag ids, chunks as (first row, last row, type)), worked
# out by hand from Paddle's ChunkEvaluator rules; id = type * tags + tag, 'O' the highest id.
CASES = [
    # IOB, 2 types: B-0 0, I-0 1, B-1 2, I-1 3, O 4
    # B-0 I-0 | O | B-1 I-1 I-1 | I-0 (type change) | O | I-0 (after O) | B-0 (new chunk)
    ("IOB", 2, [0, 1, 4, 2, 3, 3, 1, 4, 1, 0],
     [(0, 1, 0), (3, 5, 1), (6, 6, 0), (8, 8, 0), (9, 9, 0)]),
    # IOE, 2 types: I-0 0, E-0 1, I-1 2, E-1 3, O 4
    # I-0 I-0 E-0 | E-0 (after an end) | I-1 E-1 | O | I-0 | O | E-1 (alone, at the end)
    ("IOE", 2, [0, 0, 1, 1, 2, 3, 4, 0, 4, 3],
     [(0, 2, 0), (3, 3, 0), (4, 5, 1), (7, 7, 0), (9, 9, 1)]),
    # IOBES, 2 types: B-0 0, I-0 1, E-0 2, S-0 3, B-1 4, I-1 5, E-1 6, S-1 7, O 8
    # B-0 I-0 E-0 | S-0 | S-1 | B-1 E-1 | O | I-1 E-1 | B-0
    ("IOBES", 2, [0, 1, 2, 3, 7, 4, 6, 8, 5, 6, 0],
     [(0, 2, 0), (3, 3, 0), (4, 4, 1), (5, 6, 1), (8, 9, 1), (10, 10, 0)]),
    # plain, 2 types: 0, 1, O 2 -- a chunk is a run of one type
    ("plain", 2, [0, 0, 1, 2, 1, 1, 0, 2, 2, 0],
     [(0, 1, 0), (2, 2, 1), (4, 5, 1), (6, 6, 0), (9, 9, 0)]),
    # IOB, 3 types (O = 6): I-2 directly after B-1 starts a new chunk; all O: no chunk
    ("IOB", 3, [2, 5, 5, 6, 6], [(0, 0, 1), (1, 2, 2)]),
    ("IOB", 3, [6, 6, 6], []),
    ("IOBES", 1, [3], [(0, 0, 0)]),          # one row, S-0
]


@pytest.mark.parametrize("scheme, types, ids, expected", CASES)
def test_chunks_of_each_scheme(scheme, types, ids, expected):
    assert chunks_of(scheme, types, ids) == expected


def test_counts_precision_recall_and_f1_of_one_batch():
    pred, label = tag_layers(5)
    metric = paddle.evaluator.chunk(input=pred, label=label, chunk_scheme="IOB",
                                    num_chunk_types=2)
    truth = np.array([0, 1, 4, 2, 3, 3, 1, 4, 1, 0])     # chunks (0,1,0) (3,5,1) (6,6,0)
    #                                                      (8,8,0) (9,9,0)
    output = np.array([0, 1, 4, 2, 3, 4, 1, 4, 1, 1])    # chunks (0,1,0) (3,4,1) (6,6,0)
    #                                                      (8,9,0): two of them are right
    layout = SequenceLayout.from_lengths([10])
    outputs = {"pred": output, "label": truth, ("pred", "seq"): layout,
               ("label", "seq"): layout}
    assert metric.batch_stats(outputs) == [5, 4, 2]
    value = metric.add(outputs)
    assert value == {"F1-score": pytest.approx(2 * 0.5 * 0.4 / 0.9), "precision": 0.5,
                     "recall": 0.4}
    assert list(value) == ["F1-score", "precision", "recall"]    # v2's (sorted) order
    # excluded chunk types count neither as true, predicted nor correct
    excluded = paddle.evaluator.chunk(input=pred, label=label, chunk_scheme="IOB",
                                      num_chunk_types=2, excluded_chunk_types=[1])
    assert excluded.batch_stats(outputs) == [4, 3, 2]


def test_chunks_never_cross_sequences():
    pred, label = tag_layers(5)
    metric = Chunk(pred, label, "IOB", 2)
    # one sequence B-0 I-0 would be one chunk; cut in two sequences it is B-0 | I-0: two
    ids = np.array([0, 1])
    layout = SequenceLayout.from_lengths([1, 1])
    outputs = {"pred": ids, "label": ids, ("pred", "seq"): layout, ("label", "seq"): layout}
    assert metric.batch_stats(outputs) == [2, 2, 2]


def test_nothing_predicted_or_nothing_to_find_gives_zeros():
    assert Chunk.value([0, 0, 0]) == {"F1-score": 0.0, "precision": 0.0, "recall": 0.0}
    assert Chunk.value([3, 0, 0]) == {"F1-score": 0.0, "precision": 0.0, "recall": 0.0}
    assert Chunk.value([0, 2, 0])["precision"] == 0.0
    pred, label = tag_layers(5)
    assert Chunk(pred, label, "IOB", 2).result() == {"F1-score": 0.0, "precision": 0.0,
                                                     "recall": 0.0}


def test_crf_decoding_with_a_label_is_read_for_its_ids():
    """crf_decoding(label=...) outputs errors; the evaluator reads the decoded ids beside them."""
    feature = paddle.layer.data("f", paddle.data_type.dense_vector_sequence(5))
    pred, label = tag_layers(5)
    dec = paddle.layer.crf_decoding(input=feature, size=5, label=label)
    metric = Chunk(dec, label, "IOB", 2)
    layout = SequenceLayout.from_lengths([3])
    errors = Tensor(np.array([[1.0], [0.0], [0.0]]), seq=layout)
    errors.ids = np.array([0, 1, 4])
    host = host_outputs({dec.name: errors, "label": Tensor(np.array([2, 1, 4]), seq=layout)},
                        [metric])
    assert host[dec.name, "seq"] == layout and host[dec.name, "ids"].tolist() == [0, 1, 4]
    # predicted B-0 I-0 O: (0,1,0); true B-1 I-0 O: (0,0,1) (1,1,0)
    assert metric.batch_stats(host) == [2, 1, 0]


# --- through the trainer: a pass sums the counts of its batches ---------------------------------

def tagging_net(name=None):
    """A CRF network whose predicted tags are fed as data, so the metrics are known."""
    feature = paddle.layer.data("feature", paddle.data_type.dense_vector_sequence(5))
    pred, label = tag_layers(5)
    cost = paddle.layer.crf(input=feature, label=label, size=5)
    metric = paddle.evaluator.chunk(input=pred, label=label, chunk_scheme="IOB",
                                    num_chunk_types=2, name=name)
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, extra_layers=[pred],
                                 update_equation=paddle.optimizer.Momentum(learning_rate=0.0))
    return trainer, metric


def sample(output, truth):
    return [[0.0] * 5] * len(truth), list(output), list(truth)


# batch 0: the case above, 5 true, 4 predicted, 2 correct; batch 1: 1, 1, 1
BATCHES = [[sample([0, 1, 4, 2, 3, 4, 1, 4, 1, 1], [0, 1, 4, 2, 3, 3, 1, 4, 1, 0])],
           [sample([2, 3], [2, 3])]]
FEEDING = {"feature": 0, "pred": 1, "label": 2}


def metrics(name, true, predicted, correct):
    precision, recall = correct / predicted, correct / true
    return {f"{name}.F1-score": pytest.approx(2 * precision * recall / (precision + recall)),
            f"{name}.precision": pytest.approx(precision),
            f"{name}.recall": pytest.approx(recall)}


def test_pass_metrics_sum_counts_over_batches_under_v2_names():
    trainer, metric = tagging_net()
    assert metric.name == "__chunk_evaluator_0__"
    seen = []

    def handler(event):
        if isinstance(event, (paddle.event.EndIteration, paddle.event.EndPass)):
            seen.append((type(event).__name__, event.metrics))

    trainer.train(lambda: iter(BATCHES), num_passes=2, event_handler=handler, feeding=FEEDING)
    name = "__chunk_evaluator_0__"
    batch0, batch1 = metrics(name, 5, 4, 2), metrics(name, 1, 1, 1)
    whole = metrics(name, 6, 5, 3)      # precision 3/5, not the mean of 1/2 and 1
    assert seen == [("EndIteration", batch0), ("EndIteration", batch1), ("EndPass", whole)] * 2
    assert list(seen[-1][1]) == [f"{name}.F1-score", f"{name}.precision", f"{name}.recall"]
    result = trainer.test(lambda: iter(BATCHES), feeding=FEEDING)
    assert result.metrics == whole
    assert "__chunk_evaluator_0__.precision=0.6 " in str(result.evaluator)


def test_named_evaluator_and_the_legacy_alias():
    assert paddle.evaluator.chunk_evaluator is paddle.evaluator.chunk
    trainer, metric = tagging_net(name="ner")
    assert metric.name == "ner"
    result = trainer.test(lambda: iter(BATCHES[1:]), feeding=FEEDING)
    assert result.metrics == metrics("ner", 1, 1, 1)


def test_training_with_crf_decoding_and_a_label():
    """The SRL-demo network: crf cost, crf_decoding(label=...) sharing its parameter, and a
    chunk evaluator on the decoding layer; the pass value equals the chunks of the decoded
    tags."""
    feature = paddle.layer.data("feature", paddle.data_type.dense_vector_sequence(5))
    label = paddle.layer.data("label", paddle.data_type.integer_value_sequence(5))
    cost = paddle.layer.crf(input=feature, label=label, size=5,
                            param_attr=paddle.attr.Param(name="crfw"))
    dec = paddle.layer.crf_decoding(input=feature, size=5, label=label,
                                    param_attr=paddle.attr.Param(name="crfw"))
    metric = paddle.evaluator.chunk(input=dec, label=label, chunk_scheme="IOB",
                                    num_chunk_types=2)
    parameters = paddle.parameters.create(cost)
    rng = np.random.default_rng(0)
    parameters.set("crfw", rng.standard_normal((7, 5)).astype(np.float32))
    samples = [(rng.standard_normal((n, 5)).tolist(), list(rng.integers(0, 5, n)))
               for n in (3, 1, 6, 4, 5)]
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, extra_layers=[dec],
                                 update_equation=paddle.optimizer.Momentum(learning_rate=0.0))
    result = trainer.test(paddle.batch(lambda: iter(samples), 2, drop_last=False))
    plain = paddle.layer.crf_decoding(input=feature, size=5,
                                      param_attr=paddle.attr.Param(name="crfw"))
    decoded = paddle.infer(output_layer=plain, parameters=parameters,
                           input=[(x,) for x, _ in samples], field="id")
    counts, start = np.zeros(3), 0
    for _, tags in samples:
        ours = metric.chunks(decoded[start:start + len(tags)])
        true = metric.chunks(tags)
        counts += [len(true), len(ours), len(set(ours) & set(true))]
        start += len(tags)
    assert result.metrics == metrics(metric.name, *counts)


# --- errors -------------------------------------------------------------------------------------

def test_errors_name_the_evaluator():
    pred, label = tag_layers(5)
    flat = paddle.layer.data("flat", paddle.data_type.integer_value(5))
    with pytest.raises(ValueError, match="evaluator e: unknown chunk_scheme 'BIO'"):
        paddle.evaluator.chunk(input=pred, label=label, chunk_scheme="BIO", num_chunk_types=2,
                               name="e")
    with pytest.raises(ValueError, match="num_chunk_types=0 must be a positive integer"):
        paddle.evaluator.chunk(input=pred, label=label, chunk_scheme="IOB", num_chunk_types=0,
                               name="e")
    with pytest.raises(ValueError, match="input flat is a non-sequence"):
        paddle.evaluator.chunk(input=flat, label=label, chunk_scheme="IOB", num_chunk_types=2,
                               name="e")
    metric = Chunk(pred, label, "IOB", 2, name="e")
    layout = SequenceLayout.from_lengths([2])
    good = {"pred": np.array([0, 1]), "label": np.array([0, 1]), ("label", "seq"): layout}
    with pytest.raises(ValueError, match=r"evaluator e: label label holds tag id 5, outside "
                                         r"\[0, 4\]"):
        metric.batch_stats({**good, "label": np.array([0, 5])})
    with pytest.raises(ValueError, match="input pred gives float64 values, not tag ids"):
        metric.batch_stats({**good, "pred": np.array([0.0, 1.0])})
    with pytest.raises(ValueError, match="label label carries no sequence layout"):
        metric.batch_stats({**good, ("label", "seq"): None})
