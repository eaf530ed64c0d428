"""The book's text chapters as ported in ``examples/``: word2vec (chapter 4), the recommender
(chapter 5) and the sentiment convolution net (chapter 6).

Each network is built by the example's own function and trained for a few passes on small
generated data through ``paddle.trainer.SGD`` (the cost must be finite and fall), then run by
``paddle.infer`` (the documented shapes); each example's ``main()`` runs in synthetic mode
with tiny settings, and on tiny archives in the upstream layouts as its real-data path.
Also ``paddle.networks.sequence_conv_pool``: Paddle's layer and parameter names, and a
float64 gradient check of the whole group on ragged batches.
"""

import hashlib
import io
import tarfile
import zipfile

import numpy as np
import pytest

import minidl as paddle
from minidl.core import Tensor
from minidl.core.gradcheck import check_directional
from minidl.dataset import imdb, imikolov, movielens
from minidl.layers.attrs import ParamAttr
from minidl.layers.graph import Network, RunContext

from sequence_helpers import RAGGED_LENGTHS, ragged

from book_helpers import falls, load_example, train_passes


@pytest.fixture(scope="module")
def word2vec():
    return load_example("word2vec")


@pytest.fixture(scope="module")
def recommender():
    return load_example("recommender")


@pytest.fixture(scope="module")
def sentiment():
    return load_example("sentiment_conv")


@pytest.fixture(autouse=True)
def _no_downloads(offline_cache):
    """Every test here starts from an empty cache with downloads off."""
    return offline_cache


# ---- chapter 4: word2vec ----

def test_word2vec_network_names_and_shared_table(word2vec):
    paddle.layer.reset_names()
    cost, predicted = word2vec.network(23)
    network = Network(cost)
    specs = {name: spec.shape for name, spec in network.param_specs.items()}
    assert specs == {"_proj": (23, 32), "___fc_layer_0__.w0": (128, 256),
                     "___fc_layer_0__.wbias": (1, 256), "___fc_layer_1__.w0": (256, 23),
                     "___fc_layer_1__.wbias": (1, 23)}
    (concat,) = [layer for layer in network.layers if layer.type == "concat2"]
    assert concat.size == 4 * 32 and [s.name for s in concat.params] == ["_proj"] * 4
    assert [layer.name for layer in network.data_layers] == word2vec.CONTEXT_NAMES + ["fifthw"]
    assert predicted.size == 23


def test_word2vec_trains_on_synthetic_text_and_infers(word2vec):
    paddle.init(use_gpu=False, trainer_count=1, seed=1)
    text = word2vec.SyntheticText(sentences=30, seed=2)
    cost, predicted = word2vec.network(len(text.word_dict))
    parameters = paddle.parameters.create(cost)
    costs = train_passes(cost, parameters, paddle.optimizer.Adam(learning_rate=1e-2),
                         text.train_samples, 32, 3)
    assert falls(costs), costs
    contexts = [["x1", "y2", "x3", "y4"], ["<s>", "x0", "y1", "x2"], ["y7", "x8", "x9", "y0"]]
    probabilities, best = word2vec.predict_next(predicted, parameters, text.word_dict, contexts)
    assert probabilities.shape == (3, len(text.word_dict))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    assert [len(ranked) for ranked in best] == [2, 2, 2]
    embeddings = parameters.get("_proj")
    assert embeddings.shape == (len(text.word_dict), 32)


def test_word2vec_main_synthetic(word2vec, capsys):
    result = word2vec.main(passes=2, batches=4)  # nothing cached: synthetic by default
    out = capsys.readouterr().out
    assert result["synthetic"] and out.startswith("synthetic data: ")
    assert "(synthetic words)" in out and "embedding cosine similarity x7 ~ y7" in out
    assert len(result["costs"]) == len(result["test_costs"]) == 2
    assert np.all(np.isfinite(result["costs"] + result["test_costs"]))
    assert result["probabilities"].shape == (3, len(result["word_dict"]))
    assert result["embeddings"].shape == (len(result["word_dict"]), 32)


# ---- chapter 5: recommender ----

def test_recommender_network_and_training(recommender):
    paddle.init(use_gpu=False, trainer_count=1, seed=1)
    data = recommender.SyntheticRatings(users=40, movies=50, ratings=1200, seed=3)
    paddle.layer.reset_names()
    cost, inference = recommender.network(data.meta)
    assert (inference.type, inference.size) == ("cos", 1)
    network = Network(cost)
    assert network.param_specs["___sequence_conv_pooling_0___conv_fc.w0"].shape == (96, 32)
    assert network.param_specs["___fc_layer_6__.w0"].shape == (18, 32)  # the categories
    parameters = paddle.parameters.create(cost)
    costs = train_passes(cost, parameters, paddle.optimizer.Adam(learning_rate=2e-3),
                         data.train_samples, 64, 4, feeding=recommender.FEEDING)
    assert falls(costs), costs
    feeding = {k: v for k, v in recommender.FEEDING.items() if k != "score"}
    samples = [data.features(u, m) for u, m in [(1, 1), (5, 9), (40, 50)]]
    prediction = paddle.infer(output_layer=inference, parameters=parameters, input=samples,
                              feeding=feeding)
    assert prediction.shape == (3, 1) and np.all(np.abs(prediction) <= 5 + 1e-5)


def test_recommender_main_synthetic(recommender, capsys):
    result = recommender.main(passes=2, batches=3, batch_size=64)
    out = capsys.readouterr().out
    assert result["synthetic"] and out.startswith("synthetic data: ")
    assert "of synthetic movie 345 by synthetic user 234" in out
    assert result["prediction"].shape == result["rating"].shape == (1, 1)
    np.testing.assert_allclose(result["rating"], (result["prediction"] + 5) / 2)
    assert np.all(np.isfinite(result["costs"] + result["test_costs"]))


# ---- chapter 6: sentiment ----

def test_sentiment_convolution_net_and_training(sentiment):
    paddle.init(use_gpu=False, trainer_count=1, seed=1)
    reviews = sentiment.SyntheticReviews(train=120, test=10, seed=4)
    paddle.layer.reset_names()
    cost, output = sentiment.convolution_net(len(reviews.word_dict))
    specs = {name: spec.shape for name, spec in Network(cost).param_specs.items()}
    assert specs == {"___embedding_0__.w0": (34, 128),
                     "___sequence_conv_pooling_0___conv_fc.w0": (3 * 128, 128),
                     "___sequence_conv_pooling_0___conv_fc.wbias": (1, 128),
                     "___sequence_conv_pooling_1___conv_fc.w0": (4 * 128, 128),
                     "___sequence_conv_pooling_1___conv_fc.wbias": (1, 128),
                     "___fc_layer_0__.w0": (128, 2), "___fc_layer_0__.w1": (128, 2),
                     "___fc_layer_0__.wbias": (1, 2)}
    parameters = paddle.parameters.create(cost)
    costs = train_passes(cost, parameters, paddle.optimizer.Adam(learning_rate=2e-3),
                         reviews.train_samples, 20, 3, feeding=sentiment.FEEDING)
    assert falls(costs), costs
    probabilities = sentiment.classify(output, parameters, reviews.word_dict,
                                       ["the movie was great", "not good", "dull"])
    assert probabilities.shape == (3, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)


def test_sentiment_main_synthetic(sentiment, capsys):
    result = sentiment.main(passes=2, batches=3, batch_size=20)
    out = capsys.readouterr().out
    assert result["synthetic"] and out.startswith("synthetic data: ")
    assert out.count("(synthetic words)") == len(result["reviews"])
    assert result["probabilities"].shape == (len(result["reviews"]), 2)
    assert len(result["test_errors"]) == 2
    assert np.all(np.isfinite(result["costs"] + result["test_costs"]))


# ---- the real-data paths, on tiny archives in the upstream layouts ----

def _tar(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _install(home, monkeypatch, module, cache, data):
    path = home / cache / module.FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    monkeypatch.setattr(module, "MD5", hashlib.md5(data).hexdigest())  # not the real archive


def test_examples_read_the_cached_datasets(word2vec, recommender, sentiment, offline_cache,
                                           monkeypatch, capsys):
    rng = np.random.default_rng(5)
    text = "\n".join(" ".join(f"w{(s + k) % 9}" for k in range(8)) for s in range(60)).encode()
    _install(offline_cache, monkeypatch, imikolov, "imikolov", _tar(
        [("./simple-examples/data/ptb.train.txt", text),
         ("./simple-examples/data/ptb.valid.txt", text[:200])]))
    result = word2vec.main(passes=1, batches=2)
    assert not result["synthetic"] and "PTB" in capsys.readouterr().out
    assert result["embeddings"].shape == (len(imikolov.build_dict()), 32)

    movies = b"".join(f"{m}::Title {m} Word{m % 4} (1999)::Drama|Comedy\n".encode()
                      for m in range(1, 346))
    users = b"".join(f"{u}::{'MF'[u % 2]}::25::{u % 21}::0\n".encode() for u in range(1, 235))
    ratings = b"".join(f"{rng.integers(1, 235)}::{rng.integers(1, 346)}::3::0\n".encode()
                       for _ in range(600))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, data in (("movies", movies), ("users", users), ("ratings", ratings)):
            package.writestr(f"ml-1m/{name}.dat", data)
    _install(offline_cache, monkeypatch, movielens, "movielens", buffer.getvalue())
    result = recommender.main(passes=1, batches=2)
    out = capsys.readouterr().out
    assert not result["synthetic"] and "predicted rating of movie 345 by user 234" in out
    assert result["prediction"].shape == (1, 1)

    reviews = [(f"aclImdb/{split}/{kind}/{i}_7.txt", b"great fun " * 80 if kind == "pos"
                else b"dull boring " * 80)
               for split in ("train", "test") for kind in ("pos", "neg") for i in range(3)]
    _install(offline_cache, monkeypatch, imdb, "imdb", _tar(reviews))
    result = sentiment.main(passes=1, batches=1, batch_size=2)
    assert not result["synthetic"] and "IMDB" in capsys.readouterr().out
    assert result["probabilities"].shape == (3, 2)


def test_imdb_readers_serve_the_books_lambda_spelling(offline_cache, monkeypatch):
    """Chapter 6 wraps ``lambda: imdb.train(word_dict)`` (an older v2's train returned the
    samples' generator): the reader is also iterable, with the same samples."""
    _install(offline_cache, monkeypatch, imdb, "imdb", _tar(
        [("aclImdb/train/pos/0_9.txt", b"good film"), ("aclImdb/train/neg/0_1.txt", b"bad")]))
    word_dict = {"good": 0, "bad": 1, "<unk>": 2}
    reader = imdb.train(word_dict)
    assert list(reader()) == list(reader) == [([0, 2], 0), ([1], 1)]
    shuffled = paddle.reader.shuffle(lambda: imdb.train(word_dict), buf_size=10)
    assert sorted(shuffled()) == [([0, 2], 0), ([1], 1)]


# ---- paddle.networks.sequence_conv_pool ----

def test_sequence_conv_pool_layer_and_parameter_names():
    paddle.layer.reset_names()
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector_sequence(4))
    pooled = paddle.networks.sequence_conv_pool(input=x, context_len=3, hidden_size=5)
    fc = pooled.inputs[0]
    window = fc.inputs[0]
    assert [(layer.name, layer.type, layer.size) for layer in (window, fc, pooled)] == [
        ("__sequence_conv_pooling_0___conv_proj", "mixed", 12),
        ("__sequence_conv_pooling_0___conv_fc", "fc", 5),
        ("__sequence_conv_pooling_0__", "max", 5)]
    assert window.params == [] and pooled.params == []  # zero padding, no pooling bias
    assert [(s.name, s.shape) for s in fc.params] == [
        ("___sequence_conv_pooling_0___conv_fc.w0", (12, 5)),
        ("___sequence_conv_pooling_0___conv_fc.wbias", (1, 5))]
    assert type(fc.act).__name__ == "Tanh" and pooled.seq_level == 0
    second = paddle.networks.sequence_conv_pool(input=x, context_len=2, hidden_size=3)
    assert second.name == "__sequence_conv_pooling_1__"
    named = paddle.networks.text_conv_pool(input=x, context_len=3, hidden_size=5, name="title",
                                           context_proj_param_attr=ParamAttr())
    assert [s.name for layer in Network(named).layers for s in layer.params] == [
        "_title_conv_proj.w0", "_title_conv_fc.w0", "_title_conv_fc.wbias"]
    assert named.inputs[0].inputs[0].params[0].shape == (2, 4)  # one padding row each side


@pytest.mark.parametrize("lengths", RAGGED_LENGTHS)
@pytest.mark.parametrize("trainable_padding", [False, True])
def test_sequence_conv_pool_float64_gradients_on_ragged_batches(lengths, trainable_padding):
    rng = np.random.default_rng(6)
    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector_sequence(3))
    pooled = paddle.networks.sequence_conv_pool(
        input=x, context_len=4, hidden_size=5, name="conv",
        context_proj_param_attr=ParamAttr() if trainable_padding else False)
    network = Network(pooled)
    names = list(network.param_specs)
    values, layout = ragged(rng, lengths, 3)
    params = [rng.standard_normal(network.param_specs[name].shape) for name in names]

    def run(x_tensor, *param_tensors):
        x_tensor.seq = layout
        ctx = RunContext(dict(zip(names, param_tensors)))
        return network.forward({"x": x_tensor}, ctx)[pooled.name]

    out = run(Tensor(values), *[Tensor(p) for p in params])
    assert out.shape == (len(lengths), 5)
    # each sequence's output is the max over its rows of tanh(window @ W + b)
    first = values[:lengths[0]]
    window = np.zeros((lengths[0], 12))
    for t in range(lengths[0]):  # context_start = -(4 - 1) // 2 = -2: rows t-2 .. t+1
        for j, row in enumerate(range(t - 2, t + 2)):
            if 0 <= row < lengths[0]:
                window[t, 3 * j:3 * j + 3] = first[row]
            elif trainable_padding:  # padding rows: 2 before the sequence, then 1 after
                pad = params[names.index("_conv_conv_proj.w0")]
                window[t, 3 * j:3 * j + 3] = pad[row + 2 if row < 0 else 2 + row - lengths[0]]
    w, b = params[names.index("_conv_conv_fc.w0")], params[names.index("_conv_conv_fc.wbias")]
    np.testing.assert_allclose(out.data[0], np.tanh(window @ w + b).max(axis=0), rtol=1e-6)
    check_directional(run, values, *params)
