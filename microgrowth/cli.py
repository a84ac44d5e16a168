"""The command line: ``microgrowth demo``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import microgrowth as mg


def _demo(args: argparse.Namespace) -> int:
    x1, x2 = mg.Value(2.0, label="x1"), mg.Value(5.0, label="x2")
    y = mg.log(x1) + x1 * x2 - mg.sin(x2)
    y.backward()
    print("f(x1, x2) = ln(x1) + x1*x2 - sin(x2) at (2, 5)")
    print(f"y = {y.data:.4f}, dy/dx1 = {x1.grad:.4f}, dy/dx2 = {x2.grad:.4f}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="microgrowth", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="the running example").set_defaults(run=_demo)
    args = parser.parse_args(argv)
    result: int = args.run(args)
    return result
