"""beam_search with GeneratedInput and StaticInput, and paddle.infer(field=['prob', 'id']):
beam 1 is greedy decoding, the batched search equals Paddle's search run one sentence at a
time on a naive decoder, results come ordered by score and packed as v2 packs them, and the
build-time errors."""

import math

import numpy as np
import pytest

import minidl as paddle
from minidl.layers.graph import Network

L = paddle.layer
A = paddle.activation
dt = paddle.data_type

VOCAB, EMB, HIDDEN, SRC = 7, 3, 5, 4
BOS, EOS = 0, 1


def decoder(beam_size, max_length=6, num_results=None, name="decoder"):
    """A GRU-free toy decoder: the state starts from the source vector (boot layer) and reads
    the source sequence whole (StaticInput, summed with learned weights) at every step."""
    src = L.data(name="src", type=dt.dense_vector(SRC))
    words = L.data(name="words", type=dt.dense_vector_sequence(SRC))
    boot = L.fc(input=src, size=HIDDEN, act=A.Tanh(), name="boot")

    def step(context_words, previous_word):
        state = L.memory(name="dec", size=HIDDEN, boot_layer=boot)
        context = L.pooling(input=context_words, pooling_type=paddle.pooling.Sum(), name="ctx")
        hidden = L.fc(input=[previous_word, state, context], size=HIDDEN, act=A.Tanh(),
                      name="dec")
        return L.fc(input=hidden, size=VOCAB, act=A.Softmax(), name="prob")

    return beam_search(step=step, input=[L.StaticInput(words),
                                         L.GeneratedInput(size=VOCAB, embedding_name="_emb",
                                                          embedding_size=EMB)],
                       bos_id=BOS, eos_id=EOS, beam_size=beam_size, max_length=max_length,
                       name=name, num_results_per_sample=num_results)


def beam_search(**kwargs):
    return L.beam_search(**kwargs)


def make_parameters(layer, seed, scale=1.5):
    parameters = paddle.parameters.create(layer)
    rng = np.random.default_rng(seed)
    for name in parameters.names():
        shape = parameters.get_shape(name)
        parameters.set(name, (scale * rng.standard_normal(shape)).astype(np.float32))
    return parameters


def samples(seed, count=4):
    rng = np.random.default_rng(seed)
    return [(rng.standard_normal(SRC).astype(np.float32).tolist(),
             rng.standard_normal((int(rng.integers(1, 4)), SRC)).astype(np.float32).tolist())
            for _ in range(count)]


class NaiveDecoder:
    """The same decoder, one sentence at a time, in NumPy."""

    def __init__(self, parameters, name="decoder"):
        g = f"@{name}"
        p = {n: parameters.get(n).astype(np.float64) for n in parameters.names()}
        self.emb = p["_emb"]
        self.boot_w, self.boot_b = p["_boot.w0"], p["_boot.wbias"][0]
        self.dec = [p[f"_dec{g}.w0"], p[f"_dec{g}.w1"], p[f"_dec{g}.w2"], p[f"_dec{g}.wbias"][0]]
        self.out_w, self.out_b = p[f"_prob{g}.w0"], p[f"_prob{g}.wbias"][0]

    def start(self, sample):
        src, words = sample
        return np.tanh(np.asarray(src) @ self.boot_w + self.boot_b), np.sum(words, axis=0)

    def step(self, word, state, context):
        w0, w1, w2, b = self.dec
        hidden = np.tanh(self.emb[word] @ w0 + state @ w1 + context @ w2 + b)
        logits = hidden @ self.out_w + self.out_b
        e = np.exp(logits - logits.max())
        return e / e.sum(), hidden


def naive_greedy(decoder, sample, max_length):
    state, context = decoder.start(sample)
    word, ids, logp = BOS, [], 0.0
    while True:
        probs, state = decoder.step(word, state, context)
        word = int(np.argmax(probs))
        ids.append(word)
        logp += math.log(probs[word])
        if word == EOS or len(ids) >= max_length:
            return ids, logp


def naive_beam(decoder, sample, beam, max_length):
    """Paddle's search (RecurrentGradientMachine::beamSearch) for one sample, one path at a
    time: expand each path by its beam best words, finish paths at EOS or max_length, keep
    the beam best others, drop finished paths worse than the worst kept one, stop once beam
    finished paths beat every kept one."""
    start, context = decoder.start(sample)
    live = [((), 0.0, start)]
    finals, min_final = [], 0.0
    for _ in range(max_length):
        candidates = []
        for ids, logp, state in live:
            probs, new_state = decoder.step(ids[-1] if ids else BOS, state, context)
            for word in np.argsort(-probs, kind="stable")[:beam]:
                path = (ids + (int(word),), logp + math.log(probs[word]), new_state)
                if word == EOS or len(path[0]) >= max_length:
                    finals.append(path)
                else:
                    candidates.append(path)
        if not candidates:
            break
        kept = sorted(candidates, key=lambda p: -p[1])[:beam]
        finals = [p for p in finals if p[1] >= kept[-1][1]]
        min_final = min([min_final] + [p[1] for p in finals])
        if len(finals) >= beam and min_final >= kept[0][1]:
            break
        live = kept
    return [(list(ids), logp) for ids, logp, _ in sorted(finals, key=lambda p: -p[1])]


def unpack(ids):
    """v2's packed results ``[length, ids..., -1]`` -> list of id lists."""
    results, pos = [], 0
    while pos < len(ids):
        length = int(ids[pos])
        assert ids[pos + 1 + length] == -1
        results.append(ids[pos + 1:pos + 1 + length].tolist())
        pos += length + 2
    return results


def test_beam_of_one_is_greedy_decoding():
    L.reset_names()
    gen = decoder(beam_size=1, max_length=6)
    parameters = make_parameters(gen, seed=0)
    data = samples(1, count=5)
    prob, ids = paddle.infer(output_layer=gen, parameters=parameters, input=data,
                             field=["prob", "id"])
    naive = NaiveDecoder(parameters)
    expected, logps = [], []
    for sample in data:
        words, logp = naive_greedy(naive, sample, 6)
        expected.extend(words)
        logps.append(logp)
    assert ids.tolist() == expected      # one result per sample: the ids one after the other
    np.testing.assert_allclose(prob[:, 0], logps, rtol=1e-5)


@pytest.mark.parametrize("beam", [2, 3])
def test_batched_search_equals_the_search_one_sentence_at_a_time(beam):
    L.reset_names()
    gen = decoder(beam_size=beam, max_length=5)
    parameters = make_parameters(gen, seed=beam)
    data = samples(10 + beam, count=6)
    prob, ids, value = paddle.infer(output_layer=gen, parameters=parameters, input=data,
                                    field=["prob", "id", "value"])
    naive = NaiveDecoder(parameters)
    results = unpack(ids)
    assert prob.shape == (6, beam)
    position = 0
    for i, sample in enumerate(data):
        expected = naive_beam(naive, sample, beam, 5)[:beam]
        got = results[position:position + len(expected)]
        position += len(expected)
        assert got == [words for words, _ in expected]
        np.testing.assert_allclose(prob[i, :len(expected)], [lp for _, lp in expected],
                                   rtol=1e-5)
    assert position == len(results)
    # 'value': each word's probability, -1 after each result
    assert value.shape == (sum(len(r) + 1 for r in results), 1)
    assert (value[:, 0] == -1).sum() == len(results)


def test_results_are_ordered_by_score_and_terminated_as_v2():
    L.reset_names()
    beam = 3
    gen = decoder(beam_size=beam, max_length=8)
    parameters = make_parameters(gen, seed=7)
    data = samples(3, count=4)
    prob, ids = paddle.infer(output_layer=gen, parameters=parameters, input=data,
                             field=["prob", "id"])
    assert np.all(np.diff(prob, axis=1) <= 0)                      # best first
    # the book's reading of the result (08.machine_translation): -1 ends each sentence and
    # the number before a sentence is its length
    ends = np.where(ids == -1)[0]
    assert len(ends) == len(data) * beam
    start = 1
    for i in range(len(data)):
        for j in range(beam):
            end = ends[i * beam + j]
            words = ids[start:end]
            assert ids[start - 1] == len(words)
            assert words[-1] == EOS or len(words) == 8       # finished at EOS or max_length
            assert EOS not in words[:-1]
            start = end + 2
    # num_results_per_sample below the beam: that many results per sample
    L.reset_names()
    two = decoder(beam_size=beam, max_length=8, num_results=2)
    prob2, ids2 = paddle.infer(output_layer=two, parameters=parameters, input=data,
                               field=["prob", "id"])
    assert prob2.shape == (4, 2) and (ids2 == -1).sum() == 8
    np.testing.assert_allclose(prob2, prob[:, :2])


def test_generation_uses_the_trained_parameters_of_the_training_network():
    """The book's pattern: the decoder step trained in a recurrent_group over the target words
    and the same step generating in beam_search share their parameters by name."""

    def step(context_words, previous_word):
        state = L.memory(name="dec", size=HIDDEN)
        context = L.pooling(input=context_words, pooling_type=paddle.pooling.Sum(), name="ctx")
        hidden = L.fc(input=[previous_word, state, context], size=HIDDEN, act=A.Tanh(),
                      name="dec")
        return L.fc(input=hidden, size=VOCAB, act=A.Softmax(), name="prob")

    L.reset_names()
    words = L.data(name="words", type=dt.dense_vector_sequence(SRC))
    target = L.data(name="target", type=dt.integer_value_sequence(VOCAB))
    embedded = L.embedding(input=target, size=EMB, param_attr=paddle.attr.ParamAttr(name="_emb"))
    train_out = L.recurrent_group(step=step, input=[L.StaticInput(words), embedded],
                                  name="decoder")
    L.reset_names()
    gen = L.beam_search(step=step, input=[L.StaticInput(words),
                                          L.GeneratedInput(size=VOCAB, embedding_name="_emb",
                                                           embedding_size=EMB)],
                        bos_id=BOS, eos_id=EOS, beam_size=2, max_length=4, name="decoder")
    assert set(Network(gen).param_specs) == set(Network(train_out).param_specs)
    parameters = make_parameters(train_out, seed=4)
    prob, ids = paddle.infer(output_layer=gen, parameters=parameters,
                             input=[([[0.5] * SRC],), ([[0.1] * SRC, [0.2] * SRC],)],
                             feeding={"words": 0}, field=["prob", "id"])
    assert prob.shape == (2, 2) and (ids == -1).sum() == 4


def test_build_errors_name_the_argument():
    L.reset_names()
    words = L.data(name="words", type=dt.dense_vector_sequence(SRC))
    generated = L.GeneratedInput(size=VOCAB, embedding_name="_emb", embedding_size=EMB)

    def step(context_words, previous_word):
        return L.fc(input=[previous_word, L.pooling(input=context_words)], size=VOCAB,
                    act=A.Softmax())

    def search(**changes):
        arguments = dict(step=step, input=[L.StaticInput(words), generated], bos_id=BOS,
                         eos_id=EOS, beam_size=2, name="gen")
        arguments.update(changes)
        return L.beam_search(**arguments)

    with pytest.raises(ValueError, match=r"beam_search gen: beam_size=0 must be an integer >= 1"):
        search(beam_size=0)
    with pytest.raises(ValueError, match=r"num_results_per_sample=3 must be at most "
                                         r"beam_size=2"):
        search(num_results_per_sample=3)
    with pytest.raises(ValueError, match="no input may be a layer"):
        search(input=[words, generated])
    with pytest.raises(ValueError, match="exactly one GeneratedInput"):
        search(input=[L.StaticInput(words)])
    with pytest.raises(ValueError, match=r"eos_id=7 is not a word of the GeneratedInput's "
                                         r"7-word dictionary"):
        search(eos_id=7)
    with pytest.raises(ValueError, match=r"must give one row of probabilities over the "
                                         r"GeneratedInput's 7 words"):
        search(step=lambda c, w: L.fc(input=w, size=VOCAB + 1))
    with pytest.raises(ValueError, match="is for beam_search"):
        L.recurrent_group(step=step, input=[words, generated])
    gen = search()
    with pytest.raises(ValueError, match="field 'prob' is given by beam_search outputs"):
        parameters = paddle.parameters.create(gen)
        other = L.fc(input=L.pooling(input=words), size=2, name="other")
        paddle.infer(output_layer=other, parameters=paddle.parameters.create(other),
                     input=[([[0.0] * SRC],)], field="prob")
    assert parameters.get_shape("_emb") == (VOCAB, EMB)


def test_the_books_translation_network_trains_and_generates():
    """08.machine_translation at toy sizes: a bidirectional GRU encoder, a decoder step with
    simple_attention over StaticInputs and gru_step, trained through recurrent_group and
    generating through beam_search; the book's code reads the result."""

    def encoder_gru(input, size, reverse=False):
        simple_gru = getattr(paddle.networks, "simple_gru", None)
        if simple_gru is not None:
            return simple_gru(input=input, size=size, reverse=reverse)
        projected = L.mixed(size=3 * size, input=L.full_matrix_projection(input))
        return paddle.networks.gru_group(input=projected, size=size, reverse=reverse)

    def network(dict_size, is_generating, beam_size=3, dim=6):
        source = L.data(name="source_language_word", type=dt.integer_value_sequence(dict_size))
        embedded = L.embedding(input=source, size=dim)
        forward_gru = encoder_gru(embedded, dim)
        backward_gru = encoder_gru(embedded, dim, reverse=True)
        encoded = L.concat(input=[forward_gru, backward_gru])
        encoded_proj = L.fc(act=A.Linear(), size=dim, bias_attr=False, input=encoded)
        boot = L.fc(size=dim, act=A.Tanh(), bias_attr=False,
                    input=L.first_seq(input=backward_gru))

        def step(enc_vec, enc_proj, current_word):
            state = L.memory(name="gru_decoder", size=dim, boot_layer=boot)
            context = paddle.networks.simple_attention(encoded_sequence=enc_vec,
                                                       encoded_proj=enc_proj,
                                                       decoder_state=state)
            inputs = L.fc(act=A.Linear(), size=3 * dim, bias_attr=False,
                          input=[context, current_word],
                          layer_attr=paddle.attr.ExtraLayerAttribute(
                              error_clipping_threshold=100.0))
            gru = L.gru_step(name="gru_decoder", input=inputs, output_mem=state, size=dim)
            return L.fc(size=dict_size, bias_attr=True, act=A.Softmax(), input=gru)

        group_inputs = [L.StaticInput(input=encoded), L.StaticInput(input=encoded_proj)]
        if not is_generating:
            target = L.embedding(
                input=L.data(name="target_language_word",
                             type=dt.integer_value_sequence(dict_size)),
                size=dim, param_attr=paddle.attr.ParamAttr(name="_target_language_embedding"))
            decoder = L.recurrent_group(name="decoder_group", step=step,
                                        input=group_inputs + [target])
            label = L.data(name="target_language_next_word",
                           type=dt.integer_value_sequence(dict_size))
            return L.classification_cost(input=decoder, label=label)
        generated = L.GeneratedInput(size=dict_size,
                                     embedding_name="_target_language_embedding",
                                     embedding_size=dim)
        return L.beam_search(name="decoder_group", step=step, input=group_inputs + [generated],
                             bos_id=0, eos_id=1, beam_size=beam_size, max_length=6)

    paddle.init(seed=3)
    dict_size, beam_size = 10, 3
    L.reset_names()
    cost = network(dict_size, False)
    parameters = paddle.parameters.create(cost)
    assert "_gru_decoder@decoder_group.w0" in parameters.names()
    trainer = paddle.trainer.SGD(cost=cost, parameters=parameters,
                                 update_equation=paddle.optimizer.Adam(learning_rate=1e-2))
    rng = np.random.default_rng(0)
    pairs = []
    for _ in range(8):
        words = rng.integers(2, dict_size, int(rng.integers(1, 5))).tolist()
        pairs.append(([0] + words + [1], [0] + words[::-1], words[::-1] + [1]))
    costs = []
    trainer.train(reader=paddle.batch(lambda: iter(pairs), 4), num_passes=3,
                  event_handler=lambda e: costs.append(e.cost)
                  if isinstance(e, paddle.event.EndIteration) else None)
    assert costs[-1] < costs[0]

    L.reset_names()
    beam_gen = network(dict_size, True, beam_size)
    gen_data = [(source,) for source, _, _ in pairs[:3]]
    beam_result = paddle.infer(output_layer=beam_gen, parameters=parameters, input=gen_data,
                               field=["prob", "id"])
    gen_sen_idx = np.where(beam_result[1] == -1)[0]
    assert len(gen_sen_idx) == len(gen_data) * beam_size
    start_pos, printed = 1, []
    for i in range(len(gen_data)):
        for j in range(beam_size):
            end_pos = gen_sen_idx[i * beam_size + j]
            words = " ".join(str(w) for w in beam_result[1][start_pos:end_pos])
            printed.append(f"{beam_result[0][i][j]:.4f}\t{words}")
            start_pos = end_pos + 2
    assert len(printed) == 9 and all("\t" in line for line in printed)
