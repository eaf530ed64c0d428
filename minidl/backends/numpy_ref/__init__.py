"""Reference kernels: the simplest correct code, written against ``xp`` (NumPy or CuPy).

Importing this package registers every kernel under the ``numpy`` backend. Each module
holds one family of ops; read any of them alone.
"""

from . import basic  # noqa: F401
from . import conv, conv_batch_norm, pool  # noqa: F401
from . import sparse  # noqa: F401
from . import depthwise  # noqa: F401
from . import activation, cost, misc, norm  # noqa: F401
from . import mixed, sparse_input  # noqa: F401
from . import sequence  # noqa: F401
from . import rowwise  # noqa: F401
from . import robust_cost  # noqa: F401
from . import crf  # noqa: F401
from . import recurrent  # noqa: F401
from . import recurrent_step  # noqa: F401
from . import sparse_recurrent  # noqa: F401
from . import block_expand, channel_norm, conv_shift, image_resample  # noqa: F401
from . import maxout, prelu, roi_pool, row_conv  # noqa: F401
from . import multiplex, sampling_id, selective_fc, unary_math, vector_products  # noqa: F401
from . import column_slices, sequence_ids, sequence_select, simple_recurrent  # noqa: F401
from . import cost_extra, ctc, hsigmoid, nce  # noqa: F401
from . import detection_boxes, detection_match, detection_output  # noqa: F401
from . import elementwise_math  # noqa: F401
