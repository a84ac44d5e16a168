"""microgrowth: a scalar reverse-mode automatic differentiation engine for learning and teaching.

>>> from microgrowth import Value, log, sin
>>> x1, x2 = Value(2.0, label="x1"), Value(5.0, label="x2")
>>> y = log(x1) + x1 * x2 - sin(x2)
>>> y.backward()
>>> round(y.data, 4), x1.grad, round(x2.grad, 4)
(11.6521, 5.5, 1.7163)

Modules: engine (Value, backward, the reverse sweep), rules (the derivative-rule table) and
formula (its formulas), ops (the rules as functions: exp, log, sin, ...), functional (grad, vjp,
jacobian, hessian, ...), trace (the adjoint table), viz (graphs), expression and cli (the
command line), nn, losses, optim, data, train (the tiny MLP), compile (the adjoint table as a
program, compiled once and replayed on floats).
"""

from collections.abc import Callable as _Callable

from microgrowth import data, functional, losses, nn, ops, optim

# microgrowth.compile(f) is the function (reach the module with ``from microgrowth.compile import
# Program``); it stays out of __all__, so ``from microgrowth import *`` keeps the builtin compile.
from microgrowth.compile import compile as compile
from microgrowth.engine import (
    Constant,
    Operand,
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
    vjp,
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
    "ops",
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
    "vjp",
]
__version__ = "0.1.0"
globals().update(ops.FUNCTIONS)  # the rules declared so far; __getattr__ finds later ones


def __getattr__(name: str) -> _Callable[[Operand], Value]:
    """``microgrowth.sin``, ``microgrowth.log``, ...: every one-input rule (see `ops`)."""
    try:
        return ops.FUNCTIONS[name]
    except KeyError:
        raise AttributeError(f"module 'microgrowth' has no attribute {name!r}") from None
