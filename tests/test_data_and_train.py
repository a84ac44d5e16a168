"""Toy data sets and the training loop."""

from __future__ import annotations

import math

import pytest

from microgrowth import Value
from microgrowth.data import XOR, make_blobs, make_circles, make_moons, make_spirals, make_xor
from microgrowth.nn import MLP
from microgrowth.optim import SGD, Adam
from microgrowth.train import DivergenceError, accuracy, fit, predict

MAKERS = [make_moons, make_circles, make_blobs, make_spirals, make_xor]


@pytest.mark.parametrize("make", MAKERS)
def test_data_is_deterministic_and_well_formed(make) -> None:  # type: ignore[no-untyped-def]
    X, y = make(60, seed=3)
    assert (X, y) == make(60, seed=3)
    assert (X, y) != make(60, seed=4)
    assert len(X) == len(y) >= 60 - 2 and all(len(p) == 2 for p in X)
    assert all(math.isfinite(v) for p in X for v in p)
    assert set(y) <= set(range(3))


def test_moons_without_noise_lie_on_the_two_half_circles() -> None:
    X, y = make_moons(20, noise=0.0)
    for (a, b), c in zip(X, y):
        if c == 0:
            assert math.hypot(a, b) == pytest.approx(1.0)
        else:
            assert math.hypot(a - 1, b - 0.5) == pytest.approx(1.0)


def test_circles_radii() -> None:
    X, y = make_circles(20, noise=0.0, factor=0.5)
    for (a, b), c in zip(X, y):
        assert math.hypot(a, b) == pytest.approx(1.0 if c == 0 else 0.5)


def test_xor_table() -> None:
    assert XOR[1] == [a ^ b for a, b in ((0, 0), (0, 1), (1, 0), (1, 1))]


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n_samples=1"):
        make_moons(1)
    with pytest.raises(ValueError, match="noise=-1"):
        make_moons(10, noise=-1)
    with pytest.raises(ValueError, match="factor=2"):
        make_circles(10, factor=2)
    with pytest.raises(ValueError, match="centers=2.5: use a whole number"):
        make_blobs(10, centers=2.5)  # type: ignore[arg-type]  # used to fail inside range()
    with pytest.raises(ValueError, match="classes=0: use a whole number"):
        make_spirals(10, classes=0)  # used to raise ZeroDivisionError
    with pytest.raises(ValueError, match=r"n_samples=3: use at least one point per class \(4\)"):
        make_spirals(3, classes=4)  # used to return no points at all


def test_fit_learns_xor_with_bce_and_adam() -> None:
    X, y = XOR
    model = MLP(2, [8, 1], activation="tanh", seed=0)
    history = fit(model, X, y, loss="bce", optimizer=Adam(model.parameters(), lr=0.05),
                  epochs=150, alpha=0.0, progress=False)  # fmt: skip
    assert history.loss[-1] < 0.1 < history.loss[0]
    assert accuracy(predict(model, X), y, "bce") == 1.0


def test_fit_with_minibatches_and_cross_entropy() -> None:
    X, y = make_blobs(60, centers=3, seed=1)
    model = MLP(2, [8, 3], seed=0)
    history = fit(model, X, y, loss="cross_entropy", batch_size=20, epochs=15,
                  optimizer=Adam(model.parameters(), lr=0.05), progress=False)  # fmt: skip
    assert len(history.loss) == 15 and history.loss[-1] < history.loss[0]
    assert accuracy(predict(model, X), y, "cross_entropy") >= 0.9


def test_fit_shows_progress(capsys: pytest.CaptureFixture[str]) -> None:
    X, y = XOR
    fit(MLP(2, [4, 1]), X, [2 * c - 1 for c in y], epochs=3, progress=True)
    err = capsys.readouterr().err
    assert "training" in err and "loss=" in err and "acc=" in err
    # not a terminal: no clock, so an executed notebook's output is the same on every run
    final = err.rsplit("\r", 1)[-1]
    assert final.startswith("training: 100%|") and "3/3 epochs, acc=" in final, final
    assert "it/s" not in err and "epoch/s" not in err and "<" not in err


def test_fit_refuses_unknown_loss() -> None:
    with pytest.raises(ValueError, match="loss='l1': choose one of hinge"):
        fit(MLP(2, [1]), *XOR, loss="l1")


def moons() -> tuple[list[list[float]], list[int]]:
    X, classes = make_moons(100, noise=0.1, seed=0)
    return X, [2 * c - 1 for c in classes]


@pytest.mark.parametrize("batch_size", [50, 10])
def test_default_schedule_decays_per_epoch_and_stays_positive(batch_size: int) -> None:
    # Issue 11: the schedule counted minibatch steps, so with 2 batches an epoch the rate went
    # negative at step 24 of 40 (the loss climbed back) and with 10 an epoch the run overflowed.
    X, y = moons()
    model = MLP(2, [16, 16, 1], seed=0)
    history = fit(model, X, y, epochs=20, batch_size=batch_size, progress=False)
    assert all(math.isfinite(v) for v in history.loss)
    assert history.loss[-1] < 0.1 < history.loss[0]
    assert accuracy(predict(model, X), y, "hinge") >= 0.97
    assert history.lr == pytest.approx([1.0 - 0.9 * epoch / 20 for epoch in range(20)])


def test_full_batch_schedule_is_micrograds() -> None:
    X, y = moons()
    history = fit(MLP(2, [4, 1], seed=0), X, y, epochs=5, progress=False)
    assert history.lr == [1.0 - 0.9 * k / 5 for k in range(5)]  # the same floats


def test_fit_stops_on_a_diverging_loss() -> None:
    # Issue 11: loss="mse" with the default optimizer (lr 1.0) reached 1.5e83 without a word.
    X, y = moons()
    model = MLP(2, [16, 16, 1], seed=0)
    with pytest.raises(DivergenceError, match=r"diverging loss at epoch 2.*Try a smaller lr"):
        fit(model, X, y, loss="mse", epochs=20, progress=False)
    assert all(math.isfinite(p.data) for p in model.parameters())
    wide = [[1000 * a, 1000 * b] for a, b in X]  # lr 1 is far too large here: overflow by step 25
    with pytest.raises(DivergenceError, match="diverging loss at epoch 25") as caught:
        fit(MLP(2, [1], seed=0), wide, y, loss="mse", epochs=40, progress=False, diverge=None)
    assert isinstance(caught.value.__cause__, OverflowError)  # without the ratio check
    calm = MLP(2, [16, 16, 1], seed=0)
    history = fit(calm, X, y, loss="mse", epochs=20, progress=False,
                  optimizer=SGD(calm.parameters(), lr=0.01))  # fmt: skip
    assert history.loss[-1] < history.loss[0] < 10  # a smaller lr does what the message says
    assert history.accuracy == [] and len(history.lr) == 20  # a regression: no accuracy (was nan)
    with pytest.raises(ValueError, match="'mse' is a regression"):
        accuracy([[Value(1.0)]], [1.0], "mse")


def test_a_refused_fit_trains_nothing() -> None:
    X, y = moons()
    model = MLP(2, [4, 1], seed=0)
    before = model.state_dict()
    with pytest.raises(ValueError, match="batch_size=-1"):
        fit(model, X, y, batch_size=-1, progress=False)  # used to train nothing, report loss 0
    assert model.state_dict() == before


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"batch_size": -1}, r"fit: batch_size=-1; use a whole number of at least 1 \(or None"),
        ({"batch_size": 0}, "batch_size=0"),
        ({"batch_size": 2.5}, "batch_size=2.5"),
        ({"batch_size": True}, "batch_size=True"),
        ({"epochs": 0}, "fit: epochs=0; use a whole number of at least 1"),
        ({"epochs": 1.5}, "epochs=1.5"),
        ({"alpha": -1e-4}, "fit: alpha=-0.0001; use a finite number >= 0"),
        ({"alpha": float("nan")}, "alpha=nan"),
        ({"diverge": 0.5}, "diverge=0.5; use a number > 1, or None"),
        ({"optimizer": "adam"}, "optimizer='adam'; give an optimizer such as SGD"),
        ({"loss": None}, "loss=None: choose one of hinge"),
        ({"y": [0, 1] * 50}, r"label 0 is 0, but loss='hinge' wants -1 or 1; .*2 \* c - 1"),
        ({"y": [1, -1] * 49 + [1, 0.5]}, "label 99 is 0.5, but loss='hinge'"),
        ({"y": [1] * 99 + [float("nan")]}, "label 99 is nan; labels must be finite numbers"),
        ({"y": [1] * 99 + ["1"]}, "label 99 is '1'"),
        ({"y": [1] * 99}, "fit: 100 points but 99 labels"),
        ({"loss": "bce", "y": [0, 2] * 50}, r"label 1 is 2, but loss='bce' wants a number in \[0"),
        ({"loss": "cross_entropy"}, "loss='cross_entropy' needs one logit per class"),
        ({"nouts": [4, 3]}, "loss='hinge' needs one output per point .* the model gives 3"),
        ({"nouts": [4, 3], "loss": "cross_entropy", "y": [0, 1, 2, 1.5] * 25},
         "label 3 is 1.5, but loss='cross_entropy' wants a class index 0, 1, ..., 2"),
        ({"nouts": [4, 3], "loss": "cross_entropy", "y": [0, 1, 2, 3] * 25}, "label 3 is 3"),
        ({"nouts": [4, 3], "loss": "cross_entropy", "y": [0, -1] * 50}, "label 1 is -1"),
        ({"X": [[0.0, 1.0]] * 99 + [[0.0]]}, "point 99 has 1 coordinates but point 0 has 2"),
    ],
)  # fmt: skip
def test_fit_checks_arguments_and_labels(change: dict[str, object], message: str) -> None:
    X, y = moons()
    args: dict[str, object] = {"X": X, "y": y, "nouts": [4, 1], **change}
    model = MLP(2, args.pop("nouts"), seed=0)  # type: ignore[arg-type]
    before = model.state_dict()
    with pytest.raises((ValueError, TypeError), match=message):
        fit(model, args.pop("X"), args.pop("y"), progress=False, **args)  # type: ignore[arg-type]
    assert model.state_dict() == before


def test_fit_accepts_integral_float_classes() -> None:
    X, classes = make_blobs(30, centers=3, seed=1)
    model = MLP(2, [4, 3], seed=0)
    history = fit(model, X, [float(c) for c in classes], loss="cross_entropy", epochs=2,
                  optimizer=Adam(model.parameters(), lr=0.05), progress=False)  # fmt: skip
    assert len(history.loss) == 2 and all(math.isfinite(v) for v in history.loss)


def test_fit_refuses_an_optimizer_made_for_another_model() -> None:
    model, other = MLP(2, [4, 1], seed=0), MLP(2, [4, 1], seed=1)
    before = model.state_dict()
    with pytest.raises(ValueError, match="does not hold this model's parameters"):
        fit(model, [[0.0, 1.0], [1.0, 0.0]], [1, -1], optimizer=SGD(other.parameters(), lr=0.1))
    assert model.state_dict() == before
