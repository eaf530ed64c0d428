"""A pruned sentiment LSTM (Narang et al., "Exploring sparsity in recurrent neural networks",
ICLR 2017): train, prune the recurrent and input weights to 90 % with a gradual schedule,
keep the accuracy, and run the pruned LSTM with sparse kernels at batch 1.

    python examples/pruned_lstm.py                  # synthetic reviews, about a minute
    python examples/pruned_lstm.py --real           # IMDB (paddle.dataset.imdb), if cached
    python examples/pruned_lstm.py --hidden 512 --sparsity 0.95

The network is the first pair of the book's ``stacked_lstm_net`` (chapter 6, see
``sentiment_conv.py --net lstm``) with a classifier on top: word ids -> embedding (64) ->
linear fc layer (``4 * hidden``: the LSTM's input projection) -> ``lstmemory`` (``hidden``
units, 512 by default) -> max pooling over the review -> softmax over the two classes.

1. Dense training: Adam (learning rate 2e-3), ``--passes`` passes.
2. Pruning: the same network rebuilt with ``ParamAttr(update_hooks=Hook('dynamic_pruning',
   upper_bound=0.9, inter_pass=1, end_pass=P))`` on the fc weight (input weights) and the
   lstmemory weight (recurrent weights), the dense values loaded from the tarball, and
   ``--finetune-passes`` passes of fine-tuning (Adam 1e-3): the sparsity rises along the
   log curve at each pass up to ``end_pass`` (two passes before the end), as Narang et
   al. raise the threshold gradually during training.
3. Report: test accuracy before and after, the sparsity of each pruned weight, the file
   sizes (``minidl.pruning.file_sizes``: dense tarball, its gzip, the compact sparse
   format, its gzip) and the time to classify one review at a time (batch 1) with the
   dense network (``sparse=False``) and the pruned one run dense, forced sparse
   (``sparse=True``: the LSTM's per-step product ``h[t-1] @ W`` through the CSR kernel,
   the fc through ``csr_matmul``) and with ``sparse='auto'`` (the default, measuring per
   layer); then the 'auto' plan.

Data: synthetic reviews unless ``--real`` (``sentiment_conv.SyntheticReviews``, whose rule is
printed on the "synthetic data:" line: sentiment cues among filler words, some negated with
"not", so that word order matters); with ``--real``, IMDB from the dataset cache
(``$MINIDL_DATA_HOME/imdb``, downloaded if allowed), ``--batches`` batches per pass.
"""

import argparse
import io
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # sentiment_conv beside it

import minidl as paddle
from minidl.layers.attrs import Hook, ParamAttr
from minidl.pruning import file_sizes
from sentiment_conv import FEEDING, SyntheticReviews


def lstm_net(dict_dim, hidden=512, emb_dim=64, hook=None):
    """``(cost, class probabilities)``; ``hook`` prunes the fc and lstmemory weights."""
    attr = ParamAttr(update_hooks=hook) if hook is not None else None
    words = paddle.layer.data("word", paddle.data_type.integer_value_sequence(dict_dim))
    emb = paddle.layer.embedding(input=words, size=emb_dim)
    projection = paddle.layer.fc(input=emb, size=4 * hidden, act=paddle.activation.Linear(),
                                 param_attr=attr, name="lstm_input")
    lstm = paddle.layer.lstmemory(input=projection, param_attr=attr, name="lstm")
    pooled = paddle.layer.pooling(input=lstm, pooling_type=paddle.pooling.Max())
    output = paddle.layer.fc(input=pooled, size=2, act=paddle.activation.Softmax())
    label = paddle.layer.data("label", paddle.data_type.integer_value(2))
    return paddle.layer.classification_cost(input=output, label=label), output


PRUNED = ("_lstm_input.w0", "_lstm.w0")   # the input and recurrent weights


def load_data(real, seed, batches, train_reviews=1000):
    """``(dictionary size, train reader, test reader, description)``."""
    if not real:
        reviews = SyntheticReviews(train=train_reviews, test=300, seed=seed)
        return len(reviews.word_dict), reviews.train(), reviews.test(), reviews.describe()
    imdb = paddle.dataset.imdb
    word_dict = imdb.word_dict()
    train, test = imdb.train(word_dict), imdb.test(word_dict)
    if batches:   # IMDB's files list all positive reviews first: shuffle before cutting
        train = paddle.reader.firstn(paddle.reader.shuffle(train, 25000), 100 * batches)
        test = paddle.reader.firstn(paddle.reader.shuffle(test, 25000), 100 * batches)
    return len(word_dict), train, test, f"data: IMDB, {len(word_dict)} words"


def train(cost, parameters, train_reader, test_reader, passes, learning_rate, label, log):
    """Train ``passes`` passes with Adam; returns the test accuracy after each pass."""
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(
                                     learning_rate=learning_rate))
    test_batches = paddle.batch(test_reader, 100, drop_last=False)
    accuracies = []

    def on_event(event):
        if isinstance(event, paddle.event.EndPass):
            error = trainer.test(reader=test_batches, feeding=FEEDING).metrics[
                "classification_error_evaluator"]
            accuracies.append(1 - error)
            sparsity = ", ".join(f"{name} {100 * np.mean(parameters.get(name) == 0):.0f} %"
                                 for name in PRUNED)
            log(f"  [{label}] pass {event.pass_id}: test accuracy {100 * accuracies[-1]:.1f} %"
                f" (zeros: {sparsity})")

    trainer.train(reader=paddle.batch(paddle.reader.shuffle(train_reader, 2000), 50),
                  num_passes=passes, event_handler=on_event, feeding=FEEDING)
    return accuracies


def batch_one_ms(networks, reviews, rounds=3):
    """{label: milliseconds per review} classifying ``reviews`` one at a time with each of
    ``networks`` ({label: Inference}). Each round times every network in turn; the best
    round counts (the machine may be shared, and other work only ever adds time)."""
    samples = [[(ids,)] for ids, _ in reviews]
    for inference in networks.values():   # untimed: Numba loads its kernels, 'auto' measures
        for sample in samples:
            inference.infer(sample, feeding={"word": 0})
    best = dict.fromkeys(networks, float("inf"))
    for _ in range(rounds):
        for label, inference in networks.items():
            time.sleep(0.15)              # let the previous block's BLAS threads go quiet
            start = time.perf_counter()
            for sample in samples:
                inference.infer(sample, feeding={"word": 0})
            best[label] = min(best[label], (time.perf_counter() - start) / len(samples) * 1e3)
    return best


def main(real=False, hidden=512, sparsity=0.9, passes=4, finetune_passes=6, batches=40,
         reviews=100, seed=1, log=print, train_reviews=1000, rounds=3):
    """Returns a dict: ``dense_accuracy``, ``pruned_accuracy``, ``sparsity`` {weight:
    zeros fraction}, ``sizes`` {'dense', 'pruned'}: FileSizes, ``ms`` {setting: ms per
    review}, ``plan`` (the 'auto' SparsePlan), ``max_difference`` (sparse vs dense
    outputs of the pruned network). ``train_reviews``: synthetic training reviews;
    ``rounds``: timing rounds."""
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)
    dict_dim, train_reader, test_reader, description = load_data(real, seed, batches,
                                                                 train_reviews)
    log(description)

    # 1. the dense network
    paddle.layer.reset_names()
    cost, output = lstm_net(dict_dim, hidden)
    dense = paddle.parameters.create(cost)
    log(f"1. dense training, hidden {hidden}: {passes} passes")
    dense_accuracy = train(cost, dense, train_reader, test_reader, passes, 2e-3, "dense",
                           log)[-1]
    tarball = io.BytesIO()
    dense.to_tar(tarball)

    # 2. the same network with pruning hooks, fine-tuned from the dense values
    end_pass = max(1, finetune_passes - 2)
    hook = Hook("dynamic_pruning", upper_bound=sparsity, inter_pass=1, end_pass=end_pass)
    log(f"2. {hook} on {', '.join(PRUNED)}: {finetune_passes} passes")
    paddle.layer.reset_names()
    cost, pruned_output = lstm_net(dict_dim, hidden, hook=hook)
    pruned = paddle.parameters.create(cost)
    tarball.seek(0)
    pruned.init_from_tar(tarball)
    pruned_accuracy = train(cost, pruned, train_reader, test_reader, finetune_passes, 1e-3,
                            "pruned", log)[-1]

    # 3. accuracy, sizes, batch-1 inference
    zeros = {name: float(np.mean(pruned.get(name) == 0)) for name in PRUNED}
    sizes = {"dense": file_sizes(dense), "pruned": file_sizes(pruned)}
    sample = list(test_reader())[:reviews]
    Inference = paddle.inference.Inference
    networks = {"dense network": Inference(output, dense, sparse=False)}
    for setting in (False, True, "auto"):
        networks[f"pruned, sparse={setting!r}"] = Inference(pruned_output, pruned, sparse=setting)
    ms = batch_one_ms(networks, sample, rounds)
    plan = networks["pruned, sparse='auto'"].sparse_plan
    inputs = [(ids,) for ids, _ in sample]
    difference = float(np.abs(
        paddle.infer(pruned_output, pruned, inputs, feeding={"word": 0}, sparse=True)
        - paddle.infer(pruned_output, pruned, inputs, feeding={"word": 0}, sparse=False)).max())

    log("\n3. results")
    log(f"test accuracy: dense {100 * dense_accuracy:.1f} %, pruned "
        f"{100 * pruned_accuracy:.1f} % (change {100 * (pruned_accuracy - dense_accuracy):+.1f}"
        " points)")
    for name, fraction in zeros.items():
        log(f"  {name:<16} {'x'.join(map(str, pruned.get_shape(name)))}: "
            f"{100 * fraction:.1f} % zeros")
    for label, size in sizes.items():
        log(f"file sizes, {label} network (bytes):\n{size.format()}")
    words = np.mean([len(ids) for ids, _ in sample])
    log(f"batch-1 inference, {len(sample)} test reviews of {words:.0f} words on average, "
        f"ms per review (best of {rounds} rounds):")
    base = ms["pruned, sparse=False"]
    for label, value in ms.items():
        log(f"  {label:<26} {value:8.3f}  ({base / value:.2f}x the pruned network's dense "
            "speed)")
    log(f"largest difference of the sparse outputs from the dense ones: {difference:.2e}")
    projection = [d for d in plan.rows() if d.layer == "lstm_input"]
    sparse_runs = sum(d.choice == "sparse" for d in projection)
    log(f"the 'auto' plan at batch 1 (one review; the lstm layer's batch counts sequences):\n"
        f"{plan.table(batch=1)}\n"
        f"(lstm_input, an fc layer over the review's rows, is decided per row count: sparse "
        f"for {sparse_runs} of the {len(projection)} review lengths seen)")
    return {"dense_accuracy": dense_accuracy, "pruned_accuracy": pruned_accuracy,
            "sparsity": zeros, "sizes": sizes, "ms": ms, "plan": plan,
            "max_difference": difference}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--real", action="store_true",
                        help="IMDB from the dataset cache (downloaded if allowed)")
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--passes", type=int, default=4, help="dense training passes")
    parser.add_argument("--finetune-passes", type=int, default=6)
    parser.add_argument("--batches", type=int, default=40,
                        help="with --real: batches of 100 reviews per pass, 0 for all")
    parser.add_argument("--reviews", type=int, default=100,
                        help="test reviews classified one at a time for the timing")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    main(args.real, args.hidden, args.sparsity, args.passes, args.finetune_passes, args.batches,
         args.reviews, args.seed)
