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

from microgrowth import data, losses, nn, optim
from microgrowth.engine import Value, constant, dot, topological_order
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
from microgrowth.trace import Trace, trace
from microgrowth.viz import draw, render, to_svg

__all__ = [
    "RULES",
    "Rule",
    "Trace",
    "Value",
    "abs",
    "constant",
    "cos",
    "data",
    "dot",
    "draw",
    "exp",
    "ln",
    "log",
    "losses",
    "neg",
    "nn",
    "optim",
    "relu",
    "render",
    "sigmoid",
    "sin",
    "softplus",
    "sqrt",
    "tan",
    "tanh",
    "to_svg",
    "topological_order",
    "trace",
]
__version__ = "0.1.0"
