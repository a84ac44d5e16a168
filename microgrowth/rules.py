"""The derivative-rule table: every primitive operation of microgrowth, declared in one place.

Each rule gives its forward function and, per input, its local partial derivative written once as a
small Python formula over the inputs ``a``, ``b`` and the output ``y`` (see `microgrowth.formula`):

    rule("mul", operator.mul, partials=("b", "a"), text="a * b", symbol="*")
    rule("tanh", math.tanh, partials=("1 - y * y",), text="tanh(a)")

From that one declaration come the function `backward()` calls, the formulas of the adjoint table
(text and LaTeX), the operation's label in graphs, the lines of compiled code, a ``Value`` method
and a ``microgrowth.<name>`` function (for one-input rules), and the tests, which loop over
`RULES`. A partial of ``None`` marks an input that is not differentiated (the exponent of
``x ** 2``). Formulas reuse the output where the derivative allows (exp, tanh, sigmoid), as
PyTorch's ``derivatives.yaml`` does; the layout follows HIPS/autograd's ``defvjp`` table and the
notation Baydin et al. (2018), "Automatic differentiation in machine learning: a survey",
arXiv:1502.05767. Angles are in radians.
"""

from __future__ import annotations

import math
import operator
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field

from microgrowth import formula

Interval = tuple[float, float]
ANY: Interval = (-5.0, 5.0)
POWER_DOMAIN = "a negative base needs a whole exponent, and 0 a positive one"
POSITIVE: Interval = (0.1, 5.0)


@dataclass(frozen=True, slots=True)
class Rule:
    """One primitive operation: how to compute it, its local partials, and how to write it."""

    name: str  # what users call it: "mul", "log"
    forward: Callable[..., float]  # (*inputs) -> output, on floats
    partials: tuple[str | None, ...]  # per input: d output / d input, a formula over a, b, y
    text: str  # the operation as a formula over its inputs: "a * b", "log(a)"
    symbol: str  # its label in graphs: "*", "ln"
    domain: tuple[Interval, ...]  # where the tests sample each input
    domain_text: str = ""  # said in the error when an input is outside the domain
    kinks: tuple[float, ...] = ()  # points where the derivative jumps (relu and abs at 0)
    variadic: bool = False  # dot: inputs w[0..n-1] then x[0..n-1]; formulas use w[i], x[i]
    local_partials: Callable[..., tuple[formula.Num, ...]] = field(
        default=tuple, repr=False, compare=False
    )  # (*inputs, output) -> the partials: compiled from the formulas by `rule`
    constant_partials: tuple[float, ...] | None = field(default=None, repr=False, compare=False)
    # the partials when every one is a number (add: 1, 1): the float sweep skips the call

    @property
    def arity(self) -> int:
        """The number of inputs; -1 for a variadic rule."""
        return -1 if self.variadic else len(self.partials)

    @property
    def variables(self) -> tuple[str, ...]:
        """The names the formulas use for the inputs: ("a",), ("a", "b"); ("w", "x") for dot."""
        return ("w", "x") if self.variadic else ("a", "b")[: len(self.partials)]

    def __reduce__(self) -> tuple[Callable[[str], Rule], tuple[str]]:
        """A rule pickles by name (its partials are compiled functions that do not pickle):
        graphs pickle, and unpickling finds the one rule of the table under that name."""
        return _rule_named, (self.name,)

    def differentiable(self, i: int) -> bool:
        """False for an input the rule does not differentiate (the exponent of ``x ** 2``)."""
        return self.partials[i % len(self.partials) if self.variadic else i] is not None


RULES: dict[str, Rule] = {}
"""Every rule by name, in the order declared. The tests loop over this table."""


def _rule_named(name: str) -> Rule:
    try:
        return RULES[name]
    except KeyError:
        raise pickle.UnpicklingError(
            f"the pickled graph uses the rule {name!r}, which is not declared in this process; "
            "declare it (rules.rule(...)) before unpickling"
        ) from None


_listeners: list[Callable[[Rule], None]] = []  # the engine adds methods to Value from here


def rule(
    name: str,
    forward: Callable[..., float],
    *,
    partials: tuple[str | None, ...],
    text: str,
    symbol: str = "",
    domain: tuple[Interval, ...] = (),
    domain_text: str = "",
    kinks: tuple[float, ...] = (),
    variadic: bool = False,
    local_partials: Callable[..., tuple[formula.Num, ...]] | None = None,
) -> Rule:
    """Declare a rule and register it in `RULES` (and as a method and function of microgrowth).

    ``local_partials`` may be given by hand where evaluating the formulas would be slow (dot, with
    any number of inputs); the tests check that it agrees with the formulas.
    """
    if name in RULES:
        raise ValueError(f"rule {name!r} is already declared")
    variables = ("w", "x") if variadic else ("a", "b")[: len(partials)]
    if local_partials is None:
        local_partials = formula.compile_partials(variables, partials)
    new = Rule(
        name, forward, tuple(partials), text, symbol or name,
        domain or (ANY,) * len(partials), domain_text, kinks, variadic, local_partials,
        _constants(partials) if not variadic else None,
    )  # fmt: skip
    for p in (text, *partials):
        if p is not None:
            formula.parse(p)
    RULES[name] = new
    for listener in _listeners:
        listener(new)
    return new


def _constants(partials: tuple[str | None, ...]) -> tuple[float, ...] | None:
    values = [formula.constant(p) for p in partials]
    return None if None in values else tuple(v for v in values if v is not None)


# --- forward functions that the math module does not have ---------------------------------------


def power(a: float, b: float) -> float:
    """``a ** b`` on floats, refusing the complex results Python would give."""
    if a < 0 and not float(b).is_integer():
        raise ValueError("negative base with a non-integer exponent")
    return float(a**b)


def softplus(a: float) -> float:
    """ln(1 + e^a) without overflow."""
    return max(a, 0.0) + math.log1p(math.exp(-abs(a)))


def relu(a: float) -> float:
    return a if a > 0 else 0.0


def dot(*wx: float) -> float:
    """w[0] x[0] + ... + w[n-1] x[n-1], for inputs w[0..n-1] then x[0..n-1]."""
    n = len(wx) // 2
    return float(sum(map(operator.mul, wx[:n], wx[n:])))


def dot_partials(*wx_y: float) -> tuple[float, ...]:
    """d/dw[i] = x[i] and d/dx[i] = w[i]: the formulas ("x[i]", "w[i]") without a loop in Python."""
    n = (len(wx_y) - 1) // 2
    return wx_y[n : 2 * n] + wx_y[:n]


# --- the table ----------------------------------------------------------------------------------

ADD = rule("add", operator.add, partials=("1", "1"), text="a + b", symbol="+")
SUB = rule("sub", operator.sub, partials=("1", "-1"), text="a - b", symbol="-")
MUL = rule("mul", operator.mul, partials=("b", "a"), text="a * b", symbol="*")
DIV = rule(
    "div", operator.truediv, partials=("1 / b", "-y / b"), text="a / b", symbol="/",
    domain=(ANY, POSITIVE), domain_text="the divisor must not be zero",
)  # fmt: skip
POW = rule(  # a ** b with both a and b differentiated; at a = 0 (b > 0) the b-partial's limit is 0
    "pow", power, partials=("b * a ** (b - 1)", "y * log(a) if y else 0.0"), text="a ** b",
    symbol="**", domain=(POSITIVE, (-3.0, 3.0)),
    domain_text=POWER_DOMAIN,
)  # fmt: skip
POWC = rule(  # a ** n with a plain-number exponent (micrograd's x**2): n is not differentiated
    "powc", power, partials=("b * a ** (b - 1) if b else 0.0", None), text="a ** b", symbol="**",
    domain=(POSITIVE, (-3.0, 3.0)),
    domain_text=POWER_DOMAIN,
)  # fmt: skip
NEG = rule("neg", operator.neg, partials=("-1",), text="-a", symbol="neg")
POS = rule(  # a new node equal to its input: how a transform inside another marks its input
    "pos", operator.pos, partials=("1",), text="+a", symbol="+"
)
EXP = rule(
    "exp", math.exp, partials=("y",), text="exp(a)",
    domain_text="the result must fit in a float (input below about 709.78)",
)  # fmt: skip
LOG = rule(
    "log", math.log, partials=("1 / a",), text="log(a)", symbol="ln", domain=(POSITIVE,),
    domain_text="the input must be positive",
)  # fmt: skip
SIN = rule("sin", math.sin, partials=("cos(a)",), text="sin(a)")
COS = rule("cos", math.cos, partials=("-sin(a)",), text="cos(a)")
TAN = rule("tan", math.tan, partials=("1 + y * y",), text="tan(a)", domain=((-1.4, 1.4),))
TANH = rule("tanh", math.tanh, partials=("1 - y * y",), text="tanh(a)")
SIGMOID = rule(
    "sigmoid", formula.sigmoid_of_float, partials=("y * (1 - y)",), text="sigmoid(a)", symbol="σ"
)
SOFTPLUS = rule("softplus", softplus, partials=("sigmoid(a)",), text="softplus(a)")
RELU = rule("relu", relu, partials=("(a > 0)",), text="relu(a)", symbol="ReLU", kinks=(0.0,))
SQRT = rule(
    "sqrt", math.sqrt, partials=("0.5 / y",), text="sqrt(a)", domain=(POSITIVE,),
    domain_text="the input must not be negative",
)  # fmt: skip
ABS = rule("abs", abs, partials=("sign(a)",), text="abs(a)", kinks=(0.0,))
DOT = rule(  # one node per neuron: w[0] x[0] + ... + w[n-1] x[n-1]
    "dot", dot, partials=("x[i]", "w[i]"), text="w[i] * x[i]", symbol="Σw·x", variadic=True,
    local_partials=dot_partials,
)  # fmt: skip

UNARY: tuple[Rule, ...] = tuple(r for r in RULES.values() if r.arity == 1)
"""The one-input rules of the table as declared here (what the command line offers)."""
