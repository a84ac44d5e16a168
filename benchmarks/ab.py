"""Compare the engine of two checkouts side by side: ``python -m benchmarks.ab OLD_DIR [NEW_DIR]``.

What a change costs, measured the way the issues ask ("W1 and W2 within 10% of the previous
commit, side by side in one run"): for each workload, fresh processes alternate between the two
checkouts (old, new, old, new, ...), so a change in the machine's load hits both alike, and the
ratio is of the medians. W1 and W2 are also counted in machine instructions with valgrind's
callgrind, which the load does not move at all. W4 is the peak RSS growth per value.

Make the old checkout with ``git worktree add --detach ../prev HEAD~1``. Each process imports
``microgrowth`` and ``benchmarks.workloads`` from its own checkout.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from benchmarks import workloads as W
import microgrowth as mg
assert mg.__file__.startswith({root!r}), mg.__file__
what, n = {what!r}, {n}
if what == "w1":
    W.w1(mg)
    times = []
    for _ in range(7):
        start = time.perf_counter()
        for _ in range(n):
            W.w1(mg)
        times.append((time.perf_counter() - start) / n)
    print(json.dumps(statistics.median(times)))
elif what == "w2":
    X, y = W.moons()
    model = W.make_mlp(mg, W.initial_weights([2, 16, 16, 1]))
    W.w2_step(mg, model, X, y, 1.0)
    times = []
    for k in range(n):
        start = time.perf_counter()
        W.w2_step(mg, model, X, y, 1.0 - 0.9 * k / 100)
        times.append(time.perf_counter() - start)
    print(json.dumps(statistics.median(times)))
elif what == "w4":
    before = int(open("/proc/self/status").read().split("VmRSS:")[1].split()[0]) * 1024
    nodes, total, grad = W.w4(mg, 20)
    peak = int(open("/proc/self/status").read().split("VmHWM:")[1].split()[0]) * 1024
    print(json.dumps((peak - before) / nodes))
elif what.startswith("count-"):
    run = W.w1 if what == "count-w1" else None
    if run is None:
        X, y = W.moons()
        model = W.make_mlp(mg, W.initial_weights([2, 16, 16, 1]))
        W.w2_step(mg, model, X, y, 1.0)
        for _ in range(n):
            W.w2_step(mg, model, X, y, 0.5)
    else:
        W.w1(mg)
        for _ in range(n):
            W.w1(mg)
"""


def child(root: Path, what: str, n: int) -> float:
    code = CHILD.format(root=str(root), what=what, n=n)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return float(done.stdout)


def instructions(root: Path, what: str, n: int) -> float:
    """Machine instructions per iteration (the difference of n and 0 iterations)."""
    counts = []
    for k in (0, n):
        code = CHILD.format(root=str(root), what=what, n=k)
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             "-c", code],
            capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"},
        )  # fmt: skip
        found = re.search(r"Collected : (\d+)", done.stderr)
        assert found, done.stderr
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", type=Path)
    parser.add_argument("new", type=Path, nargs="?", default=Path(__file__).parent.parent)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    trees = {"old": args.old.resolve(), "new": args.new.resolve()}
    print(f"old: {trees['old']}\nnew: {trees['new']}\n")
    print("| workload | old | new | new / old |\n|---|---|---|---|")
    for what, n, unit, scale in (("w1", 2000, "µs", 1e6), ("w2", 5, "ms", 1e3)):
        got: dict[str, list[float]] = {"old": [], "new": []}
        for _ in range(args.rounds):  # interleaved rounds
            for name, root in trees.items():
                got[name].append(child(root, what, n))
        old, new = (statistics.median(got[k]) * scale for k in ("old", "new"))
        print(f"| {what.upper()} time (median of {args.rounds} rounds) | {old:.2f} {unit} "
              f"| {new:.2f} {unit} | {new / old:.3f} |")  # fmt: skip
    if shutil.which("valgrind"):
        for what, n in (("count-w1", 2000), ("count-w2", 1)):
            old, new = (instructions(trees[k], what, n) for k in ("old", "new"))
            print(f"| {what[6:].upper()} instructions per iteration | {old:,.0f} | {new:,.0f} "
                  f"| {new / old:.3f} |")  # fmt: skip
    old, new = (child(trees[k], "w4", 0) for k in ("old", "new"))
    print(f"| W4 peak RSS growth per value (2^20 values) | {old:.0f} B | {new:.0f} B "
          f"| {new / old:.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
