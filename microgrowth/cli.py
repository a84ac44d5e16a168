"""The command line: print an adjoint table, draw a graph.

microgrowth trace "ln(x1) + x1*x2 - sin(x2)" x1=2 x2=5 [--format text|markdown|latex|html]
                  [--digits N] [--svg FILE] [--gif FILE] [--max-nodes N]
microgrowth demo   (the running example, its table, graph.svg and backward.gif)
microgrowth --version

Options may come anywhere, and an expression may start with a minus sign (``"-x"``). Every
refusal is one line on stderr and exit status 2, with nothing on stdout.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

import graphviz

from microgrowth import __version__
from microgrowth.engine import Value
from microgrowth.expression import MAX_LENGTH, ExpressionError, parse, parse_assignments
from microgrowth.ops import FUNCTIONS
from microgrowth.trace import Trace, trace
from microgrowth.viz import MAX_NODES, MERGE_ABOVE, animate, count_values, render

RUNNING_EXAMPLE = ("ln(x1) + x1*x2 - sin(x2)", ["x1=2", "x2=5"])
FORMATS: dict[str, Callable[[Trace], str]] = {
    "text": str,
    "markdown": lambda t: t.to_markdown(),
    "latex": lambda t: t.to_latex(),
    "html": lambda t: t.to_html(),
}
TAKES_VALUE = ("--format", "--digits", "--svg", "--gif", "--max-nodes")
MAX_DIGITS = 17  # what trace.number accepts
NO_DOT = (
    "Graphviz's dot program was not found: install it with 'sudo apt-get install graphviz' "
    "(Debian/Ubuntu), 'brew install graphviz' (macOS) or from https://graphviz.org/download/, "
    "or write the graph's DOT text, which needs no Graphviz, with --svg FILE.dot"
)
NO_PILLOW = (
    "Pillow was not found: the animation of the backward pass (--gif) is made with it; install "
    "it with 'pip install \"microgrowth[animation]\"' (or 'pip install Pillow')"
)
EPILOG = f"""\
example:
  microgrowth trace "ln(x1) + x1*x2 - sin(x2)" x1=2 x2=5 --digits 2

The expression: numbers (constants, with no gradient of their own), the variables given as
NAME=VALUE, + - * / ** (x**2 has a constant exponent), unary minus, parentheses, and the
functions {" ".join(sorted(FUNCTIONS))}.
ln and log are the natural logarithm, sigmoid(x) = 1/(1 + exp(-x)), softplus(x) = ln(1 + exp(x)),
relu(x) = max(0, x), neg(x) = -x; angles are in radians. At most {MAX_LENGTH:,} characters.
Options may come anywhere. Refusals: one line on stderr, exit status 2."""


class _Parser(argparse.ArgumentParser):
    """argparse with its errors on one line (it would print the whole usage first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message}; see {self.prog} --help\n")


def _whole_number(low: int, high: int | None = None) -> Callable[[str], int]:
    def read(text: str) -> int:
        try:
            n = int(text)
        except ValueError:
            n = low - 1
        if n < low or (high is not None and n > high):
            span = f"from {low} to {high}" if high is not None else f"{low} or more"
            raise argparse.ArgumentTypeError(f"{text!r}: give a whole number, {span}")
        return n

    return read


def _parsers() -> tuple[_Parser, dict[str, _Parser]]:
    formatter = argparse.RawDescriptionHelpFormatter
    top = _Parser(
        prog="microgrowth",
        description="Adjoint tables and computation graphs of scalar expressions.",
        epilog=EPILOG,
        formatter_class=formatter,
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    trace_ = sub.add_parser(
        "trace", help="print the adjoint table of an expression", epilog=EPILOG,
        formatter_class=formatter, allow_abbrev=False,
    )  # fmt: skip
    trace_.add_argument("expression", help='e.g. "ln(x1) + x1*x2 - sin(x2)"')
    trace_.add_argument("values", nargs="*", metavar="NAME=VALUE", help="e.g. x1=2 x2=5")
    demo = sub.add_parser(
        "demo", help="the running example ln(x1) + x1*x2 - sin(x2) at (2, 5)", allow_abbrev=False
    )
    for p, svg_default, gif_default in ((trace_, "", ""), (demo, "graph.svg", "backward.gif")):
        p.set_defaults(command=p.prog.split()[-1])
        p.add_argument("--format", choices=sorted(FORMATS), default="text")
        digits = _whole_number(0, MAX_DIGITS)
        p.add_argument(
            "--digits", type=digits, default=4, help=f"decimals, 0 to {MAX_DIGITS} (default 4)"
        )
        p.add_argument(
            "--svg",
            metavar="FILE",
            default=svg_default,
            help=f"also draw the graph (with each edge's partial, up to {MERGE_ABOVE} values)",
        )
        p.add_argument(
            "--gif",
            metavar="FILE",
            default=gif_default,
            help="also animate the backward pass, one frame per row of the table (needs Pillow)",
        )
        nodes = f"draw graphs of up to N values (default {MAX_NODES:,})"
        p.add_argument(
            "--max-nodes", metavar="N", type=_whole_number(1), default=MAX_NODES, help=nodes
        )
    return top, {"trace": trace_, "demo": demo}


def _arguments(argv: Sequence[str]) -> list[str]:
    """The options first, then ``--`` and the rest: so that options may come anywhere, and an
    expression such as "-x" is not taken for an unknown option (argparse alone would)."""
    options: list[str] = []
    rest: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--":
            rest.extend(args)
        elif arg in TAKES_VALUE:
            value = next(args, None)
            options += [arg] if value is None else [arg, value]
        elif arg == "-h" or re.fullmatch(r"--[a-z][-a-z]*(=.*)?", arg, re.S):
            options.append(arg)  # ours, or a mistyped one that argparse will name
        else:
            rest.append(arg)
    return [*options, "--", *rest] if rest else options


def _not_utf8(argv: Sequence[str]) -> str | None:
    """A refusal for the first argument that is not valid UTF-8 (Python keeps such bytes as
    lone surrogates, which would fail later, in the middle of the output)."""
    for i, arg in enumerate(argv, 1):
        try:
            arg.encode("utf-8")
        except UnicodeEncodeError:
            try:
                shown = repr(arg.encode("utf-8", "surrogateescape"))
            except UnicodeEncodeError:
                shown = ascii(arg)
            return f"argument {i} is not valid UTF-8: {shown}; type it again as UTF-8 text"
    return None


def _expression(text: str, assignments: Sequence[str]) -> Value:
    values = parse_assignments(assignments)
    y, inputs = parse(text, values)
    unused = [name for name in values if name not in inputs]
    if unused:
        raise ExpressionError(
            f"{unused[0]} is given a value but is not in the expression: "
            f"remove {unused[0]}=..., or use it"
        )
    return y


def _refuse(message: str) -> int:
    print(f"microgrowth: {message}", file=sys.stderr)
    return 2


def _trace(
    expression: str, assignments: Sequence[str], args: argparse.Namespace, dot_fallback: bool
) -> int:
    try:
        y = _expression(expression, assignments)
    except ExpressionError as error:
        return _refuse(str(error))
    if args.gif and Path(args.gif).suffix.lower() != ".gif":
        return _refuse(f"--gif {args.gif}: give the file the extension .gif")
    if args.svg:
        fmt = Path(args.svg).suffix.lstrip(".").lower()
        if fmt not in {*graphviz.FORMATS, "dot", "gv"}:
            return _refuse(f"--svg {args.svg}: give the file an extension such as .svg or .png")
    for flag, path in (("--svg", args.svg), ("--gif", args.gif)):
        folder = Path(path).resolve().parent if path else None
        if folder is not None and not (folder.is_dir() and os.access(folder, os.W_OK)):
            return _refuse(f"{flag} {path}: the folder {folder} does not exist or is not writable")
    if args.svg or args.gif:
        size = count_values(y)  # the whole count: the message says what limit would do
        if size > args.max_nodes:
            return _refuse(
                f"the graph has {size:,} values, more than --max-nodes {args.max_nodes:,}: "
                f"a picture that large is hard to read; give --max-nodes {size} to draw it anyway"
            )
    try:
        table = trace(y, digits=args.digits)
    except (ArithmeticError, ValueError) as error:  # a derivative undefined at these values
        return _refuse(f"{str(error).rstrip('.')}; try other values")
    print(FORMATS[args.format](table))
    code = 0
    if args.svg:
        y.backward()  # so that the picture shows the grads of the table
        code = _write_svg(y, args.svg, dot_fallback)
    if args.gif:
        code = max(code, _write_gif(y, args.gif, optional=dot_fallback))
    return code


def _write_gif(y: Value, path: str, optional: bool) -> int:
    """Animate the backward pass. Without Pillow or Graphviz: one line on stderr, and for the
    demo, which writes the GIF only where it can, no error."""
    try:
        import PIL  # noqa: F401  (only to know whether it is there)
    except ImportError:
        print(f"microgrowth: {NO_PILLOW}" + ("" if optional else ", or leave out --gif"),
              file=sys.stderr)  # fmt: skip
        return 0 if optional else 1
    try:
        written = animate(y, path, max_nodes=None)
    except RuntimeError:  # Graphviz's dot program is missing
        print(f"microgrowth: {path} not written: the animation needs Graphviz's dot program",
              file=sys.stderr)  # fmt: skip
        return 0 if optional else 1
    except (OSError, ValueError) as error:
        print(f"microgrowth: {error}", file=sys.stderr)
        return 1
    print(f"wrote {written}", file=sys.stderr)
    return 0


def _write_svg(y: Value, path: str, dot_fallback: bool) -> int:
    """Draw the graph; without Graphviz, the demo writes the DOT text instead of failing.
    Edges carry their partials and contributions in small graphs only: in larger ones the
    labels would cover the picture."""
    edges = count_values(y, MERGE_ABOVE) <= MERGE_ABOVE
    try:
        written = render(y, path, show_edges=edges, max_nodes=None)
    except RuntimeError:  # Graphviz's dot program is missing
        print(f"microgrowth: {NO_DOT}", file=sys.stderr)
        if not dot_fallback:
            return 1
        written = render(y, Path(path).with_suffix(".dot"), show_edges=edges, max_nodes=None)
    except (OSError, ValueError) as error:
        print(f"microgrowth: {error}", file=sys.stderr)
        return 1
    print(f"wrote {written}", file=sys.stderr)
    return 0


def _main(argv: list[str]) -> int:
    refusal = _not_utf8(argv)
    if refusal:
        return _refuse(refusal)
    top, commands = _parsers()
    try:
        if argv and argv[0] in commands:
            args = commands[argv[0]].parse_args(_arguments(argv[1:]))
        else:
            args = top.parse_args(argv)  # --help, --version, or a one-line error
    except SystemExit as stop:  # argparse is done: it printed the help, or an error
        return stop.code if isinstance(stop.code, int) else 0
    if args.command == "demo":
        expression, values = RUNNING_EXAMPLE
        print(f"f(x1, x2) = {expression} at x1 = 2, x2 = 5\n")
        return _trace(expression, values, args, dot_fallback=True)
    return _trace(args.expression, args.values, args, dot_fallback=False)


def main(argv: Sequence[str] | None = None) -> int:
    """The ``microgrowth`` command; returns the exit status: 0, 1 if a file could not be
    written, 2 if the input was refused."""
    try:
        code = _main(list(sys.argv[1:] if argv is None else argv))
        sys.stdout.flush()
    except BrokenPipeError:  # the reader left early (`| head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing left to flush
        return 1
    return code
