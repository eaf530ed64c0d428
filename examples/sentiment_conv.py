"""Sentiment of movie reviews with a text convolution or stacked LSTMs, as in the PaddlePaddle
book (chapter 6).

    python examples/sentiment_conv.py               # IMDB if cached, else synthetic data
    python examples/sentiment_conv.py --synthetic --passes 5
    python examples/sentiment_conv.py --real --passes 20 --batches 0   # the book's run
    python examples/sentiment_conv.py --net lstm    # the book's stacked_lstm_net

The book's ``convolution_net``: word ids -> 128-wide embedding -> two text convolutions
(``paddle.networks.sequence_conv_pool`` over windows of 3 and of 4 words, 128 filters each,
tanh, max pooling over the review) -> softmax over the two classes. Adam (learning rate
2e-3, L2 8e-4, model averaging over a window of 0.5), batches of 100, as the book; the
test cost is computed with the averaged parameters. After training the script classifies
a few reviews with ``paddle.infer`` (label 0 is a positive review, 1 a negative one, as
``paddle.dataset.imdb`` numbers them).

The book's other network, ``stacked_lstm_net`` (``--net lstm``): the embedding, then three
pairs of a linear fc layer (512) and an ``lstmemory`` over it (128 units, a quarter of its
input; Relu), the second running backwards, each fc reading the pair below (its fc with
learning rate 1e-3, its LSTM with initial std 0); max pooling of the last fc and LSTM over
the review, then the softmax. Same data and optimizer.

Data: ``paddle.dataset.imdb`` (dictionary of the words seen more than 150 times) when
``aclImdb_v1.tar.gz`` is in the dataset cache (``$MINIDL_DATA_HOME/imdb``) or ``--real`` is
given (downloading it if allowed); reading the 50,000 reviews takes a while. Otherwise
synthetic reviews in the same sample format, ``(word ids, label)``, whose rule is printed
on the "synthetic data:" line. By default a real run trains (and tests) on the first 50
batches of one pass; ``--batches 0`` takes all 250.
"""

import argparse
import os

import numpy as np

import minidl as paddle

FEEDING = {"word": 0, "label": 1}
CLASSES = ("positive", "negative")  # paddle.dataset.imdb's labels 0 and 1


def convolution_net(input_dim, class_dim=2, emb_dim=128, hid_dim=128):
    """The book's network: returns ``(cost, class probabilities)``."""
    data = paddle.layer.data("word", paddle.data_type.integer_value_sequence(input_dim))
    emb = paddle.layer.embedding(input=data, size=emb_dim)
    conv_3 = paddle.networks.sequence_conv_pool(input=emb, context_len=3, hidden_size=hid_dim)
    conv_4 = paddle.networks.sequence_conv_pool(input=emb, context_len=4, hidden_size=hid_dim)
    output = paddle.layer.fc(input=[conv_3, conv_4], size=class_dim,
                             act=paddle.activation.Softmax())
    label = paddle.layer.data("label", paddle.data_type.integer_value(2))
    cost = paddle.layer.classification_cost(input=output, label=label)
    return cost, output


def stacked_lstm_net(input_dim, class_dim=2, emb_dim=128, hid_dim=512, stacked_num=3):
    """The book's LSTM network: returns ``(cost, class probabilities)``. ``stacked_num``
    (odd) LSTMs over linear fc layers of ``hid_dim``; each lstmemory has ``hid_dim / 4``
    units and every second one runs backwards."""
    assert stacked_num % 2 == 1, "stacked_num must be odd"
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
    label = paddle.layer.data("label", paddle.data_type.integer_value(2))
    cost = paddle.layer.classification_cost(input=output, label=label)
    return cost, output


NETWORKS = {"conv": convolution_net, "lstm": stacked_lstm_net}


# --- data ----------------------------------------------------------------------------------

def real_data_cached():
    """True when the IMDB archive is already in the dataset cache (no download needed)."""
    return os.path.exists(os.path.join(paddle.dataset.common.module_dir("imdb"),
                                       paddle.dataset.imdb.FILE))


POSITIVE = ["good", "great", "fun", "moving", "superb", "enjoyable"]
NEGATIVE = ["bad", "dull", "boring", "awful", "weak", "tedious"]
FILLER = ["the", "a", "movie", "film", "plot", "actor", "story", "was", "is", "and", "it",
          "this", "of", "with", "scene", "ending", "cast", "director", "music", "very"]


class SyntheticReviews:
    """Reviews of 8 to 30 filler words with two or three sentiment cues mixed in: each cue
    is a word of the review's class ("great" in a positive review) or, one time in three, a
    word of the OTHER class negated ("not dull"), which only a window of words reads right.
    Samples are ``(word ids, label)`` as ``paddle.dataset.imdb`` yields, label 0 positive,
    1 negative."""

    def __init__(self, train=800, test=200, seed=1):
        words = FILLER + POSITIVE + NEGATIVE + ["not", "<unk>"]
        self.word_dict = {w: i for i, w in enumerate(words)}
        rng = np.random.default_rng(seed)
        self.train_samples = [self._review(rng) for _ in range(train)]
        self.test_samples = [self._review(rng) for _ in range(test)]

    def _review(self, rng):
        label = int(rng.integers(2))
        cues, others = (POSITIVE, NEGATIVE) if label == 0 else (NEGATIVE, POSITIVE)
        words = [str(w) for w in rng.choice(FILLER, int(rng.integers(8, 31)))]
        for _ in range(int(rng.integers(2, 4))):
            at = int(rng.integers(len(words) + 1))
            if rng.random() < 1 / 3:
                words[at:at] = ["not", str(rng.choice(others))]
            else:
                words.insert(at, str(rng.choice(cues)))
        return [self.word_dict[w] for w in words], label

    def describe(self):
        return (f"synthetic data: {len(self.train_samples)} training and "
                f"{len(self.test_samples)} test reviews over {len(self.word_dict)} words; "
                f"a positive review has 2-3 cues among filler words, each one of "
                f"{', '.join(POSITIVE)} or (1 in 3) 'not' and one of "
                f"{', '.join(NEGATIVE)}; a negative review the other way round")

    def train(self):
        return lambda: iter(self.train_samples)

    def test(self):
        return lambda: iter(self.test_samples)


def load_data(synthetic, seed):
    """``(word_dict, train reader, test reader, reviews to classify, description)``."""
    if synthetic:
        reviews = SyntheticReviews(seed=seed)
        examples = ["the movie was great and fun", "a dull and boring film",
                    "the plot was not bad and the cast superb", "it was not good"]
        return (reviews.word_dict, reviews.train(), reviews.test(), examples,
                reviews.describe())
    imdb = paddle.dataset.imdb
    word_dict = imdb.word_dict()
    examples = ["read the book forget the movie", "this is a great movie", "this is very bad"]
    return (word_dict, imdb.train(word_dict), imdb.test(word_dict), examples,
            f"data: IMDB (paddle.dataset.imdb), {len(word_dict)} words")


def classify(output, parameters, word_dict, reviews):
    """Class probabilities ``(len(reviews), 2)`` of reviews given as text."""
    unk = word_dict["<unk>"]
    samples = [([word_dict.get(w, unk) for w in review.lower().split()],) for review in reviews]
    return paddle.infer(output_layer=output, parameters=parameters, input=samples,
                        feeding={"word": 0})


def main(synthetic=None, passes=None, batches=None, batch_size=100, seed=1, save=None,
         verbose=True, net="conv"):
    """Train ``net`` ("conv": ``convolution_net``, "lstm": ``stacked_lstm_net``); returns a
    dict: ``costs`` (mean training cost per pass), ``test_costs``, ``test_errors``,
    ``parameters``, ``probabilities`` (of the classified reviews, ``(R, 2)``), ``reviews``,
    ``synthetic``."""
    if synthetic is None:
        synthetic = not real_data_cached()
    passes = passes if passes is not None else (6 if synthetic else 1)
    batches = batches if batches is not None else (0 if synthetic else 50)
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)
    word_dict, train_reader, test_reader, reviews, description = load_data(synthetic, seed)
    if verbose:
        print(description)
    if net not in NETWORKS:
        raise ValueError(f"net={net!r}: expected one of {', '.join(NETWORKS)}")
    cost, output = NETWORKS[net](len(word_dict), class_dim=2)
    parameters = paddle.parameters.create(cost)
    optimizer = paddle.optimizer.Adam(
        learning_rate=2e-3, regularization=paddle.optimizer.L2Regularization(rate=8e-4),
        model_average=paddle.optimizer.ModelAverage(average_window=0.5))
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters, update_equation=optimizer)
    batched = paddle.batch(paddle.reader.shuffle(train_reader, buf_size=1000), batch_size)
    test_batched = paddle.batch(test_reader, batch_size, drop_last=False)
    if batches:  # the first batches of each pass, and as many to test on
        batched = paddle.reader.firstn(batched, batches)
        test_batched = paddle.reader.firstn(test_batched, batches)
    costs, test_costs, test_errors, pass_costs = [], [], [], []

    def event_handler(event):
        if isinstance(event, paddle.event.EndIteration):
            pass_costs.append(event.cost)
            if verbose and event.batch_id % 100 == 0:
                print(f"pass {event.pass_id}, batch {event.batch_id}, cost {event.cost:.4f}, "
                      f"{event.metrics}")
        if isinstance(event, paddle.event.EndPass):
            costs.append(float(np.mean(pass_costs)))
            pass_costs.clear()
            result = trainer.test(reader=test_batched,
                                  feeding=FEEDING)
            test_costs.append(result.cost)
            test_errors.append(result.metrics["classification_error_evaluator"])
            if verbose:
                print(f"pass {event.pass_id}: training cost {costs[-1]:.4f}, test cost "
                      f"{result.cost:.4f}, test error {100 * test_errors[-1]:.1f} %")

    trainer.train(reader=batched, event_handler=event_handler, feeding=FEEDING,
                  num_passes=passes)
    if save:
        trainer.save_parameter_to_tar(save)

    probabilities = classify(output, parameters, word_dict, reviews)
    if verbose:
        label = " (synthetic words)" if synthetic else ""
        for review, p in zip(reviews, probabilities):
            print(f"{review!r}: {CLASSES[int(p.argmax())]} (p positive = {p[0]:.2f}){label}")
    return {"costs": costs, "test_costs": test_costs, "test_errors": test_errors,
            "parameters": parameters, "probabilities": probabilities, "reviews": reviews,
            "synthetic": synthetic}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--synthetic", action="store_true", default=None,
                      help="train on generated reviews (the default when IMDB is not cached)")
    data.add_argument("--real", dest="synthetic", action="store_false",
                      help="train on IMDB (downloaded if not cached)")
    parser.add_argument("--passes", type=int, help="passes (default 6 synthetic, 1 real)")
    parser.add_argument("--batches", type=int,
                        help="training (and test) batches per pass, 0 for all "
                        "(default: all synthetic, 50 real)")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", help="write the trained parameters to this tarball")
    parser.add_argument("--net", choices=sorted(NETWORKS), default="conv",
                        help="convolution_net (default) or stacked_lstm_net")
    args = parser.parse_args()
    main(args.synthetic, args.passes, args.batches, args.batch_size, args.seed, args.save,
         net=args.net)
