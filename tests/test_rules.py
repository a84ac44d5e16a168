"""Every rule of the table, checked the same way: reverse mode against central differences."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

import microgrowth as mg
from microgrowth import RULES, Rule, Value, formula, rules
from microgrowth.engine import apply
from microgrowth.rules import UNARY

from .conftest import central_difference, close, rules_declared_here


def _inputs(rule: Rule) -> st.SearchStrategy[tuple[float, ...]]:
    domain = rule.domain * 6 if rule.variadic else rule.domain  # dot: 3 weights, 3 inputs
    return st.tuples(
        *(st.floats(lo, hi, allow_nan=False, allow_infinity=False) for lo, hi in domain)
    )


def _value(rule: Rule, *xs: float) -> float:
    return rule.forward(*xs)


@pytest.mark.parametrize("name", sorted(RULES))
def test_rule_partials_match_central_differences(name: str) -> None:
    rule = RULES[name]

    @given(_inputs(rule))
    def check(xs: tuple[float, ...]) -> None:
        for kink in rule.kinks:
            assume(all(abs(x - kink) > 1e-3 for x in xs))
        args = [Value(x) for x in xs]
        y = apply(rule, *args)
        assert y.data == pytest.approx(rule.forward(*xs))
        y.backward()
        for i, arg in enumerate(args):
            if not rule.differentiable(i):
                assert arg.grad == 0.0  # the exponent of x ** 2 is not differentiated
                continue
            numeric = central_difference(lambda *v: _value(rule, *v), xs, i)
            assert close(arg.grad, numeric, rtol=1e-5, atol=1e-6), (name, xs, i)

    check()


def _sample(rule: Rule, seed: int) -> tuple[float, ...]:
    rng = random.Random(seed)
    domain = rule.domain * 3 if rule.variadic else rule.domain
    return tuple(rng.uniform(lo, hi) for lo, hi in domain)


@pytest.mark.parametrize("name", sorted(RULES))
def test_printed_formulas_are_the_partials_the_engine_computes(name: str) -> None:
    """The text of every partial, read back as Python, gives the engine's number: the table
    prints what backward() computes (and the code generator emits the same text)."""
    rule = RULES[name]
    functions = {**formula.FUNCTIONS, "ln": math.log}
    for seed in range(50):
        xs = _sample(rule, seed)
        y = rule.forward(*xs)
        engine = rule.local_partials(*xs, y)
        if rule.constant_partials is not None:  # what the float sweep uses instead of the call
            assert rule.constant_partials == engine
        for i in range(len(xs)):
            source = rule.partials[(i // (len(xs) // 2)) if rule.variadic else i]
            if source is None:
                assert not rule.differentiable(i)
                continue
            if rule.variadic:
                n = len(xs) // 2
                names = {"w[i]": "w", "x[i]": "x", "y": "y"}
                env = {"w": xs[i % n], "x": xs[n + i % n], "y": y}
            else:
                names = {v: v for v in (*rule.variables, "y")}
                env = dict(zip((*rule.variables, "y"), (*xs, y)))
            for style in ("text", "code"):
                printed = formula.render(source, names, style=style)
                got = eval(printed, {"__builtins__": {}, **functions}, env)
                assert got == pytest.approx(engine[i], rel=1e-12, abs=1e-15), (style, printed)


def test_every_rule_is_declared_with_a_formula_per_input() -> None:
    for rule in RULES.values():
        assert rule.partials and rule.text
        assert all(p is None or formula.parse(p) is not None for p in rule.partials)
        assert rule.variadic or len(rule.partials) == len(rule.domain)
        for variable in rule.variables if not rule.variadic else ():
            assert variable in rule.text


def test_methods_and_functions_are_the_table_rules() -> None:
    x = Value(0.5)
    for rule in UNARY:
        assert getattr(x, rule.name)().rule is rule
        assert getattr(mg, rule.name)(0.5).rule is rule
        assert getattr(mg.ops, rule.name)(x).rule is rule
    assert mg.ln is mg.log
    assert "abs" not in mg.__all__  # `from microgrowth import *` keeps the builtin abs


def test_only_rules_whose_partials_are_numbers_skip_the_call() -> None:
    constant = {n for n, r in RULES.items() if r.constant_partials is not None}
    assert constant == {"add", "sub", "neg", "pos"}
    assert RULES["sub"].constant_partials == (1.0, -1.0)
    assert formula.constant("-1") == -1.0 and formula.constant("2 * 3") == 6.0
    assert formula.constant("a") is None and formula.constant("sign(1)") is None


def test_a_later_rule_is_a_plain_attribute_and_hides_no_name() -> None:
    # No module __getattr__: CPython does not specialize `mg.log` on a module that has one.
    assert "__getattr__" not in vars(mg) and "__getattr__" not in vars(mg.ops)
    table = mg.trace
    with rules_declared_here():
        cube = rules.rule("cube", lambda a: a**3, partials=("3 * a * a",), text="cube(a)")
        trace = rules.rule("trace", lambda a: a, partials=("1",), text="trace(a)")
        assert mg.cube(2.0).rule is cube and mg.ops.cube(2.0).data == 8.0
        assert Value(2.0).cube().data == 8.0  # type: ignore[attr-defined]
        assert mg.trace is table  # the adjoint table, not the new rule
        assert mg.ops.FUNCTIONS["trace"](2.0).rule is trace
    assert not hasattr(mg, "cube") and not hasattr(mg.ops, "cube")


def test_a_rule_declared_in_a_few_lines_gets_everything() -> None:
    """softsign(a) = a / (1 + |a|): one declaration gives the method, the function, the table
    row, the graph label, and first and second derivatives."""
    with rules_declared_here():
        _check_softsign()


def _check_softsign() -> None:
    softsign = rules.rule(
        "softsign", lambda a: a / (1 + abs(a)), partials=("1 / (1 + sign(a) * a) ** 2",),
        text="softsign(a)", kinks=(0.0,),
    )  # fmt: skip
    x = Value(0.7, label="x")
    y = x.softsign()  # type: ignore[attr-defined]
    assert y.rule is softsign and mg.softsign(x).data == y.data
    from microgrowth import softsign as imported

    assert imported(0.7).data == pytest.approx(0.7 / 1.7)
    table = str(mg.trace(y))
    assert "v_1  = softsign(v_0)" in table
    assert "v̄_1 * 1/(1 + sign(v_0) * v_0) ** 2 = 1 * 0.346" in table
    assert "softsign" in mg.draw(y).source
    for point in (0.7, -1.3, 2.5):
        first = mg.grad(lambda v: v.softsign())(point)
        assert first == pytest.approx(1 / (1 + abs(point)) ** 2, rel=1e-12)
        second = mg.grad(mg.grad(lambda v: v.softsign()))(point)
        closed = -2 * math.copysign(1, point) / (1 + abs(point)) ** 3
        assert second == pytest.approx(closed, rel=1e-9)
        numeric = central_difference(lambda v: softsign.forward(v), [point], 0)
        assert close(first, numeric)


@pytest.mark.parametrize(
    ("name", "x", "derivative"),
    [
        ("exp", 0.7, math.exp(0.7)),
        ("log", 0.7, 1 / 0.7),
        ("sin", 0.7, math.cos(0.7)),
        ("cos", 0.7, -math.sin(0.7)),
        ("tan", 0.7, 1 / math.cos(0.7) ** 2),
        ("tanh", 0.7, 1 / math.cosh(0.7) ** 2),
        ("sigmoid", 0.7, math.exp(-0.7) / (1 + math.exp(-0.7)) ** 2),
        ("softplus", 0.7, 1 / (1 + math.exp(-0.7))),
        ("relu", 0.7, 1.0),
        ("relu", -0.7, 0.0),
        ("sqrt", 0.7, 0.5 / math.sqrt(0.7)),
        ("abs", -0.7, -1.0),
        ("neg", 0.7, -1.0),
    ],
)
def test_unary_closed_forms(name: str, x: float, derivative: float) -> None:
    v = Value(x)
    getattr(v, name)().backward() if name != "neg" else (-v).backward()
    assert v.grad == pytest.approx(derivative, rel=1e-12)


def test_relu_and_abs_at_zero_use_the_subgradient_zero() -> None:
    for name in ("relu", "abs"):
        v = Value(0.0)
        getattr(v, name)().backward()
        assert v.grad == 0.0


def test_unary_list_is_the_one_argument_rules() -> None:
    assert {r.name for r in UNARY} == {
        "neg",
        "exp",
        "log",
        "sin",
        "cos",
        "tan",
        "tanh",
        "sigmoid",
        "softplus",
        "relu",
        "sqrt",
        "abs",
        "pos",
    }


def test_sigmoid_is_stable_for_large_inputs() -> None:
    assert Value(-800.0).sigmoid().data == 0.0
    assert Value(800.0).sigmoid().data == 1.0
