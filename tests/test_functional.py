"""grad, value_and_grad, jacobian, jvp, jacfwd, gradcheck, and the forward tangent trace."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgrowth as mg
from microgrowth import Value
from microgrowth.engine import Node
from microgrowth.functional import (
    GradcheckError,
    grad,
    gradcheck,
    jacfwd,
    jacobian,
    jvp,
    value_and_grad,
)
from microgrowth.trace import tangent_trace

from .conftest import central_difference, close
from .test_engine import expressions


def f(x1: Value, x2: Value) -> Value:
    return mg.log(x1) + x1 * x2 - mg.sin(x2)


def test_grad_and_value_and_grad_of_the_running_example() -> None:
    assert grad(f)(2.0, 5.0) == 5.5
    assert grad(f, argnums=1)(2.0, 5.0) == pytest.approx(2 - math.cos(5), abs=1e-12)
    value, grads = value_and_grad(f, argnums=(0, 1))(2.0, 5.0)
    assert value == pytest.approx(11.652071455223084, abs=1e-12)
    assert grads == pytest.approx((5.5, 1.7163378145367738), abs=1e-12)


def three(x: Value, y: Value) -> list[Value]:
    return [x * y, mg.sin(x), x + y * y]


def test_jacobian_forward_and_reverse_agree_with_the_closed_form() -> None:
    expected = [[2.0, 1.0], [math.cos(1.0), 0.0], [1.0, 4.0]]
    for jac in (jacobian, jacfwd):
        rows = jac(three)(1.0, 2.0)
        assert len(rows) == 3
        for row, want in zip(rows, expected, strict=True):
            assert row == pytest.approx(want, abs=1e-15)


def test_jvp_is_the_jacobian_times_the_tangent() -> None:
    out, tangent = jvp(three, (1.0, 2.0), (0.5, -1.0))
    assert out == pytest.approx([2.0, math.sin(1.0), 5.0])
    J = jacobian(three)(1.0, 2.0)
    assert tangent == pytest.approx([row[0] * 0.5 - row[1] for row in J])
    assert jvp(f, (2.0, 5.0), (1.0, 0.0)) == pytest.approx((11.652071455223084, 5.5))


@given(expressions(), st.lists(st.floats(-3, 3), min_size=3, max_size=3))
def test_reverse_forward_and_finite_differences_agree(
    build: Callable[[list[Value]], Value], point: list[float]
) -> None:
    def fn(a: Value, b: Value, c: Value) -> Value:
        return build([a, b, c])

    rev = jacobian(fn)(*point)[0]
    fwd = jacfwd(fn)(*point)[0]
    g = grad(fn, argnums=(0, 1, 2))(*point)
    tangent = (0.5, -1.0, 2.0)
    _, along = jvp(fn, point, tangent)
    assert isinstance(along, float)
    assert close(along, sum(r * t for r, t in zip(rev, tangent)), rtol=1e-9, atol=1e-12)
    for i in range(3):
        numeric = central_difference(lambda *v: fn(*map(Value, v)).data, point, i)
        assert close(rev[i], numeric, rtol=1e-4, atol=1e-6)
        assert rev[i] == pytest.approx(fwd[i], rel=1e-9, abs=1e-12) == g[i]


def test_gradcheck_passes_and_fails_with_a_table() -> None:
    assert gradcheck(f, [2.0, 5.0])

    def wrong(x: Value) -> Value:  # x * x as a custom operation whose derivative is wrong
        y = Value(x.data * x.data, (x,), "square")

        def _backward() -> None:
            x.grad += (2 * x.data + 1.0) * y.grad

        y._backward = _backward
        return y

    with pytest.raises(
        GradcheckError, match=r"x0 = 3.0: reverse 7.0, finite differences 5.99999.*too large"
    ):
        gradcheck(wrong, [3.0])


def test_bad_calls() -> None:
    with pytest.raises(TypeError, match="returned 2 outputs; use jacobian"):
        grad(lambda x: [x, x])(1.0)
    with pytest.raises(IndexError, match="argnums=2"):
        grad(f, argnums=2)(1.0, 2.0)
    with pytest.raises(TypeError, match="returned 'a'"):
        grad(lambda x: "a")(1.0)
    with pytest.raises(ValueError, match="2 primals but 1 tangents"):
        jvp(f, (1.0, 2.0), (1.0,))
    assert grad(lambda x: 3.0)(1.0) == 0.0  # a constant function


def test_forward_tangent_trace_matches_the_reference() -> None:
    x1, x2 = Value(2.0, label="x1"), Value(5.0, label="x2")
    t = tangent_trace(f(x1, x2), x1=1)
    values = {row[0][0]: float(row[2][0]) for row in t.rows}
    assert values == {
        "v̇_{-1}": 1.0, "v̇_0": 0.0, "v̇_1": 0.5, "v̇_2": 5.0, "v̇_3": 0.0, "v̇_4": 5.5, "v̇_5": 5.5,
    }  # fmt: skip
    assert t.output_tangent == 5.5
    text = str(t)
    assert "v̇_2      = v̇_{-1} * v_0 + v̇_0 * v_{-1} = 1 * 5 + 0 * 2" in text
    assert "\\dot{v}_{1}" in t.to_latex()
    with pytest.raises(ValueError, match="no input named 'x3'"):
        tangent_trace(f(x1, x2), x3=1)


SECOND: dict[str, Callable[[float], float]] = {
    "neg": lambda x: 0.0,
    "exp": math.exp,
    "log": lambda x: -1 / x**2,
    "sin": lambda x: -math.sin(x),
    "cos": lambda x: -math.cos(x),
    "tan": lambda x: 2 * math.tan(x) / math.cos(x) ** 2,
    "tanh": lambda x: -2 * math.tanh(x) * (1 - math.tanh(x) ** 2),
    "sigmoid": lambda x: (s := 1 / (1 + math.exp(-x))) * (1 - s) * (1 - 2 * s),
    "softplus": lambda x: (s := 1 / (1 + math.exp(-x))) * (1 - s),
    "relu": lambda x: 0.0,
    "sqrt": lambda x: -0.25 * x**-1.5,
    "abs": lambda x: 0.0,
    "pos": lambda x: 0.0,
}


def test_every_unary_rule_has_a_second_derivative_test() -> None:
    assert set(SECOND) == {r.name for r in mg.rules.UNARY}


@pytest.mark.parametrize("name", sorted(SECOND))
def test_second_derivatives_of_unary_rules_match_closed_forms(name: str) -> None:
    rule = mg.RULES[name]
    lo, hi = rule.domain[0]

    @given(st.floats(lo, hi))
    def check(x: float) -> None:
        if rule.kinks and min(abs(x - k) for k in rule.kinks) < 1e-3:
            return
        h = mg.hessian(lambda v: mg.engine.apply(rule, v))(x)
        assert h[0][0] == pytest.approx(SECOND[name](x), rel=1e-9, abs=1e-12)

    check()


def test_second_derivative_by_backward_create_graph() -> None:
    x = Value(0.7)
    y = x.sin()
    dy = y.backward(create_graph=True)[x]
    assert dy.data == pytest.approx(math.cos(0.7)) and x.grad == pytest.approx(math.cos(0.7))
    x.grad = 0.0
    dy.backward()
    assert x.grad == pytest.approx(-math.sin(0.7))


def test_hessian_of_the_running_example() -> None:
    # f = ln x1 + x1 x2 - sin x2: f11 = -1/x1^2, f12 = f21 = 1, f22 = sin x2
    h = mg.hessian(f)(2.0, 5.0)
    assert h[0] == pytest.approx([-0.25, 1.0]) and h[1] == pytest.approx([1.0, math.sin(5.0)])


@given(expressions(), st.lists(st.floats(-2, 2), min_size=3, max_size=3))
def test_hessian_matches_finite_differences_of_the_gradient(
    build: Callable[[list[Value]], Value], point: list[float]
) -> None:
    def fn(a: Value, b: Value, c: Value) -> Value:
        return build([a, b, c])

    h = mg.hessian(fn)(*point)
    for i in range(3):
        df = grad(fn, argnums=i)
        for j in range(3):
            numeric = central_difference(df, point, j, h=1e-5)
            assert close(h[i][j], numeric, rtol=1e-3, atol=1e-5)
    for i in range(3):
        for j in range(i):
            assert close(h[i][j], h[j][i], rtol=1e-9, atol=1e-12)  # mixed partials agree


def test_create_graph_inside_no_grad_is_refused() -> None:
    x = Value(1.0)
    y = x * x
    with mg.no_grad(), pytest.raises(RuntimeError, match="inside no_grad"):
        y.backward(create_graph=True)


def test_forward_sweep_walks_a_trajectory_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Outputs that are the steps of one computation: one walk finds the whole graph."""
    walks: list[int] = []
    real = mg.topological_order

    def counted(root: Node) -> list[Node]:
        order = real(root)
        walks.append(len(order))
        return order

    monkeypatch.setattr(mg.engine, "topological_order", counted)

    def trajectory(t: Value) -> list[Value]:
        h, states = t, []
        for _ in range(30):
            h = mg.sin(h) + t
            states.append(h)
        return states

    column = jacfwd(trajectory)(0.3)
    assert len(walks) == 1 and walks[0] == 61  # t, then sin and + per step
    h, expected = 0.3, []
    dh = 1.0
    for _ in range(30):
        dh = math.cos(h) * dh + 1.0
        h = math.sin(h) + 0.3
        expected.append(dh)
    assert [row[0] for row in column] == pytest.approx(expected, rel=1e-12)


def test_nested_transforms_give_floats_outside_and_values_inside() -> None:
    assert mg.grad(mg.grad(lambda x: x**3))(2.0) == 12.0
    assert mg.grad(lambda w: mg.grad(lambda x: w * x)(1.0))(2.0) == 1.0  # captured outer w
    third = mg.grad(lambda x: mg.grad(lambda y: mg.grad(lambda z: x * y * z * z)(y))(x))(2.0)
    assert third == 16.0  # d/dx of 4x^2
    assert mg.jacobian(mg.grad(lambda x, y: x * x * y))(2.0, 3.0) == [[6.0, 4.0]]
    w = Value(3.0)
    w.grad = 5.0
    assert mg.jacobian(lambda x: [w * x])(2.0) == [[3.0]]  # a user's Value is a constant here
    assert w.grad == 5.0  # and transforms leave every grad alone


def test_graphs_pickle_and_deepcopy() -> None:
    import copy
    import pickle

    v = Value(2.0, label="v")
    y = mg.log(v) * v
    for clone in (pickle.loads(pickle.dumps(y)), copy.deepcopy(y)):
        clone.backward()
        (leaf,) = [p for p in clone.parents if p.label == "v"]
        assert leaf.grad == pytest.approx(math.log(2) + 1)
    assert v.grad == 0.0  # the original graph is untouched


# --- issue 11: nested transforms, and transforms that leave grads alone ------------------------


def test_nested_grad_rows_of_issue_11() -> None:
    assert grad(grad(lambda x: x**3))(2.0) == pytest.approx(12.0, rel=1e-15)  # was 0.0
    assert grad(grad(mg.sin))(1.0) == pytest.approx(-math.sin(1.0), rel=1e-15)  # was 0.0
    # grad of a function that calls grad: d/dx (cos(x) * x) = cos 1 - sin 1 (was cos 1)
    assert grad(lambda x: grad(mg.sin)(x) * x)(1.0) == pytest.approx(
        math.cos(1.0) - math.sin(1.0), rel=1e-14
    )
    assert grad(grad(grad(lambda x: x**4)))(2.0) == pytest.approx(48.0, rel=1e-15)
    assert jacobian(grad(lambda x, y: x * x * y, argnums=(0, 1)))(3.0, 2.0) == [
        [4.0, 6.0],
        [6.0, 0.0],
    ]


def test_a_transform_leaves_existing_grads_alone() -> None:
    w = Value(1.0)
    w.grad = 5.0
    (row,) = jacobian(lambda x: [w * x])(2.0)  # was: w.grad became 2
    assert w.grad == 5.0
    assert row == [1.0]  # w is the user's own Value, not a transform's: a constant here
    assert grad(lambda x: w * x * x)(3.0) == 6.0
    assert value_and_grad(lambda x: mg.exp(x))(0.0) == (1.0, 1.0)
    assert w.grad == 5.0


# --- JAX conveniences: argnums, vjp, has_aux, lists/tuples/dicts of numbers ----------------------


class approx_rows:
    """A matrix (list of rows) equal to ``rows`` within 1e-12 relative: pytest.approx is flat."""

    def __init__(self, rows: list[list[float]]) -> None:
        self.rows = rows

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, list)
            and [len(r) for r in other] == [len(r) for r in self.rows]
            and all(r == pytest.approx(w, rel=1e-12, abs=1e-15) for r, w in zip(other, self.rows))
        )

    def __repr__(self) -> str:
        return f"approx_rows({self.rows!r})"


def g3(x: Value, y: Value, z: Value) -> Value:
    return x * y * y + mg.sin(z) * x


def test_argnums_of_jacobian_jacfwd_and_hessian() -> None:
    x, y, z = 2.0, 3.0, 0.5
    full = [[y * y + math.sin(z), 2 * x * y, math.cos(z) * x]]
    for jac in (jacobian, jacfwd):
        assert jac(g3)(x, y, z) == approx_rows(full)  # None, the default: every argument
        assert jac(g3, argnums=None)(x, y, z) == jac(g3)(x, y, z)
        assert jac(g3, argnums=0)(x, y, z) == approx_rows([[full[0][0]]])  # JAX's default
        assert jac(g3, argnums=(2, 0))(x, y, z) == approx_rows([[full[0][2], full[0][0]]])
        assert jac(g3, argnums=-1)(x, y, z) == approx_rows([[full[0][2]]])
    h = mg.hessian(g3)(x, y, z)
    assert h == approx_rows(
        [[0.0, 2 * y, math.cos(z)], [2 * y, 2 * x, 0.0], [math.cos(z), 0.0, -math.sin(z) * x]]
    )
    assert mg.hessian(g3, argnums=1)(x, y, z) == approx_rows([[2 * x]])
    assert mg.hessian(g3, argnums=(0, 2))(x, y, z) == approx_rows(
        [[0.0, math.cos(z)], [math.cos(z), -math.sin(z) * x]]
    )


@pytest.mark.parametrize(
    ("argnums", "error", "message"),
    [
        (3, IndexError, r"jacobian: argnums=3, but the function got 3 argument"),
        ((0, -4), IndexError, r"argnums=\(0, -4\)"),
        ("0", TypeError, r"argnums='0'; give an int or a tuple of ints"),
        ((), TypeError, r"argnums=\(\)"),
        (True, TypeError, r"argnums=True"),
    ],
)
def test_bad_argnums_are_named(argnums: object, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        jacobian(g3, argnums=argnums)(1.0, 2.0, 3.0)  # type: ignore[arg-type]


def test_vjp_of_one_and_several_outputs() -> None:
    out, vjp_fn = mg.vjp(g3, 2.0, 3.0, 0.5)
    assert out == pytest.approx(2 * 9 + math.sin(0.5) * 2)
    full = jacobian(g3)(2.0, 3.0, 0.5)[0]
    assert vjp_fn(1.0) == pytest.approx(tuple(full))
    assert vjp_fn(-2.0) == pytest.approx(tuple(-2 * d for d in full))  # called again, same graph

    out3, vjp3 = mg.vjp(three, 1.0, 2.0)
    assert out3 == pytest.approx([2.0, math.sin(1.0), 5.0])
    J = jacobian(three)(1.0, 2.0)
    ct = [0.5, -1.0, 2.0]
    assert vjp3(ct) == pytest.approx(
        tuple(sum(c * row[i] for c, row in zip(ct, J)) for i in (0, 1))
    )
    (single,) = mg.vjp(mg.exp, 0.0)[1](3.0)  # a tuple even for one primal, as in JAX
    assert single == 3.0


def test_vjp_checks_the_cotangent() -> None:
    _, vjp3 = mg.vjp(three, 1.0, 2.0)
    with pytest.raises(ValueError, match=r"vjp_fn: the cotangent \[1.0\] does not have the shape"):
        vjp3([1.0])
    with pytest.raises(TypeError, match=r"vjp_fn: the cotangent\[1\] is str 'a'"):
        vjp3([1.0, "a", 2.0])
    _, vjp1 = mg.vjp(mg.sin, 1.0)
    with pytest.raises(ValueError, match=r"vjp_fn: the cotangent: got nan"):
        vjp1(math.nan)


def test_vjp_nests_inside_grad() -> None:
    # d/dx of (vjp of sin at x with cotangent x) = d/dx (x cos x) = cos x - x sin x
    def f(x: Value) -> Value:
        result: Value = mg.vjp(mg.sin, x)[1](x)[0]
        return result

    assert grad(f)(0.7) == pytest.approx(math.cos(0.7) - 0.7 * math.sin(0.7), rel=1e-14)


def test_has_aux_on_grad_and_value_and_grad() -> None:
    def loss(w: Value) -> tuple[Value, dict[str, object]]:
        y = w * w
        return y, {"y": y, "note": "squared"}

    g, aux = grad(loss, has_aux=True)(3.0)
    assert g == 6.0 and aux == {"y": 9.0, "note": "squared"}  # Values come back as numbers
    (value, aux2), g2 = value_and_grad(loss, has_aux=True)(3.0)
    assert (value, aux2, g2) == (9.0, {"y": 9.0, "note": "squared"}, 6.0)
    with pytest.raises(TypeError, match=r"has_aux=True\): the function must return a pair"):
        grad(lambda w: w * w, has_aux=True)(3.0)
    # nested: the inner aux is a Value the outer grad can use
    outer = grad(lambda x: grad(lambda w: (w * w * x, w * x), has_aux=True)(x)[1] * 1.0)(2.0)
    assert outer == 4.0  # d/dx (w x) at w = x: 2x


def test_arguments_that_are_lists_tuples_and_dicts() -> None:
    def loss(params: dict[str, Any], xs: tuple[Value, Value]) -> Value:
        b: Value = params["b"]
        return mg.dot(params["w"], list(xs)) + b * b

    params = {"w": [1.0, 2.0], "b": 0.5}
    xs = (3.0, -1.0)
    g = grad(loss)(params, xs)
    assert g == {"w": [3.0, -1.0], "b": 1.0}  # the shape of the argument
    gp, gx = grad(loss, argnums=(0, 1))(params, xs)
    assert gp == g and gx == (1.0, 2.0)
    value, _ = value_and_grad(loss)(params, xs)
    assert value == 1.0 * 3.0 + 2.0 * -1.0 + 0.25
    assert jacobian(loss, argnums=0)(params, xs) == [[3.0, -1.0, 1.0]]  # columns: flatten order
    assert jacfwd(loss)(params, xs) == [[3.0, -1.0, 1.0, 1.0, 2.0]]
    assert mg.hessian(loss, argnums=0)(params, xs) == [[0.0] * 3, [0.0] * 3, [0.0, 0.0, 2.0]]
    out, vjp_fn = mg.vjp(lambda p: [p[0] * p[1], {"s": p[0] + p[1]}], [2.0, 5.0])
    assert out == [10.0, {"s": 7.0}]
    assert vjp_fn([1.0, {"s": 1.0}]) == ([6.0, 3.0],)
    assert jvp(lambda p: {"y": p["a"] * 3}, ({"a": 2.0},), ({"a": 1.0},)) == (
        {"y": 6.0},
        {"y": 3.0},
    )
    # nested transforms with structured arguments
    hess_diag = grad(lambda ws: grad(lambda v: v[0] ** 3 + v[1] ** 2)(ws)[0])([1.0, 2.0])
    assert hess_diag == [6.0, 0.0]


def test_flatten_and_unflatten_round_trip() -> None:
    tree = {"a": [1.0, (2.0, 3)], "b": {"c": True}, "d": []}
    leaves, shape = mg.functional.flatten(tree)
    assert leaves == [1.0, 2.0, 3, True]
    assert mg.functional.unflatten(shape, leaves) == tree


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((["a", 1.0],), r"grad: argument 0\[0\] is str 'a'"),
        (({"w": None},), r"grad: argument 0\['w'\] is NoneType None"),
        (({1.0, 2.0},), r"grad: argument 0 is set"),
        (([1.0, math.nan],), r"grad: argument 0: got nan"),
    ],
)
def test_bad_structured_arguments_are_named(args: tuple[object, ...], message: str) -> None:
    with pytest.raises((TypeError, ValueError), match=message):
        grad(lambda p: p[0])(*args)


def test_an_argument_not_differentiated_needs_no_partial() -> None:
    # d/dy of x**y is x**y ln(x), undefined at x < 0; argnums=0 asks only for d/dx (as in JAX).
    power = lambda x, y: x**y  # noqa: E731
    assert mg.grad(power, argnums=0)(-2.0, 2.0) == -4.0  # was a ValueError about d/db
    assert mg.value_and_grad(power, argnums=(0,))(-2.0, 3.0) == (-8.0, (12.0,))
    assert mg.jacobian(lambda x, y: [x**y, x * y], argnums=0)(-2.0, 3.0) == [[12.0], [3.0]]
    assert mg.hessian(power, argnums=0)(-2.0, 3.0) == [[-12.0]]
    with pytest.raises(ValueError, match=r"pow\(-2.0, 2.0\): the local partial d/db"):
        mg.grad(power, argnums=1)(-2.0, 2.0)  # asked for: a clear error, as before
    with pytest.raises(ValueError, match="d/db"):
        mg.grad(power, argnums=(0, 1))(-2.0, 2.0)


def test_the_marks_of_a_transform_do_not_outlive_it() -> None:
    kept = []

    def f(x: Value, y: Value) -> Value:
        kept.append(y)  # the function keeps the argument that is not differentiated
        return x * y

    assert mg.grad(f, argnums=0)(2.0, -3.0) == -3.0
    (y,) = kept
    z = Value(-2.0) ** y  # later, outside the transform, y's derivative is wanted again
    with pytest.raises(ValueError, match="d/db"):
        z.backward()


def test_an_outer_argnums_does_not_excuse_an_inner_partial() -> None:
    g = mg.grad
    with pytest.raises(ValueError, match="d/db"):
        g(lambda t: t + (-2.0) ** t)(2.0)
    with pytest.raises(ValueError, match="d/db"):  # was 1.0: the outer y "not differentiated"
        g(lambda x, y: x * g(lambda t: t + (-2.0) ** t)(y), argnums=0)(1.0, 2.0)
    with pytest.raises(ZeroDivisionError, match="sqrt"):  # sqrt'(0) is infinite
        mg.value_and_grad(lambda x, y: x + g(lambda t: t + t.sqrt())(y), argnums=0)(1.0, 0.0)

    def f(x: Value, y: Value) -> Value:
        z = y.sqrt() + y
        z.backward()  # the user's own backward inside f wants every adjoint
        return x * y

    with pytest.raises(ZeroDivisionError, match="sqrt"):
        mg.grad(f, argnums=0)(1.0, 0.0)


def test_a_long_chain_of_fixed_partials_is_walked_once() -> None:
    def f(x: Value, y: Value) -> Value:
        z = x
        for _ in range(3000):
            z = (z * 0.0 - 2.0) ** y  # d/db undefined at a negative base: reaches only y
        return z + x

    assert mg.grad(f, argnums=0)(1.0, 2.0) == 1.0


def test_inputs_are_unmarked_when_the_function_raises() -> None:
    leaked = []

    def f(x: Value) -> Value:
        leaked.append(x)
        raise RuntimeError("f fails")

    for transform in (mg.grad, mg.jacobian, mg.hessian, mg.jacfwd):
        with pytest.raises(RuntimeError, match="f fails"):
            transform(f)(1.0)
    with pytest.raises(RuntimeError, match="f fails"):
        mg.vjp(f, 1.0)
    with pytest.raises(RuntimeError, match="f fails"):
        mg.jvp(f, (1.0,), (1.0,))
    for x in leaked:  # was a Value, not a number: the leaked input looked like an outer one
        assert mg.grad(lambda a: a * x)(2.0) == 1.0  # noqa: B023
