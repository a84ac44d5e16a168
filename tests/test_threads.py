"""The threading contract (issue 11): grad mode is per thread, and concurrent ``backward()`` on
graphs that share parameters adds up exactly."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

import pytest

import microgrowth as mg
from microgrowth import Value


def _run(*targets: Callable[[], None]) -> None:
    """Run the functions in threads and re-raise the first error one of them had."""
    errors: list[BaseException] = []

    def guarded(target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as error:  # handed to the main thread
                errors.append(error)

        return run

    threads = [threading.Thread(target=guarded(t)) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


WAIT = 30.0  # seconds: only so that a broken test fails instead of hanging; never reached


def test_no_grad_in_one_thread_does_not_stop_another_from_recording() -> None:
    inside, done = threading.Event(), threading.Event()
    w = Value(2.0)
    seen: dict[str, object] = {}

    def a() -> None:
        with mg.no_grad():
            inside.set()
            assert done.wait(WAIT)
            seen["a"] = mg.is_grad_enabled()

    def b() -> None:
        assert inside.wait(WAIT)
        y = w * 3
        seen["b"] = mg.is_grad_enabled()
        y.backward()
        done.set()

    _run(a, b)
    assert w.grad == 3.0
    assert seen == {"a": False, "b": True}


def test_interleaved_no_grad_blocks_never_leave_recording_off() -> None:
    # A enters, B enters, A exits while B is inside, B exits: a process-wide flag saved and
    # restored by each block would end with recording off.
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    after: dict[str, bool] = {}

    def a() -> None:
        with mg.no_grad():
            a_in.set()
            assert b_in.wait(WAIT)
        x = Value(1.0)
        after["a"] = mg.is_grad_enabled() and (x * x).parents == (x, x)
        a_out.set()

    def b() -> None:
        assert a_in.wait(WAIT)
        with mg.no_grad():
            b_in.set()
            assert a_out.wait(WAIT)
            after["b inside"] = mg.is_grad_enabled()
        after["b"] = mg.is_grad_enabled()

    _run(a, b)
    x = Value(1.0)
    assert after == {"a": True, "b inside": False, "b": True}
    assert mg.is_grad_enabled() and (x * 2).parents[0] is x


@pytest.mark.parametrize("run", range(20))
def test_concurrent_backward_on_shared_parameters_adds_up_exactly(run: int) -> None:
    ps = [Value(0.1 * i) for i in range(50)]
    ones = [1.0] * 50
    start = threading.Barrier(4)

    def work() -> None:
        start.wait()
        for _ in range(100):
            (mg.dot(ps, ones) * 2).backward()

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        _run(*[work] * 4)
    finally:
        sys.setswitchinterval(old)
    assert [p.grad for p in ps] == [800.0] * 50  # 4 threads x 100 passes x 2


@pytest.mark.parametrize("run", range(20))
def test_backward_and_transforms_on_shared_parameters_do_not_mix_adjoints(run: int) -> None:
    """Two threads call backward(), two differentiate functions of the same parameters (their
    sweeps add up adjoints in the same nodes). Each sweep must see only its own adjoints: without
    the engine's lock this fails in nearly every run (checked by removing it), even where the
    test above, with backward() alone, happens to add up on CPython."""
    ps = [Value(0.1 * i) for i in range(50)]
    ones = [1.0] * 50
    start = threading.Barrier(4)
    seen: list[float] = []

    def train() -> None:
        start.wait()
        for _ in range(100):
            (mg.dot(ps, ones) * 2).backward()

    def differentiate() -> None:
        start.wait()
        for _ in range(100):
            (entry,) = mg.jacobian(lambda s: [mg.dot(ps, ones) * s])(2.0)[0]
            seen.append(entry)  # d/ds (s * sum(ps)) = sum(ps)

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        _run(train, train, differentiate, differentiate)
    finally:
        sys.setswitchinterval(old)
    assert [p.grad for p in ps] == [400.0] * 50  # 2 threads x 100 passes x 2
    assert seen == [sum(p.data for p in ps)] * 200
