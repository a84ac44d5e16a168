"""Safe parsing of an expression typed on the command line into Values.

``parse("ln(x1) + x1*x2 - sin(x2)", {"x1": 2, "x2": 5})`` walks Python's `ast` of the text and
builds Values from an allow-list: numbers, the declared variables, ``+ - * / **``, unary minus
and the rule table's functions (``ln`` and ``log`` both mean the natural log). Anything else is
refused with an `ExpressionError` that points at the offending part. Nothing is ever passed to
``eval`` or ``exec``.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping

from microgrowth.engine import Value
from microgrowth.ops import FUNCTIONS

_BINARY: dict[type[ast.operator], Callable[[Value, Value], Value]] = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
    ast.Pow: lambda a, b: a**b,
}


class ExpressionError(ValueError):
    """An expression, or a variable's value, that microgrowth refuses to evaluate."""


def _where(text: str, node: ast.AST) -> str:
    start = getattr(node, "col_offset", 0)
    end = getattr(node, "end_col_offset", None) or len(text)
    return f"`{text[start:end]}` (column {start + 1})"


def parse_number(name: str, text: str) -> float:
    """A variable's value from the command line: a finite number, or an ExpressionError."""
    try:
        value = float(text)
    except ValueError:
        raise ExpressionError(f"{name}={text}: the value must be a number, e.g. {name}=2") from None
    if not math.isfinite(value):
        raise ExpressionError(f"{name}={text}: the value must be a finite number")
    return value


def parse(text: str, variables: Mapping[str, float | Value]) -> tuple[Value, dict[str, Value]]:
    """The Value of ``text`` and the input Values by name (labelled with their names)."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        column = f" at column {error.offset}" if error.offset else ""
        raise ExpressionError(f"not a valid expression{column}: {error.msg}") from None
    text = text.strip()
    inputs: dict[str, Value] = {}
    allowed = ", ".join(sorted(FUNCTIONS))

    def visit(node: ast.AST) -> Value:
        if isinstance(node, ast.Constant):
            if isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
                return Value(node.value)
            raise ExpressionError(f"only numbers are allowed as literals, not {_where(text, node)}")
        if isinstance(node, ast.Name):
            if node.id not in variables:
                hint = f" or call it, e.g. {node.id}(x)" if node.id in FUNCTIONS else ""
                raise ExpressionError(
                    f"{_where(text, node)} has no value: add {node.id}=<number>{hint}"
                )
            if node.id not in inputs:
                given = variables[node.id]
                inputs[node.id] = (
                    given if isinstance(given, Value) else Value(float(given), label=node.id)
                )
            return inputs[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](visit(node.left), visit(node.right))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            operand = visit(node.operand)
            return -operand if isinstance(node.op, ast.USub) else operand
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                raise ExpressionError(
                    f"{_where(text, node.func)} is not a function here (allowed: {allowed})"
                )
            if len(node.args) != 1 or node.keywords or isinstance(node.args[0], ast.Starred):
                raise ExpressionError(f"{_where(text, node)}: {node.func.id} takes one argument")
            return FUNCTIONS[node.func.id](visit(node.args[0]))
        what = type(node).__name__
        if isinstance(node, (ast.BinOp, ast.UnaryOp)):
            what = f"the operator {type(node.op).__name__}"
        raise ExpressionError(
            f"{_where(text, node)} is not allowed ({what}); use numbers, variables, "
            f"+ - * / **, unary minus and the functions {allowed}"
        )

    try:
        result = visit(tree.body)
    except RecursionError:
        raise ExpressionError("the expression is nested too deeply") from None
    except (ValueError, ArithmeticError, TypeError) as error:
        if isinstance(error, ExpressionError):
            raise
        raise ExpressionError(str(error)) from None
    return result, inputs
