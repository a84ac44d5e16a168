"""A small training loop: ``fit(model, X, y, loss="hinge")`` with a tqdm progress bar.

It is the loop of micrograd's demo, written once: forward pass over a (mini)batch, loss plus L2
regularisation, ``zero_grad()``, ``backward()``, optimizer step; the bar shows loss and accuracy
(``progress=False`` turns it off). Read it as the documented loop to copy and change.

The bar is plain text, never a Jupyter widget, so an executed notebook keeps it in the file where a
repository viewer shows it. Away from a terminal (a notebook, a log) it leaves out the elapsed time
and the rate, so running a notebook twice gives the same output.
"""

from __future__ import annotations

import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tqdm.std import tqdm

from microgrowth import losses
from microgrowth.engine import Value, as_values, no_grad
from microgrowth.nn import Module
from microgrowth.optim import SGD, Optimizer

Model = Callable[[Sequence[Value]], "Value | list[Value]"]
LOSSES = ("hinge", "bce", "cross_entropy", "mse")
NO_CLOCK = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit}s{postfix}"


@dataclass
class History:
    """What `fit` saw: one loss (with regularisation) and one accuracy per epoch."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)


def _as_list(out: Value | list[Value]) -> list[Value]:
    return out if isinstance(out, list) else [out]


def predict(model: Model, X: Sequence[Sequence[float]]) -> list[list[Value]]:
    """The model's outputs for each point, as lists (computed under `no_grad`: no graph)."""
    with no_grad():
        return [_as_list(model(as_values(x))) for x in X]


def accuracy(outputs: Sequence[Sequence[Value]], y: Sequence[float], loss: str) -> float:
    """Fraction classified right: sign of the score (hinge), logit > 0 (bce), argmax (softmax)."""
    if loss == "mse":
        return float("nan")
    right = 0
    for out, target in zip(outputs, y):
        if loss == "cross_entropy":
            guess = max(range(len(out)), key=lambda i: out[i].data)
            right += guess == target
        elif loss == "hinge":
            right += (out[0].data > 0) == (target > 0)
        else:
            right += (out[0].data > 0) == (target > 0.5)
    return right / len(outputs)


def compute_loss(outputs: Sequence[Sequence[Value]], y: Sequence[float], loss: str) -> Value:
    if loss == "hinge":
        return losses.hinge([o[0] for o in outputs], [int(t) for t in y])
    if loss == "bce":
        return losses.binary_cross_entropy_with_logits([o[0] for o in outputs], y)
    if loss == "cross_entropy":
        return losses.cross_entropy(outputs, [int(t) for t in y])
    if loss == "mse":
        return losses.mse([o[0] for o in outputs], y)
    raise ValueError(f"loss={loss!r}: choose one of {', '.join(LOSSES)}")


def fit(
    model: Module,
    X: Sequence[Sequence[float]],
    y: Sequence[float],
    *,
    loss: str = "hinge",
    optimizer: Optimizer | None = None,
    epochs: int = 100,
    batch_size: int | None = None,
    alpha: float = 1e-4,
    seed: int = 0,
    progress: bool = True,
) -> History:
    """Train ``model`` on (X, y); return the loss and accuracy of every epoch.

    ``loss`` is "hinge" (labels -1/1), "bce" (labels 0/1, logits out), "cross_entropy" (class
    indices, one logit per class) or "mse". ``optimizer`` defaults to SGD with micrograd's
    schedule, lr = 1.0 - 0.9 * step / epochs. ``batch_size=None`` uses every point each step.
    """
    if loss not in LOSSES:
        raise ValueError(f"loss={loss!r}: choose one of {', '.join(LOSSES)}")
    if len(X) != len(y) or not X:
        raise ValueError(f"fit: {len(X)} points but {len(y)} labels")
    if optimizer is None:
        optimizer = SGD(model.parameters(), lr=lambda k: 1.0 - 0.9 * k / epochs)
    rng = random.Random(seed)
    size = batch_size or len(X)
    history = History()
    clock = sys.stderr.isatty()
    bar = tqdm(range(epochs), disable=not progress, desc="training", unit="epoch",
               bar_format=None if clock else NO_CLOCK)  # fmt: skip
    for _ in bar:
        order = list(range(len(X)))
        if size < len(X):
            rng.shuffle(order)
        epoch_loss, epoch_right = 0.0, 0.0
        for start in range(0, len(X), size):
            batch = order[start : start + size]
            outputs = [_as_list(model(as_values(X[i]))) for i in batch]
            targets = [y[i] for i in batch]
            total = compute_loss(outputs, targets, loss)
            if alpha:
                total = total + losses.l2(model.parameters(), alpha)
            optimizer.zero_grad()
            total.backward()
            optimizer.step()
            epoch_loss += total.data * len(batch)
            epoch_right += accuracy(outputs, targets, loss) * len(batch)
        history.loss.append(epoch_loss / len(X))
        history.accuracy.append(epoch_right / len(X))
        bar.set_postfix(loss=f"{history.loss[-1]:.4f}", acc=f"{history.accuracy[-1]:.0%}")
    return history
