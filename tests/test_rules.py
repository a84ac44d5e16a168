"""Every rule of the table, checked the same way: reverse mode against central differences."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from microgrowth import RULES, Rule, Value
from microgrowth.engine import apply
from microgrowth.rules import UNARY

from .conftest import central_difference, close


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
            if name == "powc" and i == 1:
                assert arg.grad == 0.0  # a constant exponent is not differentiated
                continue
            numeric = central_difference(lambda *v: _value(rule, *v), xs, i)
            assert close(arg.grad, numeric, rtol=1e-5, atol=1e-6), (name, xs, i)

    check()


def test_every_rule_has_text_for_every_input() -> None:
    for rule in RULES.values():
        assert len(rule.partial_text) == len(rule.partial_latex) == len(rule.domain)
        if rule.variadic:
            assert callable(rule.text) and callable(rule.partial_text[0])
            continue
        assert isinstance(rule.text, str)
        for i in range(rule.arity):
            assert f"#{i}" in rule.text


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
    }


def test_sigmoid_is_stable_for_large_inputs() -> None:
    assert Value(-800.0).sigmoid().data == 0.0
    assert Value(800.0).sigmoid().data == 1.0
