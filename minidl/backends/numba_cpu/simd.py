"""Explicit vector multiply-adds for Numba kernels (LLVM vector IR via intrinsics).

Numba has no SIMD types, and for the sparse kernels' short runs LLVM's vectorisers choose
badly: a loop over a run of 8-24 values is left scalar (the vector body is unrolled to 32
values and never entered), and eight named accumulators get vectorised *across nonzeros*
with emulated gathers (eight scalar loads and inserts per nonzero) instead of across the
run. These intrinsics say what we mean: ``out[at : at + L*k] += sum_i v_i * frame[b_i : b_i +
L*k]`` as ``<L x float>`` operations (``L`` lanes, 8 or 16: one AVX or AVX-512 register;
LLVM splits a vector wider than the target's registers), so one nonzero is one broadcast,
one vector load and one fused multiply-add per ``L`` values. When a loop calls them with
the same ``out`` slice on every iteration, LLVM keeps that slice in registers for the
whole loop.

Rounding: each call sums its (up to four) products pairwise -- ``(p0 + p1) + (p2 + p3)`` --
and then adds the sum to ``out``, with the ``contract`` flag only (FMA allowed, no
reassociation). With fast-math reassociation LLVM turns that into one chain of four
dependent FMAs per call (four FMA latencies per four nonzeros); this way the chain through
``out`` is one addition per call. The order differs from a sequential sum by float32
rounding only, like every other kernel against the reference.

Numba's on-disk cache (``cache=True``) is keyed on the file of the *calling* kernel: after
editing this file, touch ``sparse_conv.py`` (or delete its ``__pycache__/*.nb*``) or the old
machine code is loaded.

Numba does not check bounds here: ``out`` and ``frame`` must hold ``L*k`` values from every
offset passed (the callers pad runs to whole blocks and frames with slack).
"""

from llvmlite import ir
from numba import types
from numba.core import errors
from numba.extending import intrinsic

_FLAGS = ("contract",)


def _vector_at(context, builder, array_type, array, at, lanes, k=0):
    """A ``<lanes x float>*`` to ``array[at + lanes*k]`` (``array`` 1-D float32, contiguous).

    The constant ``lanes*k`` is a second GEP on ``array + at``, not added to ``at``: LLVM's
    alias analysis then sees that the vectors of one block do not overlap, and keeps the
    whole block in registers over a loop (with the offset computed as an integer add it
    keeps only the first vector there, storing and reloading the others every call).
    """
    data = context.make_array(array_type)(context, builder, array).data
    base = builder.gep(data, [at])
    if k:
        base = builder.gep(base, [ir.Constant(at.type, k * lanes)])
    return builder.bitcast(base, ir.VectorType(ir.FloatType(), lanes).as_pointer())


def _splat(builder, value, lanes):
    vector = ir.VectorType(ir.FloatType(), lanes)
    undef = ir.Constant(vector, ir.Undefined)
    lane0 = builder.insert_element(undef, value, ir.Constant(ir.IntType(32), 0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
    return builder.shuffle_vector(lane0, undef, zeros)


def _check(out, frame, vectors, lanes):
    for name, array in (("out", out), ("frame", frame)):
        if not (isinstance(array, types.Array) and array.ndim == 1
                and array.dtype == types.float32):
            raise errors.TypingError(f"{name} must be a 1-D float32 array, got {array}")
    for name, value in (("vectors", vectors), ("lanes", lanes)):
        if not isinstance(value, types.IntegerLiteral) or value.literal_value < 1:
            raise errors.TypingError(f"{name} must be a positive integer constant, got {value}")


@intrinsic
def multiply_add4(typingctx, out, at, frame, b0, b1, b2, b3, v0, v1, v2, v3, vectors, lanes):
    """``out[at + t] += v0*frame[b0 + t] + ... + v3*frame[b3 + t]`` for
    ``t < lanes * vectors``.

    ``at``/``b*``: unsigned offsets; ``v*``: float32; ``vectors``, ``lanes``: constants.
    """
    _check(out, frame, vectors, lanes)
    sig = types.void(out, at, frame, b0, b1, b2, b3, v0, v1, v2, v3, vectors, lanes)
    width = lanes.literal_value

    def codegen(context, builder, signature, args):
        out_, at_, frame_ = args[:3]
        starts, scales = args[3:7], args[7:11]
        frame_type = signature.args[2]
        for k in range(vectors.literal_value):
            target = _vector_at(context, builder, signature.args[0], out_, at_, width, k)
            products = [builder.fmul(_splat(builder, v, width), builder.load(
                _vector_at(context, builder, frame_type, frame_, b, width, k), align=4),
                flags=_FLAGS) for b, v in zip(starts, scales)]
            total = builder.fadd(builder.fadd(products[0], products[1], flags=_FLAGS),
                                 builder.fadd(products[2], products[3], flags=_FLAGS),
                                 flags=_FLAGS)
            builder.store(builder.fadd(builder.load(target, align=4), total, flags=_FLAGS),
                          target, align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def multiply_add1(typingctx, out, at, frame, b0, v0, vectors, lanes):
    """``out[at + t] += v0 * frame[b0 + t]`` for ``t < lanes * vectors``."""
    _check(out, frame, vectors, lanes)
    sig = types.void(out, at, frame, b0, v0, vectors, lanes)
    width = lanes.literal_value

    def codegen(context, builder, signature, args):
        out_, at_, frame_, b, v = args[:5]
        for k in range(vectors.literal_value):
            target = _vector_at(context, builder, signature.args[0], out_, at_, width, k)
            x = builder.load(_vector_at(context, builder, signature.args[2], frame_, b, width,
                                        k), align=4)
            product = builder.fmul(_splat(builder, v, width), x, flags=_FLAGS)
            builder.store(builder.fadd(builder.load(target, align=4), product, flags=_FLAGS),
                          target, align=4)
        return context.get_dummy_value()

    return sig, codegen
