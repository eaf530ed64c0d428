"""``paddle.evaluator``: metrics computed over a pass and shown in ``event.metrics``.

Defined in :mod:`minidl.training.evaluators`; this module gives it v2's name.
"""

from ..training.evaluators import *  # noqa: F403
from ..training.evaluators import __all__ as _core

# -- ctc_error, pnpair, column_sum and the printers --
from ..training import ctc_error as _ctc, printers as _printers, rank_evaluators as _rank
from ..training import seqtext_printer as _seqtext
from ..training.ctc_error import *  # noqa: F403
from ..training.printers import *  # noqa: F403
from ..training.rank_evaluators import *  # noqa: F403
from ..training.seqtext_printer import *  # noqa: F403
_extra = [*_ctc.__all__, *_printers.__all__, *_rank.__all__, *_seqtext.__all__]
# (end of ctc_error, pnpair, column_sum and the printers)

__all__ = [*_core, *_extra]
