"""Derivatives of plain Python functions: grad, value_and_grad, vjp, jacobian, hessian, jvp,
jacfwd, gradcheck.

The conventions are JAX's and HIPS autograd's: ``grad(f)`` differentiates with respect to the
first argument, ``argnums=(0, 1)`` gives a tuple, results are plain floats. ``f`` takes numbers
(it receives Values) and returns a Value, a number, or a sequence of them for ``jacobian``. The
transforms are pure: they read the engine's reverse sweep and never touch any ``grad``.

Arguments may be numbers or lists, tuples and dicts of numbers, nested (JAX's "pytrees"):
``grad(f)({"w": [1.0, 2.0], "b": 0.5})`` gives ``{"w": [dw0, dw1], "b": db}``, a gradient of the
same shape. ``jacobian``, ``jacfwd`` and ``hessian`` give a matrix whose columns are the numbers of
the differentiated arguments in order (``flatten``); their ``argnums`` defaults to ``None``, every
argument, as before (JAX's default is the first argument only: pass ``argnums=0`` for that).
``has_aux=True`` lets ``f`` return ``(output, aux)``; aux comes back as it is, Values as numbers.

Transforms nest as in JAX: ``grad(grad(f))``, ``grad`` of a function that calls ``grad``,
``jacobian(grad(f))``. A transform that receives Values (it runs inside another one) gives each a
fresh input node of its own (a ``pos`` node: equal to the Value, derivative 1, so an inner and an
outer derivative are never confused) and returns its results as Values, built by
``backward(create_graph=True)``'s sweep, so the outer transform differentiates through them.

Reverse mode (``grad``, ``vjp``, ``jacobian``) runs one backward pass per output; forward mode
(``jvp``, ``jacfwd``) runs one tangent sweep per input: each node's tangent is the sum over its
parents of the local partial times the parent's tangent (v̇_i = Σ_j ∂v_i/∂v_j v̇_j), with the
local partials of the same rule table, so there is no second set of derivative formulas. Seed 001
of the background material explains when each order is cheaper; Baydin et al. (2018), section 3.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence
from typing import Any

from microgrowth import rules
from microgrowth.engine import (
    Node,
    Value,
    _as_number,
    apply1,
    dot,
    reverse_sweep,
    tangent_sweep,
    topological_order,
)

Function = Callable[..., Any]
Argnums = int | Sequence[int] | None


class GradcheckError(AssertionError):
    """Reverse mode and finite differences disagree; the message has the per-input table."""


# --- arguments and results that are lists, tuples and dicts of numbers ---------------------------

Shape = Any  # the tree with each number replaced by None: what `unflatten` fills in


def flatten(tree: Any, name: str = "flatten", where: str = "") -> tuple[list[Any], Shape]:
    """The numbers (and Values) of a nested list/tuple/dict, in order, and its shape.

    ``flatten({"w": [1.0, 2.0], "b": 3.0})`` is ``([1.0, 2.0, 3.0], {"w": [None, None],
    "b": None})``; dicts keep their key order. Anything else (a string, None, a set) is a
    TypeError naming where it is, e.g. ``argument 0["w"][1]``.
    """
    leaves: list[Any] = []

    def walk(t: Any, path: str) -> Shape:
        if isinstance(t, (Value, numbers.Real)):
            leaves.append(t)
            return None
        if isinstance(t, dict):
            return {k: walk(v, f"{path}[{k!r}]") for k, v in t.items()}
        if isinstance(t, (list, tuple)):
            kids = [walk(c, f"{path}[{i}]") for i, c in enumerate(t)]
            if isinstance(t, list):
                return kids
            return type(t)(*kids) if hasattr(t, "_fields") else tuple(kids)  # namedtuples too
        raise TypeError(
            f"{name}: {where}{path} is {type(t).__name__} {t!r}; use numbers, Values, or "
            "lists, tuples and dicts of them"
        )

    return leaves, walk(tree, "")


def unflatten(shape: Shape, leaves: Sequence[Any]) -> Any:
    """The inverse of `flatten`: ``leaves`` put into ``shape`` in order."""
    it = iter(leaves)

    def fill(s: Shape) -> Any:
        if s is None:
            return next(it)
        if isinstance(s, dict):
            return {k: fill(v) for k, v in s.items()}
        kids = [fill(c) for c in s]
        if isinstance(s, list):
            return kids
        return type(s)(*kids) if hasattr(s, "_fields") else tuple(kids)

    return fill(shape)


def _numbers(tree: Any) -> Any:
    """``tree`` with each Value replaced by its number (what aux gives back outside a transform)."""
    if isinstance(tree, Value):
        return tree.data
    if isinstance(tree, dict):
        return {k: _numbers(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_numbers(v) for v in tree]
    if isinstance(tree, tuple):
        kids = [_numbers(v) for v in tree]
        return type(tree)(*kids) if hasattr(tree, "_fields") else tuple(kids)
    return tree


class _Inputs:
    """Fresh input nodes for the arguments: ``leaves[i]`` are argument i's, ``args`` what ``f``
    receives (the same shapes, Values in place of numbers), ``nested`` whether any argument held
    a Value (we run inside another transform)."""

    def __init__(self, args: Sequence[Any], name: str, nums: tuple[int, ...] | None = None) -> None:
        """``nums``: the arguments differentiated (None: all); the others are `fixed`."""
        if not args:
            raise TypeError(f"{name}: call it with at least one number, e.g. {name}(f)(2.0)")
        self.leaves: list[list[Value]] = []
        self.fixed: list[Value] = []  # the inputs of arguments not differentiated
        self.shapes: list[Shape] = []
        self.nested = False
        for i, arg in enumerate(args):
            numbers_i, shape = flatten(arg, name, f"argument {i}")
            xs = []
            for k, a in enumerate(numbers_i):
                label = f"x{i}" if shape is None else f"x{i}_{k}"
                if isinstance(a, Value):  # inside another transform: keep the graph, a new node
                    x = apply1(rules.POS, a)
                    x.label, self.nested = label, True
                else:
                    x = Value(_as_number(a, f"{name}: argument {i}"), label=label)
                vars(x)["_transform_input"] = True  # how an inner transform recognises it
                xs.append(x)
            if nums is not None and i not in nums:
                # Their adjoints are not wanted: a partial that cannot be computed is no error
                # where it only reaches them. grad(lambda x, y: x**y, argnums=0)(-2.0, 2.0)
                # needs d/dx, not d/dy = x**y ln(x), undefined for x < 0 (JAX does not
                # differentiate them either).
                self.fixed += xs
            self.leaves.append(xs)
            self.shapes.append(shape)
        self.args = [unflatten(s, xs) for s, xs in zip(self.shapes, self.leaves)]

    def call(self, f: Function) -> Any:
        """``f`` of the inputs. Its inputs are marked while it runs, for an inner transform to
        recognise them (see `_depends_on_outer_values`), and unmarked after, also if it raised."""
        try:
            return f(*self.args)
        finally:
            for xs in self.leaves:
                for x in xs:
                    vars(x)["_transform_input"] = False

    def all(self) -> list[Value]:
        return [x for xs in self.leaves for x in xs]

    def selected(self, nums: tuple[int, ...]) -> list[Value]:
        return [x for i in nums for x in self.leaves[i]]


def _outputs(out: object, name: str) -> tuple[list[Value], Shape]:
    """The outputs of ``f`` as Values (a number is a constant output), and their shape."""
    try:
        items, shape = flatten(out, name)
    except TypeError:
        raise TypeError(
            f"{name}: the function returned {out!r}; return Values or numbers (or lists, "
            "tuples and dicts of them)"
        ) from None
    return [y if isinstance(y, Value) else Value(_as_number(y, name)) for y in items], shape


def _scalar(out: object, name: str) -> Value:
    if isinstance(out, (list, tuple, dict)):
        raise TypeError(
            f"{name}: the function returned {len(out)} outputs; use jacobian for that "
            f"({name} needs one number)"
        )
    return _outputs(out, name)[0][0]


def _split_aux(out: object, name: str) -> tuple[object, Any]:
    if not (isinstance(out, tuple) and len(out) == 2):
        raise TypeError(
            f"{name}(..., has_aux=True): the function must return a pair (output, aux), "
            f"got {type(out).__name__} {out!r}"
        )
    return out[0], out[1]


def _depends_on_outer_values(ys: Sequence[Value], xs: Sequence[Value]) -> bool:
    """True if the outputs use the variable of a transform still running outside this one (an
    outer ``grad``'s input captured by the function): then the results must stay Values, for
    the outer transform to differentiate. A Value of the user's own, captured the same way, is a
    constant here. Called once ``f`` has returned (`_Inputs.call`), when this transform's own
    inputs are no longer marked."""
    own = set(xs)
    return any(
        n not in own and getattr(n, "_transform_input", False)
        for y in ys
        for n in topological_order(y)
    )


def _adjoints(
    y: Value, graph: bool, seed: Any = 1.0, fixed: Sequence[Value] = ()
) -> dict[Node, Any]:
    """d y / d node for every node: floats, or Values that an outer transform differentiates."""
    return reverse_sweep(y, seed, create_graph=graph, fixed=fixed)


def _check_argnums(argnums: Argnums, n: int, name: str = "grad") -> tuple[int, ...]:
    """The argument numbers as a tuple (None: all of them), each checked against ``n``."""
    if argnums is None:
        return tuple(range(n))
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    if not nums or not all(isinstance(i, int) and not isinstance(i, bool) for i in nums):
        raise TypeError(f"{name}: argnums={argnums!r}; give an int or a tuple of ints")
    for i in nums:
        if not -n <= i < n:
            raise IndexError(f"{name}: argnums={argnums!r}, but the function got {n} argument(s)")
    return tuple(i % n for i in nums)


def value_and_grad(
    f: Function, argnums: int | Sequence[int] = 0, has_aux: bool = False
) -> Function:
    """``value_and_grad(f)(*args)`` is ``(f(*args), df/dargs[argnums])`` from one backward pass.

    The gradient has the shape of its argument (a number, or a list/tuple/dict of numbers).
    With ``has_aux=True``, ``f`` returns ``(output, aux)`` and the result is
    ``((value, aux), gradient)``, as in JAX.
    """

    def wrapped(*args: Any) -> tuple[Any, Any]:
        nums = _check_argnums(argnums, len(args)) if args else ()
        inputs = _Inputs(args, "value_and_grad", nums)
        out = inputs.call(f)
        aux = None
        if has_aux:
            out, aux = _split_aux(out, "grad")
        y = _scalar(out, "grad")
        xs = inputs.all()
        graph = _depends_on_outer_values([y], xs) or inputs.nested
        adjoint = _adjoints(y, graph, fixed=inputs.fixed)
        grads = tuple(
            unflatten(inputs.shapes[i], [adjoint.get(x, 0.0) for x in inputs.leaves[i]])
            for i in nums
        )
        value = y if graph else y.data
        gradient = grads[0] if isinstance(argnums, int) else grads
        if has_aux:
            return (value, aux if graph else _numbers(aux)), gradient
        return value, gradient

    return wrapped


def grad(f: Function, argnums: int | Sequence[int] = 0, has_aux: bool = False) -> Function:
    """``grad(f)(*args)``: the derivative of a scalar function with respect to ``args[argnums]``,
    shaped like that argument. With ``has_aux=True``: ``(gradient, aux)``, as in JAX."""
    vg = value_and_grad(f, argnums, has_aux)

    def wrapped(*args: Any) -> Any:
        (value, gradient) = vg(*args)
        return (gradient, value[1]) if has_aux else gradient

    return wrapped


def vjp(f: Function, *primals: Any) -> tuple[Any, Callable[[Any], tuple[Any, ...]]]:
    """``out, vjp_fn = vjp(f, *primals)``: ``f``'s output and the vector-Jacobian product.

    ``vjp_fn(cotangent)`` (a cotangent shaped like ``out``) gives one cotangent per primal,
    shaped like it: Σ_k cotangent_k d out_k / d primal, one reverse sweep per call. ``f`` runs
    once; ``vjp_fn`` may be called many times. As in JAX, ``vjp_fn`` returns a tuple even for one
    primal.
    """
    inputs = _Inputs(primals, "vjp")
    out = inputs.call(f)
    ys, shape = _outputs(out, "vjp")
    xs = inputs.all()
    graph = _depends_on_outer_values(ys, xs) or inputs.nested

    def vjp_fn(cotangent: Any) -> tuple[Any, ...]:
        cts, ct_shape = flatten(cotangent, "vjp_fn", "the cotangent")
        if ct_shape != shape:
            raise ValueError(
                f"vjp_fn: the cotangent {cotangent!r} does not have the shape of the output "
                f"{unflatten(shape, [y.data for y in ys])!r}"
            )
        seeds = [c if isinstance(c, Value) else _as_number(c, "vjp_fn: the cotangent") for c in cts]
        if len(ys) == 1:
            adjoint = _adjoints(ys[0], graph or isinstance(seeds[0], Value), seeds[0])
        else:  # one sweep from Σ_k cotangent_k out_k, a dot node on top of the outputs
            with_values = graph or any(isinstance(c, Value) for c in seeds)
            adjoint = _adjoints(dot(seeds, ys), with_values) if ys else {}
        return tuple(
            unflatten(s, [adjoint.get(x, 0.0) for x in leaves])
            for s, leaves in zip(inputs.shapes, inputs.leaves)
        )

    value = unflatten(shape, ys if graph else [y.data for y in ys])
    return value, vjp_fn


def jacobian(f: Function, argnums: Argnums = None) -> Function:
    """``jacobian(f)(*args)``: one row per output, one column per input number; reverse mode,
    one backward pass per output.

    ``argnums`` picks the arguments differentiated; ``None`` (the default, as before) means all
    of them. JAX's default is the first argument only: write ``argnums=0`` for that. Arguments
    and outputs may be lists, tuples or dicts of numbers: rows and columns follow `flatten`.
    """

    def wrapped(*args: Any) -> list[list[Any]]:
        nums = _check_argnums(argnums, len(args), "jacobian") if args else ()
        inputs = _Inputs(args, "jacobian", nums)
        xs = inputs.selected(nums)
        ys = _outputs(inputs.call(f), "jacobian")[0]
        graph = _depends_on_outer_values(ys, inputs.all()) or inputs.nested
        rows = []
        for y in ys:
            adjoint = _adjoints(y, graph, fixed=inputs.fixed)
            rows.append([adjoint.get(x, 0.0) for x in xs])
        return rows

    return wrapped


def hessian(f: Function, argnums: Argnums = None) -> Function:
    """``hessian(f)(*args)``: the n-by-n matrix of second derivatives of a scalar function, over
    the input numbers of ``argnums`` (``None``, the default, as before: all arguments; JAX's
    default is ``argnums=0``).

    Reverse over reverse: the gradient built as Values (``create_graph``), then one reverse
    sweep per gradient entry gives one row.
    """

    def wrapped(*args: Any) -> list[list[Any]]:
        nums = _check_argnums(argnums, len(args), "hessian") if args else ()
        inputs = _Inputs(args, "hessian", nums)
        xs = inputs.selected(nums)
        y = _scalar(inputs.call(f), "hessian")
        graph = _depends_on_outer_values([y], inputs.all()) or inputs.nested
        gradient = _adjoints(y, True, fixed=inputs.fixed)
        rows = []
        for xi in xs:
            g = gradient.get(xi)
            if not isinstance(g, Value):  # no adjoint, or a constant one: a row of zeros
                rows.append([0.0] * len(xs))
                continue
            second = _adjoints(g, graph, fixed=inputs.fixed)
            rows.append([second.get(x, 0.0) for x in xs])
        return rows

    return wrapped


def _float_inputs(args: Sequence[Any], name: str) -> _Inputs:
    inputs = _Inputs(args, name)
    if inputs.nested:
        raise TypeError(
            f"{name} inside another transform is not supported (its tangents are floats); "
            "use jacobian or grad, which nest"
        )
    return inputs


def jvp(f: Function, primals: Sequence[Any], tangents: Sequence[Any]) -> tuple[Any, Any]:
    """``(f(*primals), J(primals) @ tangents)``: forward mode, one sweep. Each tangent has the
    shape of its primal; the results have the shape of ``f``'s output."""
    if not isinstance(primals, (list, tuple)) or not isinstance(tangents, (list, tuple)):
        raise TypeError(
            "jvp(f, primals, tangents): primals and tangents are sequences with one entry per "
            f"argument, e.g. jvp(f, (2.0,), (1.0,)); got {primals!r} and {tangents!r}"
        )
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    inputs = _float_inputs(primals, "jvp")
    seeds: dict[Node, float] = {}
    for i, (xs, shape, t) in enumerate(zip(inputs.leaves, inputs.shapes, tangents)):
        ts, t_shape = flatten(t, "jvp", f"tangent {i}")
        if t_shape != shape:
            raise ValueError(f"jvp: tangent {i} {t!r} does not have the shape of primal {i}")
        seeds.update((x, _as_number(dt, f"jvp: tangent {i}")) for x, dt in zip(xs, ts))
    ys, shape = _outputs(inputs.call(f), "jvp")
    tangent = tangent_sweep(ys, seeds)
    return unflatten(shape, [y.data for y in ys]), unflatten(shape, [tangent[y] for y in ys])


def jacfwd(f: Function, argnums: Argnums = None) -> Function:
    """``jacfwd(f)(*args)``: the Jacobian by forward mode, one tangent sweep per input number;
    ``argnums`` as in `jacobian` (``None``, the default: all arguments)."""

    def wrapped(*args: Any) -> list[list[float]]:
        inputs = _float_inputs(args, "jacfwd")
        xs = inputs.selected(_check_argnums(argnums, len(args), "jacfwd"))
        ys = _outputs(inputs.call(f), "jacfwd")[0]
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
