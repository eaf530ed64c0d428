"""Sequence networks: minidl's training steps against PyTorch CPU, same process, same shapes.

    python benchmarks/sequence.py [--repeats 7] [--only word2vec,conv,embedding]

1. word2vec's N-gram network (the book's chapter 4): four context words through one shared
   embedding table (dictionary 2,000, width 32), concatenated, fc 256 (Sigmoid), fc 2,000
   (Softmax), classification cost, AdaGrad; one training step at batch 100, through
   ``paddle.trainer.SGD`` against ``torch.nn`` + ``torch.optim.Adagrad``.
2. ``networks.sequence_conv_pool`` on IMDB-like batches: 128 sequences of 10-200 words (a
   fixed seeded draw), embedded words of width 128, context 3, 512 filters, max pooling,
   then fc 2 (Softmax) and the cost; one SGD training step (forward, backward, update).
   PyTorch pads the batch to the longest sequence: ``conv1d`` over the padded words (the
   same three-word windows, zeros outside each sequence), Tanh, a max over each sequence's
   own positions, the same fc and cost.
3. ``embedding(..., param_attr=ParamAttr(sparse_update=True))``: the word2vec step of (1) with
   dictionaries of 10 k, 100 k and 1 M words; the step should cost the rows looked up, not
   the table (target: 1 M within 1.5x of 10 k). The output layer is kept at 2,000 classes
   (the context words come from the big dictionary, the predicted word from its first 2,000)
   so that only the table grows.

Each figure is the median of ``--repeats`` steps after warm-up (``timing.median_ms``).
"""

import argparse
import os
import sys

import numpy as np

import minidl as paddle
from timing import median_ms

try:
    import torch
except ImportError:  # the peer is optional
    torch = None


# ---- 1. word2vec -------------------------------------------------------------------------

def word2vec_network(dict_size, classes, embed=32, hidden=256, sparse_update=False):
    paddle.layer.reset_names()
    words = [paddle.layer.data(name, paddle.data_type.integer_value(dict_size))
             for name in ("firstw", "secondw", "thirdw", "fourthw")]
    target = paddle.layer.data("nextw", paddle.data_type.integer_value(classes))
    table = paddle.attr.Param(name="_proj", initial_std=0.001, sparse_update=sparse_update)
    embedded = [paddle.layer.embedding(input=word, size=embed, param_attr=table)
                for word in words]
    context = paddle.layer.concat(input=embedded)
    hidden_layer = paddle.layer.fc(input=context, size=hidden, act=paddle.activation.Sigmoid())
    predict = paddle.layer.fc(input=hidden_layer, size=classes, act=paddle.activation.Softmax())
    return paddle.layer.classification_cost(input=predict, label=target)


def minidl_step(cost, optimizer, batch):
    parameters = paddle.parameters.create(cost)
    trainer = paddle.trainer.SGD(cost, parameters, optimizer)
    return lambda: trainer.train(lambda: iter([batch]), num_passes=1)


def word2vec_batch(rng, dict_size, classes, batch=100):
    context = rng.integers(0, dict_size, (batch, 4))
    target = rng.integers(0, classes, batch)
    return [tuple(int(v) for v in row) + (int(t),) for row, t in zip(context, target)]


def torch_word2vec_step(batch, dict_size, classes, embed=32, hidden=256):
    table = torch.nn.Embedding(dict_size, embed)
    net = torch.nn.Sequential(torch.nn.Linear(4 * embed, hidden), torch.nn.Sigmoid(),
                              torch.nn.Linear(hidden, classes))
    optimizer = torch.optim.Adagrad(list(table.parameters()) + list(net.parameters()), lr=3e-3)
    data = torch.tensor(batch)
    context, target = data[:, :4], data[:, 4]
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")

    def step():
        optimizer.zero_grad()
        loss = loss_fn(net(table(context).reshape(len(data), -1)), target)
        loss.backward()
        optimizer.step()
    return step


def bench_word2vec(rng, repeats):
    dict_size = classes = 2000
    batch = word2vec_batch(rng, dict_size, classes)
    cost = word2vec_network(dict_size, classes)
    ours = median_ms(minidl_step(cost, paddle.optimizer.AdaGrad(learning_rate=3e-3), batch),
                     repeats)
    theirs = median_ms(torch_word2vec_step(batch, dict_size, classes), repeats) \
        if torch else None
    return [("word2vec step, batch 100, dict 2,000", ours, theirs)]


# ---- 2. sequence_conv_pool -----------------------------------------------------------------

def imdb_like_batch(rng, count=128, width=128):
    lengths = rng.integers(10, 201, count)
    return [(rng.standard_normal((n, width)).astype(np.float32), int(rng.integers(0, 2)))
            for n in lengths]


def conv_pool_network(width=128, filters=512):
    paddle.layer.reset_names()
    words = paddle.layer.data("words", paddle.data_type.dense_vector_sequence(width))
    label = paddle.layer.data("label", paddle.data_type.integer_value(2))
    pooled = paddle.networks.sequence_conv_pool(input=words, context_len=3, hidden_size=filters)
    output = paddle.layer.fc(input=pooled, size=2, act=paddle.activation.Softmax())
    return paddle.layer.classification_cost(input=output, label=label)


def torch_conv_pool_step(batch, width=128, filters=512):
    lengths = torch.tensor([len(words) for words, _ in batch])
    padded = torch.zeros(len(batch), width, int(lengths.max()))
    for i, (words, _) in enumerate(batch):
        padded[i, :, :len(words)] = torch.from_numpy(words).T
    labels = torch.tensor([label for _, label in batch])
    inside = torch.arange(padded.shape[2])[None, :] < lengths[:, None]
    conv = torch.nn.Conv1d(width, filters, 3, padding=1)       # context 3 centred, as Paddle
    fc = torch.nn.Linear(filters, 2)
    optimizer = torch.optim.SGD(list(conv.parameters()) + list(fc.parameters()), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss(reduction="sum")

    def step():
        optimizer.zero_grad()
        hidden = torch.tanh(conv(padded)).masked_fill(~inside[:, None, :], float("-inf"))
        loss = loss_fn(fc(hidden.max(dim=2).values), labels)
        loss.backward()
        optimizer.step()
    return step


def bench_conv(rng, repeats):
    batch = imdb_like_batch(rng)
    cost = conv_pool_network()
    ours = median_ms(minidl_step(cost, paddle.optimizer.Momentum(learning_rate=1e-3), batch),
                     repeats)
    theirs = median_ms(torch_conv_pool_step(batch), repeats) if torch else None
    return [(f"sequence_conv_pool step, 128 seqs, {sum(len(w) for w, _ in batch)} words",
             ours, theirs)]


# ---- 3. sparse embedding updates -----------------------------------------------------------

def bench_embedding(rng, repeats):
    rows = []
    for dict_size in (10_000, 100_000, 1_000_000):
        batch = word2vec_batch(rng, dict_size, 2000)
        cost = word2vec_network(dict_size, 2000, sparse_update=True)
        ours = median_ms(minidl_step(cost, paddle.optimizer.AdaGrad(learning_rate=3e-3),
                                     batch), repeats)
        rows.append((f"sparse_update step, dict {dict_size:,}", ours, None))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--only", default="word2vec,conv,embedding")
    args = parser.parse_args(argv)
    paddle.init(seed=1)
    if torch is not None:
        torch.manual_seed(1)
    rng = np.random.default_rng(1)
    print(f"minidl backend {paddle.backends.current_backend().name}, torch "
          f"{torch.__version__ if torch else 'not installed'} ({os.cpu_count()} cores)")
    rows = []
    for name, bench in (("word2vec", bench_word2vec), ("conv", bench_conv),
                        ("embedding", bench_embedding)):
        if name in args.only.split(","):
            rows += bench(rng, args.repeats)
    print(f"\n{'step':<48} {'minidl ms':>10} {'torch ms':>10} {'ratio':>7}")
    for label, ours, theirs in rows:
        ratio = f"{ours / theirs:7.2f}" if theirs else "      -"
        torch_ms = f"{theirs:10.2f}" if theirs else "         -"
        print(f"{label:<48} {ours:10.2f} {torch_ms} {ratio}")
    return rows


if __name__ == "__main__":
    sys.exit(main() and 0)
