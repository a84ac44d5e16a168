"""A symbolic oracle: random expressions over every rule of the table, differentiated by SymPy.

Each expression is built twice from one random tree: as a SymPy expression and as a microgrowth
function. SymPy's derivatives, evaluated at the point with 30 significant digits, are the exact
answers for microgrowth's value, gradient (reverse mode), Hessian, nested ``grad(grad(...))``,
``jvp`` (forward mode) and the adjoint table's input adjoints (`microgrowth.trace`).

The SymPy side of a rule is read from the rule's own ``text`` ("a * b", "log(a)", "w[i] * x[i]"),
evaluated with SymPy's functions (`SYMPY`): a new rule is covered without a line here, or, if its
text calls a function SymPy is not told about, `test_every_rule_has_a_sympy_counterpart` says
which. Inputs are squashed into each rule's domain (as tests/test_engine.py's ``expressions``
does), points near a kink (relu, abs at 0) are skipped, an input the rule does not differentiate
(powc's exponent) is a plain number, and dot gets one to three pairs.

SymPy is a development dependency only (the dev extra of pyproject.toml).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import mpmath
import pytest
import sympy as sp
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import microgrowth as mg
from microgrowth import RULES, Rule, Value
from microgrowth.engine import apply, topological_order

DIGITS = 30  # SymPy's evaluation precision: far beyond a float's 16 digits
# A wrong rule is off by order 1. Floats are off by more than a few ulps where the problem is
# ill-conditioned: sigmoid's partial y * (1 - y) (the output reused, as PyTorch does) loses
# digits to the cancellation in 1 - y when the sigmoid saturates, e.g. 1.3e-9 relative in the
# Hessian of tan(squash(powc(squash(x0), 3))) at 0. RTOL leaves room for that, and `_error`
# turns the relative error into an absolute one for results near 0.
RTOL = 1e-6
CI = bool(os.environ.get("CI"))

a_sym = sp.Symbol("a", real=True)
SYMPY: dict[str, Callable[..., Any]] = {
    "exp": sp.exp,
    "log": sp.log,
    "sin": sp.sin,
    "cos": sp.cos,
    "tan": sp.tan,
    "tanh": sp.tanh,
    "sqrt": sp.sqrt,
    "sigmoid": lambda a: 1 / (1 + sp.exp(-a)),
    "softplus": lambda a: sp.log(1 + sp.exp(a)),
    "relu": lambda a: sp.Piecewise((a, a > 0), (0, True)),
    "abs": sp.Abs,
    "sign": sp.sign,
}
"""What a rule's text may call, as SymPy functions."""


def sympy_of(rule: Rule, args: list[Any]) -> Any:
    """The rule applied to SymPy expressions, read from its text: ``a * b`` with a, b = args."""
    names: dict[str, Any] = {"__builtins__": {}, **SYMPY}
    code = compile(rule.text, f"<rule {rule.name}>", "eval")
    if rule.variadic:  # w[0..n-1] then x[0..n-1]: the text is one term, summed over i
        n = len(args) // 2
        ws, xs = args[:n], args[n:]
        return sp.Add(*(eval(code, {**names, "w": ws, "x": xs, "i": i}) for i in range(n)))
    return eval(code, {**names, **dict(zip(rule.variables, args, strict=True))})


def test_every_rule_has_a_sympy_counterpart() -> None:
    for rule in RULES.values():
        n = 4 if rule.variadic else rule.arity
        args = list(sp.symbols(f"s0:{n}", positive=True))
        try:
            expr = sympy_of(rule, args)
        except NameError as error:
            pytest.fail(f"rule {rule.name!r}: add a SymPy counterpart to SYMPY ({error})")
        point = [0.3 + 0.2 * k for k in range(n)]
        exact = float(expr.subs(dict(zip(args, point))).evalf(DIGITS))
        assert apply(rule, *point).data == pytest.approx(exact, rel=1e-14), rule.name


# --- random expressions, built twice --------------------------------------------------------------

N_INPUTS = 3
X = sp.symbols(f"x0:{N_INPUTS}", real=True)
LEAF_RANGE = (-3.0, 3.0)  # where the inputs are drawn
Build = Callable[[list[Value]], Value]


@dataclass
class Expression:
    sym: Any  # the SymPy expression over X
    build: Build  # the same expression on microgrowth Values
    text: str  # for the failure message
    rules: set[str] = field(default_factory=set)


def _squash(e: Expression, lo: float, hi: float) -> Expression:
    """Map the expression into (lo, hi) with a sigmoid, on both sides; a leaf that already lies
    in the interval stays as it is."""
    if e.text.startswith("x") and lo <= LEAF_RANGE[0] and LEAF_RANGE[1] <= hi:
        return e
    build = e.build
    lo_r, hi_r = sp.Rational(lo), sp.Rational(hi)
    return Expression(
        lo_r + (hi_r - lo_r) / (1 + sp.exp(-e.sym)),
        lambda xs: lo + (hi - lo) * build(xs).sigmoid(),
        f"squash({e.text}, {lo}, {hi})",
        e.rules,
    )


def _leaf(i: int) -> Expression:
    return Expression(X[i], lambda xs: xs[i], f"x{i}")


RULE_LIST = list(RULES.values())  # every rule of the table, including ones declared later


def _numbers_in(lo: float, hi: float) -> st.SearchStrategy[float]:
    whole = st.integers(math.ceil(lo), math.floor(hi)).map(float)
    return st.one_of(whole, st.floats(lo, hi).map(lambda b: round(b, 3)))


@st.composite
def expressions(draw: st.DrawFn, depth: int = 3) -> Expression:
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        return _leaf(draw(st.integers(0, N_INPUTS - 1)))
    rule = draw(st.sampled_from(RULE_LIST))
    if rule.variadic:
        n = draw(st.integers(1, 3))
        intervals = [rule.domain[0]] * n + [rule.domain[-1]] * n
    else:
        intervals = list(rule.domain)
    subs: list[Expression | float] = []
    for i, (lo, hi) in enumerate(intervals):
        if not rule.differentiable(i):  # a plain number (powc's exponent): whole ones too
            subs.append(float(draw(_numbers_in(lo, hi))))
        else:
            subs.append(_squash(draw(expressions(depth - 1)), lo, hi))
    used = {rule.name}.union(*(s.rules for s in subs if isinstance(s, Expression)))

    def build(xs: list[Value]) -> Value:
        return apply(rule, *(s.build(xs) if isinstance(s, Expression) else s for s in subs))

    syms = [s.sym if isinstance(s, Expression) else sp.Rational(s) for s in subs]
    texts = [s.text if isinstance(s, Expression) else repr(s) for s in subs]
    return Expression(sympy_of(rule, syms), build, f"{rule.name}({', '.join(texts)})", used)


# --- comparing ------------------------------------------------------------------------------------


@dataclass
class Tally:
    expressions: int = 0
    numbers: int = 0  # values and derivatives compared
    max_error: float = 0.0
    worst: str = ""
    rules: set[str] = field(default_factory=set)


TALLY = Tally()


def _error(got: float, exact: Any) -> float:
    """|got - exact| relative to max(|exact|, 1e-3): relative for ordinary numbers, and for
    derivatives that are (almost) 0 an absolute error scaled to 1e-3, since the float result of
    a cancellation (1e-17 for an exact 0) has no relative error worth the name."""
    e = float(exact)
    return abs(got - e) / max(abs(e), 1e-3)


def _check(what: str, got: Any, exact: Any, expr: Expression, point: list[float]) -> None:
    assert not isinstance(got, Value), f"{what}: a Value where a number was expected"
    err = _error(float(got), exact)
    TALLY.numbers += 1
    if err > TALLY.max_error:
        TALLY.max_error, TALLY.worst = err, f"{what} of {expr.text} at {point}"
    assert err <= RTOL, (
        f"{what}: microgrowth {got!r}, SymPy {exact}, relative error {err:.3g}\n"
        f"  expression {expr.text}\n  point {point}"
    )


def _near_a_kink(y: Value) -> bool:
    """True if an input of relu or abs is within 1e-6 of its kink (the derivative jumps)."""
    for node in topological_order(y):
        rule = node.rule
        kinks = rule.kinks if rule is not None else ()
        if any(abs(p.data - k) < 1e-6 for p in node.parents for k in kinks):
            return True
    return False


def _no_deltas(expr: Any) -> Any:
    """The derivative away from kinks: DiracDelta (d/da sign(a)) is 0 there."""
    return expr.replace(sp.DiracDelta, lambda *args: sp.S.Zero)


def exact_values(exprs: list[Any], point: list[float]) -> list[Any]:
    """The expressions at the point, in 30 significant digits (mpmath numbers).

    `sympy.lambdify` with mpmath is much faster than evalf with subs on the larger derivatives;
    `test_the_fast_evaluation_agrees_with_evalf` checks that the two agree."""
    function = sp.lambdify(X, [_no_deltas(e) for e in exprs], modules="mpmath", cse=True)
    with mpmath.workdps(DIGITS):
        return list(function(*[mpmath.mpf(p) for p in point]))  # the floats exactly


@settings(max_examples=20, deadline=None)
@given(expressions(depth=2), st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=3))
def test_the_fast_evaluation_agrees_with_evalf(expr: Expression, point: list[float]) -> None:
    # A number such as 1.7e-124 puts abs's or relu's kink within 1e-124 of the point, where 30
    # digits cannot tell the sides apart (evalf raised on a Piecewise): not what is tested here.
    assume(all(v == 0.0 or abs(v) > 1e-9 for v in point))
    derivative = sp.diff(expr.sym, X[0])
    at = {x: sp.Rational(p) for x, p in zip(X, point)}
    fast = exact_values([expr.sym, derivative], point)
    for e, f in zip([expr.sym, derivative], fast):
        slow = _no_deltas(e).evalf(DIGITS, subs=at)
        assert abs(f - slow) <= 1e-25 * max(1, abs(slow)), (expr.text, point)


POINTS = st.lists(st.floats(*LEAF_RANGE), min_size=N_INPUTS, max_size=N_INPUTS)
TANGENTS = st.lists(st.floats(-2.0, 2.0), min_size=N_INPUTS, max_size=N_INPUTS)


def _oracle(ci: int, local: int) -> settings:
    """Examples per test: more on CI (the whole file about a minute of CPU), fewer locally."""
    return settings(
        max_examples=ci if CI else local,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


ORACLE_FIRST = _oracle(1000, 200)
ORACLE_SECOND = _oracle(300, 100)


def _function(expr: Expression) -> Callable[..., Value]:
    def fn(*xs: Value) -> Value:
        return expr.build(list(xs))

    return fn


@ORACLE_FIRST
@given(expressions(), POINTS, TANGENTS)
def test_value_gradient_jvp_and_adjoint_table_match_sympy(
    expr: Expression, point: list[float], tangent: list[float]
) -> None:
    xs = [Value(p, label=f"x{i}") for i, p in enumerate(point)]
    y = expr.build(xs)
    assume(not _near_a_kink(y))
    d1 = [sp.diff(expr.sym, x) for x in X]
    value_exact, *gradient = exact_values([expr.sym, *d1], point)
    _check("value", y.data, value_exact, expr, point)

    fn = _function(expr)
    value, grads = mg.value_and_grad(fn, argnums=(0, 1, 2))(*point)
    assert value == y.data
    for i in range(N_INPUTS):
        _check(f"d/dx{i}", grads[i], gradient[i], expr, point)

    _, along = mg.jvp(fn, point, tangent)  # forward mode
    exact_along = sum(g * mpmath.mpf(t) for g, t in zip(gradient, tangent))
    _check("jvp", along, exact_along, expr, point)

    table = mg.trace(y)  # the adjoint table's input adjoints
    for i, x in enumerate(xs):
        _check(f"trace gradient x{i}", table.gradients.get(f"x{i}", 0.0), gradient[i], expr, point)
        _check(f"trace adjoint x{i}", table.adjoints.get(x, 0.0), gradient[i], expr, point)

    y.backward()  # and backward() itself, into .grad
    for i, x in enumerate(xs):
        _check(f"x{i}.grad", x.grad, gradient[i], expr, point)
    TALLY.expressions += 1
    TALLY.rules |= expr.rules


@ORACLE_SECOND
@given(expressions(depth=2), POINTS, st.integers(0, N_INPUTS - 1), st.integers(0, N_INPUTS - 1))
def test_hessian_and_nested_grad_match_sympy(
    expr: Expression, point: list[float], i: int, j: int
) -> None:
    y = expr.build([Value(p) for p in point])
    assume(not _near_a_kink(y))
    d1 = [sp.diff(expr.sym, x) for x in X]
    pairs = [(r, c) for r in range(N_INPUTS) for c in range(r, N_INPUTS)]
    seconds = exact_values([sp.diff(d1[r], X[c]) for r, c in pairs], point)
    second = {}
    for (r, c), exact in zip(pairs, seconds):
        second[r, c] = second[c, r] = exact
    fn = _function(expr)
    h = mg.hessian(fn)(*point)
    for r in range(N_INPUTS):
        for c in range(N_INPUTS):
            _check(f"hessian[{r}][{c}]", h[r][c], second[r, c], expr, point)
    nested = mg.grad(mg.grad(fn, argnums=i), argnums=j)(*point)
    _check(f"grad(grad(f, {i}), {j})", nested, second[i, j], expr, point)
    TALLY.expressions += 1
    TALLY.rules |= expr.rules


# --- third derivatives of every one-input rule ---------------------------------------------------

UNARY = [r for r in RULES.values() if r.arity == 1]


@pytest.mark.parametrize("name", [r.name for r in UNARY])
def test_third_derivatives_of_one_input_rules_match_sympy(name: str) -> None:
    rule = RULES[name]
    lo, hi = rule.domain[0]
    closed = [sp.diff(sympy_of(rule, [a_sym]), a_sym, k) for k in range(4)]

    def f(x: Value) -> Value:
        return apply(rule, x)

    derivatives: list[Callable[[float], Any]] = [
        lambda x: f(Value(x)).data,
        mg.grad(f),
        mg.grad(mg.grad(f)),
        mg.grad(mg.grad(mg.grad(f))),
    ]

    @settings(max_examples=60 if CI else 25, deadline=None)
    @given(st.floats(lo, hi))
    def check(x: float) -> None:
        assume(all(abs(x - k) > 1e-6 for k in rule.kinks))
        expr = Expression(closed[0], lambda xs: f(xs[0]), f"{name}(a)")
        for k, (d, exact) in enumerate(zip(derivatives, closed)):
            got = d(x)
            at = exact.evalf(DIGITS, subs={a_sym: sp.Rational(x)})
            _check(f"d^{k}/da^{k}", got, at, expr, [x])
        TALLY.expressions += 1

    check()


def test_the_oracle_covered_every_rule(capsys: pytest.CaptureFixture[str]) -> None:
    """Runs last in this file: every rule appeared in the random expressions, and the counts."""
    if TALLY.expressions == 0:
        pytest.skip("run together with the oracle tests above")
    missing = set(RULES) - TALLY.rules
    assert not missing, f"rules never drawn: {sorted(missing)}"
    with capsys.disabled():
        print(
            f"\nSymPy oracle: {TALLY.expressions} expressions, {TALLY.numbers} values and "
            f"derivatives checked, largest relative error {TALLY.max_error:.3g} "
            f"({TALLY.worst})"
        )
