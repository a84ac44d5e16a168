"""microgrowth.compile: the recorded program gives the interpreter's numbers, reads like the
adjoint table, retraces on new shapes and says where a replay fails."""

from __future__ import annotations

import builtins
import contextlib
import copy
import io
import itertools
import math
import pickle
import random
import re
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgrowth as mg
from microgrowth import nn, rules, train
from microgrowth.compile import Compiled, Program, ReplayMismatch, identifier, namespace
from microgrowth.engine import Value, apply, reverse_sweep
from microgrowth.rules import RULES


def running_example(x1: Value, x2: Value) -> Value:
    return mg.log(x1) + x1 * x2 - mg.sin(x2)


def _close(a: float, b: float, tol: float = 1e-12) -> bool:
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _same(cf: Compiled, *args: Any, tol: float = 1e-12) -> None:
    """The replay and the interpreter agree on the value and on every gradient."""
    value, grads = cf(*args)
    want, want_grads = cf.reference(*args)
    assert _close(value, want, tol), (value, want)
    assert len(grads) == len(want_grads) == len(args)
    for g, w, a in zip(grads, want_grads, args):
        if isinstance(a, (list, tuple)):
            assert type(g) is type(a) and len(g) == len(a)
            assert all(_close(x, y, tol) for x, y in zip(g, w)), (g, w)
        else:
            assert _close(g, w, tol), (g, w)


# --- the running example ------------------------------------------------------------------------

RUNNING_EXAMPLE_PROGRAM = """\
def running_example(v_m1, v_0):
    # forward sweep: the primal trace, one line per row
    v_1 = log(v_m1)
    v_2 = v_m1 * v_0
    v_3 = sin(v_0)
    v_4 = v_1 + v_2
    v_5 = v_4 - v_3
    # reverse sweep: the adjoint trace, from the output back to the inputs
    vbar_5 = 1.0
    vbar_4 = vbar_5 * 1.0
    vbar_3 = vbar_5 * (-1.0)
    vbar_2 = vbar_4 * 1.0
    vbar_1 = vbar_4 * 1.0
    vbar_0_from_3 = vbar_3 * cos(v_0)
    vbar_0_from_2 = vbar_2 * v_m1
    vbar_0 = vbar_0_from_3 + vbar_0_from_2
    vbar_m1_from_2 = vbar_2 * v_0
    vbar_m1_from_1 = vbar_1 * (1.0/v_m1)
    vbar_m1 = vbar_m1_from_2 + vbar_m1_from_1
    return v_5, (vbar_m1, vbar_0), ()
"""


def test_running_example_program_is_the_adjoint_table() -> None:
    cf = mg.compile(running_example)
    value, (dx1, dx2) = cf(2.0, 5.0)
    assert value == 11.652071455223084
    assert (dx1, dx2) == (5.5, 1.7163378145367738)  # -cos(5) + 2: the engine's own order
    assert (value, (dx1, dx2)) == mg.value_and_grad(running_example, argnums=(0, 1))(2.0, 5.0)
    assert cf.source == RUNNING_EXAMPLE_PROGRAM
    assert str(cf) == RUNNING_EXAMPLE_PROGRAM


def _program_rows(source: str) -> tuple[list[str], list[str]]:
    """The assigned names of the forward and of the reverse sweep, in order."""
    forward: list[str] = []
    reverse: list[str] = []
    where: list[str] | None = None
    for line in source.splitlines():
        line = line.strip()
        if line.startswith("# forward"):
            where = forward
        elif line.startswith("# reverse"):
            where = reverse
        elif " = " in line and where is not None:
            where.append(line.split(" = ")[0])
    return forward, reverse


def _table_rows(y: Value) -> tuple[list[str], list[str]]:
    """The same, read off the adjoint table `trace(y)` prints."""
    t = mg.trace(y)
    name = {node: identifier(text) for node, text in t.names.items()}
    forward = [name[n] for n in t.order if n.parents]
    reverse = []
    for row in t.adjoint:
        me = "vbar_" + identifier(row.node[0])[2:]
        if len(row.contributions) > 1:
            reverse += [f"{me}_from_{identifier(c.source[0])[2:]}" for c in row.contributions]
        reverse.append(me)
    return forward, reverse


@pytest.mark.parametrize(
    "f",
    [
        running_example,
        lambda a, b: a * a + (a * b).tanh() - b.exp() / (a + 3.0),
        lambda a, b: mg.dot([a, b, a], [b, 2.0, a]).relu() + abs(a - b) ** 2,
    ],
)
def test_generated_source_matches_the_table_row_for_row(f: Callable[..., Value]) -> None:
    cf = mg.compile(f)
    cf(2.0, 5.0)
    want = _table_rows(f(Value(2.0), Value(5.0)))
    got = _program_rows(cf.source)
    assert got[0] == want[0]
    # x * x has two edges into x: the program tells them apart by argument (_arg0, _arg1)
    assert [re.sub(r"_arg\d$", "", r) for r in got[1]] == want[1]


@given(st.floats(0.01, 50.0), st.floats(-50.0, 50.0))
def test_running_example_at_many_points_is_bit_for_bit(x1: float, x2: float) -> None:
    cf = _RUNNING
    value, grads = cf(x1, x2)
    want, want_grads = mg.value_and_grad(running_example, argnums=(0, 1))(x1, x2)
    assert value == want
    assert grads == want_grads
    assert len(cf.programs) == 1  # recorded once, replayed at every other point


_RUNNING = mg.compile(running_example)


# --- every rule of the table, in random expressions ---------------------------------------------

Recipe = tuple[int, list[tuple[str, list[Any]]]]


def _in_domain(node: Value | float, interval: tuple[float, float]) -> Value | float:
    """``node`` squeezed into the open interval (lo, hi) by a sigmoid: a map that does not depend
    on the value, so the expression's structure is the same at every point."""
    lo, hi = interval
    return lo + (hi - lo) * apply(rules.SIGMOID, node)


@st.composite
def recipes(draw: st.DrawFn, must: str) -> Recipe:
    """A random expression of 1-3 inputs: steps that apply rules (``must`` among them) to earlier
    nodes or to constants."""
    n_inputs = draw(st.integers(1, 3))
    names = sorted(RULES)
    steps: list[tuple[str, list[Any]]] = []
    n_steps = draw(st.integers(1, 5))
    forced = draw(st.integers(0, n_steps - 1))
    for k in range(n_steps):
        name = must if k == forced else draw(st.sampled_from(names))
        rule = RULES[name]
        arity = 2 * draw(st.integers(1, 3)) if rule.variadic else rule.arity
        operands: list[Any] = []
        for i in range(arity):
            constant = st.floats(-3.0, 3.0, allow_nan=False).map(lambda c: ("c", c))
            node = st.integers(0, n_inputs + k - 1).map(lambda j: ("n", j))
            if not rule.differentiable(i):
                operands.append(draw(constant))
            else:
                operands.append(draw(st.one_of(node, node, constant)))
        steps.append((name, operands))
    return n_inputs, steps


def _function(recipe: Recipe) -> Callable[..., Value]:
    n_inputs, steps = recipe

    def f(*xs: Value) -> Value:
        nodes: list[Value] = list(xs)
        for name, operands in steps:
            rule = RULES[name]
            args: list[Value | float] = []
            for i, (kind, x) in enumerate(operands):
                domain = rule.domain[i % len(rule.domain) if rule.variadic else i]
                if kind == "c" and not rule.differentiable(i):
                    args.append(float(round(x)) if rule is rules.POWC else x)
                else:
                    args.append(_in_domain(nodes[x] if kind == "n" else x, domain))
            nodes.append(apply(rule, *args))
        return sum(nodes[n_inputs:], nodes[-1])  # every step reaches the output; fan-out

    return f


point = st.lists(st.floats(-4.0, 4.0, allow_nan=False), min_size=3, max_size=3)


@pytest.mark.parametrize("name", sorted(RULES))
def test_compiled_equals_interpreted_on_random_expressions_over_every_rule(name: str) -> None:
    @given(recipes(name), point, point)
    def check(recipe: Recipe, first: list[float], second: list[float]) -> None:
        cf = mg.compile(_function(recipe))
        n = recipe[0]
        _same(cf, *first[:n])  # the point it is recorded at
        _same(cf, *second[:n])  # a replay elsewhere
        _same(cf, *first[:n])  # checked: the fast path
        assert len(cf.programs) == 1

    check()


def test_every_rule_writes_a_line_the_namespace_can_run() -> None:
    space = namespace()
    for rule in RULES.values():
        if rule.variadic:
            continue
        args = [Value(0.7) for _ in range(rule.arity)]
        if not rule.differentiable(1 % max(rule.arity, 1)) and rule.arity == 2:
            args[1] = 2.0  # type: ignore[call-overload]
        y = apply(rule, *args)
        program = Program(y, [a for a in args if isinstance(a, Value)])
        line = program.source.splitlines()[2].strip()
        assert line.startswith("v_1 = ")
        for word in re.findall(r"([a-z_]+)\(", line):
            assert word in space, (rule.name, line)
    # where a formula's function and a rule share a name, they agree on floats
    for name, f in mg.formula.FUNCTIONS.items():
        if name in RULES:
            assert RULES[name].forward(0.3) == f(0.3)


# --- a model ------------------------------------------------------------------------------------


def _mlp_loss(sizes: Sequence[int]) -> Callable[..., Value]:
    """The hinge loss plus L2 of a ReLU MLP whose parameters are the first argument."""

    def loss(params: Sequence[Value], xs: Sequence[Value], ys: Sequence[Value]) -> Value:
        it = iter(params)
        scores = []
        for k in range(0, len(xs), sizes[0]):
            a: list[Value] = list(xs[k : k + sizes[0]])
            for layer, (nin, nout) in enumerate(itertools.pairwise(sizes)):
                outs = []
                for _ in range(nout):
                    w = [next(it) for _ in range(nin)]
                    z = mg.dot(w, a) + next(it)
                    outs.append(z.relu() if layer < len(sizes) - 2 else z)
                a = outs
            scores.append(a[0])
            it = iter(params)
        terms = [(1 - y * s).relu() for s, y in zip(scores, ys)]
        reg = sum((p * p for p in params[1:]), params[0] * params[0])
        return sum(terms[1:], terms[0]) * (1.0 / len(terms)) + 1e-4 * reg

    return loss


def _mlp_arguments(
    sizes: list[int], points: int, seed: int
) -> tuple[list[float], list[float], list[float]]:
    """Random parameters for an MLP of ``sizes``, and moons as flat inputs and +-1 labels."""
    n_params = sum((i + 1) * o for i, o in itertools.pairwise(sizes))
    rng = random.Random(seed)
    params = [rng.uniform(-1, 1) for _ in range(n_params)]
    X, labels = mg.data.make_moons(points, noise=0.1, seed=0)
    return params, [c for x in X for c in x], [2.0 * c - 1 for c in labels]


def test_mlp_loss_compiled_equals_interpreted() -> None:
    sizes = [2, 8, 8, 1]
    params, xs, ys = _mlp_arguments(sizes, points=20, seed=0)
    n_params = 2 * 8 + 8 + 8 * 8 + 8 + 8 + 1  # weights and biases of the three layers
    cf = mg.compile(_mlp_loss(sizes))
    value, (gp, gx, gy) = cf(params, xs, ys)
    want, (wp, wx, wy) = cf.reference(params, xs, ys)
    assert value == want and gp == wp and gx == wx and gy == wy  # the same order: bit for bit
    assert isinstance(gp, list) and len(gp) == n_params
    for _ in range(3):  # replays after SGD steps: relu kinks move, the program follows
        params = [p - 0.5 * g for p, g in zip(params, gp)]
        _same(cf, params, xs, ys)
        value, (gp, _, _) = cf(params, xs, ys)
    assert len(cf.programs) == 1


def test_a_large_graph_writes_fan_out_sums_in_place_with_the_same_numbers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = sys.modules[Program.__module__]
    sizes = [2, 4, 1]
    params, xs, ys = _mlp_arguments(sizes, points=12, seed=1)
    readable = mg.compile(_mlp_loss(sizes))
    want = readable(params, xs, ys)
    assert "_from_" in readable.source
    monkeypatch.setattr(module, "READABLE", 0)
    monkeypatch.setattr(module, "TERMS", 5)  # a parameter's 12 terms: on three lines
    compact = mg.compile(_mlp_loss(sizes))
    assert compact(params, xs, ys) == want  # the same terms in the same order: bit for bit
    assert "_from_" not in compact.source
    assert compact.source.count(" = ") < readable.source.count(" = ")
    assert re.search(r"\n +(vbar_m\d+) = \1 \+ vbar_", compact.source)  # a sum goes on
    params = [p + 0.1 for p in params]
    assert compact(params, xs, ys) == readable(params, xs, ys)


def test_program_of_an_nn_model_with_its_own_parameters_and_outputs() -> None:
    """What fit(compile=True) does: the model's parameters as inputs, its outputs as extras."""
    model = nn.MLP(2, [4, 1], seed=3)
    X = [[0.5, -1.0], [1.5, 0.25], [-0.3, 0.8]]
    points = [mg.engine.as_values(x) for x in X]
    outputs = [model(x) for x in points]
    loss = mg.losses.mse([o for o in outputs if isinstance(o, Value)], [1.0, -1.0, 0.5])
    inputs = [*model.parameters(), *(v for x in points for v in x)]
    program = Program(loss, inputs, extras=outputs)  # type: ignore[arg-type]
    value, grads, extras = program.run([p.data for p in inputs])
    adjoint = reverse_sweep(loss)
    assert value == loss.data
    assert list(grads) == [adjoint.get(p, 0.0) for p in inputs]
    assert list(extras) == [o.data for o in outputs]  # type: ignore[union-attr]


# --- retracing ----------------------------------------------------------------------------------


def test_a_new_number_of_arguments_records_again() -> None:
    cf = mg.compile(lambda *xs: sum(x * x for x in xs))
    assert cf(1.0, 2.0) == (5.0, (2.0, 4.0))
    assert cf(1.0, 2.0, 3.0) == (14.0, (2.0, 4.0, 6.0))
    assert cf(3.0, 4.0) == (25.0, (6.0, 8.0))  # the first program again
    assert len(cf.programs) == 2
    assert "def compiled(v_m1, v_0):" in cf.source


def test_lists_of_a_new_length_record_again_and_keep_their_shape() -> None:
    cf = mg.compile(lambda w, x, b: mg.dot(w, x) + b)
    value, (gw, gx, gb) = cf([1.0, 2.0], (3.0, 4.0), 0.5)
    assert value == 11.5 and gw == [3.0, 4.0] and gx == (1.0, 2.0) and gb == 1.0
    value, (gw, gx, gb) = cf([1.0, 2.0, 3.0], [1.0, 1.0, 1.0], 0.0)
    assert value == 6.0 and gw == [1.0, 1.0, 1.0] and gx == [1.0, 2.0, 3.0]
    cf([5.0, 6.0], (7.0, 8.0), 1.0)
    assert len(cf.programs) == 2  # the third call has the first call's shapes
    cf([5.0, 6.0], [7.0, 8.0], 1.0)  # a list where the first call had a tuple: its own shape
    assert len(cf.programs) == 3


def _squares(*args: Value | list[Value]) -> Value:
    xs = [x for a in args for x in (a if isinstance(a, list) else [a])]
    return sum((x * x for x in xs[1:]), xs[0] * xs[0])


def test_the_fast_path_follows_the_latest_shape_and_falls_back_on_anything_else() -> None:
    cf = mg.compile(_squares)
    generic = Compiled.__call__
    assert isinstance(cf, Compiled) and type(cf) is not Compiled  # a class of its own
    assert cf(1.0, 2.0) == (5.0, (2.0, 4.0))
    assert type(cf).__call__ is not generic  # the entry, at the recorded point only
    assert cf(3.0, 4.0) == (25.0, (6.0, 8.0))  # checked at a new point
    assert cf(5.0, 6.0) == (61.0, (10.0, 12.0))  # the fast path
    assert cf(1.0, 2.0, 3.0) == (14.0, (2.0, 4.0, 6.0))  # a new shape
    assert "def compiled(v_m2, v_m1, v_0):" in cf.source
    assert cf(5.0, 6.0) == (61.0, (10.0, 12.0))
    assert "def compiled(v_m1, v_0):" in cf.source  # the source follows the latest call
    assert cf(5, 6) == (61.0, (10.0, 12.0))  # ints: the general path, floats out
    assert [type(g) for g in cf(5, 6)[1]] == [float, float]
    assert cf([5.0, 6.0]) == (61.0, ([10.0, 12.0],))  # a list: the general path
    assert type(cf).__call__ is generic  # no entry for a shape with a list
    assert cf(5.0, 6.0) == (61.0, (10.0, 12.0))
    with pytest.raises(TypeError):
        cf(v_m1=1.0)  # type: ignore[call-arg]
    checked = mg.compile(lambda x: x * x, check=True)
    checked(1.0)
    checked(2.0)
    assert type(checked).__call__ is generic  # check=True: every call is checked


def test_the_fast_path_gives_the_engines_answers_where_a_replay_is_not_finite() -> None:
    cf = mg.compile(lambda x: x * x * x)
    cf(2.0)
    cf(3.0)  # checked: from now on the fast path
    with pytest.raises(OverflowError, match="mul"):
        cf(1e200)
    zero = mg.compile(lambda x: mg.log(x).relu())
    zero(2.0)
    zero(3.0)
    assert zero(1e-310) == (0.0, (0.0,))  # 0 * inf in the replay: the interpreter's answer


@pytest.mark.parametrize("inline", [True, False])
def test_domain_errors_on_the_fast_path_name_the_row(
    monkeypatch: pytest.MonkeyPatch, inline: bool
) -> None:
    if not inline:  # the entry calls the program instead of holding its lines
        monkeypatch.setattr(sys.modules[Program.__module__], "INLINE", 0)
    cf = mg.compile(running_example)
    cf(2.0, 5.0)
    cf(3.0, 1.0)
    with pytest.raises(ValueError, match=r"row v_1 = log\(v_m1\): log\(-1\.0\): the input must"):
        cf(-1.0, 5.0)
    sq = mg.compile(lambda x: x.sqrt() * 2.0)
    sq(4.0)
    sq(9.0)
    with pytest.raises(ZeroDivisionError, match=r"row vbar_0 = vbar_1 \* \(0\.5/v_1\): .*sqrt"):
        sq(0.0)


def test_a_failing_partial_in_a_sum_written_in_place_is_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(sys.modules[Program.__module__], "READABLE", 0)
    cf = mg.compile(lambda x: x.sqrt() * 2.0 + x * 3.0)
    cf(4.0)
    assert re.search(r"vbar_0 = vbar_\d \* 3\.0 \+ vbar_\d \* \(0\.5/v_\d\)", cf.source)
    with pytest.raises(ZeroDivisionError, match=r"the local partial of sqrt\(0\.0"):
        cf(0.0)


def test_relu_and_abs_kinks_stay_data_dependent() -> None:
    cf = mg.compile(lambda x: x.relu() * 3.0 + abs(x))
    assert cf(2.0) == (8.0, (4.0,))
    assert cf(-1.0) == (1.0, (-1.0,))  # the other side of both kinks, same program
    assert len(cf.programs) == 1


def _branchy(x: Value) -> Value:
    return x * x if x > 0 else -x  # Python control flow on a value: frozen at recording


def test_value_dependent_branch_is_frozen_and_check_catches_it() -> None:
    cf = mg.compile(_branchy)
    assert cf(2.0) == (4.0, (4.0,))
    with pytest.raises(ReplayMismatch, match=r"the interpreter 3\.0 .*frozen"):
        cf(-3.0)  # a program's first call at a new point is checked: x * x was recorded, not -x
    cf = mg.compile(_branchy)
    assert cf(2.0) == (4.0, (4.0,))
    assert cf(3.0) == (9.0, (6.0,))  # checked once, the same branch: from now on not checked
    assert cf(-3.0) == (9.0, (-6.0,))  # the recorded branch, x * x, not -x: check=True catches it
    checked = mg.compile(_branchy, check=True)
    assert checked(2.0) == (4.0, (4.0,))
    assert checked(0.5) == (0.25, (1.0,))  # same branch: fine
    with pytest.raises(ReplayMismatch, match=r"the interpreter 3\.0 .*frozen"):
        checked(-3.0)


# --- errors -------------------------------------------------------------------------------------


def test_domain_error_in_a_replay_names_the_row_and_the_op() -> None:
    cf = mg.compile(running_example)
    cf(2.0, 5.0)
    with pytest.raises(ValueError, match=r"row v_1 = log\(v_m1\): log\(-1\.0\): the input must"):
        cf(-1.0, 5.0)
    sq = mg.compile(lambda x: x.sqrt() * 2.0)
    sq(4.0)
    with pytest.raises(
        ZeroDivisionError,
        match=r"row vbar_0 = vbar_1 \* \(0\.5/v_1\): the local partial of sqrt\(0\.0",
    ):
        sq(0.0)


def test_an_exactly_zero_adjoint_passes_nothing_on_as_in_the_interpreter() -> None:
    cf = mg.compile(lambda x: mg.log(x).relu())
    assert cf(2.0) == (math.log(2.0), (0.5,))
    assert cf(1e-310) == (0.0, (0.0,))  # 0 * inf in the replay: the interpreter's answer


def test_overflow_in_a_replay_is_the_engines_error() -> None:
    cf = mg.compile(lambda x: x * x * x)
    cf(2.0)
    with pytest.raises(OverflowError, match="mul"):
        cf(1e200)


def test_custom_operations_and_bad_arguments_are_refused() -> None:
    def custom(x: Value) -> Value:
        out = Value(2 * x.data, (x,), "double")

        def _backward() -> None:
            x.grad += 2 * out.grad

        out._backward = _backward
        return out

    with pytest.raises(TypeError, match="custom operation 'double'"):
        mg.compile(custom)(1.0)
    cf = mg.compile(running_example)
    with pytest.raises(TypeError, match="plain numbers"):
        cf(Value(2.0), 5.0)
    with pytest.raises(TypeError, match="flat list"):
        cf([[1.0]], 5.0)
    with pytest.raises(RuntimeError, match="has not been called yet"):
        _ = mg.compile(running_example).source


def test_unused_and_constant_things() -> None:
    cf = mg.compile(lambda x, unused: x * 2.0 + Value(3.0))
    assert cf(1.5, 9.0) == (6.0, (2.0, 0.0))
    assert mg.compile(lambda x: 4.0)(1.0) == (4.0, (0.0,))
    assert mg.compile(lambda x: x)(1.5) == (1.5, (1.0,))


# --- scale --------------------------------------------------------------------------------------


def test_a_long_chain_is_split_into_parts_and_stays_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[Program.__module__], "CHUNK", 500)
    depth = 2_000

    def chain(x: Value) -> Value:
        y = x
        for _ in range(depth):
            y = (y * 1.0001).tanh() + 0.001
        return y

    cf = mg.compile(chain)
    value, (g,) = cf(0.5)
    want, (wg,) = cf.reference(0.5)
    assert value == want and g == wg
    assert cf.source.count("def chain_part_") >= 12  # 2,000 x 3 nodes, more than 6,000 lines
    assert "(vbar_0,) = chain_part_25(vbar_3, v_2)" in cf.source  # the last part: the gradient
    value, (g,) = cf(-0.25)
    want, (wg,) = cf.reference(-0.25)
    assert value == want and g == wg


# --- training -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("loss", "outputs", "batch_size"),
    [("hinge", 1, None), ("cross_entropy", 2, None), ("bce", 1, 8), ("mse", 1, None)],
)
def test_fit_with_compile_gives_the_same_losses_and_parameters(
    loss: str, outputs: int, batch_size: int | None
) -> None:
    X, classes = mg.data.make_moons(24, noise=0.1, seed=1)
    y: list[float] = [2.0 * c - 1 if loss == "hinge" else float(c) for c in classes]
    runs = []
    for compiled in (False, True):
        model = nn.MLP(2, [8, outputs], seed=5)
        history = train.fit(
            model, X, y, loss=loss, epochs=12, batch_size=batch_size, progress=False,
            compile=compiled,
        )  # fmt: skip
        runs.append((history, model.state_dict()))
    (plain, plain_params), (replayed, replayed_params) = runs
    assert all(_close(a, b, 1e-9) for a, b in zip(plain.loss, replayed.loss, strict=True))
    assert plain.accuracy == replayed.accuracy
    assert all(_close(a, b, 1e-9) for a, b in zip(plain_params, replayed_params, strict=True))
    assert plain.loss[-1] < plain.loss[0]  # it trained


# --- the README section ---------------------------------------------------------------------------

README = Path(__file__).resolve().parent.parent / "README.md"


def test_the_readme_section_runs_and_shows_the_program_compile_writes() -> None:
    readme = README.read_text(encoding="utf-8")
    text = readme[readme.index("\n## Compile\n") :].split("\n## ", 2)[1]
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) == 2
    for code in blocks:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(builtins.compile(code, "README.md, Compile", "exec"), {})
        expected = [c.strip() for c in re.findall(r"print\(.*\)\s*#\s*(.*)", code)]
        assert out.getvalue().splitlines() == expected
    program = re.findall(r"```text\n(.*?)```", text, re.S)[0]
    cf = mg.compile(lambda x1, x2: mg.log(x1) + x1 * x2 - mg.sin(x2))
    cf(2.0, 5.0)
    assert program == cf.source
    assert program == RUNNING_EXAMPLE_PROGRAM.replace("running_example", "compiled")


def test_a_program_keeps_no_value_of_the_recorded_graph() -> None:
    x = Value(2.0)
    inner = x * 3.0
    y = inner.log()
    counts = sys.getrefcount(x), sys.getrefcount(inner), sys.getrefcount(y)
    program = Program(y, [x])
    assert (sys.getrefcount(x), sys.getrefcount(inner), sys.getrefcount(y)) == counts
    assert program.run([2.0])[:2] == (math.log(6.0), (0.5,))


def test_the_module_docstring_example_runs_and_star_import_keeps_the_builtin() -> None:
    import doctest

    result = doctest.testmod(sys.modules[Program.__module__])
    assert (result.failed, result.attempted) == (0, 5)
    namespace: dict[str, Any] = {}
    exec("from microgrowth import *", namespace)
    assert "compile" not in namespace  # the builtin compile is not shadowed
    assert mg.compile.__module__ == "microgrowth.compile"


def test_a_number_taken_from_an_input_is_caught_at_the_first_new_point() -> None:
    def f(x: Value) -> Value:
        with mg.no_grad():
            c = x * 2  # a number, not part of the graph: frozen at recording
        return x * c

    cf = mg.compile(f)
    assert cf(2.0) == (8.0, (4.0,))
    with pytest.raises(ReplayMismatch, match=r"a number taken from an input \(x\.data, no_grad"):
        cf(3.0)


def _sum_of_squares(*xs: Any) -> Any:
    return sum(x * x for x in xs) if len(xs) > 1 else xs[0].sin()


def test_a_copy_is_compiled_again_and_shares_nothing() -> None:
    cf = mg.compile(_sum_of_squares)
    assert cf(1.0, 2.0) == (5.0, (2.0, 4.0))
    for twin in (copy.copy(cf), copy.deepcopy(cf), pickle.loads(pickle.dumps(cf))):
        assert type(twin) is not type(cf) and not twin.programs  # was a TypeError from __new__
        assert twin(3.0) == (math.sin(3.0), (math.cos(3.0),))  # another shape, in the copy
        assert cf(3.0, 4.0) == (25.0, (6.0, 8.0))  # the original keeps its own fast path
        assert twin(1.0, 2.0) == (5.0, (2.0, 4.0))


def test_after_a_mismatch_every_call_is_checked() -> None:
    cf = mg.compile(lambda x: x * x if x > 0 else -3 * x)
    assert cf(1.0) == (1.0, (2.0,))
    with pytest.raises(ReplayMismatch):
        cf(-1.0)
    assert cf(2.0) == (4.0, (4.0,))  # checked, and right
    with pytest.raises(ReplayMismatch):  # was (1.0, (-2.0,)) from an unchecked fast path
        cf(-1.0)
    assert cf.check


def test_the_recorded_point_is_the_same_numbers_to_the_sign_of_zero_and_the_last_bit() -> None:
    cf = mg.compile(lambda x: x if math.copysign(1.0, x.data) > 0 else -x)
    assert cf(0.0) == (0.0, (1.0,))
    with pytest.raises(ReplayMismatch):  # was (-0.0, (1.0,)): -0.0 passed as the point 0.0
        cf(-0.0)
    cg = mg.compile(lambda x: x * 1.0000000000001 if x > 1 else x)
    cg(2.0)
    with pytest.raises(ReplayMismatch):  # a difference of 1e-13 was within the old tolerance
        cg(0.5)


def test_where_the_replay_fails_and_the_interpreter_does_not_its_numbers_are_returned() -> None:
    cf = mg.compile(lambda x, y: x**0.5 * mg.relu(y) + x)
    cf(1.0, 1.0)
    # d/dx of x ** 0.5 is infinite at 0, but its adjoint is 0 here (relu(-1) = 0): no error
    assert cf(0.0, -1.0) == (0.0, (1.0, 0.0)) == cf.reference(0.0, -1.0)
    cg = mg.compile(lambda x: mg.log(x) if x > 0 else mg.log(-x))
    cg(2.0)
    assert cg(-2.0) == (math.log(2.0), (-0.5,))  # was log(-2.0), which f never computes
    with pytest.raises(ValueError, match=r"compiled replay, row v_1 = log\(v_0\)"):
        cg(0.0)  # both fail: the row is named


def test_threads_calling_one_compiled_function_with_many_shapes() -> None:
    cf = mg.compile(lambda *xs: sum(x * x for x in xs) if len(xs) > 1 else xs[0].sin())
    points = [(0.5,), (1.0, 2.0), (3.0, -1.0, 2.0), (-0.25,), (2.0, 2.0)]
    want = {p: cf.reference(*p) for p in points}
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(200):
                p = rng.choice(points)
                assert cf(*p) == want[p], p
        except BaseException as error:
            errors.append(error)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert not errors, errors  # were KeyError, AttributeError, "dictionary changed size"


def test_a_function_named_like_a_keyword_compiles() -> None:
    def f(x: Any) -> Any:
        return x * 2.0

    f.__name__ = "class"
    assert mg.compile(f)(3.0) == (6.0, (2.0,))  # was a SyntaxError from "def class(...)"
