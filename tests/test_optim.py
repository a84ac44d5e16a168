"""Optimizers against updates computed by hand for two steps."""

from __future__ import annotations

import copy
import math
import pickle

import pytest

from microgrowth import Value
from microgrowth.nn import MLP
from microgrowth.optim import SGD, Adam, LinearDecay, linear_decay


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


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda ps: SGD(ps, lr=float("nan")), "SGD: lr=nan; use a positive finite number"),
        (lambda ps: SGD(ps, lr=float("inf")), "SGD: lr=inf"),
        (lambda ps: SGD(ps, lr=0.0), "SGD: lr=0.0"),
        (lambda ps: SGD(ps, lr=True), "SGD: lr=True"),
        (lambda ps: SGD(ps, lr="0.1"), "SGD: lr='0.1'"),  # type: ignore[arg-type]
        (lambda ps: SGD(ps, momentum=-0.1), r"momentum=-0.1; use a number in \[0, 1\)"),
        (lambda ps: SGD(ps, momentum=float("nan")), "momentum=nan"),
        (lambda ps: SGD(ps, weight_decay=-1.0), "weight_decay=-1.0; use a finite number >= 0"),
        (lambda ps: Adam(ps, eps=0.0), "Adam: eps=0.0; use a small positive number"),
        (lambda ps: Adam(ps, eps=float("nan")), "Adam: eps=nan"),
        (lambda ps: Adam(ps, betas=(0.9,)), r"betas=\(0.9,\); give two"),  # type: ignore[arg-type]
        (lambda ps: Adam(ps, betas=(0.9, float("nan"))), r"betas=\(0.9, nan\)"),
        (lambda ps: Adam(ps, betas=(-0.1, 0.9)), r"betas=\(-0.1, 0.9\)"),
        (lambda ps: Adam(ps, weight_decay=float("inf")), "Adam: weight_decay=inf"),
        (lambda ps: SGD([*ps, 1.0]), "parameter 2 is float 1.0, not a Value"),  # type: ignore[list-item]
    ],
)
def test_settings_are_checked_up_front(make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises((ValueError, TypeError), match=message):
        make([Value(1.0), Value(2.0)])


def test_adam_with_eps_zero_is_refused_before_any_step() -> None:
    # Issue 11: Adam(ps, eps=0.0) then step() with a zero grad raised ZeroDivisionError after
    # some parameters had already moved.
    ps = [Value(1.0), Value(2.0)]
    with pytest.raises(ValueError, match="eps=0.0"):
        Adam(ps, eps=0.0)
    opt = Adam(ps, lr=0.1, eps=1e-12)
    ps[0].grad, ps[1].grad = 0.5, 0.0
    opt.step()  # a zero grad is a zero step, not an error
    assert [p.data for p in ps] == pytest.approx([1.0 - 0.1, 2.0], rel=1e-9)


def test_a_nan_grad_names_the_parameter_and_changes_nothing() -> None:
    ps = [Value(1.0, label="w0"), Value(2.0, label="w1"), Value(3.0)]
    opt = SGD(ps, lr=0.1, momentum=0.9)
    ps[0].grad, ps[1].grad, ps[2].grad = 1.0, float("nan"), 1.0
    with pytest.raises(ValueError, match=r"SGD: parameter 1 \('w1'\) has grad nan; nothing"):
        opt.step()
    ps[1].grad = 1.0
    ps[2].grad = float("inf")
    with pytest.raises(ValueError, match="SGD: parameter 2 has grad inf"):
        opt.step()
    assert [p.data for p in ps] == [1.0, 2.0, 3.0]
    assert opt.velocity == [0.0, 0.0, 0.0] and opt.steps == 0
    adam = Adam(ps)
    with pytest.raises(ValueError, match="Adam: parameter 2 has grad inf"):
        adam.step()
    assert adam.m == [0.0] * 3 and adam.v == [0.0] * 3 and adam.steps == 0


def test_a_step_that_overflows_changes_nothing() -> None:
    ps = [Value(1.0), Value(1e308)]
    opt = SGD(ps, lr=10.0)
    ps[0].grad, ps[1].grad = 1.0, -1e308  # the second update would be 1e308 + 1e309 = inf
    with pytest.raises(OverflowError, match="would make parameter 1 inf.*try a smaller lr"):
        opt.step()
    assert [p.data for p in ps] == [1.0, 1e308] and opt.velocity == [0.0, 0.0]
    assert opt.steps == 0


def test_a_schedule_is_checked_when_called_and_a_bad_rate_changes_nothing() -> None:
    p = Value(1.0)
    p.grad = 1.0
    opt = SGD([p], lr=lambda k: 0.5 - k)  # 0.5, then -0.5
    opt.step()
    assert p.data == 0.5
    with pytest.raises(ValueError, match="learning rate at step 1 is -0.5; a schedule must"):
        opt.step()
    assert p.data == 0.5 and opt.steps == 1


def test_weight_decay_adds_to_the_gradient() -> None:
    p = Value(1.0)
    SGD([p], lr=0.1, weight_decay=0.5).step()  # grad 0 + 0.5 * 1.0
    assert p.data == pytest.approx(0.95)
    q = Value(2.0)
    Adam([q], lr=0.1, weight_decay=0.25).step()  # the first Adam step is lr * sign(g)
    assert q.data == pytest.approx(1.9)


def test_linear_decay_per_period() -> None:
    decay = LinearDecay(1.0, 0.1, 4, every=3)  # 4 epochs of 3 minibatches
    assert [decay(k) for k in range(14)] == pytest.approx(
        [1.0] * 3 + [0.775] * 3 + [0.55] * 3 + [0.325] * 3 + [0.1] * 2
    )
    with pytest.raises(ValueError, match="every=0"):
        LinearDecay(1.0, 0.1, 4, every=0)
    with pytest.raises(ValueError, match="start=-1.0"):
        LinearDecay(-1.0, 0.1, 4)


@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_optimizers_pickle_and_deepcopy_mid_training(kind: str) -> None:
    def make(ps: list[Value]) -> SGD | Adam:
        if kind == "sgd":
            return SGD(ps, lr=LinearDecay(0.1, 0.01, 10), momentum=0.9)
        return Adam(ps, lr=0.05)

    opt = make([Value(1.0), Value(-2.0)])
    loss_step(opt)
    copies = [pickle.loads(pickle.dumps(opt)), copy.deepcopy(opt)]
    for _ in range(3):
        for o in [opt, *copies]:
            loss_step(o)
    assert all(c.params is not opt.params and c.steps == opt.steps == 4 for c in copies)
    assert [[p.data for p in c.params] for c in copies] == [[p.data for p in opt.params]] * 2


def loss_step(opt: SGD | Adam) -> None:
    a, b = opt.params
    opt.zero_grad()
    (a * a + b * b * 3).backward()
    opt.step()


def test_a_model_and_its_optimizer_pickled_together_stay_linked() -> None:
    model = MLP(2, [3, 1], seed=0)
    opt = SGD(model.parameters(), lr=LinearDecay(0.5, 0.05, 10))
    model2, opt2 = pickle.loads(pickle.dumps((model, opt)))
    assert all(a is b for a, b in zip(opt2.params, model2.parameters()))
    for m, o in ((model, opt), (model2, opt2)):
        out = m([0.5, -1.0])
        assert isinstance(out, Value)
        o.zero_grad()
        out.backward()
        o.step()
    assert model2.state_dict() == model.state_dict() != MLP(2, [3, 1], seed=0).state_dict()
