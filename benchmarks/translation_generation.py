"""Beam search with the book's translation network: milliseconds per sentence.

The PaddlePaddle book's chapter 8 network at the book's sizes (``examples/
machine_translation.py``: ``seq_to_seq_net``, 30,000-word dictionaries, 512-wide embeddings
and GRUs, attention), generating through ``paddle.infer(..., field=['prob', 'id'])`` with
beam 3 and at most 50 words, as the book's generation does. The parameters are random (no
dataset is needed), so few results end early with ``<e>``: most run the full 50 steps,
the case that bounds the time. Each source sentence (10-30 random word ids) is translated
alone, one call each, after one call to load the kernels; the table gives the median and
the range over the sentences, and the steps the beams took.

    python benchmarks/translation_generation.py [--sentences 8] [--dict-size 30000]
"""

import argparse
import os
import statistics
import sys
import time

import numpy as np
from sparse_common import machine

import minidl as paddle

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples"))
from machine_translation import seq_to_seq_net, translate  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=8)
    parser.add_argument("--dict-size", type=int, default=30000)
    parser.add_argument("--beam-size", type=int, default=3)
    parser.add_argument("--max-length", type=int, default=50)
    args = parser.parse_args()
    paddle.init()
    print(machine())
    rng = np.random.default_rng(0)
    beam_gen = seq_to_seq_net(args.dict_size, args.dict_size, True, args.beam_size,
                              args.max_length)
    parameters = paddle.parameters.create(beam_gen)
    for name in parameters.names():
        shape = parameters.get_shape(name)
        parameters.set(name, (rng.standard_normal(shape) * 0.05).astype(np.float32))
    sources = [rng.integers(2, args.dict_size, int(rng.integers(10, 31))).tolist()
               for _ in range(args.sentences + 1)]
    translate(beam_gen, parameters, sources[:1])          # loads (or compiles) the kernels
    times, lengths = [], []
    for source in sources[1:]:
        start = time.perf_counter()
        _, results = translate(beam_gen, parameters, [source])
        times.append((time.perf_counter() - start) * 1e3)
        lengths.extend(len(words) for words in results[0])
    print(f"\n| network | beam | at most | sentences | ms per sentence (median) | range | "
          f"words per result |\n|---|---|---|---|---|---|---|\n"
          f"| book seq_to_seq_net, {args.dict_size}-word dictionaries, 512 wide | "
          f"{args.beam_size} | {args.max_length} | {len(times)} | "
          f"{statistics.median(times):.1f} | {min(times):.1f}-{max(times):.1f} | "
          f"{min(lengths)}-{max(lengths)} |")


if __name__ == "__main__":
    main()
