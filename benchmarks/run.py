"""Run the benchmark suite and print one table: ``make bench`` or ``python -m benchmarks.run``.

Times are medians over repeated runs, with the garbage collector on (as users run it); the three
implementations are measured side by side in this one run, interleaved, and every ratio comes from
these numbers. Memory (W4) is measured in a fresh process per implementation: peak RSS growth from
the operating system, and tracemalloc's peak. Each run also checks the answers.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Callable
from functools import partial
from typing import Any

from benchmarks import workloads as W

ENGINES = {"microgrowth": W.microgrowth_engine, "micrograd": W.micrograd_engine}


class _CollectorClock:
    """Time spent in CPython's cyclic garbage collector, from `gc.callbacks`."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._start = time.perf_counter()
        else:
            self.seconds += time.perf_counter() - self._start

    def __enter__(self) -> _CollectorClock:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def _median_time_and_collector(
    fn: Callable[[], object], repeat: int, number: int = 1
) -> tuple[float, float]:
    """Median time per call, and the median share of it spent in the garbage collector."""
    times, collector = [], []
    for _ in range(repeat):
        with _CollectorClock() as clock:
            start = time.perf_counter()
            for _ in range(number):
                fn()
            elapsed = time.perf_counter() - start
        times.append(elapsed / number)
        collector.append(clock.seconds / number)
    return statistics.median(times), statistics.median(collector)


def _median_time(fn: Callable[[], object], repeat: int, number: int = 1) -> float:
    return _median_time_and_collector(fn, repeat, number)[0]


def _close(a: float, b: float, tol: float = 1e-9) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _check(name: str, got: tuple[float, ...], want: tuple[float, ...], tol: float = 1e-9) -> None:
    if not all(_close(g, w, tol) for g, w in zip(got, want, strict=True)):
        raise SystemExit(f"{name}: wrong answer {got}, expected {want}")


def bench_w1(engines: dict[str, Any], repeat: int) -> dict[str, float]:
    want = W.w1_expected()
    for name, engine in engines.items():
        _check(f"W1 {name}", W.w1(engine), want, 1e-12)
    _check("W1 floor", W.w1_floor(), want, 1e-12)
    timers: dict[str, Callable[[], object]] = {n: partial(W.w1, e) for n, e in engines.items()}
    timers["floor"] = W.w1_floor
    timers["compiled"] = W.w1_compiled()
    _check("W1 compiled", timers["compiled"](), want, 1e-12)  # type: ignore[arg-type]
    results: dict[str, list[float]] = {n: [] for n in timers}
    for _ in range(repeat):  # interleaved, so drift on a shared machine hits all alike
        for name, fn in timers.items():
            results[name].append(_median_time(fn, 1, number=2000))
    return {n: statistics.median(ts) for n, ts in results.items()}


def w1_child(name: str, iterations: int) -> None:
    """In a fresh process: W1 once, then ``iterations`` more times (for `w1_instructions`)."""
    run = W.w1_floor if name == "floor" else partial(W.w1, ENGINES[name]())
    run()
    for _ in range(iterations):
        run()


def w1_instructions(name: str, iterations: int = 2000) -> float | None:
    """Machine instructions per W1 iteration, counted by valgrind's callgrind: unlike time, the
    count does not move with the load of a shared machine. None without valgrind."""
    if shutil.which("valgrind") is None:
        return None
    counts = []
    for n in (0, iterations):  # the difference leaves out start-up and imports
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             "-m", "benchmarks.run", "--w1-child", name, str(n)],
            capture_output=True, text=True, check=True,
            env={**os.environ, "PYTHONHASHSEED": "0"},  # the same hashes, the same count
        )  # fmt: skip
        found = re.search(r"Collected : (\d+)", done.stderr)
        if found is None:
            raise SystemExit(f"W1 instructions: no count in valgrind's output:\n{done.stderr}")
        counts.append(int(found.group(1)))
    return (counts[1] - counts[0]) / iterations


def bench_w2(engines: dict[str, Any], steps: int) -> tuple[dict[str, float], dict[str, int]]:
    X, y = W.moons()
    weights = W.initial_weights([2, 16, 16, 1])
    models = {n: W.make_mlp(e, weights) for n, e in engines.items()}
    floor = W.FloorMLP(weights)
    compiled = W.CompiledMLP(weights, X, y)
    times: dict[str, list[float]] = {n: [] for n in [*engines, "floor", "compiled"]}
    for k in range(steps):
        lr = 1.0 - 0.9 * k / 100
        start = time.perf_counter()
        want = floor.step(X, y, lr)
        times["floor"].append(time.perf_counter() - start)
        start = time.perf_counter()
        got = compiled.step(lr)
        times["compiled"].append(time.perf_counter() - start)
        if not _close(got, want, 1e-9):
            raise SystemExit(f"W2 compiled: loss {got} at step {k}, floor says {want}")
        for name, engine in engines.items():
            start = time.perf_counter()
            got = W.w2_step(engine, models[name], X, y, lr)
            times[name].append(time.perf_counter() - start)
            if not _close(got, want, 1e-9):
                raise SystemExit(f"W2 {name}: loss {got} at step {k}, floor says {want}")
    nodes = {n: _count_nodes(e, models[n], X, y) for n, e in engines.items()}
    medians = {n: statistics.median(ts) for n, ts in times.items()}
    medians["compile"] = compiled.compile_seconds
    return medians, nodes


def _count_nodes(engine: Any, model: Any, X: Any, y: Any) -> int:
    Value = engine.Value
    scores = [model(list(map(Value, x))) for x in X]
    losses = [(1 + -yi * s).relu() for yi, s in zip(y, scores)]
    loss = sum(losses) * (1.0 / len(losses)) + 1e-4 * sum(p * p for p in model.parameters())
    seen, stack = {id(loss)}, [loss]
    while stack:
        node = stack.pop()
        kids = node.parents if hasattr(node, "parents") else node._prev
        for p in kids:
            if id(p) not in seen:
                seen.add(id(p))
                stack.append(p)
    return len(seen)


def bench_w3(
    engines: dict[str, Any], depths: list[int], rounds: int
) -> tuple[dict[str, dict[int, float | str]], dict[int, float]]:
    """Time per op of each implementation by depth, and microgrowth's time per op spent in the
    garbage collector (which runs inside the timed region, as it does for users).

    The depths are measured in rounds, one after the other in each round, so a change in the
    machine's load hits the shallow and the deep chains alike and their ratio stays fair.
    """
    out: dict[str, dict[int, float | str]] = {n: {} for n in [*engines, "floor"]}
    timers: dict[tuple[str, int], Callable[[], object]] = {}
    for depth in depths:
        want = W.w3_expected(depth)
        _check(f"W3 floor {depth}", W.w3_floor(depth), want)
        timers["floor", depth] = partial(W.w3_floor, depth)
        for name, engine in engines.items():
            try:
                _check(f"W3 {name} {depth}", W.w3(engine, depth), want)
            except RecursionError:
                out[name][depth] = "RecursionError"
                continue
            timers[name, depth] = partial(W.w3, engine, depth)
    times: dict[tuple[str, int], list[float]] = {key: [] for key in timers}
    in_gc: dict[int, list[float]] = {depth: [] for depth in depths}
    for _ in range(rounds):
        for (name, depth), fn in timers.items():
            number = max(1, 20_000 // depth)
            repeat = 3 if depth <= 10_000 else 1
            total, collector = _median_time_and_collector(fn, repeat, number)
            times[name, depth].append(total / depth)
            if name == "microgrowth":
                in_gc[depth].append(collector / depth)
    for (name, depth), ts in times.items():
        out[name][depth] = statistics.median(ts)
    return out, {depth: statistics.median(ts) for depth, ts in in_gc.items()}


def bench_w3_compiled(depths: list[int], rounds: int) -> dict[int, tuple[float, float]]:
    """microgrowth.compile on W3's chain: replay time per op and compile time per value (the
    chain has 2 values per step), by depth; the replays measured in rounds as in `bench_w3`.

    Each program is replayed 8 times before it is timed: CPython 3.11 specializes a function's
    bytecode (its float arithmetic, above all) only once the function has run 8 times, and a
    long program's parts run once per replay, so its first replays are about a third slower.
    The steady state is what training with replays sees; small depths reach it while timed."""
    replays, compile_seconds = {}, {}
    for depth in depths:
        replay, compile_seconds[depth] = W.w3_compiled(depth)
        _check(f"W3 compiled {depth}", replay(), W.w3_expected(depth))
        for _ in range(8):
            replay()
        replays[depth] = replay
    times: dict[int, list[float]] = {depth: [] for depth in depths}
    for _ in range(rounds):
        for depth, fn in replays.items():
            number = max(1, 20_000 // depth)
            times[depth].append(_median_time(fn, 3 if depth <= 10_000 else 1, number) / depth)
    return {d: (statistics.median(times[d]), compile_seconds[d] / (2 * d)) for d in depths}


def w4_child(name: str, levels: int, traced: bool) -> None:
    """In a fresh process: the memory of W4 for one implementation, printed as JSON."""
    engine = None if name == "floor" else ENGINES[name]()
    if traced:
        tracemalloc.start()
    before = _rss_bytes()
    start = time.perf_counter()
    nodes, total, grad = W.w4_floor(levels) if engine is None else W.w4(engine, levels)
    seconds = time.perf_counter() - start
    peak = _status_bytes("VmHWM")  # the peak of this process (ru_maxrss survives exec)
    traced_peak = tracemalloc.get_traced_memory()[1] if traced else 0
    n = 2**levels
    want_total = sum(0.1 * (i % 10) * 0.1 * ((i + 1) % 10) for i in range(0, n, 2))
    _check(f"W4 {name}", (total, grad), (want_total, 0.1 * 1))
    print(
        json.dumps(
            {"nodes": nodes, "rss": peak - before, "traced": traced_peak, "seconds": seconds}
        )
    )


def _status_bytes(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process, from Linux's /proc/self/status."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise SystemExit(f"W4 needs /proc/self/status ({field}): run it on Linux")


def _rss_bytes() -> int:
    return _status_bytes("VmRSS")


def bench_w4(names: list[str], levels: int) -> dict[str, dict[str, float]]:
    out = {}
    for name in names:
        result: dict[str, float] = {}
        for traced in (False, True):
            cmd = [sys.executable, "-m", "benchmarks.run", "--w4-child", name, str(levels)]
            done = subprocess.run(
                [*cmd, "--traced"] if traced else cmd, capture_output=True, text=True, check=True
            )
            data = json.loads(done.stdout)
            if traced:
                result["traced_per_node"] = data["traced"] / data["nodes"]
            else:
                result["rss_per_node"] = data["rss"] / data["nodes"]
                result["seconds"] = data["seconds"]
                result["nodes"] = data["nodes"]
        out[name] = result
    return out


def _fmt_time(seconds: float) -> str:
    if seconds >= 0.1:
        return f"{seconds * 1e3:,.0f} ms"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    if seconds >= 1e-6:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e9:.0f} ns"


def _ratio(a: float | str, b: float | str) -> str:
    if isinstance(a, str) or isinstance(b, str):
        return "n/a"
    return f"{a / b:.2f}x"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("workloads", nargs="*", default=["W1", "W2", "W3", "W4"])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    parser.add_argument("--w1-child", nargs=2, metavar=("NAME", "N"), help=argparse.SUPPRESS)
    parser.add_argument("--w4-child", nargs=2, metavar=("NAME", "LEVELS"), help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.w1_child:
        w1_child(args.w1_child[0], int(args.w1_child[1]))
        return 0
    if args.w4_child:
        w4_child(args.w4_child[0], int(args.w4_child[1]), args.traced)
        return 0
    try:
        engines = {name: make() for name, make in ENGINES.items()}
    except ImportError:
        print("micrograd is not installed: run `make bench`, which installs it into .venv-bench")
        return 2
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d')}; medians, garbage collector on\n"
    )
    rows = [
        "| workload | microgrowth | micrograd | floor | micrograd / microgrowth "
        "| microgrowth / floor |",
        "|---|---|---|---|---|---|",
    ]
    notes: list[str] = []
    if "W1" in args.workloads:
        t = bench_w1(engines, 3 if args.quick else 9)
        rows.append(
            f"| W1 running example, build + backward | {_fmt_time(t['microgrowth'])} "
            f"| {_fmt_time(t['micrograd'])} | {_fmt_time(t['floor'])} "
            f"| {_ratio(t['micrograd'], t['microgrowth'])} "
            f"| {_ratio(t['microgrowth'], t['floor'])} |"
        )
        rows.append(
            f"| W1 compiled replay, `cf(2.0, 5.0)` (microgrowth.compile) "
            f"| {_fmt_time(t['compiled'])} | | {_fmt_time(t['floor'])} | "
            f"| {_ratio(t['compiled'], t['floor'])} |"
        )
        counts = {name: w1_instructions(name) for name in ("microgrowth", "micrograd", "floor")}
        ins = [c for c in counts.values() if c is not None]
        if len(ins) < 3:
            notes.append("W1 instructions: install valgrind to count them (Debian: valgrind).")
        else:
            rows.append(
                f"| W1 machine instructions per iteration (callgrind) | {ins[0]:,.0f} "
                f"| {ins[1]:,.0f} | {ins[2]:,.0f} | {ins[1] / ins[0]:.2f}x "
                f"| {ins[0] / ins[2]:.2f}x |"
            )
    if "W2" in args.workloads:
        t, nodes = bench_w2(engines, 3 if args.quick else 7)
        rows.append(
            f"| W2 MLP(2,[16,16,1]) step on 100 moons ({nodes['microgrowth']:,} vs "
            f"{nodes['micrograd']:,} values) | {_fmt_time(t['microgrowth'])} "
            f"| {_fmt_time(t['micrograd'])} | {_fmt_time(t['floor'])} "
            f"| {_ratio(t['micrograd'], t['microgrowth'])} "
            f"| {_ratio(t['microgrowth'], t['floor'])} |"
        )
        rows.append(
            f"| W2 compiled replay step (microgrowth.compile; compiled once in "
            f"{_fmt_time(t['compile'])}) | {_fmt_time(t['compiled'])} | "
            f"| {_fmt_time(t['floor'])} | | {_ratio(t['compiled'], t['floor'])} |"
        )
    if "W3" in args.workloads:
        depths = [1_000, 10_000] if args.quick else [1_000, 100_000, 1_000_000]
        t3, in_gc = bench_w3(engines, depths, 3 if args.quick else 5)
        for depth in depths:
            cells = [t3[n][depth] for n in ("microgrowth", "micrograd", "floor")]
            shown = [c if isinstance(c, str) else _fmt_time(c) + "/op" for c in cells]
            rows.append(
                f"| W3 chain, depth {depth:,} (per op) | {' | '.join(shown)} "
                f"| {_ratio(cells[1], cells[0])} | {_ratio(cells[0], cells[2])} |"
            )
        first, last = t3["microgrowth"][depths[0]], t3["microgrowth"][depths[-1]]
        rows.append(
            f"| W3 microgrowth time per op, depth {depths[-1]:,} / depth {depths[0]:,} "
            f"| {_ratio(last, first)} | | | | |"
        )
        if isinstance(first, float) and isinstance(last, float):
            shares = ", ".join(f"{_fmt_time(in_gc[d])}/op at {d:,}" for d in depths)
            rows.append(
                f"| W3 of which in the garbage collector: {shares} "
                f"| {_ratio(last - in_gc[depths[-1]], first - in_gc[depths[0]])} "
                "without it | | | | |"
            )
    if "W3" in args.workloads:
        depths = [1_000, 10_000] if args.quick else [1_000, 100_000, 1_000_000]
        c3 = bench_w3_compiled(depths, 3 if args.quick else 5)
        for depth in depths:
            replay, compile_per_value = c3[depth]
            floor_time = t3["floor"].get(depth)
            floor_cells = (
                f"{_fmt_time(floor_time)}/op | | {_ratio(replay, floor_time)}"
                if isinstance(floor_time, float)
                else " | |"
            )
            rows.append(
                f"| W3 compiled replay, depth {depth:,} (per op; compile "
                f"{_fmt_time(compile_per_value)}/value) | {_fmt_time(replay)}/op | "
                f"| {floor_cells} |"
            )
        rows.append(
            f"| W3 compiled replay per op, depth {depths[-1]:,} / depth {depths[0]:,} "
            f"| {_ratio(c3[depths[-1]][0], c3[depths[0]][0])} | | | | |"
        )
    if "W4" in args.workloads:
        m = bench_w4(["microgrowth", "micrograd", "floor"], 16 if args.quick else 19)
        ours, theirs, floor = m["microgrowth"], m["micrograd"], m["floor"]
        size = int(ours["nodes"])
        for key, what in (
            ("rss_per_node", "peak RSS growth"),
            ("traced_per_node", "tracemalloc peak"),
        ):
            rows.append(
                f"| W4 {size:,}-value sum of products, {what} per value "
                f"| {ours[key]:.0f} B | {theirs[key]:.0f} B | {floor[key]:.0f} B "
                f"| {theirs[key] / ours[key]:.2f}x | {ours[key] / floor[key]:.2f}x |"
            )
        rows.append(
            f"| W4 build + backward time | {_fmt_time(ours['seconds'])} "
            f"| {_fmt_time(theirs['seconds'])} | {_fmt_time(floor['seconds'])} "
            f"| {_ratio(theirs['seconds'], ours['seconds'])} "
            f"| {_ratio(ours['seconds'], floor['seconds'])} |"
        )
    print("\n".join(rows))
    for note in notes:
        print(f"\n{note}")
    print(
        "\nRatios above 1x in the micrograd / microgrowth column mean microgrowth is faster or "
        "smaller. All answers were checked against closed forms or the floor."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
