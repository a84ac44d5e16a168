"""Optimizers against updates computed by hand for two steps."""

from __future__ import annotations

import math

import pytest

from microgrowth import Value
from microgrowth.optim import SGD, Adam, linear_decay


def quadratic_step(opt: SGD | Adam, p: Value) -> None:
    opt.zero_grad()
    (p * p).backward()  # grad = 2p
    opt.step()


def test_sgd_two_steps() -> None:
    p = Value(1.0)
    opt = SGD([p], lr=0.1)
    quadratic_step(opt, p)
    assert p.data == pytest.approx(1.0 - 0.1 * 2.0)  # 0.8
    quadratic_step(opt, p)
    assert p.data == pytest.approx(0.8 - 0.1 * 1.6)  # 0.64


def test_sgd_momentum_two_steps() -> None:
    p = Value(1.0)
    opt = SGD([p], lr=0.1, momentum=0.9)
    quadratic_step(opt, p)  # v = 2.0, p = 0.8
    assert p.data == pytest.approx(0.8)
    quadratic_step(opt, p)  # v = 0.9 * 2 + 1.6 = 3.4, p = 0.8 - 0.34
    assert p.data == pytest.approx(0.46)


def test_adam_two_steps() -> None:
    p = Value(1.0)
    opt = Adam([p], lr=0.1)
    quadratic_step(opt, p)  # m_hat = g, v_hat = g^2: the first step is lr * sign(g)
    assert p.data == pytest.approx(1.0 - 0.1 * 2.0 / (2.0 + 1e-8))
    g1, g2 = 2.0, 2 * p.data
    m = 0.9 * (0.1 * g1) + 0.1 * g2
    v = 0.999 * (0.001 * g1 * g1) + 0.001 * g2 * g2
    expected = p.data - 0.1 * (m / (1 - 0.9**2)) / (math.sqrt(v / (1 - 0.999**2)) + 1e-8)
    quadratic_step(opt, p)
    assert p.data == pytest.approx(expected, rel=1e-12)


def test_schedules_are_plain_callables() -> None:
    p = Value(1.0)
    opt = SGD([p], lr=lambda k: 1.0 - 0.9 * k / 100)
    assert opt.current_lr() == 1.0
    quadratic_step(opt, p)
    assert opt.current_lr() == pytest.approx(0.991)
    decay = linear_decay(1.0, 0.1, 10)
    assert [decay(0), decay(5), decay(10), decay(50)] == pytest.approx([1.0, 0.55, 0.1, 0.1])


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="no parameters"):
        SGD([], lr=0.1)
    with pytest.raises(ValueError, match="lr=-1"):
        SGD([Value(1.0)], lr=-1)
    with pytest.raises(ValueError, match="momentum=1.5"):
        SGD([Value(1.0)], lr=0.1, momentum=1.5)
    with pytest.raises(ValueError, match=r"betas=\(0.9, 1.0\)"):
        Adam([Value(1.0)], betas=(0.9, 1.0))
    opt = SGD([Value(1.0)], lr=lambda k: float("inf"))
    with pytest.raises(ValueError, match="learning rate at step 0 is inf"):
        opt.step()
