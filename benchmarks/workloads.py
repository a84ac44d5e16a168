"""The four workloads, each for microgrowth, micrograd and a hand-written floor.

W1  the running example ln(x1) + x1*x2 - sin(x2) at (2, 5): build the graph and backward.
W2  micrograd's demo step: MLP(2, [16, 16, 1]) on 100 moons points, max-margin loss + 1e-4 L2,
    forward + backward + SGD, with the same initial weights in all three.
W3  a chain x -> x*1.0001 + 0.001 of a given depth: build and backward.
W4  a balanced sum of products over 2**k leaves (2**(k+1) - 1 values): build and backward;
    its memory is measured by run.py in a fresh process.

The floor is the same computation as straight-line float code with no graph objects: what pure
Python cannot beat. Every workload returns numbers that run.py checks (closed forms for W1 and
W3, the floor's losses for W2) so a fast wrong answer never counts.
"""

from __future__ import annotations

import importlib
import itertools
import math
import time
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

# --- engines ----------------------------------------------------------------------------------


def micrograd_engine() -> ModuleType:
    """micrograd 0.1.0 plus log and sin written the way its own operations are."""
    from micrograd import engine

    Value = engine.Value

    def log(x: Any) -> Any:
        out = Value(math.log(x.data), (x,), "log")

        def _backward() -> None:
            x.grad += (1 / x.data) * out.grad

        out._backward = _backward
        return out

    def sin(x: Any) -> Any:
        out = Value(math.sin(x.data), (x,), "sin")

        def _backward() -> None:
            x.grad += math.cos(x.data) * out.grad

        out._backward = _backward
        return out

    engine.log, engine.sin = log, sin
    module: ModuleType = engine
    return module


def microgrowth_engine() -> ModuleType:
    import microgrowth

    return microgrowth


# --- W1: the running example ------------------------------------------------------------------


def w1(engine: ModuleType) -> tuple[float, float, float]:
    x1, x2 = engine.Value(2.0), engine.Value(5.0)
    y = engine.log(x1) + x1 * x2 - engine.sin(x2)
    y.backward()
    return y.data, x1.grad, x2.grad


def w1_floor() -> tuple[float, float, float]:
    x1, x2 = 2.0, 5.0
    v1, v2, v3 = math.log(x1), x1 * x2, math.sin(x2)
    v4 = v1 + v2
    v5 = v4 - v3
    v5b = 1.0
    v4b, v3b = v5b, -v5b
    v1b, v2b = v4b, v4b
    x2b = v3b * math.cos(x2) + v2b * x1
    x1b = v2b * x2 + v1b / x1
    return v5, x1b, x2b


def w1_expected() -> tuple[float, float, float]:
    return math.log(2) + 10 - math.sin(5), 0.5 + 5, 2 - math.cos(5)


# --- W2: micrograd's demo step ---------------------------------------------------------------


def moons() -> tuple[list[list[float]], list[int]]:
    from microgrowth.data import make_moons

    X, classes = make_moons(100, noise=0.1, seed=0)
    return X, [2 * c - 1 for c in classes]


def initial_weights(sizes: Sequence[int], seed: int = 1337) -> list[float]:
    """Weights uniform in [-1, 1], biases 0, in micrograd's parameter order."""
    import random

    rng = random.Random(seed)
    flat: list[float] = []
    for nin, nout in itertools.pairwise(sizes):
        for _ in range(nout):
            flat += [rng.uniform(-1, 1) for _ in range(nin)] + [0.0]
    return flat


def make_mlp(engine: ModuleType, weights: Sequence[float]) -> Any:
    nn = importlib.import_module(f"{engine.__name__.split('.')[0]}.nn")
    model = nn.MLP(2, [16, 16, 1])
    for p, w in zip(model.parameters(), weights, strict=True):
        p.data = w
    return model


def w2_loss(engine: ModuleType, model: Any, X: Sequence[Sequence[float]], y: Sequence[int]) -> Any:
    """micrograd's demo loss, word for word."""
    Value = engine.Value
    inputs = [list(map(Value, xrow)) for xrow in X]
    scores = list(map(model, inputs))
    losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]
    data_loss = sum(losses) * (1.0 / len(losses))
    reg_loss = 1e-4 * sum(p * p for p in model.parameters())
    return data_loss + reg_loss


def w2_step(
    engine: ModuleType, model: Any, X: Sequence[Sequence[float]], y: Sequence[int], lr: float
) -> float:
    """micrograd's demo loss and update, word for word."""
    total_loss = w2_loss(engine, model, X, y)
    model.zero_grad()
    total_loss.backward()
    for p in model.parameters():
        p.data -= lr * p.grad
    return float(total_loss.data)


class FloorMLP:
    """MLP(2, [16, 16, 1]) as lists of floats, with backpropagation written by hand."""

    def __init__(self, weights: Sequence[float], sizes: Sequence[int] = (2, 16, 16, 1)) -> None:
        self.sizes = list(sizes)
        self.W: list[list[list[float]]] = []
        self.b: list[list[float]] = []
        it = iter(weights)
        for nin, nout in itertools.pairwise(sizes):
            rows, biases = [], []
            for _ in range(nout):
                rows.append([next(it) for _ in range(nin)])
                biases.append(next(it))
            self.W.append(rows)
            self.b.append(biases)

    def step(self, X: Sequence[Sequence[float]], y: Sequence[int], lr: float) -> float:
        W, b, n_layers = self.W, self.b, len(self.W)
        dW = [[[0.0] * len(row) for row in layer] for layer in W]
        db = [[0.0] * len(layer) for layer in b]
        n = len(X)
        loss = 0.0
        for x, target in zip(X, y):
            acts = [list(x)]
            zs = []
            for k in range(n_layers):
                a = acts[-1]
                z = [bi + sum(wi * ai for wi, ai in zip(row, a)) for row, bi in zip(W[k], b[k])]
                zs.append(z)
                acts.append([max(v, 0.0) for v in z] if k < n_layers - 1 else z)
            margin = 1.0 - target * acts[-1][0]
            if margin > 0:
                loss += margin / n
                delta = [-target / n]
            else:
                delta = [0.0]
            for k in range(n_layers - 1, -1, -1):
                if k < n_layers - 1:
                    delta = [d if z > 0 else 0.0 for d, z in zip(delta, zs[k])]
                a = acts[k]
                for j, d in enumerate(delta):
                    if d:
                        row = dW[k][j]
                        for i, ai in enumerate(a):
                            row[i] += d * ai
                        db[k][j] += d
                if k:
                    delta = [
                        sum(W[k][j][i] * delta[j] for j in range(len(delta))) for i in range(len(a))
                    ]
        reg = 0.0
        for k in range(n_layers):
            for j, row in enumerate(W[k]):
                reg += sum(w * w for w in row) + b[k][j] ** 2
        loss += 1e-4 * reg
        for k in range(n_layers):
            for j, row in enumerate(W[k]):
                for i, w in enumerate(row):
                    row[i] = w - lr * (dW[k][j][i] + 2e-4 * w)
                b[k][j] -= lr * (db[k][j] + 2e-4 * b[k][j])
        return loss


# --- W3: a long chain -------------------------------------------------------------------------


def w3(engine: ModuleType, depth: int) -> tuple[float, float]:
    x = engine.Value(0.5)
    y = x
    for _ in range(depth):
        y = y * 1.0001 + 0.001
    y.backward()
    return y.data, x.grad


def w3_floor(depth: int) -> tuple[float, float]:
    y = 0.5
    for _ in range(depth):
        y = y * 1.0001 + 0.001
    g = 1.0
    for _ in range(depth):
        g *= 1.0001
    return y, g


def w3_expected(depth: int) -> tuple[float, float]:
    r = 1.0001**depth
    return 0.5 * r + 0.001 * (r - 1) / 0.0001, r


# --- W4: a balanced sum of products -----------------------------------------------------------


def w4(engine: ModuleType, levels: int) -> tuple[int, float, float]:
    """Returns (number of values, the sum, the grad of the first leaf)."""
    n = 2**levels
    leaves = [engine.Value(0.1 * (i % 10)) for i in range(n)]
    level = [leaves[i] * leaves[i + 1] for i in range(0, n, 2)]
    while len(level) > 1:
        level = [level[i] + level[i + 1] for i in range(0, len(level), 2)]
    level[0].backward()
    return 2 * n - 1, level[0].data, leaves[0].grad


def w4_floor(levels: int) -> tuple[int, float, float]:
    n = 2**levels
    leaves = [0.1 * (i % 10) for i in range(n)]
    products = [leaves[i] * leaves[i + 1] for i in range(0, n, 2)]
    sums = [products]
    while len(sums[-1]) > 1:
        last = sums[-1]
        sums.append([last[i] + last[i + 1] for i in range(0, len(last), 2)])
    # backward: every sum passes its adjoint down unchanged; products multiply by the partner
    grads = [1.0]
    for level in reversed(sums[:-1]):
        grads = [grads[i // 2] for i in range(len(level))]
    leaf_grads = [0.0] * n
    for i, g in enumerate(grads):
        leaf_grads[2 * i] += g * leaves[2 * i + 1]
        leaf_grads[2 * i + 1] += g * leaves[2 * i]
    return 2 * n - 1, sums[-1][0], leaf_grads[0]


# --- the compiled engine (microgrowth.compile): record once, replay on floats ---------------------


def w1_compiled() -> Callable[[], tuple[float, float, float]]:
    """W1's replay: the running example compiled once; each call evaluates its program."""
    import microgrowth as mg

    cf = mg.compile(lambda x1, x2: mg.log(x1) + x1 * x2 - mg.sin(x2))
    cf(2.0, 5.0)

    def replay() -> tuple[float, float, float]:
        value, (g1, g2) = cf(2.0, 5.0)
        return value, g1, g2

    return replay


class CompiledMLP:
    """W2 compiled: the demo loss of the parameters recorded once (the 100 points are constants
    of the program); a step is a replay and the SGD update, on a list of floats."""

    def __init__(self, weights: Sequence[float], X: Sequence[Sequence[float]], y: Sequence[int]):
        import microgrowth as mg
        from microgrowth.compile import Program

        start = time.perf_counter()
        model = make_mlp(mg, weights)
        self.program = Program(w2_loss(mg, model, X, y), model.parameters(), name="w2_loss")
        self.compile_seconds = time.perf_counter() - start
        self.params = [p.data for p in model.parameters()]

    def step(self, lr: float) -> float:
        value, grads, _ = self.program.run(self.params)
        self.params = [p - lr * g for p, g in zip(self.params, grads)]
        return value


def w3_compiled(depth: int) -> tuple[Callable[[], tuple[float, float]], float]:
    """W3's chain compiled: the replay, and the seconds the recording and compiling took."""
    import microgrowth as mg

    def chain(x: Any) -> Any:
        y = x
        for _ in range(depth):
            y = y * 1.0001 + 0.001
        return y

    cf = mg.compile(chain)
    start = time.perf_counter()
    cf(0.5)
    seconds = time.perf_counter() - start

    def replay() -> tuple[float, float]:
        value, (g,) = cf(0.5)
        return value, g

    return replay, seconds
