"""``beam_search``: ``beam_search(step, input=[StaticInput(...), GeneratedInput(...)], ...)`` runs
the same kind of step on the words it generates itself: the ``GeneratedInput`` is the
embedding of the previous word (``bos_id`` first), the step's output the probabilities of the
next. It keeps the ``beam_size`` best partial sentences of each sample, exactly as Paddle's
generator does (see :class:`BeamSearchLayer`), and outputs v2's result: ``paddle.infer(...,
field=['prob', 'id'])`` returns the log probabilities ``(samples, num_results)`` and the ids,
each result as ``[length, ids..., -1]``.
"""

import math

import numpy as np

from ..core import config
from ..core.config import no_grad
from ..core.sequence import SequenceLayout
from ..core.tensor import Tensor
from ..core.xp import as_numpy, get_array_module
from .base import Layer, default_name
from .projections import describe_input, gives_ids
from .recurrent_batch import select_samples
from .recurrent_graph import RecurrentGroup
from .recurrent_group import StepBuilder
from .recurrent_inputs import GENERATED_WORD, BaseGeneratedInput, StaticInput, checked_count


# --- generation ------------------------------------------------------------------------------

class _Path:
    """A partial sentence of the beam: its words, their probabilities, its log probability
    and the row of the step batch it was expanded from."""

    __slots__ = ("sample", "ids", "probs", "logp", "parent")

    def __init__(self, sample, ids=(), probs=(), logp=0.0, parent=0):
        self.sample, self.ids, self.probs, self.logp, self.parent = \
            sample, ids, probs, logp, parent


class BeamSearchGroup(RecurrentGroup):
    """The step graph of a ``beam_search`` and the search itself."""

    def __init__(self, name, bos_id, eos_id, beam_size, max_length, num_results):
        super().__init__(name, reverse=False)
        self.bos_id, self.eos_id = bos_id, eos_id
        self.beam_size, self.max_length, self.num_results = beam_size, max_length, num_results

    def _num_samples(self, xs):
        counts = {}
        for _, layer in self.statics:
            counts[layer.name] = _num_samples(self._value(xs, layer))
        for mem in self.memories:
            if mem.boot_layer is not None:
                counts[mem.boot_layer.name] = _num_samples(self._value(xs, mem.boot_layer))
        if not counts:
            raise ValueError(f"beam_search {self.name}: nothing tells how many samples to "
                             "generate for; give a StaticInput or a memory with a boot_layer "
                             "(a layer outside the group)")
        if len(set(counts.values())) > 1:
            raise ValueError(f"beam_search {self.name}: its inputs hold different numbers of "
                             f"samples ({counts})")
        return next(iter(counts.values()))

    def generate(self, ctx, xs):
        """Run the beam search (no gradients); returns ``(ids, prob, value, starts)``."""
        samples = self._num_samples(xs)
        first = xs[0].data
        xp = get_array_module(first)
        floats = [x.data.dtype for x in xs if np.dtype(x.data.dtype).kind == "f"]
        batch = _Namespace(xp=xp, dtype=floats[0] if floats else config.default_dtype)
        beam = self.beam_size
        live = [_Path(s, parent=s) for s in range(samples)]
        finals = [[] for _ in range(samples)]
        min_final = [0.0] * samples
        values = [None] * len(self.layers)
        statics = [(self.slot.get(id(p)), self._value(xs, layer)) for p, layer in self.statics]
        previous = {}
        rows = parents = np.arange(samples)
        for t in range(self.max_length):
            for slot, value in statics:
                if slot is not None:
                    values[slot] = select_samples(value, rows)
            for mem in self.memories:
                slot = self.slot.get(id(mem))
                if mem.generated:
                    value = Tensor(xp.asarray(np.array([p.ids[-1] if p.ids else self.bos_id
                                                        for p in live], dtype=np.int64)))
                elif t == 0:
                    value = self._boot(ctx, mem, xs, rows, batch)
                else:
                    value = select_samples(previous[id(mem)], parents)
                if slot is not None:
                    values[slot] = value
            self.run_step(ctx, values)
            for mem in self.memories:
                if not mem.generated:
                    previous[id(mem)] = values[self.slot[id(mem.target)]]
            probs = as_numpy(values[self.output_slots[0]].data)
            if probs.ndim != 2 or probs.shape[0] != len(live):
                raise ValueError(f"beam_search {self.name}: the step's output "
                                 f"{self.outputs[0].name} must give one row of word "
                                 f"probabilities per partial sentence, got shape {probs.shape}")
            ids, word_probs = _top_k(probs, beam)
            expanded = {}
            for r, path in enumerate(live):
                for word, p in zip(ids[r].tolist(), word_probs[r].tolist()):
                    logp = path.logp + (math.log(p) if p > 0 else -math.inf)
                    new = _Path(path.sample, path.ids + (word,), path.probs + (p,), logp, r)
                    if word == self.eos_id or len(new.ids) >= self.max_length:
                        finals[path.sample].append(new)
                    else:
                        expanded.setdefault(path.sample, []).append(new)
            live = []
            for sample, candidates in expanded.items():
                kept = sorted(candidates, key=lambda p: -p.logp)[:beam]
                worst, best = kept[-1].logp, kept[0].logp
                finals[sample] = [p for p in finals[sample] if p.logp >= worst]
                for p in finals[sample]:
                    min_final[sample] = min(min_final[sample], p.logp)
                if len(finals[sample]) >= beam and min_final[sample] >= best:
                    continue          # no partial sentence can beat the finished ones
                live.extend(kept)
            if not live:
                break
            parents = np.array([p.parent for p in live], dtype=np.int64)
            rows = np.array([p.sample for p in live], dtype=np.int64)
        return self._results(finals)

    def _results(self, finals):
        """v2's output (``fillGenOutputs``): with several results per sample, each result is
        ``[length, ids..., -1]`` in ``ids`` and ``[word probabilities..., -1]`` in ``value``,
        and ``prob[i, j]`` is result j's log probability; with one, the ids of the best
        results one after the other."""
        count = self.num_results
        ids, value, starts = [], [], [0]
        prob = np.full((len(finals), count), -np.inf)
        for i, paths in enumerate(finals):
            best = sorted(paths, key=lambda p: -p.logp)[:count]
            for j, path in enumerate(best):
                prob[i, j] = path.logp
                if count > 1:
                    ids.extend((len(path.ids),) + path.ids + (-1,))
                    value.extend(path.probs + (-1.0,))
                else:
                    ids.extend(path.ids)
                    value.extend(path.probs)
            starts.append(len(ids))
        return (np.array(ids, dtype=np.int64), prob,
                np.array(value, dtype=np.float64).reshape(-1, 1), np.array(starts))


class _Namespace:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _num_samples(value):
    return value.seq.num_sequences if value.seq is not None else len(value)


def _top_k(probs, k):
    """The ``k`` largest entries of each row, largest first: ``(ids, values)``."""
    k = min(k, probs.shape[1])
    part = np.argpartition(-probs, k - 1, axis=1)[:, :k]
    top = np.take_along_axis(probs, part, axis=1)
    order = np.argsort(-top, axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1), np.take_along_axis(top, order, axis=1)


class BeamSearchLayer(Layer):
    """The generated ids of a ``beam_search`` (Paddle names it ``__beam_search_predict__``).

    Its value is v2's ``id`` field (see :meth:`BeamSearchGroup._results`); the Tensor also
    carries ``fields`` -- ``{'id', 'prob', 'value'}`` -- which ``paddle.infer(field=...)``
    reads. Paddle's search: at each step every partial sentence proposes its ``beam_size``
    most probable next words; a proposal ending in ``eos_id`` (or reaching ``max_length``
    words) is finished, the others compete per sample for the ``beam_size`` places of the
    next step; finished sentences worse than the worst surviving one are dropped, and a
    sample stops once it has ``beam_size`` finished sentences none of which the best
    surviving one can beat. Results are the ``num_results_per_sample`` best finished
    sentences, best first; the ids include ``eos_id`` but not ``bos_id``.
    """

    type = "beam_search"
    per_timestep = False
    outputs_ids = True

    def __init__(self, group):
        super().__init__(GENERATED_WORD, group.outer_inputs, group.outputs[0].size)
        self.seq_level = 1
        self.group = group
        self.params = group.params

    def forward(self, ctx, xs):
        plan = getattr(ctx, "sparse_plan", None)
        ctx.sparse_plan = None
        try:
            with no_grad():
                ids, prob, value, starts = self.group.generate(ctx, xs)
        finally:
            ctx.sparse_plan = plan
        out = Tensor(ids, seq=SequenceLayout(starts))
        out.fields = {"id": ids, "prob": prob, "value": value}
        return out


def beam_search(step, input, bos_id, eos_id, beam_size, max_length=500, name=None,
                num_results_per_sample=None):
    """v2's ``beam_search``: generate sequences with ``step`` (see :class:`BeamSearchLayer`).

    ``input``: ``StaticInput`` s and exactly one ``GeneratedInput`` (the previous word's
    embedding), given to ``step`` in this order; ``step`` returns the next word's
    probabilities (e.g. an fc layer with a Softmax activation). ``num_results_per_sample``
    defaults to ``beam_size`` and may not exceed it.
    """
    name = name or default_name("beam_search")
    what = "beam_search"
    if not callable(step):
        raise ValueError(f"{what} {name}: step must be a function building the step's layers, "
                         f"got {step!r:.80}")
    beam_size = checked_count(beam_size, f"{what} {name}: beam_size", 1)
    max_length = checked_count(max_length, f"{what} {name}: max_length", 1)
    if num_results_per_sample is None:
        num_results_per_sample = beam_size
    num_results = checked_count(num_results_per_sample,
                                f"{what} {name}: num_results_per_sample", 1)
    if num_results > beam_size:
        raise ValueError(f"{what} {name}: num_results_per_sample={num_results} must be at most "
                         f"beam_size={beam_size} (the search keeps beam_size sentences)")
    inputs = list(input) if isinstance(input, (list, tuple)) else [input]
    generated = [item for item in inputs if isinstance(item, BaseGeneratedInput)]
    if len(generated) != 1:
        raise ValueError(f"{what} {name}: input must hold exactly one GeneratedInput (the "
                         f"previously generated word), got {len(generated)}")
    gen = generated[0]
    for label, word in (("bos_id", bos_id), ("eos_id", eos_id)):
        word = checked_count(word, f"{what} {name}: {label}", 0)
        if word >= gen.size:
            raise ValueError(f"{what} {name}: {label}={word} is not a word of the "
                             f"GeneratedInput's {gen.size}-word dictionary")
    gen.bos_id, gen.eos_id = int(bos_id), int(eos_id)
    group = BeamSearchGroup(name, gen.bos_id, gen.eos_id, beam_size, max_length, num_results)
    with StepBuilder(group) as builder:
        args = []
        for item in inputs:
            if isinstance(item, StaticInput):
                args.append(group.add_static(item.input))
            elif item is gen:
                args.append(gen.before_real_step())
                builder.memories[-1].generated = True
            else:
                raise ValueError(f"{what} {name}: input {item!r:.80} must be a StaticInput or "
                                 "the GeneratedInput; in beam_search no input may be a layer "
                                 "(wrap what the step reads whole in StaticInput)")
        outputs = step(*args)
    outputs = list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]
    if len(outputs) != 1:
        raise ValueError(f"{what} {name}: the step must return one layer, the next word's "
                         f"probabilities; got {len(outputs)}")
    group.finish(builder, outputs, what)
    probs = group.outputs[0]
    if probs.size != gen.size or probs.seq_level != 0 or gives_ids(probs):
        raise ValueError(f"{what} {name}: the step's output {describe_input(probs)} must give "
                         f"one row of probabilities over the GeneratedInput's {gen.size} words "
                         "per sentence (e.g. fc(size=dictionary size, act=Softmax()))")
    return BeamSearchLayer(group)


__all__ = ["BeamSearchLayer", "beam_search"]
