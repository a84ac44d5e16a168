"""The derivative-rule table: every primitive operation of microgrowth in one place.

Each `Rule` says how to compute an operation (``forward``), its local partial derivatives
(``partials``: one number per input, reusing the output where the derivative allows), and how to
write it down: plain text for tables and graphs, LaTeX for papers. The engine, the tests, the
adjoint table and the graph renderer all read this table, so adding an operation is one entry here
(plus, if you want ``x.op()`` syntax, a one-line method on `Value`).

Formula templates use ``#0``, ``#1`` for the inputs and ``#y`` for the output; the trace fills
them with names such as ``v_{-1}``. Angles are in radians. The layout follows HIPS/autograd's
``defvjp`` table and PyTorch's ``derivatives.yaml``; the notation follows Baydin et al. (2018),
"Automatic differentiation in machine learning: a survey", arXiv:1502.05767.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

Interval = tuple[float, float]
Template = str | Callable[[Sequence[str], str], str]  # "#0 * #1", or (args, output) -> text
PartialTemplate = str | Callable[[int, Sequence[str], str], str]  # or (i, args, output) -> text


@dataclass(frozen=True, slots=True)
class Rule:
    """One primitive: value, local partials and how to write it."""

    name: str  # what users call it: "mul", "log"
    symbol: str  # the operation node in a graph: "*", "ln"
    forward: Callable[..., float]  # (*inputs) -> output
    partials: Callable[..., tuple[float, ...]]  # (*inputs, output) -> d output / d input_i
    text: Template  # "#0 * #1"
    partial_text: tuple[PartialTemplate, ...]  # one per input: ("#1", "#0"); variadic: one
    latex: Template
    partial_latex: tuple[PartialTemplate, ...]
    domain: tuple[Interval, ...]  # where each input is sampled by the tests
    domain_text: str = ""  # said in the error when an input is out of the domain
    kinks: tuple[float, ...] = ()  # points where the derivative jumps (relu, abs at 0)
    variadic: bool = False  # any number of inputs (dot): the templates are functions

    @property
    def arity(self) -> int:
        """The number of inputs; -1 for a variadic rule."""
        return -1 if self.variadic else len(self.partial_text)


# --- helpers --------------------------------------------------------------------------------
# The partials receive floats, or Values when backward(create_graph=True) builds the gradient as
# a graph of its own (so it can be differentiated again). Arithmetic works on both; functions of
# the math module go through these helpers, and steps (relu, abs) are constants either way.

Num = Any  # a float, or a Value


def _number(x: Num) -> float:
    return x if isinstance(x, float) else float(x.data)


def _cos(x: Num) -> Num:
    return math.cos(x) if isinstance(x, float) else x.cos()


def _sin(x: Num) -> Num:
    return math.sin(x) if isinstance(x, float) else x.sin()


def _ln(x: Num) -> Num:
    return math.log(x) if isinstance(x, float) else x.log()


def _sigmoid_of(x: Num) -> Num:
    return _sigmoid(x) if isinstance(x, float) else x.sigmoid()


def _pow(x: float, n: float) -> float:
    if x < 0 and not float(n).is_integer():
        raise ValueError("negative base with a non-integer exponent")
    return float(x**n)


def _pow_partials(x: Num, y: Num, out: Num) -> tuple[Num, Num]:
    if _number(x) > 0:
        d_y = out * _ln(x)
    elif _number(x) == 0 and _number(y) > 0:
        d_y = 0.0  # x**y is flat in y at x = 0 (limit of x**y * ln x)
    else:
        raise ValueError(
            f"pow: d(x**y)/dy = x**y * ln(x) is undefined for x={_number(x)!r}; "
            "use a number (not a Value) as the exponent, or a positive base"
        )
    return (y * x ** (y - 1), d_y)


def _powc_partials(x: Num, n: Num, out: Num) -> tuple[Num, float]:
    # The exponent is a constant: only the base gets a derivative.
    return (n * x ** (n - 1), 0.0)


def _sigmoid(x: float) -> float:
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)  # avoids overflow of exp(-x) for very negative x
    return e / (1.0 + e)


def _softplus(x: float) -> float:
    return max(x, 0.0) + math.log1p(math.exp(-abs(x)))  # ln(1 + e^x) without overflow


def _sqrt_partials(x: Num, out: Num) -> tuple[Num]:
    if _number(out) == 0.0:
        raise ZeroDivisionError("sqrt: the derivative 1/(2*sqrt(x)) is infinite at x=0.0")
    return (0.5 / out,)


def _sign(x: float) -> float:
    return 1.0 if x > 0 else -1.0 if x < 0 else 0.0


ANY: Interval = (-5.0, 5.0)
POSITIVE: Interval = (0.1, 5.0)

ADD = Rule(
    "add", "+", operator.add, lambda a, b, y: (1.0, 1.0),
    "#0 + #1", ("1", "1"), "#0 + #1", ("1", "1"), (ANY, ANY),
)  # fmt: skip
SUB = Rule(
    "sub", "-", operator.sub, lambda a, b, y: (1.0, -1.0),
    "#0 - #1", ("1", "(-1)"), "#0 - #1", ("1", "(-1)"), (ANY, ANY),
)  # fmt: skip
MUL = Rule(
    "mul", "*", operator.mul, lambda a, b, y: (b, a),
    "#0 * #1", ("#1", "#0"), "#0 \\times #1", ("#1", "#0"), (ANY, ANY),
)  # fmt: skip
DIV = Rule(
    "div", "/", operator.truediv, lambda a, b, y: (1.0 / b, -y / b),
    "#0 / #1", ("1/#1", "-#0/#1^2"), "\\frac{#0}{#1}", ("\\frac{1}{#1}", "-\\frac{#0}{#1^2}"),
    (ANY, POSITIVE), "the divisor must not be zero",
)  # fmt: skip
POW = Rule(
    "pow", "**", _pow, _pow_partials,
    "#0 ** #1", ("#1 * #0^(#1-1)", "#0^#1 * ln(#0)"),
    "{#0}^{#1}", ("#1 \\, {#0}^{#1 - 1}", "{#0}^{#1} \\ln #0"),
    (POSITIVE, (-3.0, 3.0)), "the base must be positive unless the exponent is an integer",
)  # fmt: skip
POWC = Rule(  # x ** n with a plain-number exponent n: n is a constant, not differentiated
    "powc", "**", _pow, _powc_partials,
    "#0 ** #1", ("#1 * #0^(#1-1)", "0"),
    "{#0}^{#1}", ("#1 \\, {#0}^{#1 - 1}", "0"),
    (POSITIVE, (-3.0, 3.0)), "the base must be positive unless the exponent is an integer",
)  # fmt: skip
NEG = Rule(
    "neg", "neg", operator.neg, lambda a, y: (-1.0,),
    "-#0", ("(-1)",), "-#0", ("(-1)",), (ANY,),
)  # fmt: skip
EXP = Rule(
    "exp", "exp", math.exp, lambda a, y: (y,),
    "exp(#0)", ("exp(#0)",), "e^{#0}", ("e^{#0}",), (ANY,),
    "the result must fit in a float (input below about 709.78)",
)  # fmt: skip
LOG = Rule(
    "log", "ln", math.log, lambda a, y: (1.0 / a,),
    "ln(#0)", ("1/#0",), "\\ln #0", ("\\frac{1}{#0}",), (POSITIVE,), "the input must be positive",
)  # fmt: skip
SIN = Rule(
    "sin", "sin", math.sin, lambda a, y: (_cos(a),),
    "sin(#0)", ("cos(#0)",), "\\sin #0", ("\\cos #0",), (ANY,),
)  # fmt: skip
COS = Rule(
    "cos", "cos", math.cos, lambda a, y: (-_sin(a),),
    "cos(#0)", ("-sin(#0)",), "\\cos #0", ("-\\sin #0",), (ANY,),
)  # fmt: skip
TAN = Rule(
    "tan", "tan", math.tan, lambda a, y: (1.0 + y * y,),
    "tan(#0)", ("1 + #y^2",), "\\tan #0", ("1 + #y^2",), ((-1.4, 1.4),),
)  # fmt: skip
TANH = Rule(
    "tanh", "tanh", math.tanh, lambda a, y: (1.0 - y * y,),
    "tanh(#0)", ("1 - #y^2",), "\\tanh #0", ("1 - #y^2",), (ANY,),
)  # fmt: skip
SIGMOID = Rule(
    "sigmoid", "σ", _sigmoid, lambda a, y: (y * (1.0 - y),),
    "sigmoid(#0)", ("#y * (1 - #y)",), "\\sigma(#0)", ("#y (1 - #y)",), (ANY,),
)  # fmt: skip
SOFTPLUS = Rule(
    "softplus", "softplus", _softplus, lambda a, y: (_sigmoid_of(a),),
    "softplus(#0)", ("sigmoid(#0)",), "\\ln(1 + e^{#0})", ("\\sigma(#0)",), (ANY,),
)  # fmt: skip
RELU = Rule(
    "relu", "ReLU", lambda a: a if a > 0 else 0.0, lambda a, y: (1.0 if _number(a) > 0 else 0.0,),
    "relu(#0)", ("[#0 > 0]",), "\\max(0, #0)", ("[#0 > 0]",), (ANY,), kinks=(0.0,),
)  # fmt: skip
SQRT = Rule(
    "sqrt", "sqrt", math.sqrt, _sqrt_partials,
    "sqrt(#0)", ("1/(2*#y)",), "\\sqrt{#0}", ("\\frac{1}{2 #y}",), (POSITIVE,),
    "the input must not be negative",
)  # fmt: skip
ABS = Rule(
    "abs", "abs", abs, lambda a, y: (_sign(_number(a)),),
    "|#0|", ("sign(#0)",), "\\lvert #0 \\rvert", ("\\operatorname{sign} #0",), (ANY,),
    kinks=(0.0,),
)  # fmt: skip


def _dot(*wx: float) -> float:
    n = len(wx) // 2
    return float(sum(map(operator.mul, wx[:n], wx[n:])))


def _dot_partials(*wx_y: float) -> tuple[float, ...]:
    n = (len(wx_y) - 1) // 2  # d/dw_i = x_i, d/dx_i = w_i
    return wx_y[n : 2 * n] + wx_y[:n]


def _dot_text(times: str) -> Callable[[Sequence[str], str], str]:
    def text(args: Sequence[str], output: str) -> str:
        n = len(args) // 2
        return " + ".join(f"{w}{times}{x}" for w, x in zip(args[:n], args[n:]))

    return text


def _dot_partial(i: int, args: Sequence[str], output: str) -> str:
    n = len(args) // 2
    return args[i + n] if i < n else args[i - n]  # the other factor of the product


DOT = Rule(  # w_1 x_1 + ... + w_n x_n: inputs w_1..w_n then x_1..x_n
    "dot", "·", _dot, _dot_partials, _dot_text(" * "), (_dot_partial,),
    _dot_text(" "), (_dot_partial,), (ANY,), variadic=True,
)  # fmt: skip


RULES: dict[str, Rule] = {
    r.name: r
    for r in (
        *(ADD, SUB, MUL, DIV, POW, POWC, NEG),
        *(EXP, LOG, SIN, COS, TAN, TANH, SIGMOID, SOFTPLUS, RELU, SQRT, ABS, DOT),
    )
}
"""Every primitive by name. The tests loop over this table."""

UNARY: tuple[Rule, ...] = tuple(r for r in RULES.values() if r.arity == 1)
