"""Optimizers with PyTorch's interface: ``opt.zero_grad(); loss.backward(); opt.step()``.

The learning rate is a number or a callable of the step index (0, 1, 2, ...), such as
micrograd's ``lambda k: 1.0 - 0.9 * k / 100`` or `LinearDecay`. Settings are checked when the
optimizer is made (a schedule's values when it is called), so a bad one fails before any
parameter moves.

A step is all or nothing: every new value (and the momentum or moment estimates) is computed
first, and only if all are finite are they assigned. A nan or infinite gradient stops the step
with an error naming the parameter, and nothing changes.

Optimizers pickle and ``copy.deepcopy`` with their parameters and state, as long as the learning
rate does (a number, `LinearDecay`, or any module-level function; a lambda does not pickle).
Pickle a model and its optimizer together, ``pickle.dumps((model, opt))``, so that the copy's
optimizer still moves the copy's parameters.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable

from microgrowth.engine import Value

LearningRate = float | Callable[[int], float]


def _number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


class LinearDecay:
    """A learning-rate schedule from ``start`` to ``end`` over ``steps`` periods, then ``end``.

    A period is ``every`` optimizer steps: `fit` passes the number of minibatches per epoch, so
    the rate decays per epoch however the data is batched. A class rather than a closure so that
    an optimizer using it pickles.
    """

    def __init__(self, start: float, end: float, steps: int, every: int = 1) -> None:
        if not (_number(start) and _number(end) and start > 0 and end >= 0):
            raise ValueError(
                f"LinearDecay: start={start!r}, end={end!r}; use finite rates, start > 0, end >= 0"
            )
        for name, n in (("steps", steps), ("every", every)):
            if isinstance(n, bool) or not isinstance(n, int) or n < 1:
                raise ValueError(f"LinearDecay: {name}={n!r}; use a whole number of at least 1")
        self.start, self.end, self.steps, self.every = start, end, steps, every

    def __call__(self, k: int) -> float:
        period = min(k // self.every, self.steps)
        return self.start + (self.end - self.start) * period / self.steps

    def __repr__(self) -> str:
        every = f", every={self.every}" if self.every != 1 else ""
        return f"LinearDecay({self.start}, {self.end}, {self.steps}{every})"


def linear_decay(start: float, end: float, steps: int) -> LinearDecay:
    """``LinearDecay(start, end, steps)``: from ``start`` to ``end`` over ``steps`` steps."""
    return LinearDecay(start, end, steps)


class Optimizer:
    """Holds the parameters and the step count; subclasses say how one step moves them.

    A subclass's ``_update(lr, grads)`` returns the new values of the parameters, in order, and
    its new state (e.g. ``{"velocity": [...]}``) without changing anything; `step` checks that
    all are finite and only then assigns them.
    """

    def __init__(self, params: Iterable[Value], lr: LearningRate, weight_decay: float) -> None:
        name = type(self).__name__
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{name}: no parameters given; pass model.parameters()")
        for i, p in enumerate(self.params):
            if not isinstance(p, Value):
                raise TypeError(
                    f"{name}: parameter {i} is {type(p).__name__} {p!r}, not a Value; "
                    "pass model.parameters()"
                )
        if not callable(lr) and not (_number(lr) and lr > 0):
            raise ValueError(
                f"{name}: lr={lr!r}; use a positive finite number or a schedule (a callable)"
            )
        if not (_number(weight_decay) and weight_decay >= 0):
            raise ValueError(f"{name}: weight_decay={weight_decay!r}; use a finite number >= 0")
        self.lr = lr
        self.weight_decay = weight_decay
        self.steps = 0

    def current_lr(self) -> float:
        """The learning rate of the next step; a schedule's value is checked here."""
        if not callable(self.lr):
            return float(self.lr)
        lr = self.lr(self.steps)
        if not (_number(lr) and lr >= 0):
            raise ValueError(
                f"{type(self).__name__}: the learning rate at step {self.steps} is {lr!r}; "
                "a schedule must give finite numbers >= 0"
            )
        return float(lr)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0

    def _where(self, i: int) -> str:
        label = self.params[i].label
        return f"parameter {i}" + (f" ({label!r})" if label else "")

    def step(self) -> None:
        """Move every parameter once, or raise and move none."""
        name = type(self).__name__
        lr = self.current_lr()
        grads = []
        for i, p in enumerate(self.params):
            g = p.grad
            if not _number(g):
                raise ValueError(
                    f"{name}: {self._where(i)} has grad {g!r}; nothing was updated. "
                    "Check the loss for an overflow or a division by zero."
                )
            grads.append(g + self.weight_decay * p.data if self.weight_decay else g)
        new_data, state = self._update(lr, grads)
        for i, x in enumerate(new_data):
            if not math.isfinite(x) or not all(math.isfinite(s[i]) for s in state.values()):
                p = self.params[i]
                raise OverflowError(
                    f"{name}: step {self.steps} would make {self._where(i)} {x!r} (data "
                    f"{p.data!r}, grad {p.grad!r}, lr {lr!r}) or its state not finite; nothing "
                    "was updated. Diverging: try a smaller lr."
                )
        for p, x in zip(self.params, new_data):
            p.data = x
        for attribute, values in state.items():
            setattr(self, attribute, values)
        self.steps += 1

    def _update(self, lr: float, grads: list[float]) -> tuple[list[float], dict[str, list[float]]]:
        """The new parameter values and the new state (attribute name to list), computed
        without changing anything."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent, with PyTorch's momentum: v = μ v + g; p -= lr v.

    ``weight_decay`` adds ``weight_decay * p`` to each gradient (L2 regularisation).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate = 0.01,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        if not (_number(momentum) and 0.0 <= momentum < 1.0):
            raise ValueError(f"SGD: momentum={momentum!r}; use a number in [0, 1), e.g. 0.9")
        self.momentum = momentum
        self.velocity = [0.0] * len(self.params)

    def _update(self, lr: float, grads: list[float]) -> tuple[list[float], dict[str, list[float]]]:
        mu = self.momentum
        velocity = [mu * v + g for v, g in zip(self.velocity, grads)]
        return [p.data - lr * v for p, v in zip(self.params, velocity)], {"velocity": velocity}


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015, arXiv:1412.6980) with bias correction, as in PyTorch.

    ``eps`` (> 0) keeps the step finite where a gradient is 0; ``weight_decay`` is L2 added to the
    gradient, as in ``torch.optim.Adam`` (not AdamW's decoupled decay).
    """

    def __init__(
        self,
        params: Iterable[Value],
        lr: LearningRate = 0.001,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr, weight_decay)
        if (
            not isinstance(betas, (tuple, list))
            or len(betas) != 2
            or not all(_number(b) and 0.0 <= b < 1.0 for b in betas)
        ):
            raise ValueError(
                f"Adam: betas={betas!r}; give two numbers in [0, 1), e.g. (0.9, 0.999)"
            )
        if not (_number(eps) and eps > 0):
            raise ValueError(
                f"Adam: eps={eps!r}; use a small positive number such as 1e-8 "
                "(it keeps the step finite where a gradient is 0)"
            )
        self.betas = (betas[0], betas[1])
        self.eps = eps
        self.m = [0.0] * len(self.params)
        self.v = [0.0] * len(self.params)

    def _update(self, lr: float, grads: list[float]) -> tuple[list[float], dict[str, list[float]]]:
        b1, b2 = self.betas
        t = self.steps + 1
        correction1, correction2 = 1 - b1**t, 1 - b2**t
        m = [b1 * mi + (1 - b1) * g for mi, g in zip(self.m, grads)]
        v = [b2 * vi + (1 - b2) * g * g for vi, g in zip(self.v, grads)]
        new = [
            p.data - lr * (mi / correction1) / (math.sqrt(vi / correction2) + self.eps)
            for p, mi, vi in zip(self.params, m, v)
        ]
        return new, {"m": m, "v": v}
