"""Write docs/backward.gif: the running example's backward pass, animated (``make notebooks``).

f(x1, x2) = ln(x1) + x1*x2 - sin(x2) at (2, 5), Baydin et al. (2018), arXiv:1502.05767, Table 2.
"""

from __future__ import annotations

import sys

import microgrowth as mg
from microgrowth.viz import animate


def main(path: str = "docs/backward.gif") -> None:
    x1, x2 = mg.Value(2.0, label="x1"), mg.Value(5.0, label="x2")
    y = mg.log(x1) + x1 * x2 - mg.sin(x2)
    print(f"wrote {animate(y, path)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
