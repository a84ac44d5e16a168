"""The benchmark workloads compute the right answers (no timing here: see benchmarks/run.py).

micrograd is not a test dependency, so these check microgrowth and the hand-written floors against
closed forms and each other; `make bench` checks micrograd the same way in every run.
"""

from __future__ import annotations

import math
import shutil

import pytest

from benchmarks import run
from benchmarks import workloads as W

ENGINE = W.microgrowth_engine()


def test_w1_engine_and_floor_match_the_closed_form() -> None:
    want = W.w1_expected()
    for got in (W.w1(ENGINE), W.w1_floor()):
        assert got == pytest.approx(want, rel=1e-12)
    assert want == pytest.approx((11.652071455223084, 5.5, 1.7163378145367738), rel=1e-12)


def test_w2_engine_follows_the_hand_written_backpropagation_step_by_step() -> None:
    X, y = W.moons()
    weights = W.initial_weights([2, 16, 16, 1])
    model, floor = W.make_mlp(ENGINE, weights), W.FloorMLP(weights)
    for k in range(3):
        lr = 1.0 - 0.9 * k / 100
        want = floor.step(X, y, lr)
        assert W.w2_step(ENGINE, model, X, y, lr) == pytest.approx(want, rel=1e-9)
    flat = [w for layer, biases in zip(floor.W, floor.b) for row, b in zip(layer, biases)
            for w in (*row, b)]  # fmt: skip
    assert [p.data for p in model.parameters()] == pytest.approx(flat, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("depth", [1, 10, 2_000])
def test_w3_chain_matches_the_closed_form(depth: int) -> None:
    want = W.w3_expected(depth)
    assert W.w3(ENGINE, depth) == pytest.approx(want, rel=1e-9)
    assert W.w3_floor(depth) == pytest.approx(want, rel=1e-9)


@pytest.mark.parametrize("levels", [1, 3, 8])
def test_w4_engine_and_floor_agree(levels: int) -> None:
    n = 2**levels
    total = sum(0.1 * (i % 10) * 0.1 * ((i + 1) % 10) for i in range(0, n, 2))
    for got in (W.w4(ENGINE, levels), W.w4_floor(levels)):
        assert got[0] == 2 * n - 1
        assert got[1:] == pytest.approx((total, 0.1), rel=1e-12)


def test_w3_bench_reports_time_and_the_collectors_share_for_every_depth() -> None:
    times, in_gc = run.bench_w3({"microgrowth": ENGINE}, [10, 100], rounds=2)
    for depth in (10, 100):
        per_op = times["microgrowth"][depth]
        assert isinstance(per_op, float) and per_op > 0
        assert 0 <= in_gc[depth] <= per_op
        assert isinstance(times["floor"][depth], float)
    assert math.isfinite(sum(in_gc.values()))


def test_w1_instructions_say_none_without_valgrind(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert run.w1_instructions("microgrowth") is None
    run.w1_child("microgrowth", 3)  # what valgrind runs, when it is there
    run.w1_child("floor", 3)


def test_compiled_workloads_give_the_right_answers() -> None:
    assert W.w1_compiled()() == pytest.approx(W.w1_expected(), rel=1e-12)
    X, y = W.moons()
    weights = W.initial_weights([2, 16, 16, 1])
    compiled, floor = W.CompiledMLP(weights, X, y), W.FloorMLP(weights)
    for k in range(3):
        lr = 1.0 - 0.9 * k / 100
        assert compiled.step(lr) == pytest.approx(floor.step(X, y, lr), rel=1e-9)
    replay, seconds = W.w3_compiled(2_000)
    assert replay() == pytest.approx(W.w3_expected(2_000), rel=1e-9)
    assert seconds > 0
