"""Loss functions on Values, each the mean over the examples, and L2 regularisation.

All are built from the rule table's operations, so `backward()`, the adjoint table and the graph
work on them as on anything else. The ones with exponentials are numerically stable:
``softplus`` for binary cross-entropy, log-sum-exp shifted by the largest logit for softmax.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from microgrowth import rules
from microgrowth.engine import Operand, Value, apply1


def _mean(terms: Sequence[Value], name: str) -> Value:
    if not terms:
        raise ValueError(f"{name}: no examples given")
    return sum(terms[1:], terms[0]) * (1.0 / len(terms))


def _check_lengths(name: str, a: Sequence[object], b: Sequence[object]) -> None:
    for what, given in (("predictions", a), ("targets", b)):
        if isinstance(given, (str, bytes)) or not hasattr(given, "__len__"):
            raise TypeError(
                f"{name}: {what} must be a list (one per example), got {type(given).__name__} "
                f"{given!r}; for one example write [{given!r}]"
            )
    if len(a) != len(b):
        raise ValueError(f"{name}: {len(a)} predictions but {len(b)} targets")


def mse(predictions: Sequence[Value], targets: Sequence[Operand]) -> Value:
    """Mean squared error: mean of (prediction - target)**2."""
    _check_lengths("mse", predictions, targets)
    return _mean([(p - t) ** 2 for p, t in zip(predictions, targets)], "mse")


def hinge(scores: Sequence[Value], labels: Sequence[int]) -> Value:
    """The SVM max-margin loss of micrograd's demo: mean of relu(1 - label * score).

    Labels are -1 and 1 (turn 0/1 labels into them with ``2 * y - 1``).
    """
    _check_lengths("hinge", scores, labels)
    bad = [y for y in labels if y not in (-1, 1)]
    if bad:
        raise ValueError(f"hinge: labels must be -1 or 1, got {bad[0]!r}; use 2 * y - 1 for 0/1")
    return _mean([(1 - y * s).relu() for s, y in zip(scores, labels)], "hinge")


def binary_cross_entropy_with_logits(logits: Sequence[Value], targets: Sequence[float]) -> Value:
    """-[t ln σ(z) + (1 - t) ln(1 - σ(z))], written as softplus(z) - t z so it never overflows.

    Targets are probabilities in [0, 1] (usually the labels 0 and 1).
    """
    _check_lengths("binary_cross_entropy_with_logits", logits, targets)
    for t in targets:
        if not 0.0 <= t <= 1.0:
            raise ValueError(f"binary_cross_entropy_with_logits: target {t!r} is not in [0, 1]")
    return _mean(
        [apply1(rules.SOFTPLUS, z) - t * z for z, t in zip(logits, targets)], "binary_cross_entropy"
    )


def logsumexp(logits: Sequence[Value]) -> Value:
    """ln(sum(exp(z))) shifted by the largest z (a constant), so no exp overflows."""
    if not logits:
        raise ValueError("logsumexp: no logits given")
    m = max(z.data for z in logits)
    exps = [(z - m).exp() for z in logits]
    return sum(exps[1:], exps[0]).log() + m


def cross_entropy(logits: Sequence[Sequence[Value]], classes: Sequence[int]) -> Value:
    """Softmax cross-entropy: mean over examples of logsumexp(z) - z[class]."""
    _check_lengths("cross_entropy", logits, classes)
    terms = []
    for z, c in zip(logits, classes):
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < len(z):
            raise ValueError(f"cross_entropy: class {c!r} is not an index into {len(z)} logits")
        terms.append(logsumexp(z) - z[c])
    return _mean(terms, "cross_entropy")


def softmax(logits: Sequence[Value]) -> list[Value]:
    """Probabilities exp(z_i) / sum(exp(z)), computed stably."""
    lse = logsumexp(logits)
    return [(z - lse).exp() for z in logits]


def l2(parameters: Iterable[Value], alpha: float = 1e-4) -> Value:
    """L2 regularisation: alpha * sum of squared parameters."""
    squares = [p * p for p in parameters]
    if not squares:
        raise ValueError("l2: no parameters given")
    return alpha * sum(squares[1:], squares[0])
