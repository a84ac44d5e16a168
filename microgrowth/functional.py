"""Derivatives of plain Python functions: grad, value_and_grad, jacobian, jvp, jacfwd, gradcheck.

The conventions are JAX's and HIPS autograd's: ``grad(f)`` differentiates with respect to the
first argument, ``argnums=(0, 1)`` gives a tuple, results are plain floats. ``f`` takes numbers
(it receives Values) and returns a Value, a number, or a sequence of them for ``jacobian``.

Reverse mode (``grad``, ``jacobian``) runs one backward pass per output; forward mode (``jvp``,
``jacfwd``) runs one tangent sweep per input: each node's tangent is the sum over its parents of
the local partial times the parent's tangent (v̇_i = Σ_j ∂v_i/∂v_j v̇_j), with the local partials
of the same rule table, so there is no second set of derivative formulas. Seed 001 of the
background material explains when each order is cheaper; Baydin et al. (2018), section 3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from microgrowth.engine import Node, Value, topological_order

Function = Callable[..., Any]


class GradcheckError(AssertionError):
    """Reverse mode and finite differences disagree; the message has the per-input table."""


def _inputs(args: Sequence[float], name: str) -> list[Value]:
    if not args:
        raise TypeError(f"{name}: call it with at least one number, e.g. {name}(f)(2.0)")
    return [Value(a.data if isinstance(a, Value) else a, label=f"x{i}") for i, a in enumerate(args)]


def _outputs(out: object, name: str) -> list[Value]:
    items = list(out) if isinstance(out, (list, tuple)) else [out]
    values = []
    for item in items:
        if isinstance(item, Value):
            values.append(item)
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            values.append(Value(item))  # a constant output: its derivatives are 0
        else:
            raise TypeError(f"{name}: the function returned {item!r}; return Values or numbers")
    return values


def _scalar(out: object, name: str) -> Value:
    if isinstance(out, (list, tuple)):
        raise TypeError(f"{name}: the function returned {len(out)} outputs; use jacobian for that")
    return _outputs(out, name)[0]


def value_and_grad(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """``value_and_grad(f)(*args)`` is ``(f(*args), df/dargs[argnums])`` from one backward pass."""

    def wrapped(*args: float) -> tuple[float, float | tuple[float, ...]]:
        xs = _inputs(args, "value_and_grad")
        nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
        for i in nums:
            if not -len(xs) <= i < len(xs):
                raise IndexError(f"argnums={argnums!r}: the function got {len(xs)} argument(s)")
        y = _scalar(f(*xs), "grad")
        y.backward()
        grads = tuple(xs[i].grad for i in nums)
        return y.data, grads[0] if isinstance(argnums, int) else grads

    return wrapped


def grad(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """``grad(f)(*args)``: the derivative of a scalar function with respect to ``args[argnums]``."""
    vg = value_and_grad(f, argnums)
    return lambda *args: vg(*args)[1]


def jacobian(f: Function) -> Function:
    """``jacobian(f)(*args)``: one row per output, one column per input; reverse mode, one
    backward pass per output."""

    def wrapped(*args: float) -> list[list[float]]:
        xs = _inputs(args, "jacobian")
        rows = []
        for y in _outputs(f(*xs), "jacobian"):
            for x in xs:
                x.grad = 0.0
            y.zero_grad()
            y.backward()
            rows.append([x.grad for x in xs])
        return rows

    return wrapped


def hessian(f: Function) -> Function:
    """``hessian(f)(*args)``: the n-by-n matrix of second derivatives of a scalar function.

    Reverse over reverse: ``backward(create_graph=True)`` builds the gradient as Values, then
    one backward pass per gradient entry gives one row.
    """

    def wrapped(*args: float) -> list[list[float]]:
        xs = _inputs(args, "hessian")
        y = _scalar(f(*xs), "hessian")
        gradient = y.backward(create_graph=True)
        rows = []
        for xi in xs:
            g = gradient.get(xi)
            for x in xs:
                x.grad = 0.0
            if g is not None:
                g.zero_grad()
                g.backward()
            rows.append([x.grad if g is not None else 0.0 for x in xs])
        return rows

    return wrapped


def forward_tangents(outputs: Sequence[Value], seeds: dict[Value, float]) -> dict[Node, float]:
    """One forward sweep: the tangent of every node, given the tangents of some inputs."""
    order: list[Node] = []
    seen: set[Node] = set()
    # The union of topological orders is one. Last output first: where the outputs are the steps
    # of one computation (h_k from h_{k-1}), the first walk finds every node and the others are
    # skipped, so one sweep costs one pass over the graph, not one walk back per output.
    for y in reversed(outputs):
        if y in seen:
            continue
        for node in topological_order(y):
            if node not in seen:
                seen.add(node)
                order.append(node)
    tangent: dict[Node, float] = {}
    for node in order:
        if node.rule is None:
            tangent[node] = seeds.get(node, 0.0) if isinstance(node, Value) else 0.0
        else:
            tangent[node] = sum(d * tangent[p] for p, d in zip(node.parents, node.local_grads()))
    return tangent


def jvp(
    f: Function, primals: Sequence[float], tangents: Sequence[float]
) -> tuple[float | list[float], float | list[float]]:
    """``(f(*primals), J(primals) @ tangents)``: forward mode, one sweep."""
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    xs = _inputs(primals, "jvp")
    out = f(*xs)
    ys = _outputs(out, "jvp")
    tangent = forward_tangents(ys, {x: float(t) for x, t in zip(xs, tangents)})
    if isinstance(out, (list, tuple)):
        return [y.data for y in ys], [tangent[y] for y in ys]
    return ys[0].data, tangent[ys[0]]


def jacfwd(f: Function) -> Function:
    """``jacfwd(f)(*args)``: the Jacobian by forward mode, one tangent sweep per input."""

    def wrapped(*args: float) -> list[list[float]]:
        xs = _inputs(args, "jacfwd")
        ys = _outputs(f(*xs), "jacfwd")
        columns = [forward_tangents(ys, {x: 1.0}) for x in xs]
        return [[column[y] for column in columns] for y in ys]

    return wrapped


def gradcheck(
    f: Function,
    inputs: Sequence[float],
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-4,
) -> bool:
    """True if reverse mode agrees with central finite differences at ``inputs``; otherwise a
    `GradcheckError` whose message lists, per input, both numbers and their difference."""
    point = [float(x) for x in inputs]
    reverse = grad(f, argnums=tuple(range(len(point))))(*point)

    def value(*xs: float) -> float:
        return _scalar(f(*[Value(x) for x in xs]), "gradcheck").data

    lines, bad = [], False
    for i, r in enumerate(reverse):
        step = eps * max(1.0, abs(point[i]))
        up, down = list(point), list(point)
        up[i] += step
        down[i] -= step
        numeric = (value(*up) - value(*down)) / (2 * step)
        diff = abs(r - numeric)
        ok = diff <= atol + rtol * abs(numeric)
        bad |= not ok
        lines.append(
            f"  x{i} = {point[i]!r}: reverse {r!r}, finite differences {numeric!r}, "
            f"difference {diff:.3g}{'' if ok else '  <-- too large'}"
        )
    if bad:
        raise GradcheckError(
            "gradcheck: reverse mode and finite differences disagree\n" + "\n".join(lines)
        )
    return True
