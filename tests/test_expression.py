"""The expression language: text typed on the command line means what it means in Python."""

from __future__ import annotations

import contextlib
import io
import operator
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from microgrowth import Value, ops, trace
from microgrowth.cli import main
from microgrowth.expression import ExpressionError, parse
from microgrowth.ops import FUNCTIONS

NAMES = ("a", "b", "w1")
BINARY: dict[str, Callable[[Any, Any], Any]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}
Build = Callable[[dict[str, Value]], Any]  # the same expression through the Python API


@st.composite
def expressions(draw: st.DrawFn, depth: int = 4) -> tuple[str, Build, frozenset[str]]:
    """A random expression as text, as a builder of Values, and the variables it uses."""
    kind = "leaf" if depth == 0 else draw(st.sampled_from(["leaf", "unary", "binary", "call"]))
    if kind == "leaf":
        if draw(st.booleans()):
            name = draw(st.sampled_from(NAMES))
            return name, lambda v: v[name], frozenset({name})
        x = draw(st.floats(-3, 3, allow_subnormal=False) | st.integers(-3, 3).map(float))
        text = repr(x) if x >= 0 and draw(st.booleans()) else f"({x!r})"
        return text, lambda v: x, frozenset()
    if kind == "unary":
        text, sub, names = draw(expressions(depth - 1))
        if draw(st.booleans()):
            return f"-({text})", lambda v: -sub(v), names
        return f"+({text})", lambda v: +sub(v), names
    if kind == "call":
        name = draw(st.sampled_from(sorted(FUNCTIONS)))
        text, sub, names = draw(expressions(depth - 1))
        f = getattr(ops, name)  # microgrowth.exp, .ln, .softplus, ...
        return f"{name}({text})", lambda v: f(sub(v)), names
    symbol = draw(st.sampled_from(sorted(BINARY)))
    (left, f, names_f), (right, g, names_g) = (
        draw(expressions(depth - 1)),
        draw(expressions(depth - 1)),
    )
    op = BINARY[symbol]
    return f"({left}) {symbol} ({right})", lambda v: op(f(v), g(v)), names_f | names_g


def cli(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


@settings(max_examples=300, deadline=None)
@given(expressions(), st.lists(st.floats(-3, 3, allow_subnormal=False), min_size=3, max_size=3))
def test_the_command_line_and_the_python_api_give_the_same_table(
    expression: tuple[str, Build, frozenset[str]], point: list[float]
) -> None:
    text, build, names = expression
    values = dict(zip(NAMES, point))
    assignments = [f"{name}={values[name]!r}" for name in NAMES if name in names]
    code, out, err = cli("trace", text, *assignments)
    inputs = {name: Value(x, label=name) for name, x in values.items()}
    try:
        y = build(inputs)
        if not names:  # numbers only (exp(1) too): nothing to differentiate
            assert (code, out) == (2, "") and err.count("\n") == 1, (text, err)
            event("no variable: refused")
            return
        assert isinstance(y, Value)
        table = str(trace(y))
        y.backward()
    except (ValueError, ArithmeticError, TypeError):  # undefined here (log(-1)), or complex
        assert (code, out) == (2, "") and err.count("\n") == 1, (text, err)
        event("undefined at the point: both refuse")
        return
    event("same table")
    assert (code, err) == (0, ""), (text, err)
    assert out == table + "\n"
    y2, inputs2 = parse(text, values)
    y2.backward()
    assert sorted(inputs2) == sorted(names)
    same = {name: repr(x.grad) for name, x in inputs2.items()}  # repr: nan is nan here
    assert same == {name: repr(inputs[name].grad) for name in inputs2}


def test_numbers_are_constants_and_a_number_exponent_is_powc() -> None:
    y, inputs = parse("x**2 + 1", {"x": -3})
    assert list(inputs) == ["x"] and y.data == 10.0
    square = y.parents[0]
    assert isinstance(square, Value) and square.op == "powc"
    y.backward()
    assert inputs["x"].grad == -6.0


def test_arithmetic_on_numbers_alone_is_done_on_floats() -> None:
    y, _ = parse("x * (2 ** 3 - 1)", {"x": 1.5})
    assert y.op == "mul" and y.parents[1].data == 7.0 and not isinstance(y.parents[1], Value)


def test_errors_give_the_column_in_characters_not_bytes() -> None:
    with pytest.raises(ExpressionError, match=r"^`q` \(column 14\) has no value: add q=<number>$"):
        parse("é + sin(é) + q", {"é": 1})
