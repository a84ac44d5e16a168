"""The backward pass animated: one picture per row of the adjoint table, played as a GIF.

`frames(y)` says what each picture shows, as data a test can check: the caption (the row of
`Trace.adjoint_cells()`), the highlighted values, the highlighted edge, the local partial, the
contribution, and every value's adjoint so far. `animate(y, "backward.gif")` (also
`microgrowth.viz.animate`) draws each frame with Graphviz (`viz.draw` with ``highlight``) and
assembles them with Pillow, an optional extra: ``pip install "microgrowth[animation]"``.

The frames follow the reverse sweep of Baydin et al. (2018), arXiv:1502.05767, section 3.2:
first the forward pass (every value known, every grad still 0, as before ``backward()``); then
the seed ȳ = 1; then, for each edge from a result v_i back to one of its inputs v_j, the step
``v̄_j += v̄_i * ∂v_i/∂v_j``; a value used more than once then shows the sum of its
contributions; the last frame shows the whole gradient and stays longer.
"""

from __future__ import annotations

import base64
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import graphviz

from microgrowth.engine import Value
from microgrowth.trace import Trace, number, subscripted
from microgrowth.viz import FONT, INSTALL_HINT, MAX_NODES, draw

if TYPE_CHECKING:
    from PIL.Image import Image as Picture

PILLOW_HINT = (
    "Pillow was not found: the animation's frames are assembled into a GIF with it. Install it "
    "with 'pip install \"microgrowth[animation]\"' (or 'pip install Pillow'); "
    "microgrowth.animation.frames(y) gives the frames as data without it"
)
SOURCE = "#ea580c"  # the value whose adjoint is being propagated
TARGET = "#15803d"  # the value that receives it
EDGE = "#dc2626"  # the edge it flows along, with its partial and contribution


@dataclass(frozen=True)
class Frame:
    """One picture of the reverse sweep.

    ``row`` is the adjoint table's row it shows (adjoint, formula, value as plain text; None for
    the first and the last frame) and ``caption`` the sentence under the picture. ``edge`` is
    (source, target): ``v̄_target += v̄_source * ∂v_source/∂v_target``, by v-names, and
    ``partial`` and ``contribution`` its two numbers. ``grads`` is every value's adjoint so far,
    by v-name: what its box shows as ``grad`` at that moment of ``backward()``.
    """

    caption: str
    row: tuple[str, str, str] | None
    nodes: tuple[str, ...]
    grads: Mapping[str, float]
    edge: tuple[str, str] | None = None
    partial: float | None = None
    contribution: float | None = None


def _caption(row: tuple[str, str, str]) -> str:
    """A table row as one line: v̄_0 (from v_3) = v̄_3 * ∂v_3/∂v_0 = ... = -0.2837."""
    adjoint, formula, value = row
    text = f"{adjoint} {formula}" if formula.startswith("=") else f"{adjoint} = {formula}"
    last = formula.rsplit("= ", 1)[-1]
    if last != value and not last.startswith(value + " ("):  # "1 (the seed)" says it already
        text += f" = {value}"
    return text


def frames(y: Value, digits: int = 4) -> list[Frame]:
    """The frames of the reverse sweep of ``y``: forward values, one per adjoint row, gradient."""
    table = Trace(y, digits)
    rows = [(a[0], b[0], c[0]) for a, b, c in table.adjoint_cells()]
    values = [n for n in table.order if not n.is_constant]
    inputs = [n for n in values if not n.parents]
    grads = {table.names[n]: 0.0 for n in values}
    output = f"{table.output_name} = {table.names[y]} = {number(y.data, digits)}"
    shown = [Frame(f"forward pass: {output}; every grad starts at 0", None, (), dict(grads))]
    pending = iter(rows)

    def next_row() -> tuple[str, str, str]:
        row = next(pending, None)
        if row is None:
            raise RuntimeError("the adjoint table has fewer rows than the reverse sweep's steps")
        return row

    def node_frame(name: str) -> None:
        row = next_row()
        shown.append(Frame(_caption(row), row, (name,), dict(grads)))

    for adjoint_row in table.adjoint:
        name = adjoint_row.node[0]
        if adjoint_row.seed:
            grads[name] = adjoint_row.value
            node_frame(name)
            continue
        for c in adjoint_row.contributions:
            grads[name] += c.value
            row, edge = next_row(), (c.source[0], name)
            shown.append(Frame(_caption(row), row, edge, dict(grads), edge, c.partial, c.value))
        if len(adjoint_row.contributions) > 1:
            grads[name] = adjoint_row.value  # the sum, added in the table's order
            node_frame(name)
    for node in inputs:
        node_frame(table.names[node])
    if next(pending, None) is not None:
        raise RuntimeError("the adjoint table has more rows than the reverse sweep's steps")
    gradient = ", ".join(f"{a} = {c}" for a, _, c in rows[-len(inputs) :]) if inputs else ""
    names = tuple(table.names[n] for n in inputs)
    shown.append(Frame(f"one reverse pass, the whole gradient: {gradient}", None, names, grads))
    return shown


def _marks(frame: Frame) -> dict[str | tuple[str, str], str]:
    if frame.edge is not None:
        source, target = frame.edge
        return {source: SOURCE, target: TARGET, (source, target): EDGE}
    return dict.fromkeys(frame.nodes, TARGET)


def _pipe(dot: graphviz.Digraph, fmt: str, **options: int) -> bytes:
    try:
        data: bytes = dot.pipe(format=fmt, **options)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(INSTALL_HINT) from None
    return data


def _caption_png(frame: Frame, digits: int) -> bytes:
    """The caption, and for an edge a second line with its two numbers in the edge's colour."""
    lines = [subscripted(frame.caption)]
    if frame.edge and frame.partial is not None and frame.contribution is not None:
        source, target = frame.edge
        lines.append(
            subscripted(
                f"local partial ∂{source}/∂{target} = {number(frame.partial, digits)},  "
                f"contribution v̄{target[1:]} += {number(frame.contribution, digits)}"
            )
        )
    dot = graphviz.Digraph(
        "caption", graph_attr={"margin": "0.15", "bgcolor": "white", "ranksep": "0.02"}
    )
    for i, line in enumerate(lines):
        size, colour = ("16", "black") if i == 0 else ("14", EDGE)
        dot.node(f"c{i}", line.replace("\\", "\\\\"), shape="plaintext", fontname=FONT,
                 fontsize=size, fontcolor=colour, height="0.3")  # fmt: skip
    for i in range(1, len(lines)):
        dot.edge(f"c{i - 1}", f"c{i}", style="invis")
    return _pipe(dot, "png")


def pictures(
    y: Value,
    shown: Sequence[Frame] | None = None,
    *,
    rankdir: str = "LR",
    digits: int = 4,
    max_nodes: int | None = MAX_NODES,
) -> list[Picture]:
    """Each frame as a Pillow image of one size: the graph above, the caption below.

    Graphviz lays the graph out once, with each box as wide as it gets during the sweep, and
    every frame is drawn at those positions (``neato -n2``), so nothing jumps from frame to
    frame while the grads change.
    """
    try:
        from PIL import Image
    except ImportError:
        raise RuntimeError(PILLOW_HINT) from None

    def image(png: bytes) -> Picture:
        picture = Image.open(io.BytesIO(png)).convert("RGBA")
        white = Image.new("RGBA", picture.size, "white")
        white.alpha_composite(picture)
        return white.convert("RGB")

    shown = frames(y, digits) if shown is None else shown
    table = Trace(y, digits)
    by_name = {table.names[n]: n for n in table.order if not n.is_constant}
    saved = {name: node.grad for name, node in by_name.items()}

    def graph(
        grads: Mapping[str, float], marks: Mapping[str | tuple[str, str], str]
    ) -> graphviz.Digraph:
        for name, g in grads.items():  # the boxes show the adjoints so far
            by_name[name].grad = g
        return draw(y, rankdir=rankdir, digits=digits, max_nodes=max_nodes, highlight=marks)

    graphs, captions = [], []
    try:
        widest = {
            name: max((f.grads[name] for f in shown), key=lambda g: len(number(g, digits)))
            for name in by_name
        }
        layout = json.loads(_pipe(graph(widest, {}), "json"))
        positions = {o["name"]: o["pos"] + "!" for o in layout["objects"] if "pos" in o}
        x0, y0, x1, y1 = (float(v) for v in layout["bb"].split(","))
        corners = [(x0 - 6, y0 - 14), (x1 + 6, y1 + 6)]  # room below for an edge's label
        for frame in shown:
            dot = graph(frame.grads, _marks(frame))
            for node_id, pos in positions.items():  # a later statement adds to a node's attributes
                dot.node(node_id, pos=pos)
            for corner, (x, y_) in enumerate(corners):  # the same picture size in every frame
                dot.node(f"corner{corner}", "", pos=f"{x},{y_}!", style="invis", shape="point")
            dot.graph_attr.update(splines="true", bgcolor="white")
            dot.engine = "neato"
            graphs.append(image(_pipe(dot, "png", neato_no_op=2)))
            captions.append(image(_caption_png(frame, digits)))
    finally:
        for name, g in saved.items():
            by_name[name].grad = g
    width = max(im.width for im in graphs + captions)
    top = max(im.height for im in graphs)
    height = top + max(im.height for im in captions)
    out = []
    for picture, caption in zip(graphs, captions):
        canvas = Image.new("RGB", (width, height), "white")
        canvas.paste(picture, ((width - picture.width) // 2, 0))
        canvas.paste(caption, ((width - caption.width) // 2, top))
        out.append(canvas)
    return out


def gif(
    y: Value,
    *,
    seconds: float = 1.0,
    hold: float = 4.0,
    rankdir: str = "LR",
    digits: int = 4,
    max_nodes: int | None = MAX_NODES,
) -> bytes:
    """The animation as GIF bytes: ``seconds`` a frame (twice that for the forward values),
    the last frame held ``hold`` seconds, then it plays again."""
    images = pictures(y, rankdir=rankdir, digits=digits, max_nodes=max_nodes)
    return _gif(images, seconds, hold)


def _gif(images: Sequence[Picture], seconds: float, hold: float) -> bytes:
    from PIL import Image  # pictures() said how to install it if it is missing

    step = round(seconds * 1000)
    durations = [2 * step] + [step] * (len(images) - 2) + [round(hold * 1000)]
    # One palette for every frame, without dithering: the colours do not flicker between frames.
    sheet = Image.new("RGB", (images[0].width, images[0].height * len(images)))
    for i, picture in enumerate(images):
        sheet.paste(picture, (0, i * picture.height))
    palette = sheet.quantize(colors=256, dither=Image.Dither.NONE)
    indexed = [picture.quantize(palette=palette, dither=Image.Dither.NONE) for picture in images]
    buffer = io.BytesIO()
    indexed[0].save(
        buffer, format="GIF", save_all=True, append_images=indexed[1:], duration=durations, loop=0
    )
    return buffer.getvalue()


def animate(y: Value, path: str | Path, **options: object) -> Path:
    """Write the animation of ``y``'s backward pass to ``path`` (a .gif); options as `gif`."""
    path = Path(path)
    if path.suffix.lower() != ".gif":
        raise ValueError(f"{path}: the animation is a GIF; give the file the extension .gif")
    path.write_bytes(gif(y, **options))  # type: ignore[arg-type]
    return path


class Animation:
    """The GIF in a notebook: shown as an image, its frames (as data) in ``frames``."""

    def __init__(
        self,
        y: Value,
        *,
        seconds: float = 1.0,
        hold: float = 4.0,
        rankdir: str = "LR",
        digits: int = 4,
        max_nodes: int | None = MAX_NODES,
    ) -> None:
        self.frames = frames(y, digits)
        self.pictures = pictures(y, self.frames, rankdir=rankdir, digits=digits,
                                 max_nodes=max_nodes)  # fmt: skip
        self.data = _gif(self.pictures, seconds, hold)
        self.seconds = seconds

    def to_html(self, width: int | None = None) -> str:
        """An ``<img>`` with the GIF inside it, ``width`` pixels wide (its own size if None)."""
        encoded = base64.b64encode(self.data).decode("ascii")
        size = "" if width is None else f' width="{width}"'
        return f'<img src="data:image/gif;base64,{encoded}"{size} alt="the backward pass">'

    def png(self, step: int) -> bytes:
        """Frame ``step`` as PNG bytes."""
        buffer = io.BytesIO()
        self.pictures[step].save(buffer, format="PNG")
        return buffer.getvalue()

    def stepper(self) -> Any:
        """In Jupyter, with ipywidgets: the frames one at a time, with a slider and a play button.

        (Widgets show only in a running notebook; the GIF also shows on a repository page.)
        """
        try:
            import ipywidgets as widgets
        except ImportError:
            raise RuntimeError(
                "the stepper needs ipywidgets: 'pip install ipywidgets' (the GIF shows the same "
                "frames without it)"
            ) from None
        last = len(self.pictures) - 1
        image = widgets.Image(value=self.png(0), format="png")
        slider = widgets.IntSlider(value=0, min=0, max=last, description="step")
        play = widgets.Play(value=0, min=0, max=last, interval=round(self.seconds * 1000))
        widgets.jslink((play, "value"), (slider, "value"))

        def show(change: dict[str, Any]) -> None:
            image.value = self.png(change["new"])

        slider.observe(show, names="value")
        return widgets.VBox([widgets.HBox([play, slider]), image])

    def _repr_html_(self) -> str:
        return self.to_html()

    def __repr__(self) -> str:
        return f"<Animation of the backward pass: {len(self.frames)} frames>"
