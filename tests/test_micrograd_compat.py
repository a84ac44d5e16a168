"""micrograd 0.1.0's demo, run with micrograd and with microgrowth side by side (issue 13).

micrograd is a development dependency (pyproject's dev extra) used only here. demo.ipynb is not
in its PyPI package, so `demo` below is the notebook's training loop copied cell by cell; only
``Value`` and ``MLP`` come from the library under test. The data is made once by
``microgrowth.data.make_moons`` (the notebook uses scikit-learn's, which is not a dependency)
and the same X, y go to both.

micrograd's run takes about three minutes (its backward sorts ~70,000 nodes recursively at every
step), so its 100 (loss, accuracy) pairs are recorded in tests/data/micrograd_demo.json, keyed by
micrograd's version, the data and this demo's source; microgrowth's side always runs. When the
key no longer matches, the test runs micrograd itself. To record again:
``.venv/bin/python -m tests.test_micrograd_compat``.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import random
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

micrograd_engine = pytest.importorskip("micrograd.engine")
micrograd_nn = pytest.importorskip("micrograd.nn")

from microgrowth import engine as microgrowth_engine  # noqa: E402
from microgrowth import nn as microgrowth_nn  # noqa: E402
from microgrowth.data import make_moons  # noqa: E402


def demo(Value: Any, MLP: Any, X: list[list[float]], y: list[int]) -> list[tuple[float, float]]:
    """demo.ipynb from ``random.seed(1337)``: (loss, accuracy) at each of its 100 steps."""
    random.seed(1337)
    model = MLP(2, [16, 16, 1])  # 2-layer neural network

    def loss() -> tuple[Any, float]:
        Xb, yb = X, y
        inputs = [list(map(Value, xrow)) for xrow in Xb]
        # forward the model to get scores
        scores = list(map(model, inputs))
        # svm "max-margin" loss
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(yb, scores)]
        data_loss = sum(losses) * (1.0 / len(losses))
        # L2 regularization
        alpha = 1e-4
        reg_loss = alpha * sum(p * p for p in model.parameters())
        total_loss = data_loss + reg_loss
        # also get accuracy
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(yb, scores)]
        return total_loss, sum(accuracy) / len(accuracy)

    seen = []
    for k in range(100):
        # forward
        total_loss, acc = loss()
        # backward
        model.zero_grad()
        total_loss.backward()
        # update (sgd)
        learning_rate = 1.0 - 0.9 * k / 100
        for p in model.parameters():
            p.data -= learning_rate * p.grad
        seen.append((total_loss.data, acc))
    return seen


RECORDED = Path(__file__).parent / "data" / "micrograd_demo.json"


def _key(X: list[list[float]], y: list[int]) -> str:
    text = json.dumps([version("micrograd"), X, y, inspect.getsource(demo)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def micrograd_demo(X: list[list[float]], y: list[int]) -> list[tuple[float, float]]:
    """micrograd's run of `demo`: the recorded one if it was made from the same inputs."""
    if RECORDED.exists():
        recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
        if recorded["key"] == _key(X, y):
            return [(loss, acc) for loss, acc in recorded["steps"]]
    return demo(micrograd_engine.Value, micrograd_nn.MLP, X, y)


def _data() -> tuple[list[list[float]], list[int]]:
    X, classes = make_moons(100, noise=0.1, seed=1337)
    return X, [2 * c - 1 for c in classes]  # the notebook's y = y*2 - 1


def test_micrograd_demo_gives_micrograd_losses_step_for_step() -> None:
    X, y = _data()
    theirs = micrograd_demo(X, y)
    ours = demo(microgrowth_engine.Value, microgrowth_nn.MLP, X, y)
    assert len(ours) == len(theirs) == 100
    for k, ((loss, acc), (their_loss, their_acc)) in enumerate(zip(ours, theirs)):
        assert loss == pytest.approx(their_loss, rel=1e-9), f"step {k}"
        assert acc == their_acc, f"step {k}"
    assert theirs[-1][0] < 0.1 * theirs[0][0]  # it learned, so the comparison is not trivial
    assert theirs[-1][1] >= 0.95


def test_unseeded_networks_follow_the_global_random_state() -> None:
    random.seed(1337)
    theirs = [p.data for p in micrograd_nn.MLP(2, [16, 16, 1]).parameters()]
    random.seed(1337)
    ours = microgrowth_nn.MLP(2, [16, 16, 1]).state_dict()
    assert ours == theirs  # same draws in the same order, biases 0
    assert random.random() == pytest.approx(_after_draws(1337, len(theirs) - 33))
    assert microgrowth_nn.Neuron(3).state_dict() != microgrowth_nn.Neuron(3).state_dict()


def _after_draws(seed: int, n: int) -> float:
    """The global generator's next number after ``n`` uniform draws from ``seed``."""
    rng = random.Random(seed)
    for _ in range(n):
        rng.uniform(-1, 1)
    return rng.random()


if __name__ == "__main__":  # record micrograd's run (JSON keeps floats exactly)
    X, y = _data()
    steps = demo(micrograd_engine.Value, micrograd_nn.MLP, X, y)
    RECORDED.parent.mkdir(exist_ok=True)
    RECORDED.write_text(json.dumps({"key": _key(X, y), "steps": steps}) + "\n", encoding="utf-8")
    print(f"recorded {len(steps)} steps in {RECORDED}")
