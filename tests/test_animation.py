"""The animated backward pass: frame data checked against the adjoint table, the GIF by Pillow."""

from __future__ import annotations

import math
import os
import shutil
import sys
from pathlib import Path

import pytest

import microgrowth as mg
from microgrowth import Value, animation
from microgrowth.trace import trace
from microgrowth.viz import animate, draw

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(
    not HAVE_DOT and not os.environ.get("MICROGROWTH_REQUIRE_DOT"),
    reason="Graphviz's dot program is not installed",
)


def running_example() -> tuple[Value, Value, Value]:
    x1, x2 = Value(2.0, label="x1"), Value(5.0, label="x2")
    return mg.log(x1) + x1 * x2 - mg.sin(x2), x1, x2


def text_rows(y: Value) -> list[tuple[str, str, str]]:
    return [(a[0], b[0], c[0]) for a, b, c in trace(y).adjoint_cells()]


def test_one_frame_per_adjoint_row_between_the_forward_values_and_the_gradient() -> None:
    y, _, _ = running_example()
    shown = animation.frames(y)
    rows = text_rows(y)
    assert len(rows) == 13
    assert [f.row for f in shown[1:-1]] == rows
    assert shown[0].row is None and shown[-1].row is None
    assert shown[0].caption == "forward pass: y = v_5 = 11.6521; every grad starts at 0"
    assert set(shown[0].grads.values()) == {0.0}
    for frame in shown[1:-1]:
        assert frame.row is not None
        for cell in frame.row:
            assert cell.lstrip("= ") in frame.caption, (cell, frame.caption)
    assert shown[-1].caption == (
        "one reverse pass, the whole gradient: ∂y/∂x1 = 5.5, ∂y/∂x2 = 1.7163"
    )


def test_each_contribution_frame_highlights_its_edge_partial_and_contribution() -> None:
    y, _, _ = running_example()
    table = trace(y)
    expected = [
        ((c.source[0], c.target[0]), c.partial, c.value)
        for row in table.adjoint
        for c in row.contributions
    ]
    edges = [(f.edge, f.partial, f.contribution) for f in animation.frames(y) if f.edge]
    assert edges == expected
    assert [e for e, _, _ in edges] == [
        ("v_5", "v_4"),
        ("v_5", "v_3"),
        ("v_4", "v_2"),
        ("v_4", "v_1"),
        ("v_3", "v_0"),
        ("v_2", "v_0"),
        ("v_2", "v_{-1}"),
        ("v_1", "v_{-1}"),
    ]
    cos_frame = next(f for f in animation.frames(y) if f.edge == ("v_3", "v_0"))
    assert cos_frame.nodes == ("v_3", "v_0")
    assert cos_frame.partial == pytest.approx(math.cos(5))
    assert cos_frame.contribution == pytest.approx(-math.cos(5))
    assert cos_frame.caption == (
        "v̄_0 (from v_3) = v̄_3 * ∂v_3/∂v_0 = v̄_3 * cos(v_0) = -1 * 0.2837 = -0.2837"
    )


def test_grads_accumulate_as_in_backward() -> None:
    y, x1, x2 = running_example()
    shown = animation.frames(y)
    into_x2 = [f.grads["v_0"] for f in shown]
    assert into_x2[:6] == [0.0] * 6  # untouched until its first contribution
    assert into_x2[6] == pytest.approx(-math.cos(5))  # from v_3 = sin(v_0)
    assert into_x2[7] == pytest.approx(2 - math.cos(5))  # plus v_2 = v_{-1} v_0
    y.backward()
    assert shown[-1].grads["v_{-1}"] == x1.grad == 5.5
    assert shown[-1].grads["v_0"] == x2.grad
    assert shown[-1].nodes == ("v_{-1}", "v_0")


def test_a_square_and_constants_still_give_one_frame_per_row() -> None:
    x = Value(3.0, label="x")
    y = (x * x + 2 * x).tanh()
    shown = animation.frames(y)
    assert [f.row for f in shown[1:-1]] == text_rows(y)
    square = [f for f in shown if f.edge == ("v_1", "v_0")]
    assert len(square) == 2  # x * x: two edges from the same input
    assert shown[-1].grads["v_0"] == pytest.approx((1 - math.tanh(15) ** 2) * (2 * 3 + 2))


def test_draw_highlights_nodes_and_edges_without_touching_the_plain_picture() -> None:
    y, _, _ = running_example()
    plain = draw(y).source
    assert "penwidth" not in plain and "xlabel" not in plain and "color=red" not in plain
    marked = draw(y, highlight={"v_3": "red", "v_0": "green", ("v_3", "v_0"): "blue"}).source
    assert "color=red penwidth=3" in marked and "color=green penwidth=3" in marked
    assert 'xlabel="∂v₃/∂v₀ = 0.2837\\nv̄₀ += -0.2837"' in marked
    assert marked.count("[color=blue") == 2  # x2 -> sin, and sin -> v_3


@needs_dot
def test_gif_has_a_frame_per_row_a_second_each_and_holds_the_last(tmp_path: Path) -> None:
    from PIL import Image, ImageSequence

    y, x1, _ = running_example()
    x1.grad = 42.0  # the animation shows its own grads and leaves the graph as it was
    path = animate(y, tmp_path / "backward.gif")
    assert x1.grad == 42.0
    with Image.open(path) as gif:
        durations = [frame.info["duration"] for frame in ImageSequence.Iterator(gif)]
    assert len(durations) == len(text_rows(y)) + 2  # one frame per row, and the first and last
    assert durations == [2000] + [1000] * 13 + [4000]


@needs_dot
def test_notebook_animation_shows_an_img() -> None:
    y, _, _ = running_example()
    shown = animation.Animation(y, seconds=0.5)
    assert shown._repr_html_().startswith('<img src="data:image/gif;base64,R0lGOD')
    assert repr(shown) == "<Animation of the backward pass: 15 frames>"
    assert shown.data[:6] == b"GIF89a"


def test_animate_wants_a_gif(tmp_path: Path) -> None:
    y, _, _ = running_example()
    with pytest.raises(ValueError, match=r"give the file the extension \.gif"):
        animate(y, tmp_path / "backward.png")


def test_missing_pillow_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "PIL", None)  # import PIL now raises ImportError
    y, _, _ = running_example()
    with pytest.raises(RuntimeError, match=r"Pillow was not found.*microgrowth\[animation\]"):
        animation.gif(y)
    assert len(animation.frames(y)) == 15  # the frame data needs no Pillow


def test_missing_dot_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", "/nonexistent")
    y, _, _ = running_example()
    with pytest.raises(RuntimeError, match="dot program was not found: install it with"):
        animate(y, tmp_path / "backward.gif")
    assert not (tmp_path / "backward.gif").exists()


@needs_dot
def test_frames_render_without_graphviz_warnings(capfd: pytest.CaptureFixture[str]) -> None:
    x = Value(3.0, label="x")
    for rankdir in ("LR", "TB"):
        animation.gif(x * x, rankdir=rankdir, seconds=0.5)
    assert capfd.readouterr().err == ""  # e.g. "some nodes ... touch": the frame's corners


@needs_dot
def test_stepper_shows_the_frame_the_slider_is_on() -> None:
    pytest.importorskip("ipywidgets")
    y, _, _ = running_example()
    movie = animation.Animation(y)
    stepper = movie.stepper()
    controls, image = stepper.children
    play, slider = controls.children
    assert (slider.min, slider.max, play.interval) == (0, 14, 1000)
    assert image.value == movie.png(0)
    slider.value = 6  # v̄_0 (from v_3): the cos edge
    assert image.value == movie.png(6) != movie.png(0)
    assert movie.frames[6].edge == ("v_3", "v_0")
