"""Losses against closed forms and central finite differences."""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from microgrowth import Value
from microgrowth import losses as L

from .conftest import central_difference, close

floats = st.floats(-4, 4)


def check_gradient(loss: Callable[[list[Value]], Value], point: list[float]) -> None:
    xs = [Value(x) for x in point]
    loss(xs).backward()
    f = lambda *v: loss([Value(x) for x in v]).data  # noqa: E731
    for i, x in enumerate(xs):
        assert close(x.grad, central_difference(f, point, i), rtol=1e-5, atol=1e-7)


@given(st.lists(floats, min_size=3, max_size=3), st.lists(floats, min_size=3, max_size=3))
def test_mse(preds: list[float], targets: list[float]) -> None:
    value = L.mse([Value(p) for p in preds], targets).data
    assert value == pytest.approx(sum((p - t) ** 2 for p, t in zip(preds, targets)) / 3)
    check_gradient(lambda xs: L.mse(xs, targets), preds)


@given(
    st.lists(floats, min_size=3, max_size=3),
    st.lists(st.sampled_from([-1, 1]), min_size=3, max_size=3),
)
def test_hinge(scores: list[float], labels: list[int]) -> None:
    value = L.hinge([Value(s) for s in scores], labels).data
    assert value == pytest.approx(sum(max(0.0, 1 - y * s) for s, y in zip(scores, labels)) / 3)
    if all(abs(1 - y * s) > 1e-3 for s, y in zip(scores, labels)):  # away from the kink
        check_gradient(lambda xs: L.hinge(xs, labels), scores)


@given(
    st.lists(floats, min_size=3, max_size=3),
    st.lists(st.sampled_from([0.0, 1.0, 0.3]), min_size=3, max_size=3),
)
def test_binary_cross_entropy_with_logits(logits: list[float], targets: list[float]) -> None:
    def reference(z: float, t: float) -> float:
        s = 1 / (1 + math.exp(-z))
        return -(t * math.log(s) + (1 - t) * math.log(1 - s))

    value = L.binary_cross_entropy_with_logits([Value(z) for z in logits], targets).data
    assert value == pytest.approx(sum(map(reference, logits, targets)) / 3, rel=1e-9)
    check_gradient(lambda xs: L.binary_cross_entropy_with_logits(xs, targets), logits)


@given(
    st.lists(floats, min_size=6, max_size=6), st.lists(st.integers(0, 2), min_size=2, max_size=2)
)
def test_cross_entropy(flat: list[float], classes: list[int]) -> None:
    def reference(z: list[float], c: int) -> float:
        return math.log(sum(math.exp(v) for v in z)) - z[c]

    rows = [flat[:3], flat[3:]]
    value = L.cross_entropy([[Value(v) for v in r] for r in rows], classes).data
    assert value == pytest.approx(sum(map(reference, rows, classes)) / 2, rel=1e-9)
    check_gradient(lambda xs: L.cross_entropy([xs[:3], xs[3:]], classes), flat)


def test_stable_for_huge_logits() -> None:
    assert L.binary_cross_entropy_with_logits([Value(1000.0)], [0.0]).data == pytest.approx(1000.0)
    assert L.binary_cross_entropy_with_logits([Value(-1000.0)], [0.0]).data == 0.0
    ce = L.cross_entropy([[Value(1000.0), Value(0.0)]], [1])
    assert ce.data == pytest.approx(1000.0)
    probs = L.softmax([Value(800.0), Value(800.0)])
    assert [p.data for p in probs] == pytest.approx([0.5, 0.5])


def test_l2() -> None:
    ps = [Value(1.0), Value(-2.0)]
    reg = L.l2(ps, alpha=0.5)
    reg.backward()
    assert reg.data == 2.5 and [p.grad for p in ps] == [1.0, -2.0]


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="labels must be -1 or 1, got 0; use 2 \\* y - 1"):
        L.hinge([Value(1.0)], [0])
    with pytest.raises(ValueError, match="2 predictions but 1 targets"):
        L.mse([Value(1.0), Value(2.0)], [1.0])
    with pytest.raises(ValueError, match="class 3 is not an index into 2 logits"):
        L.cross_entropy([[Value(1.0), Value(2.0)]], [3])
    with pytest.raises(ValueError, match="target 2.0 is not in"):
        L.binary_cross_entropy_with_logits([Value(1.0)], [2.0])
    with pytest.raises(ValueError, match="no examples"):
        L.mse([], [])


def test_one_value_instead_of_a_list_says_so() -> None:
    with pytest.raises(TypeError, match=r"mse: predictions must be a list .* write \[Value"):
        L.mse(Value(1.0), [1.0])  # type: ignore[arg-type]
