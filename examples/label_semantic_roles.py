"""Semantic role labelling with a deep bidirectional LSTM and a CRF, as in the PaddlePaddle
book (chapter 7).

    python examples/label_semantic_roles.py             # CoNLL-2005 if cached, else synthetic
    python examples/label_semantic_roles.py --synthetic --passes 5
    python examples/label_semantic_roles.py --real --batches 0     # the book's run (one pass)

The book's ``db_lstm``: for every word of a sentence, eight features -- the word, the five
words around the predicate (``ctx_n2`` .. ``ctx_p2``, the same on every row), the predicate
itself and a mark (1 near the predicate) -- are embedded (the six word features share one
static 32-wide table ``emb``, pretrained), projected together into a 512-wide mixed layer and
run through a stack of 8 ``lstmemory`` layers (128 hidden units each: an lstmemory's width is a
quarter of its input's), alternately forwards and backwards, each fed by the layer below and
that layer's LSTM ("direct edges"); the last pair is projected to one score per IOB label. A
linear-chain CRF (``paddle.layer.crf``, transition parameter ``crfw``) gives the cost;
``paddle.layer.crf_decoding`` the best tag path. Momentum 0, learning rate 2e-2, L2 8e-4,
model averaging, batches of 10, as the book. Training reports the per-word error of the
decoded tags (``paddle.evaluator.sum`` over crf_decoding's errors, the book's metric) and
the precision, recall and F1 of the argument chunks (``paddle.evaluator.chunk``, IOB). After
training, the script tags a sentence with ``crf_decoding`` through ``paddle.infer``
(``field='id'``) and prints each word with its predicted and true labels.

Data: ``paddle.dataset.conll05`` (the CoNLL-2005 WSJ test set, which the book trains on:
the training set is not free; with v2's dictionaries and pretrained embedding) when its
files are in the dataset cache (``$MINIDL_DATA_HOME/conll05st``) or ``--real`` is given
(downloading them if allowed). A real run trains (and tests) on the first 200 batches by
default (``--batches 0``: all 527).

Otherwise SYNTHETIC data, in the same sample format and built by the same feature extraction
(``conll05.reader_creator``): sentences of a toy grammar, one or two clauses joined by
"and", each clause ``[the] [adjective] noun [yesterday|today] verb [the] [adjective] noun
[in the noun]``. For the marked predicate, its clause's subject is ``A0``, its object
``A1``, the time word ``AM-TMP``, the place phrase ``AM-LOC``, the verb ``V``; the other
clause is ``O``, so the tags depend on which verb is the predicate. There is no pretrained
embedding: the static table ``emb`` holds fixed random vectors. The toy runs the book's
network at half the width and depth (``--hidden 256``, ``--depth 4``: the book's 8 layers
learn the toy too slowly) and learning rate 5e-2, for 8 passes, by default.
"""

import argparse
import math
import os

import numpy as np

import minidl as paddle

conll05 = paddle.dataset.conll05

FEATURES = ["word_data", "ctx_n2_data", "ctx_n1_data", "ctx_0_data", "ctx_p1_data",
            "ctx_p2_data", "verb_data", "mark_data"]
FEEDING = {name: i for i, name in enumerate(FEATURES + ["target"])}
WORD_DIM = 32
MARK_DIM = 5
MARK_DICT_LEN = 2


def d_type(size):
    return paddle.data_type.integer_value_sequence(size)


def db_lstm(word_dict_len, label_dict_len, pred_len, hidden_dim=512, depth=8):
    """The book's network: the feature layers up to one score per label and word (a
    ``mixed`` layer of ``label_dict_len``)."""
    default_std = 1 / math.sqrt(hidden_dim) / 3.0
    mix_hidden_lr = 1e-3

    word = paddle.layer.data(name="word_data", type=d_type(word_dict_len))
    predicate = paddle.layer.data(name="verb_data", type=d_type(pred_len))
    ctx_n2 = paddle.layer.data(name="ctx_n2_data", type=d_type(word_dict_len))
    ctx_n1 = paddle.layer.data(name="ctx_n1_data", type=d_type(word_dict_len))
    ctx_0 = paddle.layer.data(name="ctx_0_data", type=d_type(word_dict_len))
    ctx_p1 = paddle.layer.data(name="ctx_p1_data", type=d_type(word_dict_len))
    ctx_p2 = paddle.layer.data(name="ctx_p2_data", type=d_type(word_dict_len))
    mark = paddle.layer.data(name="mark_data", type=d_type(MARK_DICT_LEN))

    # one static table for the six word features (set from the pretrained vectors)
    emb_para = paddle.attr.Param(name="emb", initial_std=0., is_static=True)
    std_0 = paddle.attr.Param(initial_std=0.)
    std_default = paddle.attr.Param(initial_std=default_std)

    predicate_embedding = paddle.layer.embedding(
        size=WORD_DIM, input=predicate,
        param_attr=paddle.attr.Param(name="vemb", initial_std=default_std))
    mark_embedding = paddle.layer.embedding(size=MARK_DIM, input=mark, param_attr=std_0)
    emb_layers = [paddle.layer.embedding(size=WORD_DIM, input=x, param_attr=emb_para)
                  for x in (word, ctx_n2, ctx_n1, ctx_0, ctx_p1, ctx_p2)]
    emb_layers += [predicate_embedding, mark_embedding]

    hidden_0 = paddle.layer.mixed(
        size=hidden_dim, bias_attr=std_default,
        input=[paddle.layer.full_matrix_projection(input=emb, param_attr=std_default)
               for emb in emb_layers])

    lstm_para_attr = paddle.attr.Param(initial_std=0.0, learning_rate=1.0)
    hidden_para_attr = paddle.attr.Param(initial_std=default_std, learning_rate=mix_hidden_lr)

    lstm_0 = paddle.layer.lstmemory(
        input=hidden_0, act=paddle.activation.Relu(), gate_act=paddle.activation.Sigmoid(),
        state_act=paddle.activation.Sigmoid(), bias_attr=std_0, param_attr=lstm_para_attr)

    # stack L-LSTM and R-LSTM with direct edges
    input_tmp = [hidden_0, lstm_0]
    for i in range(1, depth):
        mix_hidden = paddle.layer.mixed(
            size=hidden_dim, bias_attr=std_default,
            input=[paddle.layer.full_matrix_projection(input=input_tmp[0],
                                                       param_attr=hidden_para_attr),
                   paddle.layer.full_matrix_projection(input=input_tmp[1],
                                                       param_attr=lstm_para_attr)])
        lstm = paddle.layer.lstmemory(
            input=mix_hidden, act=paddle.activation.Relu(),
            gate_act=paddle.activation.Sigmoid(), state_act=paddle.activation.Sigmoid(),
            reverse=(i % 2) == 1, bias_attr=std_0, param_attr=lstm_para_attr)
        input_tmp = [mix_hidden, lstm]

    return paddle.layer.mixed(
        size=label_dict_len, bias_attr=std_default,
        input=[paddle.layer.full_matrix_projection(input=input_tmp[0],
                                                   param_attr=hidden_para_attr),
               paddle.layer.full_matrix_projection(input=input_tmp[1],
                                                   param_attr=lstm_para_attr)])


def network(word_dict_len, label_dict_len, pred_len, hidden_dim=512, depth=8):
    """``(crf cost, crf_decoding with the label (per-word errors), crf_decoding without it
    (the tag ids), feature_out)``, with the book's parameter names; declares the sum and
    chunk evaluators of the decoded tags."""
    default_std = 1 / math.sqrt(hidden_dim) / 3.0
    feature_out = db_lstm(word_dict_len, label_dict_len, pred_len, hidden_dim, depth)
    target = paddle.layer.data(name="target", type=d_type(label_dict_len))
    crf_cost = paddle.layer.crf(
        size=label_dict_len, input=feature_out, label=target,
        param_attr=paddle.attr.Param(name="crfw", initial_std=default_std,
                                     learning_rate=1e-3))
    crf_dec = paddle.layer.crf_decoding(size=label_dict_len, input=feature_out, label=target,
                                        param_attr=paddle.attr.Param(name="crfw"))
    paddle.evaluator.sum(input=crf_dec, name="error")
    # IOB: B-X = 2n, I-X = 2n + 1, O last (conll05.get_dict's numbering)
    paddle.evaluator.chunk(input=crf_dec, label=target, chunk_scheme="IOB",
                           num_chunk_types=(label_dict_len - 1) // 2, name="chunk")
    predict = paddle.layer.crf_decoding(size=label_dict_len, input=feature_out,
                                        param_attr=paddle.attr.Param(name="crfw"))
    return crf_cost, crf_dec, predict, feature_out


# --- data ----------------------------------------------------------------------------------

def real_data_cached():
    """True when all the CoNLL-2005 files are already in the dataset cache."""
    directory = paddle.dataset.common.module_dir(conll05.MODULE)
    names = [url.rsplit("/", 1)[-1] for url in (conll05.DATA_URL, conll05.WORDDICT_URL,
                                                 conll05.VERBDICT_URL, conll05.TRGDICT_URL,
                                                 conll05.EMB_URL)]
    return all(os.path.exists(os.path.join(directory, name)) for name in names)


def load_embedding(file_name, h, w):
    """The pretrained vectors: float32, after a 16-byte header (as the book reads them)."""
    with open(file_name, "rb") as f:
        f.read(16)  # skip the header
        return np.fromfile(f, dtype=np.float32).reshape(h, w)


NOUNS = ["cat", "dog", "bird", "fish", "cow", "fox", "owl", "man", "park", "house"]
ADJECTIVES = ["red", "big", "old", "small"]
VERBS = ["sees", "eats", "likes", "chases", "hears"]
TIMES = ["yesterday", "today"]
CHUNK_TYPES = ["A0", "A1", "AM-TMP", "AM-LOC", "V"]


class SyntheticSRL:
    """Sentences of the toy grammar in the module docstring, one sample per predicate, in
    conll05's 9-field format (built by ``conll05.reader_creator``). Dictionaries as
    conll05's: words (``<unk>`` 0, ``bos``, ``eos``, ...), verbs, and IOB labels ``B-X``
    2n, ``I-X`` 2n + 1, ``O`` last."""

    def __init__(self, train=800, test=100, seed=1):
        words = ["<unk>", "bos", "eos", "the", "and", "in"] + NOUNS + ADJECTIVES + VERBS + TIMES
        self.word_dict = {w: i for i, w in enumerate(words)}
        self.verb_dict = {v: i for i, v in enumerate(VERBS)}
        self.label_dict = {}
        for n, kind in enumerate(CHUNK_TYPES):
            self.label_dict["B-" + kind], self.label_dict["I-" + kind] = 2 * n, 2 * n + 1
        self.label_dict["O"] = len(self.label_dict)
        rng = np.random.default_rng(seed)
        self.train_samples = self._samples(rng, train)
        self.test_samples = self._samples(rng, test)

    @staticmethod
    def _phrase(rng, kind):
        words = ["the"] if rng.random() < 0.6 else []
        if rng.random() < 0.5:
            words.append(str(rng.choice(ADJECTIVES)))
        words.append(str(rng.choice(NOUNS)))
        return [(w, kind) for w in words]

    def _clause(self, rng):
        """``[(word, role)]``: role a chunk type, or ``None`` for the verb's own slot."""
        clause = self._phrase(rng, "A0")
        if rng.random() < 0.3:
            clause.append((str(rng.choice(TIMES)), "AM-TMP"))
        clause.append((str(rng.choice(VERBS)), "V"))
        clause += self._phrase(rng, "A1")
        if rng.random() < 0.3:
            clause += [("in", "AM-LOC")] + self._phrase(rng, "AM-LOC")
        return clause

    def _sentences(self, rng, count):
        """``(words, predicate verb, IOB labels)``, one per clause of each sentence."""
        while count > 0:
            clauses = [self._clause(rng) for _ in range(1 if rng.random() < 0.5 else 2)]
            words = [w for w, _ in clauses[0]]
            if len(clauses) == 2:
                words += ["and"] + [w for w, _ in clauses[1]]
            for k, clause in enumerate(clauses):
                labels, previous = [], None
                for _, role in clause:
                    labels.append(("I-" if role == previous else "B-") + role)
                    previous = role
                before = len(clauses[0]) + 1 if k == 1 else 0
                after = len(words) - before - len(clause)
                labels = ["O"] * before + labels + ["O"] * after
                verb = next(w for w, role in clause if role == "V")
                yield words, verb, labels
                count -= 1

    def _samples(self, rng, count):
        sentences = list(self._sentences(rng, count))
        return list(conll05.reader_creator(lambda: iter(sentences), self.word_dict,
                                           self.verb_dict, self.label_dict)())

    def embedding(self, seed=0):
        """Fixed random vectors for the static table ``emb`` (no pretrained ones here)."""
        rng = np.random.default_rng(seed)
        return rng.normal(0, 0.5, (len(self.word_dict), WORD_DIM)).astype(np.float32)

    def describe(self):
        return (f"synthetic data: {len(self.train_samples)} training and "
                f"{len(self.test_samples)} test predicates of a toy grammar "
                f"({len(self.word_dict)} words, labels {', '.join(CHUNK_TYPES)} in IOB); for "
                "the marked verb its clause's subject is A0, object A1, time word AM-TMP, "
                "'in' phrase AM-LOC, the other clause O; the static embedding 'emb' holds "
                "fixed random vectors")

    def train(self):
        return lambda: iter(self.train_samples)

    def test(self):
        return lambda: iter(self.test_samples)


def load_data(synthetic, seed):
    """``(word_dict, verb_dict, label_dict, train reader, test reader, embedding,
    description)``."""
    if synthetic:
        toy = SyntheticSRL(seed=seed)
        return (toy.word_dict, toy.verb_dict, toy.label_dict, toy.train(), toy.test(),
                toy.embedding(seed), toy.describe())
    word_dict, verb_dict, label_dict = conll05.get_dict()
    embedding = load_embedding(conll05.get_embedding(), len(word_dict), WORD_DIM)
    return (word_dict, verb_dict, label_dict, conll05.test(), conll05.test(), embedding,
            f"data: CoNLL-2005 WSJ test set (paddle.dataset.conll05), {len(word_dict)} words, "
            f"{len(verb_dict)} verbs, {len(label_dict)} labels, pretrained embedding")


def tag(predict, parameters, samples):
    """The predicted label ids of each sample (a list per sample, one id per word)."""
    ids = paddle.infer(output_layer=predict, parameters=parameters,
                       input=[sample[:8] for sample in samples], feeding=FEEDING, field="id")
    ids = np.asarray(ids).reshape(-1)
    out, start = [], 0
    for sample in samples:
        out.append(ids[start:start + len(sample[0])].tolist())
        start += len(sample[0])
    return out


def main(synthetic=None, passes=None, batches=None, batch_size=10, hidden=None, depth=None,
         learning_rate=None, seed=1, save=None, verbose=True):
    """Train; returns a dict: ``costs`` (mean training cost per pass), ``test_costs``,
    ``test_metrics`` (per pass: ``error``, ``chunk.F1-score``, ``chunk.precision``,
    ``chunk.recall``), ``parameters``, ``sample`` (the tagged test sample), ``predicted``
    (its label ids, one per word), ``labels`` (label id -> label), ``synthetic``."""
    if synthetic is None:
        synthetic = not real_data_cached()
    passes = passes if passes is not None else (8 if synthetic else 1)
    batches = batches if batches is not None else (0 if synthetic else 200)
    hidden = hidden or (256 if synthetic else 512)
    depth = depth or (4 if synthetic else 8)
    learning_rate = learning_rate or (5e-2 if synthetic else 2e-2)
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)
    (word_dict, verb_dict, label_dict, train_reader, test_reader, embedding,
     description) = load_data(synthetic, seed)
    if verbose:
        print(description)
        print(f"network: db_lstm, {depth} lstmemory layers of {hidden // 4} units "
              f"(mixed layers of {hidden})")
    paddle.layer.reset_names()
    crf_cost, crf_dec, predict, _ = network(len(word_dict), len(label_dict), len(verb_dict),
                                            hidden, depth)
    parameters = paddle.parameters.create(crf_cost)
    parameters.set("emb", embedding)
    optimizer = paddle.optimizer.Momentum(
        momentum=0, learning_rate=learning_rate,
        regularization=paddle.optimizer.L2Regularization(rate=8e-4),
        model_average=paddle.optimizer.ModelAverage(average_window=0.5,
                                                    max_average_window=10000))
    trainer = paddle.trainer.SGD(cost=crf_cost, parameters=parameters,
                                 update_equation=optimizer, extra_layers=crf_dec)
    batched = paddle.batch(paddle.reader.shuffle(train_reader, buf_size=8192), batch_size)
    test_batched = paddle.batch(test_reader, batch_size, drop_last=False)
    if batches:  # the first batches of each pass, and as many to test on
        batched = paddle.reader.firstn(batched, batches)
        test_batched = paddle.reader.firstn(test_batched, batches)
    costs, test_costs, test_metrics, pass_costs = [], [], [], []

    def event_handler(event):
        if isinstance(event, paddle.event.EndIteration):
            pass_costs.append(event.cost)
            if verbose and event.batch_id % 50 == 0:
                print(f"pass {event.pass_id}, batch {event.batch_id}, cost {event.cost:.4f}, "
                      + ", ".join(f"{k} {v:.3f}" for k, v in event.metrics.items()))
        if isinstance(event, paddle.event.EndPass):
            costs.append(float(np.mean(pass_costs)))
            pass_costs.clear()
            result = trainer.test(reader=test_batched, feeding=FEEDING)
            test_costs.append(result.cost)
            test_metrics.append(dict(result.metrics))
            if verbose:
                print(f"pass {event.pass_id}: training cost {costs[-1]:.4f}, test cost "
                      f"{result.cost:.4f}, " +
                      ", ".join(f"{k} {v:.3f}" for k, v in result.metrics.items()))

    trainer.train(reader=batched, event_handler=event_handler, feeding=FEEDING,
                  num_passes=passes)
    if save:
        trainer.save_parameter_to_tar(save)

    sample = next(iter(test_reader()))
    (predicted,) = tag(predict, parameters, [sample])
    labels = {v: k for k, v in label_dict.items()}
    if verbose:
        words = {v: k for k, v in word_dict.items()}
        note = "  (synthetic words)" if synthetic else ""
        print(f"{'word':>12}  {'predicted':<10} true{note}")
        for w, p, t in zip(sample[0], predicted, sample[8]):
            print(f"{words.get(w, '<unk>'):>12}  {labels[p]:<10} {labels.get(t, '?')}")
    return {"costs": costs, "test_costs": test_costs, "test_metrics": test_metrics,
            "parameters": parameters, "sample": sample, "predicted": predicted,
            "labels": labels, "synthetic": synthetic}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--synthetic", action="store_true", default=None,
                      help="train on the toy grammar (the default when CoNLL-2005 is not "
                      "cached)")
    data.add_argument("--real", dest="synthetic", action="store_false",
                      help="train on CoNLL-2005 (downloaded if not cached)")
    parser.add_argument("--passes", type=int, help="passes (default 8 synthetic, 1 real)")
    parser.add_argument("--batches", type=int,
                        help="training (and test) batches per pass, 0 for all "
                        "(default: all synthetic, 200 real)")
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--hidden", type=int,
                        help="width of the mixed layers, 4x the LSTMs' (default 256 "
                        "synthetic, 512 real)")
    parser.add_argument("--depth", type=int,
                        help="number of LSTM layers (default 4 synthetic, 8 real)")
    parser.add_argument("--learning-rate", type=float,
                        help="default 5e-2 synthetic, 2e-2 real")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", help="write the trained parameters to this tarball")
    args = parser.parse_args()
    main(args.synthetic, args.passes, args.batches, args.batch_size, args.hidden, args.depth,
         args.learning_rate, args.seed, args.save)
