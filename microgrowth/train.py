"""A small training loop: ``fit(model, X, y, loss="hinge")`` with a tqdm progress bar.

It is the loop of micrograd's demo, written once: forward pass over a (mini)batch, loss plus L2
regularisation, ``zero_grad()``, ``backward()``, optimizer step; the bar shows loss and accuracy
(``progress=False`` turns it off). Read it as the documented loop to copy and change.

Before the first step `fit` checks its arguments and the labels against the loss (hinge wants
-1/+1, cross-entropy class indices below the number of outputs, ...), so a mistake is an error
that says what to change rather than a run that learns nothing. During training it stops with a
`DivergenceError` when the loss overflows or grows far past its first value.

The bar is plain text, never a Jupyter widget, so an executed notebook keeps it in the file where a
repository viewer shows it. Away from a terminal (a notebook, a log) it leaves out the elapsed time
and the rate, so running a notebook twice gives the same output.
"""

from __future__ import annotations

import math
import numbers
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from tqdm.std import tqdm

from microgrowth import losses
from microgrowth.compile import Program
from microgrowth.engine import Value, as_values, no_grad, reverse_sweep
from microgrowth.nn import Module
from microgrowth.optim import SGD, LinearDecay, Optimizer

Model = Callable[[Sequence[Value]], "Value | list[Value]"]
LOSSES = ("hinge", "bce", "cross_entropy", "mse")
NO_CLOCK = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} {unit}s{postfix}"


@dataclass
class History:
    """What `fit` saw per epoch: the mean loss (with regularisation) over its steps, the
    accuracy (classification losses only: empty for "mse"), and the learning rate of the
    epoch's first step."""

    loss: list[float] = field(default_factory=list)
    accuracy: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)


class DivergenceError(ArithmeticError):
    """`fit` stopped: the loss overflowed or grew past ``diverge`` times its first value."""


def _as_list(out: Value | list[Value]) -> list[Value]:
    return out if isinstance(out, list) else [out]


def predict(model: Model, X: Sequence[Sequence[float]]) -> list[list[Value]]:
    """The model's outputs for each point, as lists (computed under `no_grad`: no graph)."""
    with no_grad():
        return [_as_list(model(as_values(x))) for x in X]


def accuracy(outputs: Sequence[Sequence[Value]], y: Sequence[float], loss: str) -> float:
    """Fraction classified right: sign of the score (hinge), logit > 0 (bce), argmax (softmax)."""
    if loss == "mse":
        raise ValueError("accuracy: loss 'mse' is a regression; accuracy is for classification")
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
    """The mean ``loss`` of the outputs against labels as `check_labels` returns them."""
    if loss == "hinge":
        return losses.hinge([o[0] for o in outputs], [int(t) for t in y])
    if loss == "bce":
        return losses.binary_cross_entropy_with_logits([o[0] for o in outputs], y)
    if loss == "cross_entropy":
        return losses.cross_entropy(outputs, [int(t) for t in y])
    if loss == "mse":
        return losses.mse([o[0] for o in outputs], y)
    raise ValueError(f"loss={loss!r}: choose one of {', '.join(LOSSES)}")


def _whole(name: str, value: object, *, none_ok: bool = False) -> None:
    if value is None and none_ok:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        also = " (or None for the whole data set)" if none_ok else ""
        raise ValueError(f"fit: {name}={value!r}; use a whole number of at least 1{also}")


def _is_number(x: object) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and math.isfinite(x)


def check_labels(y: Sequence[object], loss: str, outputs: int) -> list[float]:
    """The labels as numbers fit for ``loss`` and a model with ``outputs`` outputs, or an error
    naming the first bad label, its value and what ``loss`` wants."""
    wants_one = {"hinge": "a score", "bce": "a logit", "mse": "a prediction"}
    if loss in wants_one and outputs != 1:
        raise ValueError(
            f"fit: loss={loss!r} needs one output per point ({wants_one[loss]}), but the model "
            f"gives {outputs}; use loss='cross_entropy' for one logit per class"
        )
    if loss == "cross_entropy" and outputs < 2:
        raise ValueError(
            "fit: loss='cross_entropy' needs one logit per class (at least 2 outputs), but the "
            "model gives 1; use loss='bce' with 0/1 labels or loss='hinge' with -1/+1 labels"
        )
    clean: list[float] = []
    for i, t in enumerate(y):
        if not _is_number(t):
            raise ValueError(f"fit: label {i} is {t!r}; labels must be finite numbers")
        x = float(t)  # type: ignore[arg-type]  # a finite real number, checked above
        if loss == "hinge" and x not in (-1.0, 1.0):
            raise ValueError(
                f"fit: label {i} is {t!r}, but loss='hinge' wants -1 or 1; for 0/1 classes "
                "pass [2 * c - 1 for c in y], or use loss='bce'"
            )
        if loss == "bce" and not 0 <= x <= 1:
            raise ValueError(f"fit: label {i} is {t!r}, but loss='bce' wants a number in [0, 1]")
        if loss == "cross_entropy" and not (x.is_integer() and 0 <= x < outputs):
            raise ValueError(
                f"fit: label {i} is {t!r}, but loss='cross_entropy' wants a class index "
                f"0, 1, ..., {outputs - 1} (the model has {outputs} outputs)"
            )
        clean.append(int(x) if loss in ("hinge", "cross_entropy") else x)
    return clean


def _check_points(X: Sequence[Sequence[float]], y: Sequence[object]) -> None:
    if not X or len(X) != len(y):
        raise ValueError(f"fit: {len(X)} points but {len(y)} labels; give one label per point")
    width = len(X[0])
    for i, point in enumerate(X):
        if len(point) != width:
            raise ValueError(f"fit: point {i} has {len(point)} coordinates but point 0 has {width}")


def _replay(
    programs: dict[tuple[float, ...], Program],
    model: Module,
    X: Sequence[Sequence[float]],
    batch: Sequence[int],
    targets: Sequence[float],
    loss_of: Callable[[Sequence[Sequence[Value]], Sequence[float]], Value],
) -> tuple[float, list[list[Value]], Sequence[float]]:
    """fit(compile=True): the batch's loss, outputs and parameter gradients from its program
    (recorded on the first batch with these labels)."""
    params = model.parameters()
    key = tuple(targets)
    if key not in programs:
        points = [as_values(X[i]) for i in batch]
        graph = [_as_list(model(x)) for x in points]
        inputs = [*params, *(v for x in points for v in x)]
        shown = [o for out in graph for o in out]
        programs[key] = Program(loss_of(graph, targets), inputs, shown, name="loss")
    floats = [p.data for p in params] + [float(c) for i in batch for c in X[i]]
    value, grads, extras = programs[key].run(floats)
    if not math.isfinite(sum(grads)):  # the interpreter's answer (0 * inf) or its error
        again = [_as_list(model(as_values(X[i]))) for i in batch]
        adjoint = reverse_sweep(loss_of(again, targets))
        grads = tuple(adjoint.get(p, 0.0) for p in params)
    width = len(extras) // len(batch)
    outputs = [[Value(e) for e in extras[k : k + width]] for k in range(0, len(extras), width)]
    return value, outputs, grads[: len(params)]


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
    diverge: float | None = 1e4,
    compile: bool = False,
) -> History:
    """Train ``model`` on (X, y); return the loss, accuracy and learning rate of every epoch.

    ``loss`` is "hinge" (labels -1/1), "bce" (labels in [0, 1], logits out), "cross_entropy"
    (class indices, one logit per class) or "mse". ``optimizer`` defaults to SGD with
    micrograd's schedule per epoch, lr = 1.0 - 0.9 * epoch / epochs (every minibatch of an epoch
    uses the same rate). ``batch_size=None`` uses every point each step; otherwise the points
    are shuffled each epoch with ``random.Random(seed)``. ``alpha`` weighs the L2 term.

    Raises ValueError for a bad argument or label before training starts, and
    `DivergenceError` when a step's loss overflows or exceeds ``diverge`` times the first step's
    loss (or 1, if that is larger); ``diverge=None`` keeps only the overflow check. The model
    keeps the parameters that gave the diverging loss (no update is made from it).

    ``compile=True`` records the loss of each batch once as a program (`microgrowth.compile`),
    with the parameters and the points as its inputs and the labels frozen, and trains by
    replaying it on floats: the same losses and parameters, several times faster. It pays off when
    batches repeat (the default, ``batch_size=None``); a batch with new labels is recorded anew.
    """
    if not isinstance(loss, str) or loss not in LOSSES:
        raise ValueError(f"loss={loss!r}: choose one of {', '.join(LOSSES)}")
    _whole("epochs", epochs)
    _whole("batch_size", batch_size, none_ok=True)
    if not (_is_number(alpha) and alpha >= 0):
        raise ValueError(f"fit: alpha={alpha!r}; use a finite number >= 0 (0 turns L2 off)")
    if diverge is not None and not (_is_number(diverge) and diverge > 1):
        raise ValueError(f"fit: diverge={diverge!r}; use a number > 1, or None")
    if optimizer is not None and not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"fit: optimizer={optimizer!r}; give an optimizer such as "
            "SGD(model.parameters(), lr=0.1), or None for the default"
        )
    if optimizer is not None:
        own = {id(p) for p in model.parameters()}
        if not own.issubset({id(p) for p in optimizer.params}):
            raise ValueError(
                "fit: the optimizer does not hold this model's parameters (it was made for "
                "another model?), so training would change nothing; give "
                "optimizer=SGD(model.parameters(), ...)"
            )
    _check_points(X, y)
    targets = check_labels(y, loss, len(predict(model, X[:1])[0]))
    size = min(batch_size or len(X), len(X))
    if optimizer is None:
        steps_per_epoch = -(-len(X) // size)
        schedule = LinearDecay(1.0, 0.1, epochs, every=steps_per_epoch)
        optimizer = SGD(model.parameters(), lr=schedule)
    rng = random.Random(seed)
    history = History()
    first: float | None = None
    clock = sys.stderr.isatty()
    bar = tqdm(range(epochs), disable=not progress, desc="training", unit="epoch",
               bar_format=None if clock else NO_CLOCK)  # fmt: skip
    programs: dict[tuple[float, ...], Program] = {}  # compile=True: one per batch of labels

    def loss_of(outputs: Sequence[Sequence[Value]], batch_targets: Sequence[float]) -> Value:
        total = compute_loss(outputs, batch_targets, loss)
        return total + losses.l2(model.parameters(), alpha) if alpha else total

    for epoch in bar:
        order = list(range(len(X)))
        if size < len(X):
            rng.shuffle(order)
        history.lr.append(optimizer.current_lr())
        epoch_loss, epoch_right = 0.0, 0.0
        for start in range(0, len(X), size):
            batch = order[start : start + size]
            try:
                batch_targets = [targets[i] for i in batch]
                if compile:
                    value, outputs, grads = _replay(
                        programs, model, X, batch, batch_targets, loss_of
                    )
                else:
                    outputs = [_as_list(model(as_values(X[i]))) for i in batch]
                    total = loss_of(outputs, batch_targets)
                    value = total.data
                if first is None:
                    first = value
                limit = None if diverge is None else diverge * max(first, 1.0)
                if not math.isfinite(value) or (limit is not None and value > limit):
                    raise OverflowError(
                        f"the loss is {value:.4g}, over {diverge:g} times the first step's "
                        f"{first:.4g}"
                    )
                optimizer.zero_grad()
                if compile:
                    for p, g in zip(model.parameters(), grads):
                        p.grad += g
                else:
                    total.backward()
                optimizer.step()
            except OverflowError as error:
                if first is None:  # the very first forward pass: not a divergence
                    raise
                why = str(error).rstrip(".")
                raise DivergenceError(
                    f"fit: diverging loss at epoch {epoch}, step {optimizer.steps} "
                    f"(lr {optimizer.current_lr():g}): {why}. Stopped before this step's "
                    "update. Try a smaller lr, e.g. optimizer=SGD(model.parameters(), lr=0.05)"
                ) from error
            epoch_loss += value * len(batch)
            if loss != "mse":
                epoch_right += accuracy(outputs, batch_targets, loss) * len(batch)
        history.loss.append(epoch_loss / len(X))
        if loss == "mse":  # a regression: no accuracy to show
            bar.set_postfix(loss=f"{history.loss[-1]:.4f}")
            continue
        history.accuracy.append(epoch_right / len(X))
        bar.set_postfix(loss=f"{history.loss[-1]:.4f}", acc=f"{history.accuracy[-1]:.0%}")
    return history
