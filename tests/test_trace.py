"""The adjoint table: the running example against the reference, and random expressions."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

import microgrowth as mg
from microgrowth import Value, formula
from microgrowth.trace import number, trace

from .test_engine import expressions


def running_example() -> tuple[Value, Value, Value]:
    x1, x2 = Value(2.0, label="x1"), Value(5.0, label="x2")
    return mg.log(x1) + x1 * x2 - mg.sin(x2), x1, x2


def test_forward_trace_matches_the_reference() -> None:
    y, _, _ = running_example()
    t = trace(y)
    rows = [(r.node[0], r.definition[0], r.value) for r in t.primal]
    expected = [
        ("v_{-1}", "x1", 2.0),
        ("v_0", "x2", 5.0),
        ("v_1", "ln(v_{-1})", math.log(2)),
        ("v_2", "v_{-1} * v_0", 10.0),
        ("v_3", "sin(v_0)", math.sin(5)),
        ("v_4", "v_1 + v_2", math.log(2) + 10),
        ("v_5", "v_4 - v_3", 11.652071455223084),
    ]
    assert [r[:2] for r in rows] == [e[:2] for e in expected]
    for (_, _, got), (_, _, want) in zip(rows, expected, strict=True):
        assert got == pytest.approx(want, abs=1e-12)


def test_reverse_trace_matches_the_reference() -> None:
    y, _, _ = running_example()
    t = trace(y)
    adjoints = {row.node[0]: row for row in t.adjoint}
    assert [row.node[0] for row in t.adjoint] == [
        "v_5",
        "v_4",
        "v_3",
        "v_2",
        "v_1",
        "v_0",
        "v_{-1}",
    ]
    assert [adjoints[v].value for v in ("v_5", "v_4", "v_3", "v_2", "v_1")] == [1, 1, -1, 1, 1]
    into_x2 = {c.source[0]: c.value for c in adjoints["v_0"].contributions}
    assert into_x2 == pytest.approx({"v_3": -math.cos(5), "v_2": 2.0})
    assert number(into_x2["v_3"]) == "-0.2837"
    into_x1 = {c.source[0]: c.value for c in adjoints["v_{-1}"].contributions}
    assert into_x1 == {"v_2": 5.0, "v_1": 0.5}
    assert adjoints["v_{-1}"].value == 5.5
    assert adjoints["v_0"].value == pytest.approx(1.7163378145367738, abs=1e-12)
    assert t.gradients == pytest.approx({"x1": 5.5, "x2": 1.7163378145367738}, abs=1e-12)


def test_text_table_shows_each_edge_and_the_sums() -> None:
    y, _, _ = running_example()
    text = str(trace(y))
    for line in [
        "v_3     = sin(v_0)",
        "v̄_0 (from v_3)     v̄_3 * ∂v_3/∂v_0 = v̄_3 * cos(v_0) = -1 * 0.2837  -0.2837",
        "v̄_0 (from v_2)     v̄_2 * ∂v_2/∂v_0 = v̄_2 * v_{-1} = 1 * 2",
        "v̄_0 (sum)          the 2 contributions above: -0.2837 + 2           1.7163",
        "v̄_{-1} (from v_1)  v̄_1 * ∂v_1/∂v_{-1} = v̄_1 * 1/v_{-1} = 1 * 0.5",
        "v̄_{-1} (sum)       the 2 contributions above: 5 + 0.5                  5.5",
        "∂y/∂x1             = v̄_{-1} (the gradient)                             5.5",
    ]:
        assert line in text, line


def test_trace_leaves_grads_alone() -> None:
    y, x1, _ = running_example()
    trace(y)
    assert x1.grad == 0.0 and y.grad == 0.0


def test_constants_appear_as_numbers() -> None:
    x = Value(3.0, label="x")
    t = trace(2 * x - 1 / x)
    definitions = [r.definition[0] for r in t.primal]
    assert definitions == ["x", "2 * v_0", "1/v_0", "v_1 - v_2"]
    formulas = [cells[1][0] for cells in t.adjoint_cells()]
    assert any("v̄_1 * 2 = 1 * 2" in f for f in formulas)
    assert t.gradients["x"] == pytest.approx(2 + 1 / 9)


def test_unlabelled_inputs_get_v_numbers() -> None:
    a, b = Value(1.0), Value(2.0)
    t = trace(a * b)
    assert [r.definition[0] for r in t.primal[:2]] == ["input", "input"]
    assert t.gradients == {"v_{-1}": 2.0, "v_0": 1.0}


def test_digits_are_configurable() -> None:
    y, _, _ = running_example()
    assert "11.652071" in str(trace(y, digits=6))
    assert number(11.652071455223084, 2) == "11.65"
    assert number(2.0) == "2" and number(-0.0) == "0" and number(1e-9) == "1.0000e-09"


def test_markdown_is_a_valid_table() -> None:
    y, _, _ = running_example()
    md = trace(y).to_markdown()
    tables = [b for b in md.split("\n\n") if b.startswith("|")]
    assert len(tables) == 2
    for table in tables:
        lines = table.strip().splitlines()
        assert re.fullmatch(r"\|(-+:?\|)+", lines[1].replace("---:", "---"))
        counts = {len(re.findall(r"(?<!\\)\|", line)) for line in lines}
        assert counts == {4}
    assert "| v₅ | v₄ - v₃ | 11.6521 |" in md  # Unicode subscripts: Markdown has no markup
    assert "| v̄₋₁ (sum) | the 2 contributions above: 5 + 0.5 | 5.5 |" in md
    assert "v_" not in md


def test_latex_is_balanced_and_escaped() -> None:
    x = Value(2.0, label="x_1 & 50%")
    y = mg.sin(x) * x
    tex = trace(y).to_latex()
    assert tex.count("{") == tex.count("}")
    assert tex.count("\\begin{tabular}") == tex.count("\\end{tabular}") == 2
    for line in tex.splitlines():
        if line.startswith("$"):
            assert line.count("$") == 6 and line.count("&") - line.count("\\&") == 2
    assert "\\mathrm{x\\_1 \\& 50\\%}" in tex and "\\sin v_{0}" in tex
    assert "\\bar{v}_{0}" in tex and "\\frac{\\partial v_{1}}{\\partial v_{0}}" in tex


def test_html_is_well_formed() -> None:
    x = Value(2.0, label="<x & y>")
    html = trace(mg.exp(x) / x)._repr_html_()
    root = ET.fromstring(html)
    assert len(root.findall("table")) == 2
    assert "&lt;x &amp; y&gt;" in html
    assert "<td>v<sub>-1</sub></td>" not in html  # one input: v_0
    assert "<td>v<sub>0</sub></td>" in html and "<td>v̄<sub>1</sub></td>" in html
    assert "v_" not in html


def test_html_subscripts_negative_indices() -> None:
    y, _, _ = running_example()
    html = trace(y).to_html()
    assert "<td>v<sub>-1</sub> * v<sub>0</sub></td>" in html
    assert "<td>∂y/∂x1</td><td>= v̄<sub>-1</sub> (the gradient)</td>" in html
    ET.fromstring(html)


@given(expressions(), st.lists(st.floats(-3, 3), min_size=3, max_size=3))
def test_table_agrees_with_backward_on_random_expressions(
    build: Callable[[list[Value]], Value], point: list[float]
) -> None:
    xs = [Value(x, label=f"x{i}") for i, x in enumerate(point)]
    y = build(xs)
    t = trace(y)
    y.backward()
    for x in xs:
        if x.label in t.gradients:
            assert t.gradients[x.label] == pytest.approx(x.grad, rel=1e-12, abs=1e-12)
        else:
            assert x.grad == 0.0  # not part of the expression
    nodes = [n for n in t.order if not n.is_constant]
    assert [r.value for r in t.primal] == [n.data for n in nodes]


def test_equal_labels_get_their_own_rows_and_gradients() -> None:
    a, b = Value(1.0, label="w"), Value(2.0, label="w")
    t = trace(a * 3 + b * 5)
    assert t.gradients == {"w": 3.0, "w#2": 5.0}
    text = str(t)
    assert "∂y/∂w    = v̄_{-1} (the gradient)" in text and "∂y/∂w#2  = v̄_0 (the gradient)" in text
    assert [r.definition[0] for r in t.primal[:2]] == ["w", "w#2"]
    assert "\\frac{\\partial y}{\\partial \\mathrm{w\\#2}}" in t.to_latex()


def test_a_label_that_is_taken_is_told_apart_from_the_v_name_it_copies() -> None:
    a, b = Value(1.0, label="v_0"), Value(2.0)  # b is v_0 by number, a says so by label
    assert trace(a * b).gradients == {"v_0": 2.0, "v_0#2": 1.0}


def test_an_input_named_y_does_not_collide_with_the_output() -> None:
    x, y = Value(3.0, label="x"), Value(4.0, label="y")
    t = trace(mg.sqrt(x * x + y * y))
    assert t.output_name == "y′"
    assert t.gradients == pytest.approx({"x": 0.6, "y": 0.8})
    text = str(t)
    assert "∂y′/∂y" in text and "∂y′/∂x" in text and "∂y/∂y" not in text
    assert "ȳ′ = 1 (the seed)" in text
    assert "  y′  " in text.split("\n\n")[0]  # the output row of the forward trace
    assert "\\frac{\\partial y'}{\\partial y}" in t.to_latex()


def test_a_labelled_output_names_the_gradient_rows() -> None:
    w = Value(2.0, label="w")
    loss = (w * w - 1) ** 2
    loss.label = "loss"
    rows = [(a[0], b[0]) for a, b, _ in trace(loss).adjoint_cells()]
    assert rows[0] == ("v̄_3", "∂loss/∂loss = 1 (the seed)")
    assert rows[-1] == ("∂loss/∂w", "= v̄_0 (the gradient)")


def test_the_two_edges_of_a_square_say_which_argument() -> None:
    x = Value(3.0, label="x")
    rows = [a[0] for a, _, _ in trace(x * x).adjoint_cells()]
    assert rows == [
        "v̄_1",
        "v̄_0 (from v_1, argument 1)",
        "v̄_0 (from v_1, argument 2)",
        "v̄_0 (sum)",
        "∂y/∂x",
    ]
    x2 = trace(x * x + mg.sin(x))  # different sources: no argument needed
    assert "v̄_0 (from v_2)" in [a[0] for a, _, _ in x2.adjoint_cells()]


def test_latex_names_gradients_by_the_input_name_the_text_shows() -> None:
    y, _, _ = running_example()
    tex = trace(y).to_latex()
    assert "$\\frac{\\partial y}{\\partial x_{1}}$ & $= \\bar{v}_{-1}$ & $5.5$" in tex
    assert "$v_{-1}$ & $x_{1}$ & $2$" in tex
    assert "\\partial v_{-1}}$ &" not in tex  # the old label: ∂y/∂v_{-1}


def test_tangent_trace_of_an_expression_with_constants() -> None:
    x = Value(1.0, label="x")
    t = mg.tangent_trace(2 * x + 1, x=1)  # KeyError: Constant(2.0) before the one-sweep engine
    assert t.output_tangent == 2.0
    assert [(a[0], b[0]) for a, b, _ in t.rows] == [
        ("v̇_0", "seed (x)"),
        ("v̇_1", "v̇_0 * 2 = 1 * 2"),
        ("v̇_2", "v̇_1 * 1 = 2 * 1"),
    ]


def test_tangent_trace_seeds_inputs_by_their_table_names() -> None:
    a, b = Value(1.0, label="w"), Value(2.0, label="w")
    seeds: dict[str, float] = {"w#2": 1.0}
    assert mg.TangentTrace(a * 3 + b * 5, seeds).output_tangent == 5.0


def test_long_sums_are_shortened_and_never_pad_the_other_rows() -> None:
    x = Value(1.0, label="x")
    n = 400
    y = mg.dot([x] * n, [float(k) for k in range(n)])
    t = trace(y)
    text = str(t)
    lines = text.splitlines()
    sum_row = next(line for line in lines if "(sum)" in line)
    assert "the 400 contributions above: 0 + 1 + 2 + ... + 399" in sum_row
    assert max(len(line) for line in lines) < 120
    definition = t.primal[1].definition[0]
    assert definition == "v_0 * 0 + v_0 * 1 + v_0 * 2 + ... + v_0 * 399"
    assert len(text) < 100 * (n + 20)  # one short line per row


def test_formulas_reused_as_templates_print_as_rendered_one_by_one() -> None:
    x = Value(1.5, label="x")
    y = x**3 + x**2 + 2 * x + x * 0.5 - 3 * mg.sin(x) + (-2) * x
    t = trace(y)
    partials = [c.partial_formula[0] for row in t.adjoint for c in row.contributions]
    assert "3 * v_0 ** 2" in partials and "2 * v_0 ** 1" in partials  # b - 1 worked out
    definitions = [r.definition[0] for r in t.primal]
    assert {"2 * v_0", "v_0 * 0.5", "(-2) * v_0", "3 * v_5"} <= set(definitions)
    assert formula.folds("b * a ** (b - 1)", ("b",)) and not formula.folds("a * b", ("b",))
    assert formula.folds("y * log(a) if y else 0.0", ("y",)) and not formula.folds("b", ())
