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

from collections.abc import Callable
from typing import TYPE_CHECKING

from microgrowth import data, functional, losses, nn, ops, optim, rules

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


def _export(rule: Rule | None = None) -> None:
    """``microgrowth.sin``, ``microgrowth.log``, ...: every one-input rule (see `ops`), a rule
    declared later too. A plain module attribute, not a module ``__getattr__``: CPython does
    not specialize ``mg.log`` on a module that has one (a quarter of a microsecond per use)."""
    for name, function in ops.FUNCTIONS.items():
        globals().setdefault(name, function)  # never hides a name of the package (mg.grad)


_export()
rules._listeners.append(_export)

if TYPE_CHECKING:  # for type checkers only: the functions are made at import, from the table

    def __getattr__(name: str) -> Callable[[Operand], Value]: ...
