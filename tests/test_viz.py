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
from microgrowth import Value
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
    for text in ["x1 (v_{-1})", "x2 (v_0)", "v_5", "data 11.6521", "grad 5.5", "grad 1.7163"]:
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
    assert "label=2 shape=plaintext" in source


def test_edges_show_partials_and_contributions() -> None:
    source = draw(running_example(), show_edges=True, show_grads=False).source
    assert "∂v_3/∂v_0 = 0.2837\\nv̄_0 += -0.2837" in source
    assert "∂v_2/∂v_{-1} = 5\\nv̄_{-1} += 5" in source
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
    with pytest.raises(ValueError, match=r"the graph has 5,001 values, more than max_nodes=1,000"):
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
        "x1 (v_{-1})",
        "x2 (v_0)",
        "v_1",
        "v_2",
        "v_3",
        "v_4",
        "v_5",
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
