"""Word embeddings from an N-gram language model, as in the PaddlePaddle book (chapter 4).

    python examples/word2vec.py                   # PTB if cached, else synthetic data
    python examples/word2vec.py --synthetic --passes 10
    python examples/word2vec.py --real --passes 100 --batches 0   # the book's full run

The network predicts each word of a sentence from the four words before it: every context
word is looked up in ONE shared embedding table (a ``table_projection`` whose parameter is
named ``_proj``), the four 32-wide vectors are concatenated (a ``concat`` of projections,
Paddle's ``concat2`` layer), then a 256-unit sigmoid layer with dropout 0.5 and a softmax
over the dictionary. AdaGrad (learning rate 3e-3, L2 8e-4), batches of 32, as the book.
The trained table ``_proj`` (one row per word) is the word embedding: after training the
script predicts the next word of a few test contexts with ``paddle.infer`` and compares
words by the cosine similarity of their rows.

Data: ``paddle.dataset.imikolov`` (the PTB text; dictionary of the words seen more than 50
times) when ``simple-examples.tgz`` is in the dataset cache (``$MINIDL_DATA_HOME/imikolov``)
or ``--real`` is given (downloading it if allowed). Otherwise synthetic sentences in the
same sample format (5-tuples of word ids); the printed "synthetic data:" line says how they
are made. A real pass has about 30,000 batches, so by default a real run trains (and tests)
on the first 500 batches of each pass; ``--batches 0`` takes them all.
"""

import argparse
import math
import os

import numpy as np

import minidl as paddle

EMBEDDING_SIZE = 32
HIDDEN_SIZE = 256
N = 5  # four context words and the word to predict
CONTEXT_NAMES = ["firstw", "secondw", "thirdw", "fourthw"]


def network(dict_size):
    """The book's network: returns ``(cost, predicted next-word distribution)``."""
    words = [paddle.layer.data(name=name, type=paddle.data_type.integer_value(dict_size))
             for name in CONTEXT_NAMES]
    next_word = paddle.layer.data(name="fifthw",
                                  type=paddle.data_type.integer_value(dict_size))
    # the same parameter name makes the four projections share one table
    table = paddle.attr.Param(name="_proj", initial_std=0.001, learning_rate=1, l2_rate=0)
    embeddings = [paddle.layer.table_projection(input=word, size=EMBEDDING_SIZE,
                                                param_attr=table) for word in words]
    context = paddle.layer.concat(input=embeddings)
    hidden = paddle.layer.fc(
        input=context, size=HIDDEN_SIZE, act=paddle.activation.Sigmoid(),
        layer_attr=paddle.attr.Extra(drop_rate=0.5),
        bias_attr=paddle.attr.Param(learning_rate=2),
        param_attr=paddle.attr.Param(initial_std=1.0 / math.sqrt(EMBEDDING_SIZE * 8),
                                     learning_rate=1))
    predicted = paddle.layer.fc(input=hidden, size=dict_size, act=paddle.activation.Softmax(),
                                bias_attr=paddle.attr.Param(learning_rate=2))
    cost = paddle.layer.classification_cost(input=predicted, label=next_word)
    return cost, predicted


# --- data ----------------------------------------------------------------------------------

def real_data_cached():
    """True when the PTB archive is already in the dataset cache (no download needed)."""
    imikolov = paddle.dataset.imikolov
    return os.path.exists(os.path.join(paddle.dataset.common.module_dir("imikolov"),
                                       imikolov.FILE))


class SyntheticText:
    """Sentences over ``pairs`` hidden word classes, each written as one of two twin words
    ``x<k>`` / ``y<k>`` picked at random. A sentence walks ``k -> k + 1 (mod pairs)``, with a
    random jump 10% of the time, so the next class follows from the context while the twins
    of a class are interchangeable -- a model that learns the pattern gives twins similar
    embeddings. Samples are 5-tuples of ids, as ``imikolov.train(word_dict, 5)`` yields."""

    def __init__(self, pairs=10, sentences=600, seed=1):
        self.pairs = pairs
        words = [f"{twin}{k}" for k in range(pairs) for twin in "xy"]
        self.word_dict = {word: i for i, word in enumerate(words + ["<s>", "<e>", "<unk>"])}
        rng = np.random.default_rng(seed)
        self.train_samples = self._samples(rng, sentences)
        self.test_samples = self._samples(rng, max(sentences // 5, 1))

    def describe(self):
        return (f"synthetic data: {len(self.train_samples)} training and "
                f"{len(self.test_samples)} test 5-grams over {len(self.word_dict)} words "
                f"({self.pairs} classes, each written as twin words x<k>/y<k>; a sentence "
                "steps k -> k+1, 10% random jumps; as the twin is a coin toss, the best "
                "possible test error is about 55 %)")

    def _samples(self, rng, sentences):
        ids = self.word_dict
        samples = []
        for _ in range(sentences):
            k, words = int(rng.integers(self.pairs)), []
            for _ in range(int(rng.integers(6, 16))):
                words.append(ids[f"{'xy'[rng.integers(2)]}{k}"])
                k = int(rng.integers(self.pairs)) if rng.random() < 0.1 else (k + 1) % self.pairs
            tokens = [ids["<s>"], *words, ids["<e>"]]
            samples += [tuple(tokens[i:i + N]) for i in range(len(tokens) - N + 1)]
        return samples

    def train(self):
        return lambda: iter(self.train_samples)

    def test(self):
        return lambda: iter(self.test_samples)


def load_data(synthetic, seed):
    """``(word_dict, train reader, test reader, description)``."""
    if synthetic:
        text = SyntheticText(seed=seed)
        return text.word_dict, text.train(), text.test(), text.describe()
    imikolov = paddle.dataset.imikolov
    word_dict = imikolov.build_dict()
    return (word_dict, imikolov.train(word_dict, N), imikolov.test(word_dict, N),
            f"data: PTB (paddle.dataset.imikolov), {len(word_dict)} words")


# --- after training ------------------------------------------------------------------------

def cosine_similarity(embeddings, a, b):
    u, v = embeddings[a], embeddings[b]
    return float(u @ v / (np.linalg.norm(u) * np.linalg.norm(v) + 1e-12))


def predict_next(predicted, parameters, word_dict, contexts, top=2):
    """The ``top`` most likely next words of each 4-word context (lists of words), with their
    probabilities; and the probabilities, ``(len(contexts), dict size)``."""
    unk = word_dict["<unk>"]
    samples = [tuple(word_dict.get(w, unk) for w in context) for context in contexts]
    feeding = {name: i for i, name in enumerate(CONTEXT_NAMES)}
    probabilities = paddle.infer(output_layer=predicted, parameters=parameters,
                                 input=samples, feeding=feeding)
    words = {i: w for w, i in word_dict.items()}
    best = np.argsort(-probabilities, axis=1)[:, :top]
    return probabilities, [[(words[int(i)], float(p[i])) for i in row]
                           for row, p in zip(best, probabilities)]


def main(synthetic=None, passes=None, batches=None, batch_size=32, seed=1, save=None,
         verbose=True):
    """Train; returns a dict: ``costs`` (mean training cost per pass), ``test_costs``,
    ``parameters``, ``embeddings`` (the ``_proj`` table, one row per word), ``word_dict``,
    ``probabilities`` (of the next word for the inferred contexts), ``synthetic``."""
    if synthetic is None:
        synthetic = not real_data_cached()
    passes = passes if passes is not None else (20 if synthetic else 1)
    batches = batches if batches is not None else (0 if synthetic else 500)
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)
    word_dict, train_reader, test_reader, description = load_data(synthetic, seed)
    if verbose:
        print(description)
    cost, predicted = network(len(word_dict))
    parameters = paddle.parameters.create(cost)
    optimizer = paddle.optimizer.AdaGrad(
        learning_rate=3e-3, regularization=paddle.optimizer.L2Regularization(8e-4))
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer)

    batched = paddle.batch(paddle.reader.shuffle(train_reader, buf_size=8192), batch_size)
    test_batched = paddle.batch(test_reader, batch_size, drop_last=False)
    if batches:  # the first batches of each pass, and as many to test on
        batched = paddle.reader.firstn(batched, batches)
        test_batched = paddle.reader.firstn(test_batched, batches)
    costs, test_costs, pass_costs = [], [], []

    def event_handler(event):
        if isinstance(event, paddle.event.EndIteration):
            pass_costs.append(event.cost)
            if verbose and event.batch_id % 100 == 0:
                print(f"pass {event.pass_id}, batch {event.batch_id}, cost {event.cost:.4f}, "
                      f"{event.metrics}")
        if isinstance(event, paddle.event.EndPass):
            costs.append(float(np.mean(pass_costs)))
            pass_costs.clear()
            result = trainer.test(reader=test_batched)
            test_costs.append(result.cost)
            if verbose:
                error = result.metrics["classification_error_evaluator"]
                print(f"pass {event.pass_id}: training cost {costs[-1]:.4f}, test cost "
                      f"{result.cost:.4f}, test error {100 * error:.1f} %")

    trainer.train(reader=batched, num_passes=passes, event_handler=event_handler)
    if save:
        trainer.save_parameter_to_tar(save)

    embeddings = parameters.get("_proj").reshape(len(word_dict), EMBEDDING_SIZE)
    if synthetic:
        contexts = [["x3", "y4", "x5", "y6"], ["y6", "y7", "x8", "x9"], ["<s>", "x0", "y1", "x2"]]
        pairs = [("x7", "y7"), ("x7", "x8"), ("y2", "x2"), ("y2", "y5")]
    else:
        contexts = [["the", "president", "of", "the"], ["a", "lot", "of", "the"],
                    ["<s>", "the", "company", "said"]]
        pairs = [("monday", "tuesday"), ("company", "firm"), ("stock", "shares"),
                 ("monday", "stock")]
    probabilities, best = predict_next(predicted, parameters, word_dict, contexts)
    if verbose:
        label = " (synthetic words)" if synthetic else ""
        for context, ranked in zip(contexts, best):
            guesses = ", ".join(f"{word} (p = {probability:.2f})" for word, probability in ranked)
            print(f"next word after {' '.join(context)!r}: {guesses}{label}")
        for a, b in pairs:
            if a in word_dict and b in word_dict:
                similarity = cosine_similarity(embeddings, word_dict[a], word_dict[b])
                print(f"embedding cosine similarity {a} ~ {b}: {similarity:+.3f}{label}")
    return {"costs": costs, "test_costs": test_costs, "parameters": parameters,
            "embeddings": embeddings, "word_dict": word_dict, "probabilities": probabilities,
            "synthetic": synthetic}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--synthetic", action="store_true", default=None,
                      help="train on generated sentences (the default when PTB is not cached)")
    data.add_argument("--real", dest="synthetic", action="store_false",
                      help="train on PTB (downloaded if not cached)")
    parser.add_argument("--passes", type=int, help="passes (default 20 synthetic, 1 real)")
    parser.add_argument("--batches", type=int,
                        help="training (and test) batches per pass, 0 for all "
                        "(default: all synthetic, 500 real)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", help="write the trained parameters to this tarball")
    args = parser.parse_args()
    main(args.synthetic, args.passes, args.batches, args.batch_size, args.seed, args.save)
