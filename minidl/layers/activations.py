"""``paddle.activation``: activation objects passed as ``act=`` to layers.

Each names its kernels ``act_<kernel_name>`` (forward) and ``act_<kernel_name>_grad``
(backward) in the backend registry; ``name`` is Paddle's own type string.
"""

from .choice import Choice
from ..functions.activation import activate


class BaseActivation(Choice):
    name = None          # Paddle's activation type string
    kernel_name = None   # registry op suffix

    def __call__(self, x):
        """Apply to a Tensor (the layer's pre-activation output)."""
        return activate(self.kernel_name, x)


def _activation(class_name, paddle_name, kernel_name, doc):
    return type(class_name, (BaseActivation,),
                {"name": paddle_name, "kernel_name": kernel_name, "__doc__": doc})


Tanh = _activation("Tanh", "tanh", "tanh", "tanh(x)")
Sigmoid = _activation("Sigmoid", "sigmoid", "sigmoid", "1 / (1 + exp(-x))")
Softmax = _activation("Softmax", "softmax", "softmax", "exp(x_i) / sum_j exp(x_j), per sample")
Identity = _activation("Identity", "", "linear", "x")
Linear = Identity
Relu = _activation("Relu", "relu", "relu", "max(x, 0)")
BRelu = _activation("BRelu", "brelu", "brelu", "min(max(x, 0), 24) (Paddle's bounded relu)")
SoftRelu = _activation("SoftRelu", "softrelu", "softrelu",
                       "ln(1 + exp(x)), with x clipped to [-40, 40] as Paddle does")
STanh = _activation("STanh", "stanh", "stanh", "1.7159 * tanh(2/3 * x) (scaled tanh)")
Abs = _activation("Abs", "abs", "abs", "|x|")
Square = _activation("Square", "square", "square", "x^2")
Exp = _activation("Exp", "exponential", "exponential", "exp(x)")
Log = _activation("Log", "log", "log", "ln(x)")


class SequenceSoftmax(BaseActivation):
    """Softmax over the timesteps of each sequence: ``exp(x_t) / sum_s exp(x_s)`` within a
    sequence, for a layer of size 1 (attention weights, as ``simple_attention`` uses)."""

    name = "sequence_softmax"

    def __call__(self, x):
        from ..functions.sequence_softmax import sequence_softmax
        if x.seq is None:
            raise ValueError("SequenceSoftmax normalises over the timesteps of a sequence; "
                             "its layer's input is not a sequence")
        if x.data.ndim != 2 or x.data.shape[1] != 1:
            raise ValueError(f"SequenceSoftmax needs a layer of size 1 (one score per "
                             f"timestep), got rows of {x.data.shape[1:]}")
        return sequence_softmax(x, x.seq.starts)


# trainer_config_helpers spellings, used by older scripts
TanhActivation, SigmoidActivation, SoftmaxActivation = Tanh, Sigmoid, Softmax
IdentityActivation, LinearActivation, ReluActivation = Identity, Linear, Relu
BReluActivation, SoftReluActivation, STanhActivation = BRelu, SoftRelu, STanh
AbsActivation, SquareActivation, ExpActivation, LogActivation = Abs, Square, Exp, Log

ALL = (Tanh, Sigmoid, Softmax, Identity, Relu, BRelu, SoftRelu, STanh, Abs, Square, Exp, Log)

__all__ = ["ALL", "BaseActivation", "Tanh", "Sigmoid", "Softmax", "Identity", "Linear", "Relu",
           "BRelu", "SoftRelu", "STanh", "Abs", "Square", "Exp", "Log", "SequenceSoftmax",
           "TanhActivation", "SigmoidActivation", "SoftmaxActivation", "IdentityActivation",
           "LinearActivation", "ReluActivation", "BReluActivation", "SoftReluActivation",
           "STanhActivation", "AbsActivation", "SquareActivation", "ExpActivation",
           "LogActivation"]
