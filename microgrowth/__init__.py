"""microgrowth: a scalar reverse-mode automatic differentiation engine for learning and teaching.

>>> from microgrowth import Value, log, sin
>>> x1, x2 = Value(2.0, label="x1"), Value(5.0, label="x2")
>>> y = log(x1) + x1 * x2 - sin(x2)
>>> y.backward()
>>> round(y.data, 4), x1.grad, round(x2.grad, 4)
(11.6521, 5.5, 1.7163)
"""

from microgrowth.engine import Value, constant, dot, topological_order
from microgrowth.functions import abs, cos, exp, ln, log, neg, relu, sigmoid, sin, sqrt, tan, tanh
from microgrowth.rules import RULES, Rule

__all__ = [
    "RULES",
    "Rule",
    "Value",
    "abs",
    "constant",
    "cos",
    "dot",
    "exp",
    "ln",
    "log",
    "neg",
    "relu",
    "sigmoid",
    "sin",
    "sqrt",
    "tan",
    "tanh",
    "topological_order",
]
__version__ = "0.1.0"
