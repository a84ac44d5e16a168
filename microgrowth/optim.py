"""Optimizers with PyTorch's interface: ``opt.zero_grad(); loss.backward(); opt.step()``.

The learning rate is a number or a plain callable of the step index (0, 1, 2, ...), such as
micrograd's ``lambda k: 1.0 - 0.9 * k / 100``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from microgrowth.engine import Value

LearningRate = float | Callable[[int], float]


class Optimizer:
    """Holds the parameters and the step count; subclasses say how one step moves them."""

    def __init__(self, params: Iterable[Value], lr: LearningRate) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__}: no parameters given")
        if not callable(lr) and (not isinstance(lr, (int, float)) or lr <= 0):
            raise ValueError(f"{type(self).__name__}: lr={lr!r}; use a positive number")
        self.lr = lr
        self.steps = 0

    def current_lr(self) -> float:
        """The learning rate of the next step."""
        return float(self.lr(self.steps) if callable(self.lr) else self.lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def step(self) -> None:
        lr = self.current_lr()
        if not math.isfinite(lr):
            raise ValueError(
                f"{type(self).__name__}: the learning rate at step {self.steps} is {lr}"
            )
        self._update(lr)
        self.steps += 1

    def _update(self, lr: float) -> None:
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's momentum: v = μ v + g; p -= lr v."""

    def __init__(self, params: Iterable[Value], lr: LearningRate = 0.01, momentum: float = 0.0):
        super().__init__(params, lr)
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"SGD: momentum={momentum!r}; use a number in [0, 1)")
        self.momentum = momentum
        self.velocity = [0.0] * len(self.params)

    def _update(self, lr: float) -> None:
        mu = self.momentum
        for i, p in enumerate(self.params):
            v = mu * self.velocity[i] + p.grad
            self.velocity[i] = v
            p.data -= lr * v


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015, arXiv:1412.6980) with bias correction, as in PyTorch."""

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        super().__init__(params, lr)
        if not all(0.0 <= b < 1.0 for b in betas):
            raise ValueError(f"Adam: betas={betas!r}; each must be in [0, 1)")
        self.betas = betas
        self.eps = eps
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def _update(self, lr: float) -> None:
        b1, b2 = self.betas
        t = self.steps + 1
        correction1, correction2 = 1 - b1**t, 1 - b2**t
        for i, p in enumerate(self.params):
            g = p.grad
            self.m[i] = b1 * self.m[i] + (1 - b1) * g
            self.v[i] = b2 * self.v[i] + (1 - b2) * g * g
            m_hat = self.m[i] / correction1
            v_hat = self.v[i] / correction2
            p.data -= lr * m_hat / (math.sqrt(v_hat) + self.eps)


def linear_decay(start: float, end: float, steps: int) -> Callable[[int], float]:
    """A learning-rate schedule from ``start`` to ``end`` over ``steps`` steps, then ``end``."""

    def lr(k: int) -> float:
        return start + (end - start) * min(k, steps) / steps

    return lr
