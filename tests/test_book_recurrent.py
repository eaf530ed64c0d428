"""The book's recurrent chapters as ported in ``examples/``: the stacked LSTM sentiment net
(chapter 6, ``sentiment_conv.py --net lstm``), semantic role labelling (chapter 7,
``label_semantic_roles.py``) and machine translation (chapter 8, ``machine_translation.py``).

Each network is built by the example's own function and trained for a few passes on small
generated data through ``paddle.trainer.SGD`` (the cost must be finite and fall); tagging,
classification and beam-search generation return the documented shapes; each example's
``main()`` runs in synthetic mode with tiny settings, and on tiny archives in the upstream
layouts as its real-data path. Also ``paddle.evaluator.sum`` as Paddle reports it (the
book's SRL metric).
"""

import gzip
import hashlib
import io
import tarfile

import numpy as np
import pytest

import minidl as paddle
from minidl.dataset import conll05, imdb, wmt14
from minidl.layers.graph import Network

from book_helpers import falls, load_example, train_passes


@pytest.fixture(scope="module")
def sentiment():
    return load_example("sentiment_conv")


@pytest.fixture(scope="module")
def srl():
    return load_example("label_semantic_roles")


@pytest.fixture(scope="module")
def translation():
    return load_example("machine_translation")


@pytest.fixture(autouse=True)
def _no_downloads(offline_cache):
    """Every test here starts from an empty cache with downloads off."""
    return offline_cache


# ---- chapter 6: stacked_lstm_net ----

def test_stacked_lstm_net_parameters_and_training(sentiment):
    paddle.init(use_gpu=False, trainer_count=1, seed=1)
    reviews = sentiment.SyntheticReviews(train=120, test=10, seed=1)
    paddle.layer.reset_names()
    cost, output = sentiment.stacked_lstm_net(len(reviews.word_dict), emb_dim=16, hid_dim=32)
    network = Network(cost)
    specs = {name: spec.shape for name, spec in network.param_specs.items()}
    # three fc + lstmemory pairs: each lstmemory has 32 / 4 = 8 units, Paddle's [H, H, 4]
    # recurrent weight and 7H bias; every fc after the first reads the fc and lstm below
    assert specs["___embedding_0__.w0"] == (34, 16)
    assert specs["___fc_layer_0__.w0"] == (16, 32)
    for i in range(3):
        assert specs[f"___lstmemory_{i}__.w0"] == (8, 8, 4)
        assert specs[f"___lstmemory_{i}__.wbias"] == (1, 56)
    for i in (1, 2):
        assert specs[f"___fc_layer_{i}__.w0"] == (32, 32)
        assert specs[f"___fc_layer_{i}__.w1"] == (8, 32)
    assert specs["___fc_layer_3__.w0"] == (32, 2) and specs["___fc_layer_3__.w1"] == (8, 2)
    lstms = [layer for layer in network.layers if layer.type == "lstmemory"]
    assert [layer.reverse for layer in lstms] == [False, True, False]
    assert all(type(layer.cell_act).__name__ == "Relu" for layer in lstms)
    parameters = paddle.parameters.create(cost)
    costs = train_passes(cost, parameters, paddle.optimizer.Adam(learning_rate=1e-2),
                         reviews.train_samples, 20, 5, feeding=sentiment.FEEDING)
    assert falls(costs), costs
    probabilities = sentiment.classify(output, parameters, reviews.word_dict,
                                       ["the movie was great", "not good", "dull"])
    assert probabilities.shape == (3, 2)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    with pytest.raises(AssertionError, match="odd"):
        sentiment.stacked_lstm_net(10, stacked_num=2)


def test_sentiment_main_lstm_synthetic(sentiment, capsys):
    result = sentiment.main(passes=2, batches=2, batch_size=20, net="lstm")
    out = capsys.readouterr().out
    assert result["synthetic"] and out.startswith("synthetic data: ")
    assert result["probabilities"].shape == (len(result["reviews"]), 2)
    assert np.all(np.isfinite(result["costs"] + result["test_costs"]))
    assert "___lstmemory_2__.w0" in result["parameters"].names()
    with pytest.raises(ValueError, match="net='gru'"):
        sentiment.main(passes=1, batches=1, net="gru", verbose=False)


# ---- chapter 7: label semantic roles ----

def test_db_lstm_parameters(srl):
    paddle.layer.reset_names()
    cost, crf_dec, predict, feature_out = srl.network(30, 11, 5, hidden_dim=16, depth=3)
    network = Network(cost)
    specs = {name: spec.shape for name, spec in network.param_specs.items()}
    # the six word features share the static table 'emb'; 'vemb' the predicate's; 'crfw'
    # the CRF's (size + 2) x size start/end/transition weights, shared with crf_decoding
    assert specs["emb"] == (30, 32) and specs["vemb"] == (5, 32) and specs["crfw"] == (13, 11)
    assert network.param_specs["emb"].attr.is_static
    assert specs["___embedding_1__.w0"] == (2, 5)                       # the mark
    assert [specs[f"___mixed_0__.w{i}"] for i in range(8)] == [(32, 16)] * 7 + [(5, 16)]
    lstms = [layer for layer in network.layers if layer.type == "lstmemory"]
    assert [layer.reverse for layer in lstms] == [False, True, False]     # L, R, L
    assert all(layer.size == 4 for layer in lstms)                        # 16 / 4 units
    assert all((type(layer.cell_act).__name__, type(layer.state_act).__name__)
               == ("Relu", "Sigmoid") for layer in lstms)
    assert feature_out.size == 11 and specs["___mixed_3__.w1"] == (4, 11)
    assert (crf_dec.type, predict.type) == ("crf_decoding", "crf_decoding")
    assert [s.name for s in crf_dec.params] == [s.name for s in predict.params] == ["crfw"]
    assert len(predict.inputs) == 1 and len(crf_dec.inputs) == 2


def test_synthetic_srl_samples_follow_the_grammar(srl):
    toy = srl.SyntheticSRL(train=40, test=4, seed=3)
    labels = {v: k for k, v in toy.label_dict.items()}
    assert labels[len(labels) - 1] == "O" and toy.label_dict["B-A0"] == 0
    words = {v: k for k, v in toy.word_dict.items()}
    two_clauses = 0
    for sample in toy.train_samples:
        assert len(sample) == 9 and len({len(field) for field in sample}) == 1
        tags = [labels[i] for i in sample[8]]
        verb = tags.index("B-V")
        assert words[sample[3][0]] == words[sample[0][verb]] and sample[7][verb] == 1
        assert tags[verb - 1] in ("I-A0", "B-A0", "B-AM-TMP") and tags[verb + 1] == "B-A1"
        if toy.word_dict["and"] in sample[0]:
            two_clauses += 1
            conjunction = sample[0].index(toy.word_dict["and"])
            other = tags[conjunction + 1:] if verb < conjunction else tags[:conjunction]
            assert set(other) == {"O"}          # the other clause is outside the arguments
    assert 0 < two_clauses < len(toy.train_samples)


def test_db_lstm_trains_with_crf_and_tags(srl):
    paddle.init(use_gpu=False, trainer_count=1, seed=1)
    toy = srl.SyntheticSRL(train=60, test=5, seed=1)
    paddle.layer.reset_names()
    cost, crf_dec, predict, _ = srl.network(len(toy.word_dict), len(toy.label_dict),
                                            len(toy.verb_dict), hidden_dim=32, depth=2)
    parameters = paddle.parameters.create(cost)
    parameters.set("emb", toy.embedding())
    costs = train_passes(cost, parameters, paddle.optimizer.Adam(learning_rate=1e-2),
                         toy.train_samples, 10, 4, feeding=srl.FEEDING, extra_layers=crf_dec)
    assert falls(costs), costs
    np.testing.assert_array_equal(parameters.get("emb"), toy.embedding())   # static
    tagged = srl.tag(predict, parameters, toy.test_samples[:3])
    assert [len(ids) for ids in tagged] == [len(s[0]) for s in toy.test_samples[:3]]
    assert all(0 <= i < len(toy.label_dict) for ids in tagged for i in ids)


def test_srl_main_synthetic(srl, capsys):
    result = srl.main(passes=2, batches=3, hidden=16, depth=2)
    out = capsys.readouterr().out
    assert result["synthetic"] and out.startswith("synthetic data: ")
    assert "2 lstmemory layers of 4 units" in out and "(synthetic words)" in out
    assert len(result["costs"]) == len(result["test_costs"]) == 2
    assert np.all(np.isfinite(result["costs"] + result["test_costs"]))
    metrics = result["test_metrics"][-1]
    assert set(metrics) == {"error", "chunk.F1-score", "chunk.precision", "chunk.recall"}
    assert all(0 <= value <= 1 for value in metrics.values())
    assert len(result["predicted"]) == len(result["sample"][0])
    assert all(label in result["labels"] for label in result["predicted"])


# ---- chapter 8: machine translation ----

def test_seq_to_seq_net_trains_and_generates(translation):
    paddle.init(use_gpu=False, trainer_count=1, seed=1)
    toy = translation.SyntheticTranslation(train=60, test=5, seed=1)
    sizes = dict(word_vector_dim=8, encoder_size=8, decoder_size=8)
    paddle.layer.reset_names()
    cost = translation.seq_to_seq_net(len(toy.src_dict), len(toy.trg_dict), False, **sizes)
    parameters = paddle.parameters.create(cost)
    assert parameters.get_shape("_target_language_embedding") == (len(toy.trg_dict), 8)
    assert "_gru_decoder@decoder_group.w0" in parameters.names()
    costs = train_passes(cost, parameters, paddle.optimizer.Adam(learning_rate=2e-2),
                         toy.train_samples, 10, 5)
    assert falls(costs), costs

    paddle.layer.reset_names()
    beam_gen = translation.seq_to_seq_net(len(toy.src_dict), len(toy.trg_dict), True,
                                          beam_size=3, max_length=7, **sizes)
    assert set(Network(beam_gen).param_specs) == set(parameters.names())
    sources = [sample[0] for sample in toy.test_samples[:4]]
    prob, results = translation.translate(beam_gen, parameters, sources)
    assert prob.shape == (4, 3) and np.all(np.diff(prob, axis=1) <= 0)   # best first
    assert [len(per_source) for per_source in results] == [3, 3, 3, 3]
    for per_source in results:
        for words in per_source:
            assert 1 <= len(words) <= 7 and (words[-1] == translation.EOS or len(words) == 7)
            assert translation.EOS not in words[:-1]


def test_synthetic_translation_pairs(translation):
    toy = translation.SyntheticTranslation(train=5, test=1, seed=2)
    inverse = {i: w for w, i in toy.trg_dict.items()}
    source_words = {i: w for w, i in toy.src_dict.items()}
    for source, target, target_next in toy.train_samples:
        assert source[0] == translation.BOS and source[-1] == translation.EOS
        assert target[0] == translation.BOS and target_next[-1] == translation.EOS
        assert target[1:] == target_next[:-1]
        assert [inverse[i] for i in target[1:]] == [source_words[i].upper()
                                                    for i in source[-2:0:-1]]


def test_translation_main_synthetic(translation, capsys):
    result = translation.main(passes=2, batches=3, dim=8, max_length=6)
    out = capsys.readouterr().out
    assert result["synthetic"] and out.startswith("synthetic data: ")
    assert "(after pass 0, synthetic words)" in out and "ms per sentence" in out
    assert len(result["costs"]) == len(result["test_costs"]) == 2
    assert np.all(np.isfinite(result["costs"] + result["test_costs"]))
    assert result["prob"].shape == (3, 3)
    assert [len(r) for r in result["translations"]] == [3, 3, 3]
    assert all(word.isupper() or word in ("<e>", "<unk>", "<s>")
               for per_source in result["translations"] for sentence in per_source
               for word in sentence.split())
    assert result["generation_seconds"] > 0
    with pytest.raises(ValueError, match="pretrained"):
        translation.main(synthetic=True, pretrained=True, verbose=False)


# ---- paddle.evaluator.sum, as Paddle reports it ----

def test_sum_evaluator_is_the_mean_per_row_or_per_weight():
    """Paddle's SumEvaluator divides the sum by the number of rows (timesteps of a
    sequence), or by the sum of the weights: the book's SRL metric is a per-word error."""
    from minidl.training.evaluators import SumEvaluator

    x = paddle.layer.data(name="x", type=paddle.data_type.dense_vector_sequence(2))
    w = paddle.layer.data(name="w", type=paddle.data_type.dense_vector(1))
    plain, weighted = SumEvaluator(x), SumEvaluator(x, weight=w)
    values = np.array([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]])
    weights = np.array([[2.0], [0.0], [1.0]])
    assert plain.add({"x": values}) == pytest.approx(3 / 3)
    assert plain.add({"x": values[:1]}) == pytest.approx(1.0)
    assert plain.result() == pytest.approx(4 / 4)
    assert weighted.add({"x": values, "w": weights}) == pytest.approx(2 / 3)
    assert SumEvaluator(x).result() == 0.0


# ---- the real-data paths, on tiny archives in the upstream layouts ----

def _tar(members):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _install(home, monkeypatch, module, name, data, md5_attr):
    path = home / module.MODULE / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    monkeypatch.setattr(module, md5_attr, hashlib.md5(data).hexdigest())  # not the real file
    return path


def test_lstm_sentiment_reads_the_cached_imdb(sentiment, offline_cache, monkeypatch, capsys):
    reviews = [(f"aclImdb/{split}/{kind}/{i}_7.txt", b"great fun " * 80 if kind == "pos"
                else b"dull boring " * 80)
               for split in ("train", "test") for kind in ("pos", "neg") for i in range(3)]
    path = offline_cache / "imdb" / imdb.FILE
    path.parent.mkdir(parents=True)
    path.write_bytes(_tar(reviews))
    monkeypatch.setattr(imdb, "MD5", hashlib.md5(path.read_bytes()).hexdigest())
    result = sentiment.main(passes=1, batches=1, batch_size=2, net="lstm")
    assert not result["synthetic"] and "IMDB" in capsys.readouterr().out
    assert result["probabilities"].shape == (3, 2)


def test_srl_reads_the_cached_conll05(srl, offline_cache, monkeypatch, capsys):
    words = b"The\ncat\nsaw\nthe\ndog\n.\n\nDogs\nrun\n\n"
    props = (b"-    (A0*  \n-    *)    \nsee  (V*)  \n-    (A1*  \n-    *)    \n-    *  \n\n"
             b"-    (A0*) \nrun  (V*)  \n\n")
    archive = _tar([(conll05.WORDS_MEMBER, gzip.compress(words)),
                    (conll05.PROPS_MEMBER, gzip.compress(props))])
    word_dict = b"<unk>\nbos\neos\nThe\ncat\nsaw\nthe\ndog\n.\nDogs\nrun\n"
    embedding = np.arange(11 * 32, dtype=np.float32).reshape(11, 32) / 100
    for name, data, attr in (("wordDict.txt", word_dict, "WORDDICT_MD5"),
                             ("verbDict.txt", b"see\nrun\n", "VERBDICT_MD5"),
                             ("targetDict.txt", b"B-A0\nI-A0\nB-A1\nI-A1\nB-V\nI-V\nO\n",
                              "TRGDICT_MD5"),
                             ("emb", b"\0" * 16 + embedding.tobytes(), "EMB_MD5"),
                             ("conll05st-tests.tar.gz", archive, "DATA_MD5")):
        _install(offline_cache, monkeypatch, conll05, name, data, attr)
    assert srl.real_data_cached()
    result = srl.main(passes=1, batches=1, batch_size=2, hidden=16, depth=2)
    out = capsys.readouterr().out
    assert not result["synthetic"] and "CoNLL-2005" in out
    np.testing.assert_array_equal(result["parameters"].get("emb"), embedding)  # pretrained
    assert result["sample"][0] == [3, 4, 5, 6, 7, 8]
    assert len(result["predicted"]) == 6
    assert set(result["test_metrics"][0]) == {"error", "chunk.F1-score", "chunk.precision",
                                              "chunk.recall"}


def test_translation_reads_the_cached_wmt14_and_v2s_model(translation, offline_cache,
                                                          monkeypatch, capsys, tmp_path):
    src = b"<s>\n<e>\n<unk>\nle\nchat\nnoir\nchien\n"
    trg = b"<s>\n<e>\n<unk>\nthe\ncat\nblack\ndog\n"
    pairs = b"le chat\tthe cat\nle chat noir\tthe black cat\nle chien\tthe dog\n"
    _install(offline_cache, monkeypatch, wmt14, "wmt14.tgz",
             _tar([("wmt14/src.dict", src), ("wmt14/trg.dict", trg),
                   ("wmt14/train/train", pairs * 3), ("wmt14/test/test", pairs),
                   ("wmt14/gen/gen", pairs)]), "MD5_TRAIN")
    saved = tmp_path / "trained.tar"
    result = translation.main(passes=1, batches=2, dim=8, max_length=5, save=str(saved))
    out = capsys.readouterr().out
    assert not result["synthetic"] and "WMT-14" in out
    assert "le chat noir" in out          # the gen set's sources are printed
    assert result["prob"].shape == (3, 3)

    # --pretrained: v2's wmt14.model() (here the tarball just saved) instead of training
    _install(offline_cache, monkeypatch, wmt14, "wmt14_model.tar.gz", saved.read_bytes(),
             "MD5_MODEL")
    pretrained = translation.main(pretrained=True, dim=8, max_length=5)
    assert pretrained["costs"] == [] and pretrained["prob"].shape == (3, 3)
    np.testing.assert_allclose(pretrained["prob"], result["prob"], rtol=1e-5)
