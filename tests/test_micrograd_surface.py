"""micrograd code as people write it, from the "Zero to Hero" lecture, with only the import swapped.

Each test is the lecture's code as written there (its `trace`/`draw_dot` helpers, its manual
chain-rule cells, its custom operations with an assigned ``_backward``), or micrograd habits
(attributes set on Values, bools as numbers), run on `microgrowth.Value`.
"""

from __future__ import annotations

import math
from typing import Any

import pytest
from graphviz import Digraph

import microgrowth as mg
from microgrowth import Value  # the lecture: from micrograd.engine import Value

# --- the lecture's graph helpers, word for word ---------------------------------------------------


def trace(root: Any) -> tuple[set[Any], set[tuple[Any, Any]]]:
    # builds a set of all nodes and edges in a graph
    nodes, edges = set(), set()

    def build(v: Any) -> None:
        if v not in nodes:
            nodes.add(v)
            for child in v._prev:
                edges.add((child, v))
                build(child)

    build(root)
    return nodes, edges


def draw_dot(root: Any) -> Digraph:
    dot = Digraph(format="svg", graph_attr={"rankdir": "LR"})  # LR = left to right

    nodes, edges = trace(root)
    for n in nodes:
        uid = str(id(n))
        # for any value in the graph, create a rectangular ('record') node for it
        dot.node(
            name=uid,
            label="{ %s | data %.4f | grad %.4f }" % (n.label, n.data, n.grad),  # noqa: UP031
            shape="record",
        )
        if n._op:
            # if this value is a result of some operation, create an op node for it
            dot.node(name=uid + n._op, label=n._op)
            # and connect this node to it
            dot.edge(uid + n._op, uid)

    for n1, n2 in edges:
        # connect n1 to the op node of n2
        dot.edge(str(id(n1)), str(id(n2)) + n2._op)

    return dot


def neuron() -> dict[str, Value]:
    """The lecture's neuron: o = tanh(x1*w1 + x2*w2 + b), every value labelled."""
    x1 = Value(2.0, label="x1")
    x2 = Value(0.0, label="x2")
    w1 = Value(-3.0, label="w1")
    w2 = Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    x1w1 = x1 * w1
    x1w1.label = "x1*w1"
    x2w2 = x2 * w2
    x2w2.label = "x2*w2"
    x1w1x2w2 = x1w1 + x2w2
    x1w1x2w2.label = "x1*w1 + x2*w2"
    n = x1w1x2w2 + b
    n.label = "n"
    o = n.tanh()
    o.label = "o"
    return dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, x1w1=x1w1, x2w2=x2w2, x1w1x2w2=x1w1x2w2, n=n, o=o)


LECTURE_GRADS = {"o": 1.0, "n": 0.5, "b": 0.5, "x1w1x2w2": 0.5, "x1w1": 0.5, "x2w2": 0.5,
                 "x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}  # fmt: skip


def test_the_lectures_trace_and_draw_dot_run_unchanged() -> None:
    v = neuron()
    v["o"].backward()
    nodes, edges = trace(v["o"])
    assert {n.label for n in nodes} == {"x1", "x2", "w1", "w2", "b", "x1*w1", "x2*w2",
                                        "x1*w1 + x2*w2", "n", "o"}  # fmt: skip
    assert len(edges) == 9
    assert {n._op for n in nodes} == {"", "*", "+", "tanh"}
    source = draw_dot(v["o"]).source
    assert "{ o | data 0.7071 | grad 1.0000 }" in source
    assert "{ x1 | data 2.0000 | grad -1.5000 }" in source
    assert 'label="*"' in source and "label=tanh" in source


def test_prev_is_each_parent_once_and_constants_answer_like_values() -> None:
    x = Value(3.0, label="x")
    y = x * x + 2
    square = y.parents[0]
    assert square.parents == (x, x) and square._prev == (x,)
    constant = y._prev[1]
    assert (constant.data, constant.grad, constant.label, constant._op, constant._prev) == (
        2.0, 0.0, "", "", ())  # fmt: skip
    assert (x**2)._op == "**2" and (x**0.5)._op == "**0.5" and x.relu()._op == "ReLU"
    assert x.exp()._op == "exp" and (x - 1)._op == "-" and (x / 2)._op == "/"


def test_the_lectures_manual_chain_rule_cells() -> None:
    v = neuron()
    assert round(v["o"].data, 4) == 0.7071
    v["o"].grad = 1.0
    for name in ("o", "n", "b", "x1w1x2w2", "x2w2", "x1w1"):
        v[name]._backward()
    for name, grad in LECTURE_GRADS.items():
        assert v[name].grad == pytest.approx(grad, abs=1e-9), name


def test_backward_gives_the_lectures_numbers_too() -> None:
    v = neuron()
    v["o"].backward()
    for name, grad in LECTURE_GRADS.items():
        assert v[name].grad == pytest.approx(grad, abs=1e-9), name


# --- custom operations written micrograd's way -------------------------------------------------


def ln(self: Value) -> Value:
    """The lecture's way to add an operation: a node with children, a closure assigned."""
    x = self.data
    out = Value(math.log(x), (self,), "ln")

    def _backward() -> None:
        self.grad += (1 / x) * out.grad

    out._backward = _backward
    return out


def test_a_custom_op_written_micrograds_way_is_a_first_class_op() -> None:
    x = Value(2.0, label="x")
    y = ln(x) * x  # d/dx = ln x + 1
    y.backward()
    assert x.grad == pytest.approx(math.log(2) + 1, rel=1e-12)
    assert y.parents[0]._op == "ln" and y.parents[0].op == "ln" and y.parents[0].rule is None
    assert "ln(v_0)" in [row.definition[0] for row in mg.trace(y).primal]
    assert "custom op" in str(mg.trace(y))
    assert mg.trace(y).gradients == pytest.approx({"x": math.log(2) + 1})
    assert "ln" in mg.draw(y).source
    assert mg.grad(lambda v: ln(v) * v)(2.0) == pytest.approx(math.log(2) + 1)


def test_a_custom_op_with_a_child_used_twice() -> None:
    x = Value(3.0)
    out = Value(x.data * x.data, (x, x), "sq")

    def _backward() -> None:
        x.grad += 2 * x.data * out.grad

    out._backward = _backward
    (out * 2).backward()
    assert x.grad == 12.0  # the closure's sum, counted once although x is listed twice


def test_a_custom_op_cannot_be_differentiated_twice_and_says_so() -> None:
    x = Value(2.0)
    with pytest.raises(TypeError, match="custom operation 'ln' has a hand-written _backward"):
        ln(x).backward(create_graph=True)


def test_backward_of_a_rule_node_cannot_be_replaced() -> None:
    with pytest.raises(AttributeError, match="comes from the rule table"):
        (Value(1.0) * 2)._backward = lambda: None


def test_the_lecture_constructor_forms() -> None:
    a, b = Value(2.0), Value(3.0)
    c = Value(a.data + b.data, (a, b), "+")
    assert c.parents == (a, b) and c._op == "+" and c._prev == (a, b)
    d = Value(5.0, _children=(a,), _op="f", label="d")
    assert d.label == "d" and d._op == "f"
    with pytest.raises(TypeError, match="write Value\\(2.0, label='x'\\)"):
        Value(2.0, "x")  # type: ignore[arg-type]


# --- micrograd habits ------------------------------------------------------------------------


def test_attributes_set_on_values_work() -> None:
    v = Value(1.0)
    v._vis_color = "red"  # type: ignore[attr-defined]
    assert v._vis_color == "red"  # type: ignore[attr-defined]
    assert Value(2.0).__dict__ == {}  # no attribute set: nothing stored


def test_adamw_written_on_micrograd_stores_its_moments_on_the_parameters() -> None:
    model = mg.nn.MLP(2, [4, 1], seed=0)
    params = model.parameters()
    for p in params:
        p.m, p.v = 0.0, 0.0  # type: ignore[attr-defined]
    lr, b1, b2, eps, wd = 0.01, 0.9, 0.999, 1e-8, 0.01
    losses = []
    for t in range(1, 31):
        out = model([Value(0.5), Value(-1.0)])
        assert isinstance(out, Value)
        loss = (out - 1.0) ** 2
        losses.append(loss.data)
        model.zero_grad()
        loss.backward()
        for p in params:
            p.m = b1 * p.m + (1 - b1) * p.grad  # type: ignore[attr-defined]
            p.v = b2 * p.v + (1 - b2) * p.grad**2  # type: ignore[attr-defined]
            m_hat = p.m / (1 - b1**t)  # type: ignore[attr-defined]
            v_hat = p.v / (1 - b2**t)  # type: ignore[attr-defined]
            p.data -= lr * (m_hat / (v_hat**0.5 + eps) + wd * p.data)
    assert losses[-1] < 0.5 * losses[0]


def test_bools_are_numbers_as_in_python() -> None:
    v = Value(3.0)
    assert (True * v).data == 3.0 and (v * False).data == 0.0
    assert Value(True).data == 1.0
    mask = Value(v.data > 0)  # the hand-written ReLU mask
    (mask * v).backward()
    assert v.grad == 1.0
    with pytest.raises(ValueError, match="finite numbers only"):
        Value(math.nan)


def test_a_custom_op_without_a_closure_passes_nothing_on() -> None:
    """micrograd's default _backward does nothing; this used to hang (the sweep's lock)."""
    x = Value(2.0)
    out = Value(x.data * 3, (x,), "triple")
    out.backward()
    assert x.grad == 0.0 and out.grad == 1.0
    out._backward()
    assert "triple" in str(mg.trace(out))


def test_a_custom_op_is_animated_like_any_other() -> None:
    from microgrowth import animation

    x = Value(2.0, label="x")
    y = ln(x) * x
    shown = animation.frames(y)
    rows = mg.trace(y).adjoint_cells()
    assert len(shown) == len(rows) + 2  # the forward frame, one per row, the gradient
    assert shown[-1].grads["v_0"] == pytest.approx(math.log(2) + 1)  # by v-name
