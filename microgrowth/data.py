"""Toy data sets, made here: no scikit-learn, no downloads. Each is seeded and deterministic.

Every function returns ``(X, y)``: X a list of [x1, x2] points, y a list of integer classes
(0 and 1 for two classes). For micrograd's max-margin loss use ``[2 * c - 1 for c in y]``.
"""

from __future__ import annotations

import math
import random

Points = list[list[float]]


def _check(n_samples: int, noise: float) -> None:
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 2:
        raise ValueError(f"n_samples={n_samples!r}: use a whole number of at least 2")
    if not noise >= 0:
        raise ValueError(f"noise={noise!r}: use a number >= 0")


def _count(name: str, n: object) -> None:
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"{name}={n!r}: use a whole number of at least 1")


def _shuffled(X: Points, y: list[int], rng: random.Random) -> tuple[Points, list[int]]:
    order = list(range(len(X)))
    rng.shuffle(order)
    return [X[i] for i in order], [y[i] for i in order]


def _linspace(start: float, stop: float, n: int, endpoint: bool = True) -> list[float]:
    steps = (n - 1) if endpoint else n
    return [start + (stop - start) * i / max(steps, 1) for i in range(n)]


def make_moons(n_samples: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[Points, list[int]]:
    """Two interleaving half circles (scikit-learn's make_moons): class 0 on top, 1 below."""
    _check(n_samples, noise)
    rng = random.Random(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    X = [[math.cos(t), math.sin(t)] for t in _linspace(0, math.pi, n_out)]
    X += [[1 - math.cos(t), 1 - math.sin(t) - 0.5] for t in _linspace(0, math.pi, n_in)]
    y = [0] * n_out + [1] * n_in
    X = [[a + rng.gauss(0, noise), b + rng.gauss(0, noise)] for a, b in X]
    return _shuffled(X, y, rng)


def make_circles(
    n_samples: int = 100, noise: float = 0.05, factor: float = 0.5, seed: int = 0
) -> tuple[Points, list[int]]:
    """A small circle (class 1) inside a large one (class 0); ``factor`` is their radius ratio."""
    _check(n_samples, noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor={factor!r}: use a number between 0 and 1")
    rng = random.Random(seed)
    n_out = n_samples // 2
    n_in = n_samples - n_out
    X = [[math.cos(t), math.sin(t)] for t in _linspace(0, 2 * math.pi, n_out, endpoint=False)]
    X += [
        [factor * math.cos(t), factor * math.sin(t)]
        for t in _linspace(0, 2 * math.pi, n_in, endpoint=False)
    ]
    y = [0] * n_out + [1] * n_in
    X = [[a + rng.gauss(0, noise), b + rng.gauss(0, noise)] for a, b in X]
    return _shuffled(X, y, rng)


def make_blobs(
    n_samples: int = 150, centers: int = 3, std: float = 0.6, seed: int = 0, spread: float = 4.0
) -> tuple[Points, list[int]]:
    """Gaussian blobs around ``centers`` random centres in [-spread, spread]^2, one class each."""
    _check(n_samples, std)
    _count("centers", centers)
    rng = random.Random(seed)
    middles = [[rng.uniform(-spread, spread), rng.uniform(-spread, spread)] for _ in range(centers)]
    X, y = [], []
    for i in range(n_samples):
        c = i % centers
        X.append([middles[c][0] + rng.gauss(0, std), middles[c][1] + rng.gauss(0, std)])
        y.append(c)
    return _shuffled(X, y, rng)


def make_spirals(
    n_samples: int = 150, classes: int = 3, noise: float = 0.2, seed: int = 0
) -> tuple[Points, list[int]]:
    """Interleaved spiral arms, one per class (the CS231n spiral data)."""
    _check(n_samples, noise)
    _count("classes", classes)
    if n_samples < classes:
        raise ValueError(f"n_samples={n_samples!r}: use at least one point per class ({classes})")
    rng = random.Random(seed)
    per_class = n_samples // classes
    X, y = [], []
    for c in range(classes):
        for i in range(per_class):
            r = i / per_class
            t = c * 4 + 4 * r + rng.gauss(0, noise)
            X.append([r * math.sin(t), r * math.cos(t)])
            y.append(c)
    return _shuffled(X, y, rng)


def make_xor(n_samples: int = 100, noise: float = 0.1, seed: int = 0) -> tuple[Points, list[int]]:
    """Four clusters at the corners of a square: class 1 where exactly one coordinate is 1."""
    _check(n_samples, noise)
    rng = random.Random(seed)
    X, y = [], []
    for i in range(n_samples):
        a, b = (i // 2) % 2, i % 2
        X.append([a + rng.gauss(0, noise), b + rng.gauss(0, noise)])
        y.append(a ^ b)
    return _shuffled(X, y, rng)


XOR: tuple[Points, list[int]] = ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
"""The four points of the XOR truth table."""
