"""Safe parsing of an expression typed on the command line into Values.

``parse("ln(x1) + x1*x2 - sin(x2)", {"x1": 2, "x2": 5})`` walks Python's `ast` of the text and
builds Values from an allow-list: numbers, the declared variables, ``+ - * / **``, unary minus
and the rule table's functions (``ln`` and ``log`` both mean the natural log). Anything else is
refused with an `ExpressionError` that points at the offending part. Nothing is ever passed to
``eval`` or ``exec``.

The text means what the same text means in Python with Values for the variables: a number is a
plain number, so ``1 + x`` adds a constant (no input, no gradient row) and ``x**2`` has a
constant exponent (the engine's ``powc``), and arithmetic on numbers alone is done on floats.
"""

from __future__ import annotations

import ast
import math
import operator
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from microgrowth.engine import Value
from microgrowth.ops import FUNCTIONS

MAX_LENGTH = 1000
"""Characters in an expression; a longer one is refused (CPython's own parser runs out of
stack near 3,000 nested operators, and no table that long is readable)."""
MAX_DEPTH = 200
"""Operations nested in each other: ``-(-(-x))`` is 4 deep, a sum a+b+c+... one per ``+``."""

Operand = Value | float  # what a part of an expression evaluates to: numbers stay numbers

_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}


class ExpressionError(ValueError):
    """An expression, or a variable's value, that microgrowth refuses to evaluate."""


def parse_number(name: str, text: str) -> float:
    """A variable's value from the command line: a finite number, or an ExpressionError."""
    try:
        value = float(text)
    except ValueError:
        raise ExpressionError(f"{name}={text}: the value must be a number, e.g. {name}=2") from None
    if not math.isfinite(value):
        raise ExpressionError(f"{name}={text}: the value must be a finite number")
    return value


def parse_assignments(items: Sequence[str]) -> dict[str, float]:
    """Variables from the command line: ``["x1=2", "x2=5"]`` -> ``{"x1": 2.0, "x2": 5.0}``.

    Names are read as Python reads them in the expression (NFKC: ``ﬁ`` is ``fi``); a name given
    twice is refused rather than the last one silently winning.
    """
    values: dict[str, float] = {}
    given: dict[str, str] = {}
    for item in items:
        name, sep, text = item.partition("=")
        name = unicodedata.normalize("NFKC", name.strip())
        if not sep or not name.isidentifier():
            raise ExpressionError(f"'{item}': give each variable as name=number, e.g. x1=2")
        if name in values:
            raise ExpressionError(
                f"{name} is given twice ({given[name]}, {item}): give each variable once"
            )
        values[name], given[name] = parse_number(name, text.strip()), item
    return values


def _shown(text: str) -> str:
    """Text for a one-line message: whitespace (newlines too) as single spaces, at most 60."""
    text = " ".join(text.split())
    return text if len(text) <= 60 else text[:28] + " ... " + text[-27:]


def _where(source: str, node: ast.expr) -> str:
    """The part of ``source`` that ``node`` was parsed from, and its column."""
    part = _shown(ast.get_source_segment(source, node) or source)
    column = len(source.encode()[: node.col_offset].decode(errors="replace")) + 1  # ast: bytes
    return f"`{part}` (column {column})"


def _depth(root: ast.expr) -> int:
    """How many operations are nested in each other (without recursion: the tree may be deep)."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack += [(c, depth + 1) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)]
    return deepest


def _syntax_tree(source: str) -> ast.expr:
    """The `ast` of an expression, refused before parsing if it is too long to parse safely."""
    if len(source) > MAX_LENGTH:
        raise ExpressionError(
            f"the expression has {len(source):,} characters, more than {MAX_LENGTH:,}: "
            "trace a shorter one"
        )
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as error:
        column = f" at column {error.offset}" if error.offset else ""
        raise ExpressionError(f"not a valid expression{column}: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError) as error:  # a NUL byte; or a parser limit
        raise ExpressionError(f"not a valid expression: {error or type(error).__name__}") from None
    depth = _depth(tree.body)
    if depth > MAX_DEPTH:
        raise ExpressionError(
            f"the expression nests {depth:,} operations in each other (a sum a+b+c counts one "
            f"per +), more than {MAX_DEPTH}: trace a smaller one"
        )
    return tree.body


def parse(text: str, variables: Mapping[str, float | Value]) -> tuple[Value, dict[str, Value]]:
    """The Value of ``text`` and the input Values it uses, by name (labelled with their names).

    Refused with an `ExpressionError` that points at the part of the text: anything but
    arithmetic, a name without a value, a value or local derivative that is undefined at the
    given values (``log(x)`` at x=0, ``sqrt(x)`` at x=0), an expression with no variable in it
    (nothing to differentiate), and one longer than `MAX_LENGTH` or deeper than `MAX_DEPTH`.
    """
    source = text.strip()
    body = _syntax_tree(source)
    inputs: dict[str, Value] = {}
    allowed = ", ".join(sorted(FUNCTIONS))

    def compute(node: ast.expr, operation: Callable[..., Any], *args: Operand) -> Operand:
        """``operation(*args)``; an error names the part of the text that failed."""
        try:
            result = operation(*args)
        except OverflowError:  # Python's float ** says "(34, 'Numerical result out of range')"
            raise ExpressionError(
                f"{_where(source, node)}: the result is too large for a float (beyond about "
                "±1.8e308)"
            ) from None
        except (ArithmeticError, ValueError) as error:
            raise ExpressionError(f"{_where(source, node)}: {error}") from None
        if isinstance(result, Value):
            return result
        if isinstance(result, complex):  # what Python makes of (-8)**0.5
            raise ExpressionError(
                f"{_where(source, node)} is not a real number: a negative base needs a whole "
                "exponent"
            )
        if not math.isfinite(result):
            raise ExpressionError(f"{_where(source, node)} is {result}, not a finite number")
        return float(result)

    def visit(node: ast.expr) -> Operand:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
                return compute(node, float, node.value)  # a constant, as in Python: 1 + x
            raise ExpressionError(
                f"only numbers are allowed as literals, not {_where(source, node)}"
            )
        if isinstance(node, ast.Name):
            if node.id not in variables:
                hint = f" or call it, e.g. {node.id}(x)" if node.id in FUNCTIONS else ""
                raise ExpressionError(
                    f"{_where(source, node)} has no value: add {node.id}=<number>{hint}"
                )
            if node.id not in inputs:
                given = variables[node.id]
                inputs[node.id] = (
                    given if isinstance(given, Value) else Value(float(given), label=node.id)
                )
            return inputs[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            left, right = visit(node.left), visit(node.right)
            return compute(node, _BINARY[type(node.op)], left, right)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return compute(node, _UNARY[type(node.op)], visit(node.operand))
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError(
                    f"{_where(source, node.func)} is not a function here (allowed: {allowed})"
                )
            if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
                raise ExpressionError(f"{_where(source, node)}: {node.func.id} takes one argument")
            return compute(node, FUNCTIONS[node.func.id], visit(node.args[0]))
        what = type(node).__name__
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            what = f"the operator {type(node.op).__name__}"
        raise ExpressionError(
            f"{_where(source, node)} is not allowed ({what}); use numbers, variables, "
            f"+ - * / **, unary minus and the functions {allowed}"
        )

    result = visit(body)
    if not isinstance(result, Value) or not inputs:
        raise ExpressionError(
            f"`{_shown(source)}` has no variable, so there is nothing to differentiate: "
            "use a name and give its value, e.g. x*2 x=3"
        )
    return result, inputs
