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
from ..layers.mixed_terms import (context_projection, conv_operator, dotmul_operator,
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

# -- more image layers: projections, pooling pyramids, normalisation, resampling --
from ..layers.block_expand import block_expand
from ..layers.channel_norm import cross_channel_norm
from ..layers.conv_projection import conv_projection
from ..layers.prelu import prelu
from ..layers.region_pool import maxout, roi_pool, spp
from ..layers.shift import conv_shift, row_conv
from ..layers.spatial import bilinear_interp, pad, rotate

# -- more math layers --
from ..layers.gated_unit import gated_unit
from ..layers.multiplex import multiplex
from ..layers.sampling_id import sampling_id
from ..layers.selective_fc import selective_fc
from ..layers.unary_math import clip, repeat, resize, row_l2_norm, scale_shift, slope_intercept
from ..layers.vector_products import convex_comb, linear_comb, out_prod, tensor

# -- more sequence layers: the simple RNN, slicing, beam-training ids --
from ..layers.sequence_ids import eos, kmax_seq_score
from ..layers.sequence_select import seq_slice, sub_nested_seq
from ..layers.simple_recurrent import recurrent
from ..layers.slice_projection import slice_projection

# -- more costs --
from ..layers.cost_extra import (cross_entropy_with_selfnorm_cost, lambda_cost,
                                 multi_binary_label_cross_entropy_cost, rank_cost, sum_cost)
from ..layers.ctc import ctc, warp_ctc
from ..layers.sampled_softmax import hsigmoid, nce

# -- SSD detection --
from ..layers.detection_output import detection_output
from ..layers.multibox_loss import multibox_loss
from ..layers.priorbox import priorbox

#: the name v2's reference documents for ``kmax_seq_score``
kmax_sequence_score = kmax_seq_score

__all__ = sorted(name for name, value in dict(globals()).items()
                 if callable(value) and not name.startswith("_"))
