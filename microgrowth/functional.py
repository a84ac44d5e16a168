"""Derivatives of plain Python functions: grad, value_and_grad, jacobian, hessian, jvp, jacfwd,
gradcheck.

The conventions are JAX's and HIPS autograd's: ``grad(f)`` differentiates with respect to the
first argument, ``argnums=(0, 1)`` gives a tuple, results are plain floats. ``f`` takes numbers
(it receives Values) and returns a Value, a number, or a sequence of them for ``jacobian``. The
transforms are pure: they read the engine's reverse sweep and never touch any ``grad``.

Transforms nest as in JAX: ``grad(grad(f))``, ``grad`` of a function that calls ``grad``,
``jacobian(grad(f))``. A transform that receives Values (it runs inside another one) gives each a
fresh input node of its own (a ``pos`` node: equal to the Value, derivative 1, so an inner and an
outer derivative are never confused) and returns its results as Values, built by
``backward(create_graph=True)``'s sweep, so the outer transform differentiates through them.

Reverse mode (``grad``, ``jacobian``) runs one backward pass per output; forward mode (``jvp``,
``jacfwd``) runs one tangent sweep per input: each node's tangent is the sum over its parents of
the local partial times the parent's tangent (v̇_i = Σ_j ∂v_i/∂v_j v̇_j), with the local partials
of the same rule table, so there is no second set of derivative formulas. Seed 001 of the
background material explains when each order is cheaper; Baydin et al. (2018), section 3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from microgrowth import rules
from microgrowth.engine import Node, Value, apply1, reverse_sweep, tangent_sweep, topological_order

Function = Callable[..., Any]


class GradcheckError(AssertionError):
    """Reverse mode and finite differences disagree; the message has the per-input table."""


def _inputs(args: Sequence[Any], name: str) -> tuple[list[Value], bool]:
    """Fresh input nodes for the arguments, and whether any argument was a Value (nested)."""
    if not args:
        raise TypeError(f"{name}: call it with at least one number, e.g. {name}(f)(2.0)")
    xs, nested = [], False
    for i, a in enumerate(args):
        if isinstance(a, Value):  # inside another transform: keep the graph, as a new node
            x = apply1(rules.POS, a)
            x.label, nested = f"x{i}", True
        else:
            x = Value(a, label=f"x{i}")
        vars(x)["_transform_input"] = True  # how an inner transform recognises this variable
        xs.append(x)
    return xs, nested


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


def _depends_on_outer_values(ys: Sequence[Value], xs: Sequence[Value]) -> bool:
    """True if the outputs use the variable of a transform still running outside this one (an
    outer ``grad``'s input captured by the function): then the results must stay Values, for
    the outer transform to differentiate. A Value of the user's own, captured the same way, is a
    constant here. Called once ``f`` has returned: this transform's inputs stop being marked,
    so that an outer transform does not mistake them for its own enclosing one's."""
    own = set(xs)
    outer = any(
        n not in own and getattr(n, "_transform_input", False)
        for y in ys
        for n in topological_order(y)
    )
    for x in xs:
        vars(x)["_transform_input"] = False
    return outer


def _adjoints(y: Value, graph: bool) -> dict[Node, Any]:
    """d y / d node for every node: floats, or Values that an outer transform differentiates."""
    return reverse_sweep(y, create_graph=graph)


def _check_argnums(argnums: int | Sequence[int], n: int) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for i in nums:
        if not -n <= i < n:
            raise IndexError(f"argnums={argnums!r}: the function got {n} argument(s)")
    return nums


def value_and_grad(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """``value_and_grad(f)(*args)`` is ``(f(*args), df/dargs[argnums])`` from one backward pass."""

    def wrapped(*args: Any) -> tuple[Any, Any]:
        xs, nested = _inputs(args, "value_and_grad")
        nums = _check_argnums(argnums, len(xs))
        y = _scalar(f(*xs), "grad")
        graph = _depends_on_outer_values([y], xs) or nested
        adjoint = _adjoints(y, graph)
        grads = tuple(adjoint.get(xs[i], 0.0) for i in nums)
        value = y if graph else y.data
        return value, grads[0] if isinstance(argnums, int) else grads

    return wrapped


def grad(f: Function, argnums: int | Sequence[int] = 0) -> Function:
    """``grad(f)(*args)``: the derivative of a scalar function with respect to ``args[argnums]``."""
    vg = value_and_grad(f, argnums)

    def wrapped(*args: Any) -> Any:
        return vg(*args)[1]

    return wrapped


def jacobian(f: Function) -> Function:
    """``jacobian(f)(*args)``: one row per output, one column per input; reverse mode, one
    backward pass per output."""

    def wrapped(*args: Any) -> list[list[Any]]:
        xs, nested = _inputs(args, "jacobian")
        ys = _outputs(f(*xs), "jacobian")
        graph = _depends_on_outer_values(ys, xs) or nested
        rows = []
        for y in ys:
            adjoint = _adjoints(y, graph)
            rows.append([adjoint.get(x, 0.0) for x in xs])
        return rows

    return wrapped


def hessian(f: Function) -> Function:
    """``hessian(f)(*args)``: the n-by-n matrix of second derivatives of a scalar function.

    Reverse over reverse: the gradient built as Values (``create_graph``), then one reverse
    sweep per gradient entry gives one row.
    """

    def wrapped(*args: Any) -> list[list[Any]]:
        xs, nested = _inputs(args, "hessian")
        y = _scalar(f(*xs), "hessian")
        graph = _depends_on_outer_values([y], xs) or nested
        gradient = _adjoints(y, True)
        rows = []
        for xi in xs:
            g = gradient.get(xi)
            if not isinstance(g, Value):  # no adjoint, or a constant one: a row of zeros
                rows.append([0.0] * len(xs))
                continue
            second = _adjoints(g, graph)
            rows.append([second.get(x, 0.0) for x in xs])
        return rows

    return wrapped


def _float_inputs(args: Sequence[Any], name: str) -> list[Value]:
    xs, nested = _inputs(args, name)
    if nested:
        raise TypeError(
            f"{name} inside another transform is not supported (its tangents are floats); "
            "use jacobian or grad, which nest"
        )
    return xs


def jvp(
    f: Function, primals: Sequence[float], tangents: Sequence[float]
) -> tuple[float | list[float], float | list[float]]:
    """``(f(*primals), J(primals) @ tangents)``: forward mode, one sweep."""
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    xs = _float_inputs(primals, "jvp")
    out = f(*xs)
    ys = _outputs(out, "jvp")
    tangent = tangent_sweep(ys, {x: float(t) for x, t in zip(xs, tangents)})
    if isinstance(out, (list, tuple)):
        return [y.data for y in ys], [tangent[y] for y in ys]
    return ys[0].data, tangent[ys[0]]


def jacfwd(f: Function) -> Function:
    """``jacfwd(f)(*args)``: the Jacobian by forward mode, one tangent sweep per input."""

    def wrapped(*args: float) -> list[list[float]]:
        xs = _float_inputs(args, "jacfwd")
        ys = _outputs(f(*xs), "jacfwd")
        columns = [tangent_sweep(ys, {x: 1.0}) for x in xs]
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
