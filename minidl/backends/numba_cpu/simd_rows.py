"""A sparse row into a register block: the inner loop of the direct sparse convolution.

:func:`row_block` computes ``out[at + t] += sum_j values[j] * frame[indices[j] * step + f0
+ t]`` over a CSR row's nonzeros ``lo <= j < hi``, for ``t < L*k`` (``k`` vectors of ``L``
lanes, 8 or 16: one AVX or AVX-512 register). It is the whole loop over the nonzeros, in
LLVM IR: the block's ``k`` vectors are loaded once, live in registers (SSA values) while the
nonzeros stream through them -- per nonzero one broadcast, and one vector load and one
multiply-add per vector -- and are stored once at the end. Written as a Numba loop over a
four-nonzero multiply-add, the block stayed in registers too, but LLVM stored all of it
after every four nonzeros (it could not tell that ``out`` and ``frame`` do not overlap):
13 stores per 52 multiply-adds on AlexNet conv3's 13-vector blocks, and on an Intel Xeon
the kernels of AlexNet conv3-5 took 1.05-1.11x the time of this loop.

Rounding and latency: four nonzeros at a time. A block of fewer than :data:`CHAIN_FROM`
vectors sums their products pairwise, ``(p0 + p1) + (p2 + p3)``, and adds the sum to the
block: its few accumulators could not hide four dependent FMA latencies per four nonzeros.
A longer block multiply-adds the products into it one after the other (four FMAs per vector
instead of two multiplies, two FMAs and two additions): its vectors are enough independent
chains to keep the FMA units busy. The flag is ``contract`` only (FMA allowed, no
reassociation); either order differs from a sequential sum by float32 rounding only, like
every other kernel against the reference.

Numba does not check bounds here: ``out`` must hold ``L*k`` values from ``at``, and the
frame ``L*k`` values from every nonzero's start (the callers pad runs to whole blocks and
frames with slack). Offsets are unsigned.
"""

from llvmlite import ir
from numba import types
from numba.core import cgutils, errors
from numba.extending import intrinsic

from .simd import CONTRACT, check_vectors, splat, vector_at

#: blocks of at least this many vectors chain their FMAs (see the module docstring): 8
#: chains cover a 4-cycle FMA latency on two FMA units. AlexNet conv3 at 0.9 sparsity on an
#: Intel Xeon, 13-vector blocks: 0.97x the kernel time of the pairwise sums
CHAIN_FROM = 8
#: nonzeros per step of the loop
UNROLL = 4


def _row_arrays(indices, values):
    if not (isinstance(indices, types.Array) and indices.ndim == 1
            and indices.dtype in (types.uint32, types.uint16)):
        raise errors.TypingError(f"indices must be a 1-D uint32 or uint16 array, got {indices}")
    if not (isinstance(values, types.Array) and values.ndim == 1
            and values.dtype == types.float32):
        raise errors.TypingError(f"values must be a 1-D float32 array, got {values}")


@intrinsic
def row_block(typingctx, out, at, frame, indices, values, lo, hi, step, f0, vectors, lanes):
    """``out[at + t] += sum_{lo <= j < hi} values[j] * frame[indices[j] * step + f0 + t]``
    for ``t < lanes * vectors``: one register block of a CSR row (see the module
    docstring). ``at``, ``lo``, ``hi``, ``step``, ``f0``: unsigned; ``vectors``, ``lanes``:
    constants."""
    check_vectors(out, frame, vectors, lanes)
    _row_arrays(indices, values)
    for name, offset in (("at", at), ("lo", lo), ("hi", hi), ("step", step), ("f0", f0)):
        if not (isinstance(offset, types.Integer) and offset.bitwidth == 64):
            raise errors.TypingError(f"{name} must be a 64-bit integer, got {offset}")
    sig = types.void(out, at, frame, indices, values, lo, hi, step, f0, vectors, lanes)
    count, width = vectors.literal_value, lanes.literal_value
    chained = count >= CHAIN_FROM

    def codegen(context, builder, signature, args):
        out_, at_, frame_, indices_, values_, lo_, hi_, step_, f0_ = args[:9]
        kinds = signature.args
        index = lo_.type
        vector = ir.VectorType(ir.FloatType(), width)
        offsets = context.make_array(kinds[3])(context, builder, indices_).data
        scales = context.make_array(kinds[4])(context, builder, values_).data
        frame_data = context.make_array(kinds[2])(context, builder, frame_).data
        targets = [vector_at(context, builder, kinds[0], out_, at_, width, k)
                   for k in range(count)]
        # allocas that LLVM promotes to registers: the block, live across the loop
        block = [cgutils.alloca_once(builder, vector) for _ in range(count)]
        for slot, target in zip(block, targets):
            builder.store(builder.load(target, align=4), slot)

        def nonzero(j):
            """(the nonzero's first frame value, its value broadcast)"""
            offset = builder.zext(builder.load(builder.gep(offsets, [j])), index)
            start = builder.gep(frame_data, [builder.add(builder.mul(offset, step_), f0_)])
            return start, splat(builder, builder.load(builder.gep(scales, [j])), width)

        def product(start, scale, k):
            # the vector's place as a constant GEP on the nonzero's start (see vector_at)
            at_k = builder.gep(start, [ir.Constant(index, k * width)]) if k else start
            x = builder.load(builder.bitcast(at_k, vector.as_pointer()), align=4)
            return builder.fmul(scale, x, flags=CONTRACT)

        whole = builder.and_(builder.sub(hi_, lo_), ir.Constant(index, -UNROLL))
        end = builder.add(lo_, whole)
        with cgutils.for_range_slice(builder, lo_, end, ir.Constant(index, UNROLL)) as (j, _):
            group = [nonzero(builder.add(j, ir.Constant(index, u))) for u in range(UNROLL)]
            for k, slot in enumerate(block):
                products = [product(start, scale, k) for start, scale in group]
                total = builder.load(slot)
                if chained:
                    for p in products:
                        total = builder.fadd(total, p, flags=CONTRACT)
                else:
                    pairs = [builder.fadd(a, b, flags=CONTRACT)
                             for a, b in zip(products[::2], products[1::2])]
                    total = builder.fadd(total, builder.fadd(*pairs, flags=CONTRACT),
                                         flags=CONTRACT)
                builder.store(total, slot)
        with cgutils.for_range_slice(builder, end, hi_, ir.Constant(index, 1)) as (j, _):
            start, scale = nonzero(j)
            for k, slot in enumerate(block):
                builder.store(builder.fadd(builder.load(slot), product(start, scale, k),
                                           flags=CONTRACT), slot)
        for slot, target in zip(block, targets):
            builder.store(builder.load(slot), target, align=4)
        return context.get_dummy_value()

    return sig, codegen
