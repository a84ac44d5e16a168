"""microgrowth: a scalar reverse-mode automatic differentiation engine for learning and teaching.

>>> from microgrowth import Value, log, sin
>>> x1, x2 = Value(2.0, label="x1"), Value(5.0, label="x2")
>>> y = log(x1) + x1 * x2 - sin(x2)
>>> y.backward()
>>> round(y.data, 4), x1.grad, round(x2.grad, 4)
(11.6521, 5.5, 1.7163)

Modules: engine (Value, backward), rules (the derivative-rule table), functions, trace (the
adjoint table), viz (graphs), expression and cli (the command line), nn, losses, optim, data,
train (the tiny MLP).
"""

from microgrowth import data, functional, losses, nn, optim
from microgrowth.engine import (
    Constant,
    Value,
    constant,
    dot,
    is_grad_enabled,
    no_grad,
    topological_order,
)
from microgrowth.functional import (
    grad,
    gradcheck,
    hessian,
    jacfwd,
    jacobian,
    jvp,
    value_and_grad,
)
from microgrowth.functions import (
    abs,
    cos,
    exp,
    ln,
    log,
    neg,
    relu,
    sigmoid,
    sin,
    softplus,
    sqrt,
    tan,
    tanh,
)
from microgrowth.rules import RULES, Rule
from microgrowth.trace import TangentTrace, Trace, tangent_trace, trace
from microgrowth.viz import draw, render, to_svg

__all__ = [
    "RULES",
    "Constant",
    "Rule",
    "TangentTrace",
    "Trace",
    "Value",
    "abs",
    "constant",
    "cos",
    "data",
    "dot",
    "draw",
    "exp",
    "functional",
    "grad",
    "gradcheck",
    "hessian",
    "is_grad_enabled",
    "jacfwd",
    "jacobian",
    "jvp",
    "ln",
    "log",
    "losses",
    "neg",
    "nn",
    "no_grad",
    "optim",
    "relu",
    "render",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "tan",
    "tangent_trace",
    "tanh",
    "to_svg",
    "topological_order",
    "trace",
    "value_and_grad",
]
__version__ = "0.1.0"
