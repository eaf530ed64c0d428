"""Machine translation with an attention GRU encoder-decoder, as in the PaddlePaddle book
(chapter 8).

    python examples/machine_translation.py              # WMT-14 if cached, else synthetic data
    python examples/machine_translation.py --synthetic --passes 20
    python examples/machine_translation.py --real --passes 2 --batches 0   # the book's run
    python examples/machine_translation.py --real --pretrained   # generate with v2's model

The book's ``seq_to_seq_net``: the source words' embeddings run through two GRUs
(``paddle.networks.simple_gru``, one forwards, one backwards), concatenated into the encoded
sequence. The decoder is a ``recurrent_group`` whose step reads the encoded sequence and its
projection whole (``StaticInput``), computes an attention context
(``paddle.networks.simple_attention``) from its state, and updates the state with a
``gru_step`` from the context and the current target word; its softmax gives the next word.
The decoder starts from a tanh projection of the backward GRU's first row. In training the
step reads the true previous target word; in generation ``paddle.layer.beam_search`` feeds
it the embedding (the same table ``_target_language_embedding``) of the word it generated,
starting from ``<s>`` (id 0) and ending at ``<e>`` (id 1). Adam with L2 8e-4, as the book.

After training, the script translates a few source sentences with beam search and prints the
results as the book does: the source, then each of the ``--beam-size`` results with its log
probability. In synthetic mode it also translates them after every pass, so the progress
shows.

Data: ``paddle.dataset.wmt14`` (the shrunk French-English set, dictionaries of
``--dict-size`` words, default 30,000) when ``wmt14.tgz`` is in the dataset cache
(``$MINIDL_DATA_HOME/wmt14``) or ``--real`` is given (downloading it if allowed). The book's
sizes (512-wide embeddings and GRUs, batches of 4, learning rate 5e-5) are slow here, so a
real run trains on the first 100 batches of each pass by default (``--batches 0``: all);
``--pretrained`` skips training and generates with v2's trained parameters
(``wmt14.model()``, BLEU 26.92), the book's generation mode.

Otherwise SYNTHETIC data: a toy language pair in the same sample format, printed on the
"synthetic data:" line -- the target sentence is the source sentence backwards, each word in
capitals ("red cat eats" -> "EATS CAT RED"). The toy uses smaller sizes (64-wide), batches
of 20 and learning rate 5e-3 (options change them); the generated sentences go from
repeated frequent words to the reversed source within a few passes.
"""

import argparse
import os
import time

import numpy as np

import minidl as paddle

BOS, EOS = 0, 1  # <s> and <e>, as paddle.dataset.wmt14 numbers them
DECODER_GROUP = "decoder_group"
TARGET_EMBEDDING = "_target_language_embedding"


def seq_to_seq_net(source_dict_dim, target_dict_dim, is_generating, beam_size=3,
                   max_length=250, word_vector_dim=512, encoder_size=512, decoder_size=512):
    """The book's network. Training (``is_generating=False``): returns the cost. Generation:
    returns the ``beam_search`` layer (``paddle.infer`` fields ``prob`` and ``id``)."""
    # --- encoder
    src_word_id = paddle.layer.data(
        name="source_language_word",
        type=paddle.data_type.integer_value_sequence(source_dict_dim))
    src_embedding = paddle.layer.embedding(input=src_word_id, size=word_vector_dim)
    src_forward = paddle.networks.simple_gru(input=src_embedding, size=encoder_size)
    src_backward = paddle.networks.simple_gru(input=src_embedding, size=encoder_size,
                                              reverse=True)
    encoded_vector = paddle.layer.concat(input=[src_forward, src_backward])

    # --- decoder
    encoded_proj = paddle.layer.fc(act=paddle.activation.Linear(), size=decoder_size,
                                   bias_attr=False, input=encoded_vector)
    backward_first = paddle.layer.first_seq(input=src_backward)
    decoder_boot = paddle.layer.fc(size=decoder_size, act=paddle.activation.Tanh(),
                                   bias_attr=False, input=backward_first)

    def gru_decoder_with_attention(enc_vec, enc_proj, current_word):
        decoder_mem = paddle.layer.memory(name="gru_decoder", size=decoder_size,
                                          boot_layer=decoder_boot)
        context = paddle.networks.simple_attention(encoded_sequence=enc_vec,
                                                   encoded_proj=enc_proj,
                                                   decoder_state=decoder_mem)
        decoder_inputs = paddle.layer.fc(
            act=paddle.activation.Linear(), size=decoder_size * 3, bias_attr=False,
            input=[context, current_word],
            layer_attr=paddle.attr.ExtraLayerAttribute(error_clipping_threshold=100.0))
        gru_step = paddle.layer.gru_step(name="gru_decoder", input=decoder_inputs,
                                         output_mem=decoder_mem, size=decoder_size)
        return paddle.layer.fc(size=target_dict_dim, bias_attr=True,
                               act=paddle.activation.Softmax(), input=gru_step)

    group_inputs = [paddle.layer.StaticInput(input=encoded_vector),
                    paddle.layer.StaticInput(input=encoded_proj)]
    if not is_generating:
        # training: the step reads the true previous word (<s> first)
        trg_embedding = paddle.layer.embedding(
            input=paddle.layer.data(
                name="target_language_word",
                type=paddle.data_type.integer_value_sequence(target_dict_dim)),
            size=word_vector_dim, param_attr=paddle.attr.ParamAttr(name=TARGET_EMBEDDING))
        decoder = paddle.layer.recurrent_group(name=DECODER_GROUP,
                                               step=gru_decoder_with_attention,
                                               input=group_inputs + [trg_embedding])
        label = paddle.layer.data(
            name="target_language_next_word",
            type=paddle.data_type.integer_value_sequence(target_dict_dim))
        return paddle.layer.classification_cost(input=decoder, label=label)

    # generation: the step reads the embedding of the word it generated last
    trg_embedding = paddle.layer.GeneratedInput(size=target_dict_dim,
                                                embedding_name=TARGET_EMBEDDING,
                                                embedding_size=word_vector_dim)
    return paddle.layer.beam_search(name=DECODER_GROUP, step=gru_decoder_with_attention,
                                    input=group_inputs + [trg_embedding], bos_id=BOS,
                                    eos_id=EOS, beam_size=beam_size, max_length=max_length)


# --- data ----------------------------------------------------------------------------------

def real_data_cached():
    """True when the WMT-14 archive is already in the dataset cache (no download needed)."""
    return os.path.exists(os.path.join(paddle.dataset.common.module_dir("wmt14"), "wmt14.tgz"))


TOY_WORDS = ["red", "blue", "green", "big", "small", "old", "young", "cat", "dog", "bird",
             "fish", "cow", "fox", "owl", "eats", "sees", "likes", "chases", "hears", "and",
             "the", "a", "very", "not"]


class SyntheticTranslation:
    """A toy language pair: a source sentence is 3 to 8 words of ``TOY_WORDS``; its
    translation is the same words backwards, in capitals. Dictionaries as wmt14's
    (``<s>`` 0, ``<e>`` 1, ``<unk>`` 2, then the words); samples as ``wmt14.train``
    yields: ``(<s> source <e>, <s> target, target <e>)``."""

    def __init__(self, train=1000, test=100, seed=1, min_length=3, max_length=10):
        marks = ["<s>", "<e>", "<unk>"]
        self.src_dict = {w: i for i, w in enumerate(marks + TOY_WORDS)}
        self.trg_dict = {w: i for i, w in enumerate(marks + [w.upper() for w in TOY_WORDS])}
        self.min_length, self.max_length = min_length, max_length
        rng = np.random.default_rng(seed)
        self.train_samples = [self.sample(self._sentence(rng)) for _ in range(train)]
        self.test_samples = [self.sample(self._sentence(rng)) for _ in range(test)]

    def _sentence(self, rng):
        length = int(rng.integers(self.min_length, self.max_length + 1))
        return [str(w) for w in rng.choice(TOY_WORDS, length)]

    def sample(self, words):
        source = [BOS] + [self.src_dict[w] for w in words] + [EOS]
        target = [self.trg_dict[w.upper()] for w in reversed(words)]
        return source, [BOS] + target, target + [EOS]

    def describe(self):
        return (f"synthetic data: {len(self.train_samples)} training and "
                f"{len(self.test_samples)} test pairs of a toy language pair, "
                f"{len(TOY_WORDS)} words each side; a target sentence is its source sentence "
                f"({self.min_length}-{self.max_length} words) backwards, in capitals")

    def train(self):
        return lambda: iter(self.train_samples)

    def test(self):
        return lambda: iter(self.test_samples)


def load_data(synthetic, dict_size, seed):
    """``(src_dict, trg_dict, train reader, test reader, sources to translate,
    description)``; the dictionaries map ids to words."""
    if synthetic:
        toy = SyntheticTranslation(seed=seed)
        sentences = ["red cat eats fish", "the old dog sees a very young bird",
                     "big blue fox chases the small green cow and owl"]
        sources = [toy.sample(sentence.split())[0] for sentence in sentences]
        inverse = ({i: w for w, i in toy.src_dict.items()},
                   {i: w for w, i in toy.trg_dict.items()})
        return (*inverse, toy.train(), toy.test(), sources, toy.describe())
    wmt14 = paddle.dataset.wmt14
    src_dict, trg_dict = wmt14.get_dict(dict_size)
    sources = [sample[0] for _, sample in zip(range(3), wmt14.gen(dict_size)())]
    return (src_dict, trg_dict, wmt14.train(dict_size), wmt14.test(dict_size), sources,
            f"data: WMT-14 French -> English (paddle.dataset.wmt14), {dict_size}-word "
            "dictionaries")


def translate(beam_gen, parameters, sources):
    """``(log probabilities (S, beam), [[ids of each result] per source])`` by beam search,
    read from ``paddle.infer``'s packed ids as the book reads them (``-1`` ends a result,
    the number before a result is its length)."""
    prob, ids = paddle.infer(output_layer=beam_gen, parameters=parameters,
                             input=[(source,) for source in sources], field=["prob", "id"],
                             feeding={"source_language_word": 0})
    ends = np.where(ids == -1)[0]
    beam = prob.shape[1]
    results, start = [], 1
    for i in range(len(sources)):
        results.append([])
        for j in range(beam):
            end = ends[i * beam + j]
            results[-1].append(ids[start:end].tolist())
            start = end + 2
    return prob, results


def show(src_dict, trg_dict, sources, prob, results, label=""):
    for i, source in enumerate(sources):
        print(" ".join(src_dict[w] for w in source[1:-1]) + label)
        for j, words in enumerate(results[i]):
            print(f"{prob[i][j]:.4f}\t" + " ".join(trg_dict[w] for w in words))
        print()


def main(synthetic=None, passes=None, batches=None, batch_size=None, dim=None,
         learning_rate=None, dict_size=30000, beam_size=3, max_length=50, pretrained=False,
         seed=1, save=None, verbose=True):
    """Train, then translate; returns a dict: ``costs`` (mean training cost per pass),
    ``test_costs``, ``parameters``, ``sources`` (the translated source id lists), ``prob``
    (``(len(sources), beam_size)`` log probabilities), ``results`` (per source the
    ``beam_size`` generated id lists, best first, each ending with ``<e>`` unless cut at
    ``max_length``), ``translations`` (the same as text), ``generation_seconds`` (the
    final beam search, per sentence), ``synthetic``."""
    if synthetic is None:
        synthetic = not real_data_cached()
    if pretrained and synthetic:
        raise ValueError("--pretrained is v2's trained WMT-14 model: it needs the real data")
    passes = passes if passes is not None else (10 if synthetic else 1)
    batches = batches if batches is not None else (0 if synthetic else 100)
    batch_size = batch_size or (20 if synthetic else 4)
    dim = dim or (64 if synthetic else 512)
    learning_rate = learning_rate or (5e-3 if synthetic else 5e-5)
    paddle.init(use_gpu=False, trainer_count=1, seed=seed)
    src_dict, trg_dict, train_reader, test_reader, sources, description = load_data(
        synthetic, dict_size, seed)
    if verbose:
        print(description)
    sizes = dict(word_vector_dim=dim, encoder_size=dim, decoder_size=dim)
    source_dim, target_dim = len(src_dict), len(trg_dict)

    paddle.layer.reset_names()
    beam_gen = seq_to_seq_net(source_dim, target_dim, True, beam_size, max_length, **sizes)
    costs, test_costs = [], []
    if pretrained:
        parameters = paddle.dataset.wmt14.model()
    else:
        paddle.layer.reset_names()
        cost = seq_to_seq_net(source_dim, target_dim, False, **sizes)
        parameters = paddle.parameters.create(cost)
        optimizer = paddle.optimizer.Adam(
            learning_rate=learning_rate,
            regularization=paddle.optimizer.L2Regularization(rate=8e-4))
        trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                     update_equation=optimizer)
        batched = paddle.batch(paddle.reader.shuffle(train_reader, buf_size=8192), batch_size)
        test_batched = paddle.batch(test_reader, batch_size, drop_last=False)
        if batches:  # the first batches of each pass, and as many to test on
            batched = paddle.reader.firstn(batched, batches)
            test_batched = paddle.reader.firstn(test_batched, batches)
        pass_costs = []

        def event_handler(event):
            if isinstance(event, paddle.event.EndIteration):
                pass_costs.append(event.cost)
                if verbose and event.batch_id % 10 == 0:
                    print(f"pass {event.pass_id}, batch {event.batch_id}, cost "
                          f"{event.cost:.4f}, {event.metrics}")
            if isinstance(event, paddle.event.EndPass):
                costs.append(float(np.mean(pass_costs)))
                pass_costs.clear()
                result = trainer.test(reader=test_batched)
                test_costs.append(result.cost)
                if verbose:
                    print(f"pass {event.pass_id}: training cost {costs[-1]:.4f}, test cost "
                          f"{result.cost:.4f}, {result.metrics}")
                    if synthetic and event.pass_id + 1 < passes:
                        prob, results = translate(beam_gen, parameters, sources[-1:])
                        show(src_dict, trg_dict, sources[-1:], prob, results,
                             f"  (after pass {event.pass_id}, synthetic words)")

        trainer.train(reader=batched, event_handler=event_handler, num_passes=passes)
        if save:
            trainer.save_parameter_to_tar(save)

    start = time.perf_counter()
    prob, results = translate(beam_gen, parameters, sources)
    seconds = (time.perf_counter() - start) / len(sources)
    if verbose:
        print(f"beam search (beam {beam_size}, at most {max_length} words): "
              f"{1000 * seconds:.1f} ms per sentence")
        show(src_dict, trg_dict, sources, prob, results,
             "  (synthetic words)" if synthetic else "")
    translations = [[" ".join(trg_dict[w] for w in words) for words in per_source]
                    for per_source in results]
    return {"costs": costs, "test_costs": test_costs, "parameters": parameters,
            "sources": sources, "prob": prob, "results": results,
            "translations": translations, "generation_seconds": seconds,
            "synthetic": synthetic}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--synthetic", action="store_true", default=None,
                      help="train on the toy language pair (the default when WMT-14 is not "
                      "cached)")
    data.add_argument("--real", dest="synthetic", action="store_false",
                      help="train on WMT-14 (downloaded if not cached)")
    parser.add_argument("--passes", type=int, help="passes (default 10 synthetic, 1 real)")
    parser.add_argument("--batches", type=int,
                        help="training (and test) batches per pass, 0 for all "
                        "(default: all synthetic, 100 real)")
    parser.add_argument("--batch-size", type=int, help="default 20 synthetic, 4 real")
    parser.add_argument("--dim", type=int, help="embedding, encoder and decoder width "
                        "(default 64 synthetic, 512 real)")
    parser.add_argument("--learning-rate", type=float,
                        help="Adam's learning rate (default 5e-3 synthetic, 5e-5 real)")
    parser.add_argument("--dict-size", type=int, default=30000, help="WMT-14 dictionary size")
    parser.add_argument("--beam-size", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=50,
                        help="longest generated sentence (the book: 250)")
    parser.add_argument("--pretrained", action="store_true",
                        help="no training: generate with v2's trained WMT-14 parameters")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--save", help="write the trained parameters to this tarball")
    args = parser.parse_args()
    main(args.synthetic, args.passes, args.batches, args.batch_size, args.dim,
         args.learning_rate, args.dict_size, args.beam_size, args.max_length, args.pretrained,
         args.seed, args.save)
