"""``paddle.layer``: the v2 layer builders (implemented in ``minidl.layers``).

Builders describe the network; nothing is computed until a trainer or ``infer`` runs it.
"""

from ..layers.base import reset_names
from ..layers.data import data
from ..layers.fc import fc
from ..layers.topology import parse_network

# -- images: conv, depthwise conv, pooling, normalisation --
from ..layers.conv import img_conv
from ..layers.depthwise import img_depthwise_conv
from ..layers.norm import batch_norm, img_cmrnorm
from ..layers.pool import img_pool

# -- dropout, concat, addto, max_id, costs --
from ..layers.cost import (classification_cost, cross_entropy_cost, regression_cost,
                           square_error_cost)
from ..layers.misc import addto, concat, dropout, max_id

# -- mixed layers and projections --
from ..layers.embedding import embedding
from ..layers.mixed import mixed
from ..layers.projections import (context_projection, conv_operator, dotmul_operator,
                                  dotmul_projection, full_matrix_projection,
                                  identity_projection, scaling_projection, table_projection,
                                  trans_full_matrix_projection)

# -- sequences --
from ..layers.cost import huber_classification_cost, huber_regression_cost, smooth_l1_cost
from ..layers.math import (cos_sim, dot_prod, interpolation, power, scaling, sum_to_one_norm,
                           trans)
from ..layers.sequence import (AggregateLevel, ExpandLevel, expand, first_seq, last_seq,
                               pooling, seq_concat, seq_reshape)

# -- CRF --
from ..layers.crf import crf, crf_decoding

# -- recurrent layers --
from ..layers.recurrent import grumemory, lstmemory

# -- recurrent_group --
from ..layers.beam_search import beam_search
from ..layers.recurrent_group import recurrent_group
from ..layers.recurrent_inputs import (BaseGeneratedInput, GeneratedInput, StaticInput,
                                       SubsequenceInput, memory)
from ..layers.recurrent_step import get_output, gru_step, gru_step_naive, lstm_step

# -- image layers: conv_projection, conv_shift, row_conv, spp, maxout, roi_pool, cross_channel_norm, block_expand, rotate, bilinear_interp, pad, prelu --
# (end of image layers: conv_projection, conv_shift, row_conv, spp, maxout, roi_pool, cross_channel_norm, block_expand, rotate, bilinear_interp, pad, prelu)

# -- math layers: selective_fc, row_l2_norm, repeat, scale_shift, slope_intercept, clip, resize, linear_comb, out_prod, tensor, gated_unit, multiplex, sampling_id --
# (end of math layers: selective_fc, row_l2_norm, repeat, scale_shift, slope_intercept, clip, resize, linear_comb, out_prod, tensor, gated_unit, multiplex, sampling_id)

# -- sequence layers: recurrent, slice_projection, seq_slice, kmax_sequence_score, sub_nested_seq, eos --
# (end of sequence layers: recurrent, slice_projection, seq_slice, kmax_sequence_score, sub_nested_seq, eos)

# -- costs: cross_entropy_with_selfnorm, multi_binary_label, lambda, rank, sum, ctc, warp_ctc, nce, hsigmoid --
# (end of costs: cross_entropy_with_selfnorm, multi_binary_label, lambda, rank, sum, ctc, warp_ctc, nce, hsigmoid)

# -- detection: priorbox, multibox_loss, detection_output --
# (end of detection: priorbox, multibox_loss, detection_output)

__all__ = sorted(name for name, value in dict(globals()).items()
                 if callable(value) and not name.startswith("_"))
