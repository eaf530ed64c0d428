"""Explicit vector operations for Numba kernels (LLVM vector IR via intrinsics).

Numba has no SIMD types, and for short loops LLVM's vectorisers choose badly: a loop over a
run of 8-24 values is left scalar (the vector body is unrolled to 32 values and never
entered), and eight named accumulators get vectorised *across* the wrong dimension with
emulated gathers (eight scalar loads and inserts) instead of along the run. (Numba runs
LLVM's loop vectoriser, which leaves loops of fewer than 16 iterations alone, but not its
SLP vectoriser, which would combine eight neighbouring scalar operations into one.) These
intrinsics say what we mean, as ``<8 x T>`` operations (one AVX register; LLVM splits a
vector wider than the target's registers).

The depthwise kernels with the batch innermost (``depthwise_lanes.py``) use three, for
float32 and float64: :func:`correlate_pixels` (a few pixels of eight lanes, each summed
over a filter's taps), :func:`tap_dots` (the filter gradient's sums) and
:func:`transpose8` (an 8 x 8 block, rows to columns, in registers; the sparse
convolution's batch frames use it too, ``sparse_frames.py``). The sparse convolution's
inner loop is in ``simd_rows.py``, built on the helpers here.

Rounding: the ``contract`` flag only (FMA allowed, no reassociation), so sums keep the
order written; it differs from a sequential sum by float32 rounding only, like every other
kernel against the reference.

Numba's on-disk cache (``cache=True``) is keyed on the source of the *calling* kernel's
file: after editing this file (or ``simd_rows.py``), delete ``__pycache__/*.nb*`` under
``minidl/backends/numba_cpu/``, or the old machine code is loaded.

Numba does not check bounds here: the arrays must hold every vector read or written (the
callers pad runs to whole blocks and frames with slack).
"""

from llvmlite import ir
from numba import types
from numba.core import errors
from numba.extending import intrinsic

#: the fast-math flags of every operation here: FMA allowed, no reassociation
CONTRACT = ("contract",)


def _element(array_type):
    """The LLVM type of a float32 or float64 array's values."""
    return ir.FloatType() if array_type.dtype == types.float32 else ir.DoubleType()


def vector_at(context, builder, array_type, array, at, lanes, k=0, constant=None):
    """A ``<lanes x T>*`` to ``array[at + lanes*k]``, or ``array[at + constant]`` (``array``
    1-D float32 or float64, contiguous).

    The constant ``lanes*k`` is a second GEP on ``array + at``, not added to ``at``: LLVM's
    alias analysis then sees that the vectors of one block do not overlap, and keeps the
    whole block in registers over a loop (with the offset computed as an integer add it
    keeps only the first vector there, storing and reloading the others every call).
    """
    data = context.make_array(array_type)(context, builder, array).data
    base = builder.gep(data, [at])
    constant = k * lanes if constant is None else constant
    if constant:
        base = builder.gep(base, [ir.Constant(at.type, constant)])
    return builder.bitcast(base, ir.VectorType(_element(array_type), lanes).as_pointer())


def splat(builder, value, lanes):
    """``value`` in every lane of a ``<lanes x T>`` vector (one broadcast)."""
    vector = ir.VectorType(value.type, lanes)
    undef = ir.Constant(vector, ir.Undefined)
    lane0 = builder.insert_element(undef, value, ir.Constant(ir.IntType(32), 0))
    zeros = ir.Constant(ir.VectorType(ir.IntType(32), lanes), [0] * lanes)
    return builder.shuffle_vector(lane0, undef, zeros)


def check_vectors(out, frame, vectors, lanes, dtypes=(types.float32,)):
    """Typing check of an intrinsic's ``out`` and ``frame`` (1-D arrays of one of
    ``dtypes``, the same) and its ``vectors`` and ``lanes`` (positive constants)."""
    for name, array in (("out", out), ("frame", frame)):
        if not (isinstance(array, types.Array) and array.ndim == 1 and array.dtype in dtypes
                and array.dtype == getattr(out, "dtype", None)):
            raise errors.TypingError(f"{name} must be a 1-D array of one of "
                                     f"{[str(d) for d in dtypes]}, the same for all, got "
                                     f"{array}")
    for name, value in (("vectors", vectors), ("lanes", lanes)):
        if not isinstance(value, types.IntegerLiteral) or value.literal_value < 1:
            raise errors.TypingError(f"{name} must be a positive integer constant, got {value}")


# the three rounds of an 8 x 8 transpose (as AVX's unpack, shuffle and 128-bit permute):
# (mask, pairs of vectors it combines, as indices into the previous round)
_TRANSPOSE_ROUNDS = (
    [((0, 8, 1, 9, 4, 12, 5, 13), (0, 1)), ((2, 10, 3, 11, 6, 14, 7, 15), (0, 1)),
     ((0, 8, 1, 9, 4, 12, 5, 13), (2, 3)), ((2, 10, 3, 11, 6, 14, 7, 15), (2, 3)),
     ((0, 8, 1, 9, 4, 12, 5, 13), (4, 5)), ((2, 10, 3, 11, 6, 14, 7, 15), (4, 5)),
     ((0, 8, 1, 9, 4, 12, 5, 13), (6, 7)), ((2, 10, 3, 11, 6, 14, 7, 15), (6, 7))],
    [((0, 1, 8, 9, 4, 5, 12, 13), (0, 2)), ((2, 3, 10, 11, 6, 7, 14, 15), (0, 2)),
     ((0, 1, 8, 9, 4, 5, 12, 13), (1, 3)), ((2, 3, 10, 11, 6, 7, 14, 15), (1, 3)),
     ((0, 1, 8, 9, 4, 5, 12, 13), (4, 6)), ((2, 3, 10, 11, 6, 7, 14, 15), (4, 6)),
     ((0, 1, 8, 9, 4, 5, 12, 13), (5, 7)), ((2, 3, 10, 11, 6, 7, 14, 15), (5, 7))],
    [((0, 1, 2, 3, 8, 9, 10, 11), (0, 4)), ((0, 1, 2, 3, 8, 9, 10, 11), (1, 5)),
     ((0, 1, 2, 3, 8, 9, 10, 11), (2, 6)), ((0, 1, 2, 3, 8, 9, 10, 11), (3, 7)),
     ((4, 5, 6, 7, 12, 13, 14, 15), (0, 4)), ((4, 5, 6, 7, 12, 13, 14, 15), (1, 5)),
     ((4, 5, 6, 7, 12, 13, 14, 15), (2, 6)), ((4, 5, 6, 7, 12, 13, 14, 15), (3, 7))],
)


@intrinsic
def transpose8(typingctx, a, a0, a_step, b, b0, b_step):
    """``b[b0 + k*b_step + n] = a[a0 + n*a_step + k]`` for ``n, k < 8``: eight rows of
    eight values in, eight columns out (float32 or float64; offsets unsigned)."""
    floats = (types.float32, types.float64)
    check_vectors(b, a, types.literal(1), types.literal(8), floats)
    sig = types.void(a, a0, a_step, b, b0, b_step)

    def codegen(context, builder, signature, args):
        a_, a0_, a_step_, b_, b0_, b_step_ = args
        index = a0_.type
        rows = [builder.load(vector_at(context, builder, signature.args[0], a_, builder.add(
            a0_, builder.mul(a_step_, ir.Constant(index, n))), 8), align=4)
            for n in range(8)]
        for shuffles in _TRANSPOSE_ROUNDS:
            rows = [builder.shuffle_vector(rows[i], rows[j], ir.Constant(
                ir.VectorType(ir.IntType(32), 8), list(mask))) for mask, (i, j) in shuffles]
        for k, column in enumerate(rows):
            at = builder.add(b0_, builder.mul(b_step_, ir.Constant(index, k)))
            builder.store(column, vector_at(context, builder, signature.args[3], b_, at, 8),
                          align=4)
        return context.get_dummy_value()

    return sig, codegen


def _tuple_offsets(builder, taps, count):
    return [builder.extract_value(taps, t) for t in range(count)]


def _check_pixels(out, frame, taps, pixels):
    check_vectors(out, frame, types.literal(1), pixels, (types.float32, types.float64))
    if not (isinstance(taps, types.UniTuple) and isinstance(taps.dtype, types.Integer)):
        raise errors.TypingError(f"taps must be a tuple of integers, got {taps}")


@intrinsic
def correlate_pixels(typingctx, out, at, out_step, frame, base, weights, taps, step, pixels):
    """For ``p < pixels``, ``n < 8``: ``out[at + p*out_step + n] = sum_t weights[t] *
    frame[base + taps[t] + p*step + n]`` -- ``pixels`` vectors of 8, each summed over the
    taps in registers (two partial sums each, even and odd taps, to halve the chain of
    dependent multiply-adds), every weight broadcast once for all of them, and each
    stored once. ``taps``: a tuple (its length a constant); ``step`` and ``pixels``:
    constants, so that one address per tap serves every pixel (a pixel's reads are
    that address plus a constant; with ``step`` unknown LLVM needs an address per tap
    and pixel, more than the CPU has registers)."""
    _check_pixels(out, frame, taps, pixels)
    if not isinstance(step, types.IntegerLiteral):
        raise errors.TypingError(f"step must be an integer constant, got {step}")
    sig = types.void(out, at, out_step, frame, base, weights, taps, step, pixels)
    count, many, stride = taps.count, pixels.literal_value, step.literal_value

    def codegen(context, builder, signature, args):
        out_, at_, out_step_, frame_, base_, weights_, taps_ = args[:7]
        kinds = signature.args
        index = at_.type
        weight_data = context.make_array(kinds[5])(context, builder, weights_).data
        offsets = _tuple_offsets(builder, taps_, count)
        sums = [[None, None] for _ in range(many)]
        for t, offset in enumerate(offsets):
            weight = builder.load(builder.gep(weight_data, [ir.Constant(index, t)]))
            weight = splat(builder, weight, 8)
            start = builder.add(base_, offset)
            for p in range(many):
                # the pixel as a constant GEP on the tap's address (see vector_at)
                x = builder.load(vector_at(context, builder, kinds[3], frame_, start, 8,
                                            constant=p * stride), align=4)
                product = builder.fmul(weight, x, flags=CONTRACT)
                previous = sums[p][t % 2]
                sums[p][t % 2] = product if previous is None else builder.fadd(
                    previous, product, flags=CONTRACT)
        for p, (even, odd) in enumerate(sums):
            total = even if odd is None else builder.fadd(even, odd, flags=CONTRACT)
            target = builder.add(at_, builder.mul(out_step_, ir.Constant(index, p)))
            builder.store(total, vector_at(context, builder, kinds[0], out_, target, 8),
                          align=4)
        return context.get_dummy_value()

    return sig, codegen


@intrinsic
def tap_dots(typingctx, sums, grads, at, frame, base, step, taps, pixels):
    """``sums[t*8 + n] += sum_{p < pixels} grads[at + p*8 + n] * frame[base + p*step +
    taps[t] + n]`` for every tap ``t`` and ``n < 8``: the taps' running sums (8 lanes
    each) read once, kept in registers over the pixels, written once."""
    _check_pixels(sums, frame, taps, pixels)
    check_vectors(sums, grads, types.literal(1), pixels, (types.float32, types.float64))
    sig = types.void(sums, grads, at, frame, base, step, taps, pixels)
    count, many = taps.count, pixels.literal_value

    def codegen(context, builder, signature, args):
        sums_, grads_, at_, frame_, base_, step_, taps_ = args[:7]
        kinds = signature.args
        index = at_.type
        offsets = _tuple_offsets(builder, taps_, count)
        slots = [vector_at(context, builder, kinds[0], sums_, ir.Constant(index, 8 * t), 8)
                 for t in range(count)]
        totals = [builder.load(slot, align=4) for slot in slots]
        for p in range(many):
            g = builder.load(vector_at(context, builder, kinds[1], grads_, builder.add(
                at_, ir.Constant(index, 8 * p)), 8), align=4)
            start = builder.add(base_, builder.mul(step_, ir.Constant(index, p)))
            for t, offset in enumerate(offsets):
                x = builder.load(vector_at(context, builder, kinds[3], frame_,
                                            builder.add(start, offset), 8), align=4)
                totals[t] = builder.fadd(totals[t], builder.fmul(g, x, flags=CONTRACT),
                                         flags=CONTRACT)
        for slot, total in zip(slots, totals):
            builder.store(total, slot, align=4)
        return context.get_dummy_value()

    return sig, codegen
