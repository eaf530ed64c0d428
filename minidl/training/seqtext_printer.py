"""``paddle.evaluator.seqtext_printer``: write generated id sequences as text to a file.

Each batch appends one entry per sequence of ``input`` (ids, e.g. ``max_id`` of a sequence
or a generated sequence) to ``result_file``, which is emptied when the evaluator is
declared::

    <id>\\t w1 w2 w3                 a sequence
    <id>\\t w1 w2\\n\\t w3\\n             a nested sequence: one line per subsequence, then
                                     an empty line

``<id>`` is the sample id from ``id_input`` (one per sequence), else the sequence's index
in its batch. A word is line ``id`` of ``dict_file`` (no dict: the id itself); with
``delimited`` (the default) each word is preceded by a space, else words are joined.
"""

import numpy as np

from ..layers.base import Layer, default_name
from .evaluators import declared
from .printers import Printer, layer_ids


class SeqTextPrinter(Printer):
    """See the module docstring."""

    def __init__(self, input, result_file, id_input=None, dict_file=None, delimited=None,
                 name=None):
        name = name or default_name("seqtext_printer_evaluator")
        if not isinstance(result_file, str) or not result_file:
            raise ValueError(f"evaluator {name}: result_file must be a file path, got "
                             f"{result_file!r}")
        for layer, what in ((input, "input"), (id_input, "id_input")):
            if not isinstance(layer, Layer) and (layer is not None or what == "input"):
                raise ValueError(f"evaluator {name}: {what} must be a layer, got {layer!r}")
        if not input.seq_level:
            raise ValueError(f"evaluator {name}: input {input.name} is a non-sequence; "
                             "seqtext_printer writes sequences of ids")
        self.input, self.id_input = input, id_input
        self.result_file = result_file
        self.delimited = True if delimited is None else bool(delimited)
        self.words = []
        if dict_file:
            with open(dict_file, encoding="utf-8") as f:
                self.words = [line.rstrip("\r\n") for line in f]
        with open(result_file, "w", encoding="utf-8"):
            pass   # emptied now; each batch appends
        super().__init__(name, [id_input, input])

    def _words(self, ids):
        space = " " if self.delimited else ""
        if not self.words:
            return "".join(f"{space}{i}" for i in ids)
        if ids.size and (ids.min() < 0 or ids.max() >= len(self.words)):
            bad = int(ids.min() if ids.min() < 0 else ids.max())
            raise ValueError(f"evaluator {self.name}: id {bad} of {self.input.name} is not "
                             f"in the dictionary of {len(self.words)} words")
        return "".join(f"{space}{self.words[i]}" for i in ids)

    def emit(self, outputs):
        """Append this batch's sequences to ``result_file`` (nothing on standard output)."""
        ids = layer_ids(outputs, self.input, self.name)
        layout = outputs[self.input.name, "seq"]
        sample_ids = np.arange(layout.num_sequences)
        if self.id_input is not None:
            sample_ids = layer_ids(outputs, self.id_input, self.name)
            if len(sample_ids) != layout.num_sequences:
                raise ValueError(f"evaluator {self.name}: id_input {self.id_input.name} has "
                                 f"{len(sample_ids)} ids for {layout.num_sequences} sequences "
                                 f"of {self.input.name}")
        entries = []
        for i in range(layout.num_sequences):
            begin, end = layout.starts[i], layout.starts[i + 1]
            if layout.sub_starts is None:
                entries.append(f"{sample_ids[i]}\t{self._words(ids[begin:end])}\n")
                continue
            subs = layout.sub_starts[(layout.sub_starts >= begin) & (layout.sub_starts <= end)]
            lines = [f"\t{self._words(ids[a:b])}\n" for a, b in zip(subs[:-1], subs[1:])]
            entries.append(f"{sample_ids[i]}" + "".join(lines) + "\n")
        with open(self.result_file, "a", encoding="utf-8") as f:
            f.write("".join(entries))


def seqtext_printer(input, result_file, id_input=None, dict_file=None, delimited=None,
                    name=None, **_ignored):
    """Declare a printer of id sequences as text (see :class:`SeqTextPrinter`)."""
    evaluator = SeqTextPrinter(input, result_file, id_input, dict_file, delimited, name)
    declared.append(evaluator)
    return evaluator


seqtext_printer_evaluator = seqtext_printer

__all__ = ["SeqTextPrinter", "seqtext_printer", "seqtext_printer_evaluator"]
