"""Graphs: DOT source (no Graphviz program needed) and SVG (needs dot; required in CI)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import microgrowth as mg
from microgrowth import Value, rules, viz
from microgrowth.viz import INSTALL_HINT, draw, render, to_svg

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("MICROGROWTH_REQUIRE_DOT"),
    reason="Graphviz's dot program is not installed",
)


def running_example() -> Value:
    x1, x2 = Value(2.0, label="x1"), Value(5.0, label="x2")
    y = mg.log(x1) + x1 * x2 - mg.sin(x2)
    y.backward()
    return y


def test_dot_source_has_every_value_and_operation() -> None:
    source = draw(running_example()).source
    for text in ["x1 (v₋₁)", "x2 (v₀)", "y (v₅)", "data 11.6521", "grad 5.5", "grad 1.7163"]:
        assert text in source, text
    for symbol in ["ln", '"*"', "sin", '"+"', '"-"']:
        assert f"label={symbol}" in source, symbol
    assert "rankdir=LR" in source


def test_square_shows_two_edges_and_powers_name_their_exponent() -> None:
    x = Value(3.0, label="x")
    source = draw(x * x + x**2).source
    assert source.count("n0 -> n1_op") == 2  # x * x: both arguments are x
    assert 'label="**2"' in source


def test_constants_are_drawn_as_numbers() -> None:
    x = Value(3.0, label="x")
    source = draw(2 * x).source
    assert "n1_c0 [label=2 fontsize=10 height=0 margin=0.02 shape=plaintext width=0]" in source
    assert source.count("shape=box") == 2  # x and the product: no box, no grad for the 2


def test_edges_show_partials_and_contributions() -> None:
    source = draw(running_example(), show_edges=True, show_grads=False).source
    assert "∂v₃/∂v₀ = 0.2837\\nv̄₀ += -0.2837" in source
    assert "∂v₂/∂v₋₁ = 5\\nv̄₋₁ += 5" in source
    assert "v_" not in source
    assert "grad" not in source


def test_options() -> None:
    assert "rankdir=TB" in draw(running_example(), rankdir="TB").source
    assert "data 11.65207" in draw(running_example(), digits=5).source
    with pytest.raises(ValueError, match="rankdir='up': use 'LR'"):
        draw(running_example(), rankdir="up")


def test_dot_source_is_deterministic_across_runs_and_processes() -> None:
    one, two = draw(running_example()).source, draw(running_example()).source
    assert one == two
    code = (
        "import microgrowth as mg; from microgrowth.viz import draw\n"
        "x1, x2 = mg.Value(2.0, label='x1'), mg.Value(5.0, label='x2')\n"
        "y = mg.log(x1) + x1 * x2 - mg.sin(x2); y.backward()\n"
        "import sys; sys.stdout.write(draw(y).source)"
    )
    other = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONHASHSEED": "123"},
    )
    assert other.stdout == one


def test_big_graphs_are_refused_clearly_unless_asked_for() -> None:
    x = Value(0.5)
    y = x
    for _ in range(2500):
        y = y * 1.0001 + 0.001  # 5,000 values
    with pytest.raises(ValueError, match=r"the graph has more than max_nodes=1,000 values"):
        draw(y)
    source = draw(y, max_nodes=None).source
    assert source.count("shape=box") == 5001


def test_missing_dot_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(RuntimeError, match="dot program was not found: install it with"):
        to_svg(running_example())
    assert "apt-get install graphviz" in INSTALL_HINT


def test_render_writes_dot_without_graphviz(tmp_path: Path) -> None:
    path = render(running_example(), tmp_path / "g.dot")
    assert path.read_text().startswith("digraph microgrowth {")
    with pytest.raises(ValueError, match="give the file an extension"):
        render(running_example(), tmp_path / "g")
    with pytest.raises(ValueError, match=r"Graphviz cannot write \.docx"):
        render(running_example(), tmp_path / "g.docx")


@needs_dot
def test_svg_parses_and_shows_every_name_value_and_grad() -> None:
    svg = to_svg(running_example())
    root = ET.fromstring(svg)
    texts = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    for expected in [
        "x1 (v₋₁)",
        "x2 (v₀)",
        "v₁",
        "v₂",
        "v₃",
        "v₄",
        "y (v₅)",
        "data 2",
        "data 5",
        "data 0.6931",
        "data 10",
        "data -0.9589",
        "data 10.6931",
        "data 11.6521",
        "grad 5.5",
        "grad 1.7163",
        "grad -1",
    ]:
        assert expected in texts, expected


@needs_dot
def test_render_writes_svg_and_png(tmp_path: Path) -> None:
    svg = render(running_example(), tmp_path / "graph.svg")
    ET.parse(svg)
    png = render(running_example(), tmp_path / "graph.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@needs_dot
def test_cli_writes_the_running_example_svg(tmp_path: Path) -> None:
    out = tmp_path / "example.svg"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "microgrowth",
            "trace",
            "ln(x1) + x1*x2 - sin(x2)",
            "x1=2",
            "x2=5",
            "--svg",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    texts = {t.text for t in ET.parse(out).iter("{http://www.w3.org/2000/svg}text")}
    assert {"grad 5.5", "grad 1.7163", "data 11.6521"} <= texts


def test_draw_refuses_what_is_not_a_value() -> None:
    with pytest.raises(TypeError, match=r"draw: expected a Value, got float 3\.0"):
        draw(3.0)  # type: ignore[arg-type]


def test_a_huge_graph_is_refused_before_the_table_is_built(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def no_table(*args: object, **kwargs: object) -> None:
        raise AssertionError("draw built the adjoint table of a graph it refuses")

    monkeypatch.setattr(viz, "Trace", no_table)
    y = Value(0.5)
    for _ in range(100_000):
        y = y * 1.0001
    with pytest.raises(ValueError, match=r"more than max_nodes=1,000 values \(1,001 counted"):
        draw(y)
    assert viz.count_values(y) == 100_001 and viz.count_values(y, 10) == 11


def test_inputs_keep_the_table_order_and_the_output_is_marked() -> None:
    c, a, b = Value(1.0, label="c"), Value(2.0, label="a"), Value(3.0, label="b")
    source = draw(a * b + c).source  # the table meets a, b, then c
    assert "rank=same" in source
    assert "n0 -> n1 [style=invis]" in source and "n1 -> n2 [style=invis]" in source
    assert 'n0 [label="a (v₋₂)' in source and 'n2 [label="c (v₀)' in source
    assert 'n4 [label="y (v₂)\\ndata 7' in source and "peripheries=2" in source


def test_an_input_named_y_leaves_the_output_its_own_name() -> None:
    x, y = Value(3.0, label="x"), Value(4.0, label="y")
    source = draw(x * y).source
    assert '"y (v₀)' in source and '"y′ (v₁)' in source


def test_every_operation_shows_its_rule_symbol_and_dot_is_visible() -> None:
    x = Value(2.0, label="x")
    source = draw(mg.dot([x, x], [1.0, 2.0]).tanh()).source
    assert 'label="Σw·x"' in source and "label=tanh" in source
    assert rules.DOT.symbol == "Σw·x"


def test_merged_operations_draw_one_node_per_value() -> None:
    y = running_example()
    merged = draw(y, merge_ops=True, show_edges=True).source
    assert "_op" not in merged and merged.count("shape=box") == 7
    assert 'n6 [label="-\\ny (v₅)\\ndata 11.6521\\ngrad 1"' in merged
    assert 'n0 -> n3 [label="∂v₂/∂v₋₁ = 5\\nv̄₋₁ += 5"]' in merged
    assert draw(y).source.count("_op [") == 5  # 7 values: micrograd's look by default


def test_larger_graphs_merge_by_default_and_fit_a_page() -> None:
    x = Value(0.5, label="x")
    y = x
    for k in range(12):
        y = y * x + k  # 25 values
    source = draw(y).source
    assert "_op" not in source and 'size="9,36"' in source
    assert "_op [" in draw(y, merge_ops=False).source
    assert 'size="' not in draw(y, width=None).source
    assert 'size="6.5,26"' in draw(y, width=6.5).source
