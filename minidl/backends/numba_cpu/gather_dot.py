"""A sparse dot product eight nonzeros at a time: ``sum_j values[j] * x[indices[j]]``.

A batch-1 CSR product is bound by its loads per nonzero, not by memory, while the weight
is in cache: the value, the column, and ``x`` at that column. Summed one nonzero at a time
in scalar registers, that runs at about a nonzero per cycle per core on Zen 3 (~0.5 ns,
whichever way the value and column are stored). :func:`gathered_dot` instead reads eight
values as one vector, gathers the eight ``x`` into a second one (eight scalar loads
inserted lane by lane -- ``vmovss`` / ``vinsertps`` on AVX2, which run where the
``vgatherdps`` instruction is microcoded slowly) and multiply-adds the two in one
instruction: 0.35-0.40 ns per nonzero on one Zen 3 core, 0.72-0.80x the time, at 0.9 and
0.99 sparsity on 1024- and 4096-wide rows. uint32 columns are read two at a time, as one
64-bit word split by a shift (:func:`_paired_group`): 13 loads a group instead of 17, on
Zen 3's three load ports, 0.83-0.88x the time of uint16 columns read one by one (4096
rows of 41-410 nonzeros, one core); four uint16 columns to a word gained nothing, their
extra shifts and masks filling the dispatch slots the loads freed.

Numba has no vector type, so the loop over a row's groups of eight is written in LLVM IR
here, its vector sum kept in a register (an ``alloca`` that LLVM promotes), and the eight
lanes added pairwise at the end. The last, partial group is a whole one: its lanes past
the row read the next row's nonzeros (where the arrays end, the row's last one again) and
a select drops their products, so they add exactly 0 whatever ``x`` holds there. A scalar
loop for the rest chained up to seven dependent multiply-adds per row (3-8 % slower);
zeroing each lane's weight as it was inserted made the tail cost ~2 groups (4096 rows of
41 nonzeros: 84 against 75 us on one core; rows of 40, no tail: 63 us). Numba does not
check bounds: ``indices[lo:hi]`` and ``values[lo:hi]`` must exist, and every such index
must be inside ``x`` -- and so must every index of ``indices``, which a tail may read.

Numba's on-disk cache is keyed on the source of the *calling* kernel's file: after editing
this file, delete the ``__pycache__/*.nb*`` of ``sparse.py``, ``csr_steps.py``,
``csr_gru_steps.py`` and ``sparse_recurrent.py`` (touching them is not enough: the key is
their content), or the old machine code is loaded.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils, errors
from numba.extending import intrinsic

from .simd import CONTRACT, splat

_LANES = 8


def _check(indices, values, x):
    for name, array, kinds in (("indices", indices, (types.uint16, types.uint32)),
                               ("values", values, (types.float32,)),
                               ("x", x, (types.float32,))):
        if not (isinstance(array, types.Array) and array.ndim == 1 and array.dtype in kinds):
            raise errors.TypingError(f"gathered_dot: {name} must be a 1-D array of "
                                     f"{' or '.join(str(k) for k in kinds)}, got {array}")


def _gathered_group(builder, data, at, last=None):
    """``(weights, gathered)``: the values ``at .. at + 8`` as one vector and ``x`` at
    their columns as another. With ``last``, positions from ``last`` on read the row's last
    nonzero again (a group that would run past the arrays' end)."""
    index_data, value_data, x_data = data
    if last is None and index_data.type.pointee.width == 32:
        return _paired_group(builder, data, at)
    # uint16 columns, and a group at the arrays' end: one load per column
    i64, i32 = ir.IntType(64), ir.IntType(32)
    vector = ir.VectorType(ir.FloatType(), _LANES)
    weights = ir.Constant(vector, ir.Undefined)
    gathered = ir.Constant(vector, ir.Undefined)
    for lane in range(_LANES):
        where = builder.add(at, ir.Constant(i64, lane))
        if last is not None:
            inside = builder.icmp_signed("<", where, last)
            where = builder.select(inside, where, builder.sub(last, ir.Constant(i64, 1)))
            weights = builder.insert_element(weights, builder.load(builder.gep(
                value_data, [where])), ir.Constant(i32, lane))
        column = builder.zext(builder.load(builder.gep(index_data, [where])), i64)
        gathered = builder.insert_element(gathered, builder.load(builder.gep(x_data, [column])),
                                          ir.Constant(i32, lane))
    if last is None:
        weights = builder.load(builder.bitcast(builder.gep(value_data, [at]),
                                               vector.as_pointer()), align=4)
    return weights, gathered


def _paired_group(builder, data, at):
    """:func:`_gathered_group` for uint32 columns, read two at a time as one 64-bit word."""
    index_data, value_data, x_data = data
    i64, i32 = ir.IntType(64), ir.IntType(32)
    vector = ir.VectorType(ir.FloatType(), _LANES)
    columns = []     # x86 is little-endian: a word's low half is the first column
    for pair in range(0, _LANES, 2):
        word = builder.load(builder.bitcast(builder.gep(index_data, [builder.add(
            at, ir.Constant(i64, pair))]), i64.as_pointer()), align=4)
        columns += [builder.and_(word, ir.Constant(i64, 0xFFFFFFFF)),
                    builder.lshr(word, ir.Constant(i64, 32))]
    gathered = ir.Constant(vector, ir.Undefined)
    for lane, column in enumerate(columns):
        gathered = builder.insert_element(gathered, builder.load(builder.gep(x_data, [column])),
                                          ir.Constant(i32, lane))
    weights = builder.load(builder.bitcast(builder.gep(value_data, [at]), vector.as_pointer()),
                           align=4)
    return weights, gathered


@intrinsic
def gathered_dot(typingctx, indices, values, x, lo, hi):
    """``sum_j values[j] * x[indices[j]]`` over ``lo <= j < hi`` (float32; ``indices``
    uint16 or uint32, all arrays 1-D and contiguous)."""
    _check(indices, values, x)
    vector = ir.VectorType(ir.FloatType(), _LANES)

    def codegen(context, builder, signature, args):
        arrays = [context.make_array(t)(context, builder, a)
                  for t, a in zip(signature.args[:3], args[:3])]
        data = [array.data for array in arrays]
        length = builder.extract_value(arrays[1].shape, 0)     # of values (and indices)
        i64 = ir.IntType(64)
        first, last = (context.cast(builder, v, t, types.int64)
                       for v, t in zip(args[3:], signature.args[3:]))
        whole = builder.sdiv(builder.sub(last, first), ir.Constant(i64, _LANES))
        total = cgutils.alloca_once_value(builder, ir.Constant(vector, [0.0] * _LANES))

        def add(weights, gathered, kept=None):
            product = builder.fmul(weights, gathered, flags=CONTRACT)
            if kept is not None:        # lanes past the row add exactly 0, whatever x is
                product = builder.select(kept, product, ir.Constant(vector, [0.0] * _LANES))
            builder.store(builder.fadd(builder.load(total), product, flags=CONTRACT), total)

        with cgutils.for_range(builder, whole) as loop:
            add(*_gathered_group(builder, data, builder.add(
                first, builder.mul(loop.index, ir.Constant(i64, _LANES)))))
        rest = builder.add(first, builder.mul(whole, ir.Constant(i64, _LANES)))
        with builder.if_then(builder.icmp_signed("<", rest, last)):
            left = builder.trunc(builder.sub(last, rest), ir.IntType(32))
            kept = builder.icmp_signed("<", ir.Constant(ir.VectorType(ir.IntType(32), _LANES),
                                                        list(range(_LANES))),
                                       splat(builder, left, _LANES))
            within = builder.icmp_signed("<=", builder.add(rest, ir.Constant(i64, _LANES)),
                                         length)
            with builder.if_else(within) as (whole_group, at_the_end):
                with whole_group:       # the next row's first nonzeros fill the lanes
                    add(*_gathered_group(builder, data, rest), kept)
                with at_the_end:        # the arrays end: no load past them
                    add(*_gathered_group(builder, data, rest, last), kept)
        lanes = builder.load(total)
        sums = [builder.extract_element(lanes, ir.Constant(ir.IntType(32), k))
                for k in range(_LANES)]
        while len(sums) > 1:            # pairwise: (l0 + l1) + (l2 + l3), ...
            sums = [builder.fadd(a, b, flags=CONTRACT) for a, b in zip(sums[::2], sums[1::2])]
        return sums[0]

    return types.float32(indices, values, x, lo, hi), codegen
