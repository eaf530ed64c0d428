"""``selective_fc``: a fully connected layer whose output is computed only at the columns a
sparse ``select`` input names, row by row.

::

    select rows (sparse_binary_vector(size)):   [1, 4]   [0, 2]   ...
    output row i:   act over the selected entries of (sum_k x_k[i] W_k^T + bias),
                    0 in every column not selected

Paddle stores each weight transposed, ``(size, input size)``, one row per output column,
so a column's value needs only its own row of the weight. Without ``select`` the layer is
an fc layer (with those transposed weights). A ``sparse_float_vector`` select works too:
only which columns it names counts, not its values. ``pass_generation`` and ``mul_ratio``
chose Paddle's storage and kernel; the values are the same whatever they are.
"""

import math

import numpy as np

from .activations import SequenceSoftmax, Tanh
from ..functions.basic import add, matmul, reshape
from ..functions.dropout import dropout
from ..functions.rowwise import transpose
from ..functions.selective_fc import entries_of, entries_to_dense, selected_products
from ..core.sequence import same_layout
from .base import Layer, as_layer_list, as_param_attr, default_name, with_layout
from .sequence import check_dense, rows


class SelectiveFcLayer(Layer):
    """Paddle's ``selective_fc``: weights ``_<name>.w<k>`` of dims ``(size, input_k.size)``
    (initial std ``1 / sqrt(size)``), bias ``_<name>.wbias`` ``(1, size)``.

    With ``select``, only the selected entries are computed; the activation sees the selected
    values of each row (when every row selects the same number of columns, as Paddle's
    training requires, a softmax normalises over them) and the other columns are 0. Rows
    selecting different numbers of columns take element-wise activations only.
    """

    type = "selective_fc"
    accepts_sparse = True   # the select input; the inputs proper must be dense (checked)

    def __init__(self, input, size, select=None, act=None, name=None, pass_generation=False,
                 has_selected_colums=True, mul_ratio=0.02, param_attr=None, bias_attr=None,
                 layer_attr=None):
        name = name or default_name("selective_fc_layer")
        inputs = as_layer_list(input, name)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"layer {name}: size={size!r} must be a positive integer")
        for parent in inputs:
            check_dense(parent, name, self.type)
            if parent.sparse_output:
                raise ValueError(f"layer {name} (selective_fc): input {parent.name} gives sparse "
                                 "rows; only select may be sparse (feed the input through fc)")
        if select is not None:
            if not isinstance(select, Layer) or not select.sparse_output:
                raise ValueError(f"layer {name} (selective_fc): select must be a sparse_binary_"
                                 f"vector({size}) data layer (the selected columns), got "
                                 f"{select!r}")
            if not has_selected_colums:
                raise ValueError(f"layer {name}: has_selected_colums=False says there is no "
                                 f"select input, but select={select.name} was given")
            if isinstance(act, SequenceSoftmax):
                raise ValueError(f"layer {name} (selective_fc): act=SequenceSoftmax normalises "
                                 "over timesteps, not over the selected columns; use Softmax")
            if select.size != size:
                raise ValueError(f"layer {name}: select {select.name} has size {select.size}; "
                                 f"expected the layer's size {size}")
        if not isinstance(mul_ratio, (int, float)) or isinstance(mul_ratio, bool) \
                or not 0 <= mul_ratio <= 1:
            raise ValueError(f"layer {name}: mul_ratio={mul_ratio!r} must be a number in [0, 1]")
        attrs = param_attr if isinstance(param_attr, (list, tuple)) else [param_attr] * len(inputs)
        if len(attrs) != len(inputs):
            raise ValueError(f"layer {name}: {len(attrs)} param_attr for {len(inputs)} inputs")
        attrs = [as_param_attr(attr, f"{name} param_attr") for attr in attrs]
        bias = None if bias_attr is False else as_param_attr(bias_attr, f"{name} bias_attr")
        parents = inputs + ([select] if select is not None else [])
        super().__init__(name, parents, size, act=Tanh() if act is None else act,
                         layer_attr=layer_attr)
        self.pass_generation, self.mul_ratio = bool(pass_generation), float(mul_ratio)
        self.has_selected_colums = select is not None
        self.weights = [self.add_param(f"w{k}", (size, parent.size), attr,
                                       default_std=1.0 / math.sqrt(size))
                        for k, (parent, attr) in enumerate(zip(inputs, attrs))]
        if bias is not None:
            self.bias = self.add_param("wbias", (1, size), bias, is_bias=True)

    def compute(self, ctx, xs):
        """As :meth:`Layer.compute`, except that :meth:`forward` applies the activation
        itself (to the selected entries only)."""
        layout = same_layout([x.seq for x in xs], f"layer {self.name}")
        y = with_layout(self.forward(ctx, xs), layout)
        if self.layer_attr.drop_rate:
            y = with_layout(dropout(y, self.layer_attr.drop_rate, ctx.is_train, ctx.rng), layout)
        return y

    def forward(self, ctx, xs):
        count = len(self.weights)
        inputs = [rows(x, self, f"input {p.name}") for x, p in zip(xs[:count], self.inputs)]
        if not self.has_selected_colums:
            z = None
            for x, spec in zip(inputs, self.weights):
                term = matmul(x, transpose(ctx.param(spec)))
                z = term if z is None else add(z, term)
            # the input's layout before the activation: SequenceSoftmax reads it
            return self._activate(with_layout(self.plus_bias(ctx, z), xs[0].seq))
        select = xs[count].data
        num_rows = inputs[0].shape[0]
        if len(select) != num_rows:
            raise ValueError(f"layer {self.name}: select {self.inputs[count].name} has "
                             f"{len(select)} rows for {num_rows} input rows")
        rows_of, cols = select.row_of_entries(), select.indices
        self._check_unique(rows_of, cols)
        values = None
        for x, spec in zip(inputs, self.weights):
            term = selected_products(x, ctx.param(spec), rows_of, cols)
            values = term if values is None else add(values, term)
        if self.bias is not None:
            values = add(values, entries_of(ctx.param(self.bias), np.zeros_like(cols), cols))
        values = reshape(self._activate(self._grouped(values, select)), (len(cols),))
        return entries_to_dense(values, rows_of, cols, (num_rows, self.size))

    def _grouped(self, values, select):
        """The ``(E,)`` selected values as ``(N, k)`` when every row selects k columns, so a
        row activation sees exactly its row; else one row of all E values."""
        counts = np.diff(select.indptr)
        if counts.size and (counts == counts[0]).all():
            return reshape(values, (len(counts), int(counts[0])))
        if getattr(self.act, "name", None) == "softmax":   # the others act entry by entry
            raise ValueError(f"layer {self.name} (selective_fc): activation {self.act.name} "
                             "normalises each row over its selected columns, which needs every "
                             f"row to select the same number of columns; got {counts.tolist()}")
        return reshape(values, (1, len(values.data)))

    def _activate(self, z):
        return z if self.act is None else self.act(z)

    def _check_unique(self, rows_of, cols):
        keys = rows_of * self.size + cols
        if np.unique(keys).size != keys.size:
            raise ValueError(f"layer {self.name} (selective_fc): select "
                             f"{self.inputs[len(self.weights)].name} names a column twice in "
                             "one row")


def selective_fc(input, size, select=None, act=None, name=None, pass_generation=False,
                 has_selected_colums=True, mul_ratio=0.02, param_attr=None, bias_attr=None,
                 layer_attr=None):
    """v2's ``paddle.layer.selective_fc`` (``selective_fc_layer``); ``act`` defaults to Tanh."""
    return SelectiveFcLayer(input, size, select, act, name, pass_generation,
                            has_selected_colums, mul_ratio, param_attr, bias_attr, layer_attr)
