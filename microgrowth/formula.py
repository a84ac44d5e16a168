"""Formulas of the rule table: small Python expressions that both print and run.

A rule writes each local partial once, as a Python expression over its inputs ``a``, ``b`` (``w[i]``
and ``x[i]`` for the variadic ``dot``) and its output ``y``: ``"b"``, ``"cos(a)"``, ``"1 - y * y"``,
``"(a > 0)"``. From that one string come

- the function the engine calls (`compile_partials`: the expressions in a ``lambda``, evaluated with
  functions that work on floats and on Values alike, so ``backward(create_graph=True)`` can build
  the gradient as a graph from the same text),
- the formulas of the adjoint table, as text and as LaTeX (`render`: names put in, all-number parts
  worked out, so ``n * a ** (n - 1)`` with n = 2 prints as ``2 * v_0 ** 1``),
- the lines of generated code (`render` with code names).

Only a small part of Python is accepted (numbers, names, ``+ - * / **``, comparisons, calls of the
functions below, ``A if C else B``): `parse` refuses the rest, so a formula is never arbitrary code.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

Num = Any  # a float, or a Value while backward(create_graph=True) builds the gradient's graph


def _function(name: str, on_floats: Callable[[float], float]) -> Callable[[Num], Num]:
    """A function of one float that also works on a Value (by calling its method ``name``).
    Formulas only ever see floats (constants included: they are floats) and Values."""

    def f(x: Num) -> Num:
        return on_floats(x) if isinstance(x, float) else getattr(x, name)()

    f.__name__ = f.__qualname__ = name
    return f


def sigmoid_of_float(x: float) -> float:
    """1 / (1 + e^-x) without overflow for very negative x."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def sign(x: Num) -> float:
    """-1, 0 or 1: a step, so its derivative is 0 and it is a plain number even for a Value."""
    v = x if isinstance(x, (float, int)) else x.data
    return 1.0 if v > 0 else -1.0 if v < 0 else 0.0


FUNCTIONS: dict[str, Callable[..., Num]] = {
    "exp": _function("exp", math.exp),
    "log": _function("log", math.log),
    "sin": _function("sin", math.sin),
    "cos": _function("cos", math.cos),
    "tan": _function("tan", math.tan),
    "tanh": _function("tanh", math.tanh),
    "sqrt": _function("sqrt", math.sqrt),
    "sigmoid": _function("sigmoid", sigmoid_of_float),
    "sign": sign,
}
"""What a formula may call. Each works on floats and on Values (never ``math.*`` alone: that
would turn a Value into a float and silently cut the graph of ``create_graph``)."""

_SHOWN = {"log": "ln"}  # how a function is written in the tables
_LATEX = {"exp": "\\exp", "log": "\\ln", "sin": "\\sin", "cos": "\\cos", "tan": "\\tan",
          "tanh": "\\tanh", "sigmoid": "\\sigma", "sign": "\\operatorname{sign}"}  # fmt: skip

_ALLOWED = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.Compare, ast.IfExp, ast.Call, ast.Name,
    ast.Constant, ast.Subscript, ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow,
    ast.USub, ast.UAdd, ast.Gt, ast.GtE, ast.Lt, ast.LtE,
)  # fmt: skip


@cache
def parse(source: str) -> ast.expr:
    """The syntax tree of a formula; ValueError for anything outside the small language."""
    tree = ast.parse(source, mode="eval")
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValueError(f"formula {source!r}: {type(node).__name__} is not allowed")
        if isinstance(node, ast.Call) and not (
            isinstance(node.func, ast.Name) and len(node.args) == 1 and not node.keywords
        ):
            raise ValueError(f"formula {source!r}: a call must name a function, one argument")
    return tree.body


def _as_code(source: str) -> str:
    """The formula as Python that runs: checked, whole numbers written as floats."""
    tree = parse(source)
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.func.id not in FUNCTIONS:  # type: ignore[attr-defined]
            raise ValueError(f"formula {source!r}: a partial may call {', '.join(FUNCTIONS)}")
    return ast.unparse(_Floats().visit(ast.parse(ast.unparse(tree), mode="eval")))


class _Floats(ast.NodeTransformer):
    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        return ast.copy_location(ast.Constant(float(node.value)), node)  # type: ignore[arg-type]


def compile_partials(
    variables: tuple[str, ...], partials: tuple[str | None, ...]
) -> Callable[..., tuple[Num, ...]]:
    """``(*inputs, y) -> (d y/d input_0, ...)`` from the formulas (None: 0, not differentiated)."""
    body = ", ".join("0.0" if p is None else f"({_as_code(p)})" for p in partials)
    source = f"lambda {', '.join(variables)}, y: ({body},)"
    function: Callable[..., tuple[Num, ...]] = eval(
        compile(source, "<rule formula>", "eval"), {"__builtins__": {}, **FUNCTIONS}
    )
    return function


def constant(source: str | None) -> float | None:
    """The number a formula always has, if it uses no variable and no function (``"1"``,
    ``"-1"``); otherwise None."""
    if source is None:
        return None
    tree = parse(source)
    if any(isinstance(node, (ast.Name, ast.Call)) for node in ast.walk(tree)):
        return None
    value: float = eval(compile(_as_code(source), "<rule formula>", "eval"), {"__builtins__": {}})
    return float(value)


# --- printing ---------------------------------------------------------------------------------

Name = str | float  # what a variable stands for: a name to print, or a number (a constant)
_PRECEDENCE = {ast.Add: 1, ast.Sub: 1, ast.Mult: 2, ast.Div: 2, ast.Pow: 4}
_SYMBOL = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**"}
_COMPARE = {ast.Gt: ">", ast.GtE: ">=", ast.Lt: "<", ast.LtE: "<="}
_LATEX_COMPARE = {ast.Gt: ">", ast.GtE: "\\ge", ast.Lt: "<", ast.LtE: "\\le"}


def render(
    source: str,
    names: Mapping[str, Name],
    *,
    style: str = "text",
    number: Callable[[float], str] = repr,
    factor: bool = False,
) -> str:
    """The formula with its variables replaced: names are printed, numbers worked out.

    ``style`` is "text" (Python syntax, ``ln`` for log), "latex" or "code" (plain Python, for
    generated programs). ``names`` maps ``a``, ``b``, ``y`` (and ``w[0]``, ``x[0]``, ... for dot)
    to what they stand for. With ``factor=True`` a sum or a negative number is put in
    parentheses, ready to be written after ``*``.
    """
    lone = _lone(source)
    if lone is not None:  # most partials are one name or number ("b", "x[i]", "1"): no tree work
        if lone[0] not in names and not isinstance(lone[1], float):
            raise KeyError(f"formula: no value for {lone[0]!r}")
        value = lone[1] if isinstance(lone[1], float) else names[lone[0]]
        if not isinstance(value, float):
            return value
        if style not in ("text", "latex", "code"):
            raise ValueError(f"style={style!r}: use 'text', 'latex' or 'code'")
        text = number(value)
        if factor and value < 0:
            return f"\\left({text}\\right)" if style == "latex" else f"({text})"
        return text
    tree = _fold(_substitute(parse(source), names))
    out = _Printer(style, number).show(tree, 0)
    if factor and _needs_parentheses(tree):
        return f"\\left({out}\\right)" if style == "latex" else f"({out})"
    return out


@cache
def folds(source: str, numbers: tuple[str, ...]) -> bool:
    """Whether `render` works out part of the formula when the variables ``numbers`` are
    numbers: an operation, or the test of an ``if``, whose operands are all numbers. If not, a
    non-negative number prints where its name would, and a rendering can be reused as a
    template (what the adjoint table does, for speed)."""

    def number(node: ast.AST) -> bool:
        if isinstance(node, ast.Constant):
            return True
        name = ast.unparse(node) if isinstance(node, (ast.Name, ast.Subscript)) else None
        return name in numbers

    for node in ast.walk(parse(source)):
        if isinstance(node, ast.IfExp) and number(node.test):
            return True
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare)) and all(
            number(c) for c in ast.iter_child_nodes(node) if isinstance(c, ast.expr)
        ):
            return True
    return False


@cache
def _lone(source: str) -> tuple[str, Name | None] | None:
    """(name, None) for a formula that is one variable, ("", number) for one number, else None."""
    tree = parse(source)
    if isinstance(tree, ast.Name):
        return tree.id, None
    if isinstance(tree, ast.Subscript):
        return ast.unparse(tree), None
    if isinstance(tree, ast.Constant) and isinstance(tree.value, (int, float)):
        return "", float(tree.value)
    return None


def _needs_parentheses(tree: ast.expr) -> bool:
    if isinstance(tree, (ast.IfExp, ast.Compare)):
        return True
    if isinstance(tree, ast.BinOp):
        return _PRECEDENCE[type(tree.op)] == 1
    if isinstance(tree, ast.UnaryOp):
        return True
    return isinstance(tree, ast.Constant) and isinstance(tree.value, float) and tree.value < 0


class _Substitute(ast.NodeTransformer):
    def __init__(self, names: Mapping[str, Name]) -> None:
        self.names = names

    def _to(self, key: str, node: ast.AST) -> ast.expr:
        if key not in self.names:
            raise KeyError(f"formula: no value for {key!r}")
        value = self.names[key]
        new = (
            ast.Constant(value) if isinstance(value, float) else ast.Name(id=value, ctx=ast.Load())
        )
        return ast.copy_location(new, node)

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self._to(node.id, node)

    def visit_Subscript(self, node: ast.Subscript) -> ast.expr:
        return self._to(ast.unparse(node), node)

    def visit_Call(self, node: ast.Call) -> ast.expr:
        node.args = [self.visit(a) for a in node.args]  # the function's name stays
        return node


def _substitute(tree: ast.expr, names: Mapping[str, Name]) -> ast.expr:
    copy = ast.parse(ast.unparse(tree), mode="eval").body
    result: ast.expr = _Substitute(names).visit(copy)
    return result


class _Fold(ast.NodeTransformer):
    """Work out the parts made of numbers only: 2 - 1 -> 1, (2 if 2 else 0) -> 2."""

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        if isinstance(node, ast.IfExp) and isinstance(node.test, ast.Constant):
            return node.body if node.test.value else node.orelse
        if isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Compare)) and all(
            isinstance(c, ast.Constant)
            for c in ast.iter_child_nodes(node)
            if isinstance(c, ast.expr)
        ):
            try:
                value = eval(compile(ast.Expression(node), "<fold>", "eval"), {"__builtins__": {}})
            except (ArithmeticError, ValueError, TypeError):
                return node
            return ast.copy_location(ast.Constant(float(value)), node)
        return node


def _fold(tree: ast.expr) -> ast.expr:
    folded: ast.expr = _Fold().visit(tree)
    return folded


class _Printer:
    def __init__(self, style: str, number: Callable[[float], str]) -> None:
        if style not in ("text", "latex", "code"):
            raise ValueError(f"style={style!r}: use 'text', 'latex' or 'code'")
        self.style = style
        self.number = number

    def show(self, node: ast.expr, outer: int) -> str:
        """``node`` as text; ``outer`` is the precedence of the operator around it."""
        latex = self.style == "latex"
        if isinstance(node, ast.Constant):
            text = self.number(float(node.value))  # type: ignore[arg-type]
            return f"({text})" if text.startswith("-") and outer > 0 else text
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Call):
            name = node.func.id  # type: ignore[attr-defined]
            arg = self.show(node.args[0], 0)
            if latex:
                if name == "sqrt":
                    return f"\\sqrt{{{arg}}}"
                shown = _LATEX.get(name, f"\\operatorname{{{name}}}")
                if isinstance(node.args[0], (ast.Name, ast.Constant)):  # \ln v_{-1}
                    return f"{shown} {arg}"
                return f"{shown}\\left({arg}\\right)"
            return f"{_SHOWN.get(name, name) if self.style == 'text' else name}({arg})"
        if isinstance(node, ast.UnaryOp):
            inner = self.show(node.operand, 3)
            text = ("-" if isinstance(node.op, ast.USub) else "+") + inner
            return f"({text})" if outer > 0 else text
        if isinstance(node, ast.BinOp):
            return self._binop(node, outer)
        if isinstance(node, ast.Compare):
            op = type(node.ops[0])
            left, right = self.show(node.left, 1), self.show(node.comparators[0], 1)
            if latex:
                return f"[{left} {_LATEX_COMPARE[op]} {right}]"  # Iverson's bracket
            return f"({left} {_COMPARE[op]} {right})"
        if isinstance(node, ast.IfExp):
            body, test, orelse = (self.show(n, 0) for n in (node.body, node.test, node.orelse))
            text = (
                f"{body} \\text{{ if }} {test} \\text{{ else }} {orelse}"
                if latex
                else f"{body} if {test} else {orelse}"
            )
            return f"({text})" if outer > 0 else text
        raise ValueError(f"cannot print {ast.unparse(node)!r}")

    def _binop(self, node: ast.BinOp, outer: int) -> str:
        op = type(node.op)
        mine = _PRECEDENCE[op]
        # ** binds to the right, the others to the left: parenthesize the other side at a tie.
        left = self.show(node.left, mine + (op is ast.Pow))
        right = self.show(node.right, mine + (op is not ast.Pow))
        if self.style == "latex":
            if op is ast.Div:
                return f"\\frac{{{self.show(node.left, 0)}}}{{{self.show(node.right, 0)}}}"
            if op is ast.Pow:
                return f"{{{left}}}^{{{self.show(node.right, 0)}}}"
            symbol = "\\cdot" if op is ast.Mult else _SYMBOL[op]
            text = f"{left} {symbol} {right}"
        elif op is ast.Div:  # 1/v_0: the fraction bar binds tighter than the spaced operators
            text = f"{left}/{right}"
        else:
            text = f"{left} {_SYMBOL[op]} {right}"
        return f"({text})" if mine < outer else text
