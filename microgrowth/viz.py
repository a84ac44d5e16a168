"""Computation graphs drawn with Graphviz: in a notebook, to an SVG string, to a file.

One box per Value (its name from the adjoint table, v_{-1} .. v_l or its label, with ``data`` and
``grad``), one oval per operation (``+``, ``*``, ``ln``, ``**2``) feeding its result, and the edges
in argument order (``x * x`` shows two edges). On request each edge shows its local partial and
the adjoint it carries back, the numbers of the adjoint table. Node names come from the table's
numbering, never from ``id()``, so the same expression gives the same DOT source byte for byte.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import graphviz

from microgrowth.engine import Node, Value
from microgrowth.trace import Trace, number, subscripted

INSTALL_HINT = (
    "Graphviz's dot program was not found: install it with 'sudo apt-get install graphviz' "
    "(Debian/Ubuntu), 'brew install graphviz' (macOS) or from https://graphviz.org/download/; "
    "draw(y).source gives the DOT text without it"
)
MAX_NODES = 1000
WIDTH = 9.0  # inches: a page, or a notebook cell, wide
MERGE_ABOVE = 12  # values; larger graphs draw each operation inside its value's box
FONT = "Helvetica,Arial,sans-serif"


def _label(*lines: str) -> str:
    """Lines for a DOT label: backslashes escaped, lines joined by DOT's \\n."""
    return "\\n".join(line.replace("\\", "\\\\") for line in lines)


def draw(
    y: Value,
    *,
    rankdir: str = "LR",
    show_grads: bool = True,
    show_edges: bool = False,
    merge_ops: bool | None = None,
    width: float | None = WIDTH,
    digits: int = 4,
    max_nodes: int | None = MAX_NODES,
    highlight: Mapping[str | tuple[str, str], str] | None = None,
) -> graphviz.Digraph:
    """The computation graph of ``y`` as a `graphviz.Digraph` (shown inline in Jupyter).

    ``rankdir`` is "LR" (inputs on the left) or "TB" (inputs on top); ``show_edges`` writes on
    each edge its local partial and the contribution it carries back (``v̄ += ...``);
    ``merge_ops`` draws each operation inside the box of its result (one node per value, as
    torchviz does) instead of as an oval of its own (micrograd's look); None, the default, merges
    them in graphs of more than `MERGE_ABOVE` values, where the ovals would double the width;
    ``width``
    is the widest the picture may be, in inches (Graphviz's ``size``: a larger layout is scaled
    down to it; None keeps its natural size); ``max_nodes`` refuses graphs too large to read
    (None draws them anyway). ``highlight`` maps v-names (``"v_3"``) and edges (``("v_3",
    "v_0")``: from a result to one of its inputs, the way the adjoint flows) to colours: those
    are drawn thick in that colour, and a highlighted edge carries its partial and
    contribution as an external label, placed after the layout so the picture does not move
    (the frames of `animate` rely on it).

    Inputs are named as in the adjoint table (``x1 (v₋₁)``), the output is marked with its
    name (``y (v₅)``), constants are small plain numbers, and every operation shows its symbol
    from the rule table.
    """
    if not isinstance(y, Value):
        raise TypeError(
            f"draw: expected a Value, got {type(y).__name__} {y!r}; draw the result of an "
            "operation on Values, e.g. draw(x * 2) with x = Value(3.0)"
        )
    if rankdir not in ("LR", "TB", "RL", "BT"):
        raise ValueError(f"rankdir={rankdir!r}: use 'LR' (left to right) or 'TB' (top to bottom)")
    if max_nodes is not None:  # before any other work: a huge graph is refused at once
        size = count_values(y, max_nodes)
        if size > max_nodes:
            raise ValueError(
                f"the graph has more than max_nodes={max_nodes:,} values ({size:,} counted so "
                "far): a picture that large is unreadable and slow to lay out. Draw a smaller "
                "part (one neuron's output, one loss term), or pass max_nodes=None to draw it "
                "anyway."
            )
    table = Trace(y, digits=digits)
    if merge_ops is None:
        merge_ops = len(table.primal) > MERGE_ABOVE
    ids: dict[Node, str] = {node: f"n{i}" for i, node in enumerate(table.order)}
    edges = {(step.node, step.arg): step for step in table.steps}  # the reverse sweep's steps
    graph_attr = {"rankdir": rankdir, "fontname": FONT, "nodesep": "0.25", "ranksep": "0.35"}
    if width is not None:
        graph_attr["size"] = f"{width:g},{4 * width:g}"  # as wide as a page, tall as it needs
    dot = graphviz.Digraph(
        "microgrowth",
        graph_attr=graph_attr,
        node_attr={"fontname": FONT, "fontsize": "12"},
        edge_attr={"fontname": FONT, "fontsize": "10", "color": "#555555"},
    )
    marks = highlight or {}
    with dot.subgraph(name="inputs") as inputs:  # the inputs side by side, in the table's order
        inputs.attr(rank="same")
        for node in table.inputs:
            inputs.node(ids[node])
        for a, b in zip(table.inputs, table.inputs[1:]):  # invisible: they only fix the order
            inputs.edge(ids[a], ids[b], style="invis")
    for node in table.order:
        if node.is_constant:
            continue
        name = table.names[node]
        shown = subscripted(name)
        leaf = not node.parents
        if leaf:
            title = f"{table.input_names[node]} ({shown})" if node.label else shown
        elif node is y:
            title = f"{table.output_name} ({shown})"
        else:
            title = shown
        rule = node.rule
        parents = list(enumerate(node.parents))
        symbol = ""
        if not leaf:
            symbol = rule.symbol if rule is not None else (node.op or "custom")
            if rule is not None:  # an input the rule does not differentiate (2 in x ** 2): shown
                symbol += "".join(
                    number(p.data, digits)
                    for i, p in parents
                    if p.is_constant and not rule.differentiable(i)
                )
                parents = [
                    (i, p) for i, p in parents if rule.differentiable(i) or not p.is_constant
                ]
        lines = [title, f"data {number(node.data, digits)}"]
        if merge_ops and not leaf:
            lines.insert(0, symbol)
        if show_grads:
            lines.append(f"grad {number(node.grad, digits)}")
        fill = "#dbeafe" if leaf else "#dcfce7" if node is y else "#f3f4f6"
        dot.node(ids[node], _label(*lines), shape="box", style="rounded,filled",
                 fillcolor=fill, **({"peripheries": "2"} if node is y else {}))  # fmt: skip
        if name in marks:  # a second statement for the same node adds to its attributes
            dot.node(ids[node], color=marks[name], penwidth="3")
        if leaf:
            continue
        into = [c for key, c in marks.items() if isinstance(key, tuple) and key[0] == name]
        if merge_ops:
            op_id = ids[node]
        else:
            op_id = ids[node] + "_op"
            dot.node(op_id, _label(symbol), shape="ellipse", style="filled", fillcolor="#fef3c7",
                     margin="0.05,0.02", height="0.3")  # fmt: skip
            dot.edge(op_id, ids[node], **({"color": into[0], "penwidth": "3"} if into else {}))
        for i, parent in parents:
            if parent.is_constant:
                const_id = f"{ids[node]}_c{i}"
                dot.node(const_id, number(parent.data, digits), shape="plaintext",
                         fontsize="10", width="0", height="0", margin="0.02")  # fmt: skip
                dot.edge(const_id, op_id, arrowsize="0.5", color="#999999")
                continue
            label = ""
            step = edges.get((node, i))
            mark = marks.get((name, table.names[parent]))
            if (show_edges or mark) and step is not None:
                partial = "?" if step.partial is None else number(step.partial, digits)
                label = _label(
                    subscripted(f"∂{table.names[node]}/∂{table.names[parent]} = {partial}"),
                    subscripted(
                        f"v̄{table.names[parent][1:]} += {number(step.contribution, digits)}"
                    ),
                )
            style = {"color": mark, "fontcolor": mark, "penwidth": "3"} if mark else {}
            if mark and not show_edges:
                style["xlabel"], label = label, ""
            dot.edge(ids[parent], op_id, label=label or None, **style)
    return dot


def count_values(y: Value, limit: int | None = None) -> int:
    """The number of Values in ``y``'s graph (constants not counted); with ``limit``, the walk
    stops as soon as it has seen more than that: the cost of refusing a huge graph is small."""
    seen: set[Node] = set()
    stack: list[Node] = [y]
    while stack:
        node = stack.pop()
        if node in seen or node.is_constant:
            continue
        seen.add(node)
        if limit is not None and len(seen) > limit:
            break
        stack.extend(node.parents)
    return len(seen)


def to_svg(y: Value, **options: object) -> str:
    """The picture as SVG text (needs Graphviz's dot program; no temporary files)."""
    return _pipe(draw(y, **options), "svg").decode("utf-8")  # type: ignore[arg-type]


def render(y: Value, path: str | Path, **options: object) -> Path:
    """Write the picture to ``path``; the extension picks the format (.svg, .png, .pdf, ...).

    ``.dot`` and ``.gv`` write the DOT source and need no Graphviz program.
    """
    path = Path(path)
    fmt = path.suffix.lstrip(".").lower()
    if not fmt:
        raise ValueError(f"{path}: give the file an extension such as .svg, .png or .pdf")
    dot = draw(y, **options)  # type: ignore[arg-type]
    if fmt in ("dot", "gv"):
        path.write_text(dot.source, encoding="utf-8")
        return path
    if fmt not in graphviz.FORMATS:
        raise ValueError(f"{path}: Graphviz cannot write .{fmt}; use .svg, .png, .pdf or .dot")
    path.write_bytes(_pipe(dot, fmt))
    return path


def animate(y: Value, path: str | Path, **options: object) -> Path:
    """Write a GIF of ``y``'s backward pass: the forward values, one frame per row of the
    adjoint table, then the whole gradient. Needs Pillow (``pip install "microgrowth[animation]"``)
    and Graphviz; `microgrowth.animation` has the frames as data and the options."""
    from microgrowth import animation  # here, not at the top: Pillow is an optional extra

    return animation.animate(y, path, **options)


def _pipe(dot: graphviz.Digraph, fmt: str) -> bytes:
    try:
        data: bytes = dot.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise RuntimeError(INSTALL_HINT) from None
    return data
