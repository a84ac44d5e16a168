"""Toy data sets and the training loop."""

from __future__ import annotations

import math

import pytest

from microgrowth.data import XOR, make_blobs, make_circles, make_moons, make_spirals, make_xor
from microgrowth.nn import MLP
from microgrowth.optim import Adam
from microgrowth.train import accuracy, fit, predict

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
