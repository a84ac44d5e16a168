"""The command line: print an adjoint table, draw a graph.

microgrowth trace "ln(x1) + x1*x2 - sin(x2)" x1=2 x2=5 [--format text|markdown|latex|html]
                  [--digits N] [--svg FILE]
microgrowth demo   (the running example, its table and graph.svg)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from microgrowth.engine import Value
from microgrowth.expression import ExpressionError, parse, parse_number
from microgrowth.trace import Trace
from microgrowth.viz import render

RUNNING_EXAMPLE = ("ln(x1) + x1*x2 - sin(x2)", ["x1=2", "x2=5"])
FORMATS: dict[str, Callable[[Trace], str]] = {
    "text": str,
    "markdown": Trace.to_markdown,
    "latex": Trace.to_latex,
    "html": Trace.to_html,
}


def _variables(assignments: Sequence[str]) -> dict[str, float]:
    values: dict[str, float] = {}
    for item in assignments:
        name, sep, text = item.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(f"'{item}': give each variable as name=number, e.g. x1=2")
        values[name] = parse_number(name, text.strip())
    return values


def _trace(
    expression: str,
    assignments: Sequence[str],
    fmt: str,
    digits: int,
    svg: str,
    dot_fallback: bool = False,
) -> int:
    try:
        y, _ = parse(expression, _variables(assignments))
    except ExpressionError as error:
        print(f"microgrowth: {error}", file=sys.stderr)
        return 2
    trace = Trace(y, digits=digits)
    print(FORMATS[fmt](trace))
    if svg:
        y.backward()  # so that the picture shows the grads of the table
        return _write_svg(y, svg, dot_fallback)
    return 0


def _write_svg(y: Value, path: str, dot_fallback: bool) -> int:
    """Draw the graph; without Graphviz, the demo writes the DOT text instead of failing."""
    try:
        written = render(y, path, show_edges=True)
    except RuntimeError as error:  # Graphviz's dot program is missing
        print(f"microgrowth: {error}", file=sys.stderr)
        if not dot_fallback:
            return 1
        written = render(y, Path(path).with_suffix(".dot"), show_edges=True)
    except (OSError, ValueError) as error:
        print(f"microgrowth: {error}", file=sys.stderr)
        return 1
    print(f"wrote {written}", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="microgrowth",
        description="Adjoint tables and computation graphs of scalar expressions.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("trace", help="print the adjoint table of an expression")
    p.add_argument("expression", help='e.g. "ln(x1) + x1*x2 - sin(x2)"')
    p.add_argument("values", nargs="*", metavar="NAME=VALUE", help="e.g. x1=2 x2=5")
    demo = sub.add_parser("demo", help="the running example ln(x1) + x1*x2 - sin(x2) at (2, 5)")
    for q, svg_default in ((p, ""), (demo, "graph.svg")):
        q.add_argument("--format", choices=sorted(FORMATS), default="text")
        q.add_argument("--digits", type=int, default=4, help="decimals shown (default 4)")
        q.add_argument("--svg", metavar="FILE", default=svg_default, help="also draw the graph")
    args = parser.parse_args(argv)
    if args.digits < 0 or args.digits > 17:
        parser.error("--digits takes a number from 0 to 17")
    if args.command == "demo":
        expression, values = RUNNING_EXAMPLE
        print(f"f(x1, x2) = {expression} at x1 = 2, x2 = 5\n")
        return _trace(expression, values, args.format, args.digits, args.svg, dot_fallback=True)
    return _trace(args.expression, args.values, args.format, args.digits, args.svg)
